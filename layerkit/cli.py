"""The ``layerkit`` command (also ``python -m layerkit``).

Subcommands:

* ``layerkit demo``: train a small network on the 8x8 digits shipped with layerkit (no
  download) and print its test accuracy and confusion matrix.
* ``layerkit train``: train on a named dataset; print train/validation/test figures; save
  the model, its history (JSON) and, with matplotlib installed, its plots.
* ``layerkit evaluate``: a saved model on a dataset's test split.
* ``layerkit experiments [NAME] [--quick]``: reproduce one of the documents' analyses as a
  Markdown report with figures (no name: list them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .preprocessing import one_hot
from .sweep import _cli as _sweep_cli

__all__ = ["main"]

_DATASETS = ("digits", "fashion-mnist", "mnist", "kmnist", "moons", "four-groups", "spirals")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"layerkit {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layerkit",
        description="Object-oriented neural networks in NumPy: train, evaluate, demo.",
    )
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"layerkit {__version__}")
    sub = parser.add_subparsers(dest="command")

    demo = sub.add_parser("demo", help="train on the bundled 8x8 digits (no download)")
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo)

    train = sub.add_parser("train", help="train a network on a dataset and save it")
    train.add_argument("--dataset", choices=_DATASETS, default="digits")
    train.add_argument("--data-path", default=None, help="folder holding the IDX files")
    train.add_argument("--layers", default="64", help="hidden layer sizes, e.g. 200,30")
    train.add_argument("--activation", default="relu")
    train.add_argument("--loss", default="categorical_crossentropy")
    train.add_argument("--optimizer", default="sgd", choices=("sgd", "rmsprop", "adam"))
    train.add_argument("--momentum", type=float, default=0.0)
    train.add_argument("--learning-rate", type=float, default=None)
    train.add_argument(
        "--schedule",
        default="constant",
        choices=("constant", "time_decay", "step_decay", "grow_and_slash"),
    )
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--penalty", type=float, default=0.0)
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument(
        "--early-stopping",
        type=int,
        default=None,
        metavar="S",
        help="validation window s (seed 002)",
    )
    train.add_argument("--validation-split", type=float, default=0.2)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    train.add_argument("--out", default=None, help="output folder (default runs/<dataset>-<time>)")
    train.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    train.set_defaults(run=_train)

    evaluate = sub.add_parser("evaluate", help="evaluate a saved model on a dataset")
    evaluate.add_argument("model", help="a .npz file written by train or Network.save")
    evaluate.add_argument("--dataset", choices=_DATASETS, default="digits")
    evaluate.add_argument("--data-path", default=None)
    evaluate.set_defaults(run=_evaluate)

    experiments = sub.add_parser(
        "experiments", help="reproduce an analysis of the source documents (report + figures)"
    )
    experiments.add_argument("name", nargs="?", help="experiment name (omit to list them)")
    experiments.add_argument("--quick", action="store_true", help="a small run of about a minute")
    experiments.add_argument(
        "--out", default=None, help="output folder (default runs/experiments/<name>)"
    )
    experiments.add_argument("--seed", type=int, default=0)
    experiments.add_argument("--jobs", type=int, default=None, help="lr-batch-grid: processes")
    experiments.add_argument("--scheduler", default=None, help="lr-batch-grid: Dask scheduler")
    experiments.set_defaults(run=_experiments)
    _sweep_cli.add_parser(sub)
    return parser


# ---------------------------------------------------------------------------- data
def _load(name: str, path: str | None = None, seed: int = 0) -> Any:
    """(X_train, y_train, X_test, y_test, class_names) for a dataset name."""
    from . import datasets

    if name == "digits":
        d = datasets.load_digits()
    elif name in ("fashion-mnist", "mnist", "kmnist"):
        d = datasets.load_mnist_family(name, path)
    else:
        makers = {
            "moons": datasets.make_moons,
            "four-groups": datasets.make_four_groups,
            "spirals": datasets.make_spirals,
        }
        X, y = makers[name](1000, seed=seed)
        X_test, y_test = makers[name](1000, seed=seed + 1)
        names = [str(c) for c in range(int(y.max()) + 1)]
        return X, y, X_test, y_test, names
    return d.X_train, d.y_train, d.X_test, d.y_test, list(d.class_names)


# ---------------------------------------------------------------------------- commands
def _demo(args: argparse.Namespace) -> int:
    import layerkit as lk

    X, y, X_test, y_test, names = _load("digits")
    net = lk.Network(
        [lk.Input(X.shape[1]), lk.Dense(64, "relu"), lk.Dense(len(names), "softmax")],
        loss="categorical_crossentropy",
        seed=args.seed,
    )
    net.summary()
    began = time.perf_counter()
    history = net.train(
        X,
        y,
        validation_split=0.2,
        epochs=args.epochs,
        batch_size=32,
        optimizer=lk.SGD(learning_rate=0.1, momentum=0.9),
        early_stopping=lk.Patience(10),
        verbose=1,
    )
    seconds = time.perf_counter() - began
    cost, accuracy = net.evaluate(X_test, y_test)
    print(
        f"\ntrained {len(history)} epochs in {seconds:.1f} s; restored epoch "
        f"{history.restored_epoch}; test cost {cost:.4f}, test accuracy {accuracy:.2%}"
    )
    _print_confusion(y_test, net.predict_classes(X_test), names)
    return 0


def _train(args: argparse.Namespace) -> int:
    import layerkit as lk

    hidden = _parse_layers(args.layers)
    if not 0.0 <= args.dropout < 1.0:
        raise ValueError(f"--dropout must be in [0, 1); received --dropout {args.dropout}")
    X, y, X_test, y_test, names = _load(args.dataset, args.data_path, args.seed)
    layers: list[Any] = [lk.Input(X.shape[1])]
    for width in hidden:
        layers.append(lk.Dense(width, args.activation))
        if args.dropout:
            layers.append(lk.Dropout(args.dropout))
    n_out = len(names)
    if args.loss == "binary_crossentropy" and n_out == 2:
        layers.append(lk.Dense(1, "sigmoid"))
    elif args.loss in ("mse", "sum_of_squares", "sse"):
        layers.append(lk.Dense(n_out, "sigmoid"))
        y, y_test = one_hot(y, n_out), one_hot(y_test, n_out)
    else:
        layers.append(lk.Dense(n_out, "softmax"))
    net = lk.Network(layers, loss=args.loss, penalty=args.penalty, seed=args.seed, dtype=args.dtype)
    optimizer: Any = args.optimizer
    if args.optimizer == "sgd":
        optimizer = lk.SGD(learning_rate=args.learning_rate or 0.01, momentum=args.momentum)
    net.summary()
    history = net.train(
        X,
        y,
        validation_split=args.validation_split,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        optimizer=optimizer,
        schedule=args.schedule,
        early_stopping=args.early_stopping,
        verbose=args.verbose,
    )
    out = Path(args.out or f"runs/{args.dataset}-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    net.save(out / "model.npz")
    (out / "history.json").write_text(json.dumps(history.as_dict(), indent=1))
    test_cost, test_acc = net.evaluate(X_test, y_test)
    print(
        f"\nstopped: {history.stop_reason}"
        + (f" (restored epoch {history.restored_epoch})" if history.restored_epoch else "")
    )
    rows = [
        (
            "train",
            history.train_cost[-1] if history.train_cost else float("nan"),
            history.train_accuracy[-1] if history.train_accuracy else None,
        )
    ]
    if history.val_cost:
        best = (history.restored_epoch or len(history)) - 1
        rows.append(
            (
                "validation",
                history.val_cost[best],
                history.val_accuracy[best] if history.val_accuracy else None,
            )
        )
    rows.append(("test", test_cost, test_acc))
    for name, cost, acc in rows:
        print(
            f"  {name:<10} cost {cost:.4f}" + (f"  accuracy {acc:.2%}" if acc is not None else "")
        )
    plotted = _save_plots(net, history, X_test, y_test, names, out)
    print(f"saved model, history{' and plots' if plotted else ''} in {out}/")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import layerkit as lk

    net = lk.load(args.model)
    _, _, X_test, y_test, names = _load(args.dataset, args.data_path)
    if net.loss_fn.name in ("mse", "sum_of_squares"):
        y_test = one_hot(y_test, net.output_shape[0])
    cost, accuracy = net.evaluate(X_test, y_test)
    print(
        f"test cost {cost:.4f}"
        + (f", test accuracy {accuracy:.2%}" if accuracy is not None else "")
    )
    if accuracy is not None:
        _print_confusion(
            np.asarray(y_test).reshape(len(X_test), -1).argmax(axis=1)
            if np.ndim(y_test) == 2
            else y_test,
            net.predict_classes(X_test),
            names,
        )
    return 0


def _experiments(args: argparse.Namespace) -> int:
    from . import experiments

    if not args.name:
        for name, exp in experiments.EXPERIMENTS.items():
            print(f"{name:<16} {exp.title} ({exp.source})")
        return 0
    out = Path(args.out or f"runs/experiments/{args.name}")
    if args.name == "lr-batch-grid":  # the one experiment that runs on the sweep engine
        from .experiments import lr_batch_grid

        report = lr_batch_grid.run(out, args.quick, args.seed, args.jobs, args.scheduler)
    elif args.jobs is not None or args.scheduler is not None:
        raise ValueError("--jobs and --scheduler apply to lr-batch-grid only")
    else:
        report = experiments.run(args.name, out, quick=args.quick, seed=args.seed)
    print(f"report written to {report}")
    return 0


# ---------------------------------------------------------------------------- helpers
def _parse_layers(text: str) -> list[int]:
    """``"200,30"`` -> ``[200, 30]``; an empty string means no hidden layer."""
    parts = [part.strip() for part in text.split(",") if part.strip()] if text else []
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise ValueError(
            f"--layers must be comma-separated positive integers such as 200,30; received "
            f"--layers {text!r}"
        )
    return [int(part) for part in parts]


def _print_confusion(y_true: np.ndarray, y_pred: np.ndarray, names: list[str]) -> None:
    from .metrics import confusion_matrix

    cm = confusion_matrix(y_true, y_pred, n_classes=len(names))
    labels = [str(n)[:6] for n in names]
    width = max(5, *(len(s) for s in labels), len(str(int(cm.max()))) + 1)
    print("\nconfusion matrix (rows: true class, columns: predicted)")
    print(" " * width + "".join(f"{s:>{width}}" for s in labels))
    for label, row in zip(labels, cm, strict=True):
        print(f"{label:>{width}}" + "".join(f"{int(v):>{width}}" for v in row))


def _save_plots(
    net: Any, history: Any, X_test: Any, y_test: Any, names: list[str], out: Path
) -> bool:
    """Learning curves and confusion matrix as PNG, when matplotlib is installed."""
    try:
        from . import plots
    except ImportError:  # matplotlib is an optional extra
        return False
    plots.save_run_figures(net, history, X_test, y_test, names, out)
    return True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
