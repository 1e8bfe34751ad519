"""``layerkit explain``: a worked example (or an exercise sheet) on the command line.

layerkit explain --layers 3,2,1 --activation sigmoid --seed 0 --x 0.7,0.1,0.4 --y 1
layerkit explain model.npz --x 0.7,0.1,0.4 --y 1 --learning-rate 0.5 --format markdown
layerkit explain --exercise --seed 3 --layers 2,2,1 [--answers]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from .._validation import LayerkitValueError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Add the ``explain`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "explain",
        help="show every number of one forward and backward pass (a worked example)",
        description=(
            "Show the working: every pre-activation, activation, error term, gradient and "
            "update of one forward and backward pass, for a saved model or a small network "
            "given by its layer widths; or write an exercise sheet."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", nargs="?", help="a .npz model file (instead of --layers)")
    parser.add_argument(
        "--layers",
        default=None,
        help="layer widths, input first, e.g. 3,2,1 (a new network seeded by --seed)",
    )
    parser.add_argument("--activation", default="sigmoid", help="activation of every layer")
    parser.add_argument(
        "--output-activation",
        default=None,
        help="activation of the output layer; when omitted, --activation (softmax with "
        "categorical_crossentropy)",
    )
    parser.add_argument("--loss", default="sum_of_squares", help="the network's cost")
    parser.add_argument("--penalty", type=float, default=0.0, help="L2 strength lambda")
    parser.add_argument(
        "--seed", type=int, default=0, help="weights of --layers, or the exercise drawn"
    )
    parser.add_argument(
        "--x", default=None, help="input values, e.g. 0.7,0.1,0.4 (';' between samples)"
    )
    parser.add_argument("--y", default=None, help="target values or class labels, e.g. 1 or 0,1")
    parser.add_argument(
        "--learning-rate", type=float, default=None, help="show one update (exercises: 0.5)"
    )
    parser.add_argument(
        "--notation",
        choices=("documents", "layerkit"),
        default="documents",
        help="column vectors with W one row per unit, or layerkit's batch rows",
    )
    parser.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="output format"
    )
    parser.add_argument("--precision", type=int, default=4, help="decimals shown")
    parser.add_argument(
        "--exercise", action="store_true", help="write a random exercise (seeded by --seed)"
    )
    parser.add_argument("--answers", action="store_true", help="with --exercise: the answer sheet")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the worked example (or exercise sheet) the arguments describe."""
    from . import exercise_sheet, explain

    if args.exercise:
        if args.format == "json":
            raise LayerkitValueError("--exercise writes text or markdown; received --format json")
        sheet = exercise_sheet(
            args.seed,
            layers=_numbers(args.layers or "2,2,1", "--layers", int)[0],
            activation=args.activation,
            output_activation=args.output_activation,
            loss=args.loss,
            learning_rate=0.5 if args.learning_rate is None else args.learning_rate,
            notation=args.notation,
            precision=args.precision,
            format=args.format,
        )
        print(sheet.answers if args.answers else sheet.questions, end="")
        return 0
    if args.x is None or args.y is None:
        raise LayerkitValueError("explain needs an input --x and a target --y (or --exercise)")
    net = _network(args)
    x = np.array(_numbers(args.x, "--x", float), dtype=float)
    y = np.array(_numbers(args.y, "--y", float), dtype=float)
    if y.shape[1] == 1 and net.output_shape[0] > 1:
        y = y[:, 0].astype(np.int64)  # class labels
    trace = explain(
        net,
        x,
        y,
        learning_rate=args.learning_rate,
        notation=args.notation,
        precision=args.precision,
    )
    if args.format == "json":
        print(trace.to_json())
    elif args.format == "markdown":
        print(trace.to_markdown(), end="")
    else:
        print(trace.to_text(), end="")
    return 0


def _network(args: argparse.Namespace) -> Any:
    import layerkit as lk

    if args.model is not None:
        if args.layers is not None:
            raise LayerkitValueError(
                f"give a model file or --layers, not both; received {args.model!r} and "
                f"--layers {args.layers!r}"
            )
        return lk.load(args.model)
    if args.layers is None:
        raise LayerkitValueError("explain needs a model file or --layers, e.g. --layers 3,2,1")
    widths = _numbers(args.layers, "--layers", int)[0]
    if len(widths) < 2 or min(widths) < 1:
        raise LayerkitValueError(
            f"--layers must list at least two positive widths, input first, e.g. 3,2,1; "
            f"received --layers {args.layers!r}"
        )
    output = args.output_activation
    if output is None:
        output = "softmax" if args.loss in ("categorical_crossentropy", "cce") else args.activation
    # named by position: the same arguments print the same example in any session
    layers: list[Any] = [lk.Input(widths[0], name="input")]
    layers += [
        lk.Dense(w, args.activation, name=f"dense_{i}") for i, w in enumerate(widths[1:-1], 1)
    ]
    layers.append(lk.Dense(widths[-1], output, name=f"dense_{len(widths) - 1}"))
    return lk.Network(layers, loss=args.loss, penalty=args.penalty, seed=args.seed, dtype="float64")


def _numbers(text: str, option: str, kind: type) -> list[list[Any]]:
    """``"0.7,0.1;0.2,0.3"`` -> ``[[0.7, 0.1], [0.2, 0.3]]`` (rows of equal length)."""
    try:
        rows = [[kind(v) for v in row.split(",")] for row in text.split(";")]
    except ValueError:
        raise LayerkitValueError(
            f"{option} must be comma-separated numbers (';' between samples); received "
            f"{option} {text!r}"
        ) from None
    if len({len(row) for row in rows}) != 1:
        raise LayerkitValueError(
            f"{option} must give every sample the same number of values; received {option} {text!r}"
        )
    return rows
