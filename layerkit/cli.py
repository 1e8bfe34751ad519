"""The ``layerkit`` command (also ``python -m layerkit``).

Subcommands:

* ``layerkit demo``: train a small network on the 8x8 digits shipped with layerkit (no
  download) and print its test accuracy and confusion matrix.
* ``layerkit train``: train on a named dataset; print train/validation/test figures; save
  the model (with its dataset and preprocessing recorded in ``net.metadata``), its history
  (JSON) and, with matplotlib installed, its plots.
* ``layerkit evaluate MODEL``: a saved model on the test split of the dataset it records.
* ``layerkit experiments [NAME] [--quick]``: reproduce one of the documents' analyses as a
  Markdown report with figures (no name: list them).

Every flag and path is checked before any training starts. A library error
(:class:`~layerkit.LayerkitValueError`, :class:`~layerkit.LayerkitTypeError`,
:class:`~layerkit.ModelFileError`, an :class:`OSError`, a missing optional extra, ...)
ends the command with exit status 2 and a one-line message; ``--debug`` (or
``LAYERKIT_DEBUG=1``) prints the traceback too.

Adding a subcommand from another module
---------------------------------------
Put all of its code in that module, exposing ``add_parser(subparsers) -> None`` (adds its
``argparse`` subparser, with ``formatter_class=layerkit.cli.HelpFormatter`` or another
that shows defaults) and ``run(args) -> int`` (the exit status). Then add the module's name
to :data:`SUBCOMMANDS`: one line. Don't catch library errors in ``run``: :func:`main` maps
them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import LayerkitValueError

__all__ = ["SUBCOMMANDS", "HelpFormatter", "main"]

#: Subcommands defined in other modules, in the order ``--help`` lists them after the
#: built-in ones. One line per module; see the module docstring for the protocol.
SUBCOMMANDS: tuple[str, ...] = (
    "layerkit.explain._cli",
    "layerkit.export._cli",
    "layerkit.sweep._cli",
)

_DATASETS = ("digits", "fashion-mnist", "mnist", "kmnist", "moons", "four-groups", "spirals")
_IDX_DATASETS = ("fashion-mnist", "mnist", "kmnist")
_SYNTHETIC = ("moons", "four-groups", "spirals")
# Default learning rate per optimiser; SGD with momentum reaches ~97% on digits by default.
_DEFAULT_RATE = {"sgd": 0.05, "rmsprop": 0.001, "adam": 0.001}
_DEFAULT_MOMENTUM = 0.9
_SQUARED_LOSSES = ("mse", "mean_squared_error", "sum_of_squares", "sse")
_BINARY_LOSSES = ("binary_crossentropy", "bce")

# Library errors: exit status 2 and one line. Anything else is a bug and keeps its
# traceback.
_LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # LayerkitValueError, ModelFileError
    TypeError,  # LayerkitTypeError
    OSError,  # missing files, full disks, DatasetNotFoundError, ChecksumError
    ImportError,  # a missing optional extra (the message names it), a bad --import
    ArithmeticError,  # DivergenceError with on_divergence="raise"
    MemoryError,
    RecursionError,
)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default, except where there is nothing to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default == []:
            return action.help
        return super()._get_help_string(action)


# ---------------------------------------------------------------------------- entry point
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # recorded with a trained model
    debug = bool(args.debug or os.environ.get("LAYERKIT_DEBUG"))
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "_run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        status = int(run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
        return status
    except BrokenPipeError:
        # `layerkit ... | head`: the reader has gone, which is not an error to report.
        # Point stdout at devnull so that the interpreter's last flush stays quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a command killed by it
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"layerkit {args.command}: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except _LIBRARY_ERRORS as exc:
        if debug:
            traceback.print_exc()
        print(f"layerkit {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The ``layerkit`` argument parser, built-in and registered subcommands included."""
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="layerkit",
        description="Object-oriented neural networks in NumPy: train, evaluate, demo.",
        epilog="Errors print one line and exit with status 2; --debug adds the traceback.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"layerkit {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an error (LAYERKIT_DEBUG=1)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_parser, run in (
        (_add_demo, _demo),
        (_add_train, _train),
        (_add_evaluate, _evaluate),
        (_add_experiments, _experiments),
    ):
        _register(sub, add_parser, run)
    for name in SUBCOMMANDS:
        module = importlib.import_module(name)
        _register(sub, module.add_parser, module.run)
    return parser


def _register(
    sub: Any,
    add_parser: Callable[[Any], None],
    run: Callable[[argparse.Namespace], int],
) -> None:
    """Let ``add_parser`` add its subparser(s); wire them to ``run`` and ``--debug``."""
    before = set(sub.choices)
    add_parser(sub)
    for name in set(sub.choices) - before:
        subparser = sub.choices[name]
        subparser.set_defaults(_run=run)
        if not any("--debug" in action.option_strings for action in subparser._actions):
            # SUPPRESS: absent after the subcommand, the top-level --debug value stands.
            subparser.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


# ---------------------------------------------------------------------------- parsers
def _add_demo(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="train on the bundled 8x8 digits (no download) and print the results",
        description="Train a 64-64-10 network on the bundled 8x8 digits; print accuracy "
        "and confusion matrix. Takes about a second.",
        formatter_class=HelpFormatter,
    )
    demo.add_argument("--epochs", type=int, default=30, help="maximum number of epochs")
    demo.add_argument("--seed", type=int, default=0, help="seed of the weights and shuffling")


def _add_train(sub: Any) -> None:
    train = sub.add_parser(
        "train",
        help="train a network on a dataset and save it",
        description="Train a multilayer perceptron on a dataset; save the model, its "
        "history and figures in --out. Every flag is checked before training starts.",
        formatter_class=HelpFormatter,
    )
    data = train.add_argument_group("data")
    data.add_argument("--dataset", choices=_DATASETS, default="digits", help="the dataset")
    data.add_argument(
        "--data-path",
        default=None,
        help="folder holding the IDX files of fashion-mnist, mnist or kmnist "
        "(default: $LAYERKIT_DATA, the cache, /usr/share/datasets, then download)",
    )
    data.add_argument(
        "--scale",
        choices=("none", "standard", "minmax"),
        default="none",
        help="feature scaling fitted on the training split (recorded with the model)",
    )
    data.add_argument(
        "--validation-split", type=float, default=0.2, help="share of the training data held out"
    )
    model = train.add_argument_group("network")
    model.add_argument("--layers", default="64", help="hidden layer sizes, e.g. 200,30")
    model.add_argument("--activation", default="relu", help="hidden-layer activation")
    model.add_argument("--loss", default="categorical_crossentropy", help="cost function")
    model.add_argument("--dropout", type=float, default=0.0, help="dropout after hidden layers")
    model.add_argument("--penalty", type=float, default=0.0, help="L2 penalty on the weights")
    model.add_argument(
        "--dtype", default="float32", choices=("float32", "float64"), help="floating-point type"
    )
    fit = train.add_argument_group("training")
    fit.add_argument("--optimizer", default="sgd", choices=tuple(_DEFAULT_RATE), help="update rule")
    fit.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="default: "
        + ", ".join(f"{rate:g} for {name}" for name, rate in _DEFAULT_RATE.items()),
    )
    fit.add_argument(
        "--momentum",
        type=float,
        default=None,
        help=f"SGD momentum (default {_DEFAULT_MOMENTUM:g}; only with --optimizer sgd)",
    )
    fit.add_argument(
        "--schedule",
        default="constant",
        choices=("constant", "time_decay", "step_decay", "grow_and_slash"),
        help="learning-rate schedule",
    )
    fit.add_argument("--batch-size", type=int, default=64, help="samples per batch")
    fit.add_argument("--epochs", type=int, default=30, help="maximum number of epochs")
    fit.add_argument(
        "--early-stopping",
        type=int,
        default=None,
        metavar="S",
        help="stop when the mean validation cost of the last S epochs exceeds that of the "
        "S before (seed 002), restoring the best weights",
    )
    fit.add_argument("--seed", type=int, default=0, help="seed of weights, split, shuffling")
    out = train.add_argument_group("output")
    out.add_argument(
        "--out", default=None, help="output folder (default: runs/<dataset>-<date>-<time>)"
    )
    out.add_argument(
        "--overwrite", action="store_true", help="allow --out to hold an earlier run's files"
    )
    out.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="progress output")


def _add_evaluate(sub: Any) -> None:
    evaluate = sub.add_parser(
        "evaluate",
        help="evaluate a saved model on its dataset's test split",
        description="Evaluate a saved model on the test split of the dataset recorded with "
        "it by `layerkit train` (or the one given by --dataset), with the same preprocessing.",
        formatter_class=HelpFormatter,
    )
    evaluate.add_argument("model", help="a .npz file written by `layerkit train` or Network.save")
    evaluate.add_argument(
        "--dataset", choices=_DATASETS, default=None, help="default: the one recorded in the model"
    )
    evaluate.add_argument(
        "--data-path", default=None, help="folder holding the IDX files (default: as recorded)"
    )
    evaluate.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE (a module name or a .py file) first, so that the layers it "
        "registers with @layerkit.register_layer can be loaded; repeatable",
    )


def _add_experiments(sub: Any) -> None:
    experiments = sub.add_parser(
        "experiments",
        help="reproduce an analysis of the source documents (report + figures)",
        description="Without NAME: list the experiments. With NAME: run it and write a "
        "Markdown report with figures (needs matplotlib, the plots extra).",
        formatter_class=HelpFormatter,
    )
    experiments.add_argument("name", nargs="?", help="experiment name (omit to list them)")
    experiments.add_argument("--quick", action="store_true", help="a small run of about a minute")
    experiments.add_argument(
        "--out", default=None, help="output folder (default: runs/experiments/<name>)"
    )
    experiments.add_argument("--seed", type=int, default=0, help="seed of data and networks")
    experiments.add_argument("--jobs", type=int, default=None, help="lr-batch-grid: processes")
    experiments.add_argument("--scheduler", default=None, help="lr-batch-grid: Dask scheduler")


# ---------------------------------------------------------------------------- commands
def _demo(args: argparse.Namespace) -> int:
    import layerkit as lk

    _check_int(args.epochs, "--epochs", minimum=0)
    _check_int(args.seed, "--seed", minimum=0)
    data = lk.datasets.load_digits()
    names = list(data.class_names)
    net = lk.Network(
        [lk.Input(data.n_features), lk.Dense(64, "relu"), lk.Dense(len(names), "softmax")],
        loss="categorical_crossentropy",
        seed=args.seed,
    )
    net.summary()
    began = time.perf_counter()
    history = net.train(
        data.X_train,
        data.y_train,
        validation_split=0.2,
        epochs=args.epochs,
        batch_size=32,
        optimizer=lk.SGD(learning_rate=0.1, momentum=0.9),
        early_stopping=lk.Patience(10),
        verbose=1,
    )
    seconds = time.perf_counter() - began
    cost, accuracy = net.evaluate(data.X_test, data.y_test)
    print(f"\nstopped: {stop_message(history, args.epochs)} ({seconds:.1f} s)")
    print(f"test cost {cost:.4f}, test accuracy {accuracy:.2%}")
    print_confusion(data.y_test, net.predict_classes(data.X_test), names)
    return 0


def _train(args: argparse.Namespace) -> int:
    import layerkit as lk

    # Everything that can be checked without data is checked before the data is read, and
    # everything else before training starts.
    plan = _check_train_args(args)
    out: Path = plan["out"]
    X, y, X_test, y_test, names = load_dataset(args.dataset, args.data_path, args.seed)
    scaler = _make_scaler(args.scale)
    if scaler is not None:
        scaler.fit(X)
        X, X_test = scaler.transform(X), scaler.transform(X_test)
    n_out = len(names)
    layers: list[Any] = [lk.Input(X.shape[1])]
    for width in plan["hidden"]:
        layers.append(lk.Dense(width, args.activation))
        if args.dropout:
            layers.append(lk.Dropout(args.dropout))
    if args.loss in _BINARY_LOSSES:
        if n_out != 2:
            raise LayerkitValueError(
                f"--loss {args.loss} needs a two-class dataset; {args.dataset} has {n_out} "
                "classes (use categorical_crossentropy)"
            )
        layers.append(lk.Dense(1, "sigmoid"))
    elif args.loss in _SQUARED_LOSSES:
        layers.append(lk.Dense(n_out, "sigmoid"))
        y, y_test = lk.one_hot(y, n_out), lk.one_hot(y_test, n_out)
    else:
        layers.append(lk.Dense(n_out, "softmax"))
    net = lk.Network(layers, loss=args.loss, penalty=args.penalty, seed=args.seed, dtype=args.dtype)
    net.metadata = {
        "dataset": {
            "name": args.dataset,
            "data_path": str(Path(args.data_path).resolve()) if args.data_path else None,
            "seed": args.seed,
            "class_names": names,
        },
        "preprocessing": _scaler_record(scaler),
        "command": " ".join(["layerkit", *args.argv]),
    }
    net.summary()
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        history = net.train(
            X,
            y,
            validation_split=args.validation_split or None,
            epochs=args.epochs,
            batch_size=args.batch_size,
            optimizer=plan["optimizer"],
            schedule=args.schedule,
            early_stopping=args.early_stopping,
            verbose=args.verbose,
        )
    except BaseException:
        if created and not any(out.iterdir()):
            out.rmdir()  # leave no empty run folder behind a failed start
        raise
    net.save(out / "model.npz")
    (out / "history.json").write_text(json.dumps(history.as_dict(), indent=1))
    test_cost, test_acc = net.evaluate(X_test, y_test)
    print(f"\nstopped: {stop_message(history, args.epochs)}")
    for name, cost, acc in _result_rows(history, test_cost, test_acc):
        print(
            f"  {name:<10} cost {cost:.4f}" + (f"  accuracy {acc:.2%}" if acc is not None else "")
        )
    plotted = _save_plots(net, history, X_test, y_test, names, out)
    print(f"saved model, history{' and figures' if plotted else ''} in {out}/")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import layerkit as lk

    import_modules(args.imports)
    try:
        net = lk.load(args.model)
    except LayerkitValueError as exc:
        if "register_layer" in str(exc) and not args.imports:
            raise LayerkitValueError(
                f"{exc}; from the command line, --import MODULE imports the module (or .py "
                "file) that defines and registers it"
            ) from exc
        raise
    recorded: dict[str, Any] = dict(getattr(net, "metadata", None) or {})
    dataset_info: dict[str, Any] = dict(recorded.get("dataset") or {})
    dataset = args.dataset or dataset_info.get("name")
    if dataset is None:
        raise LayerkitValueError(
            f"{args.model} does not record the dataset it was trained on (it was not saved by "
            "`layerkit train`); pass --dataset"
        )
    if dataset not in _DATASETS:
        raise LayerkitValueError(
            f"{args.model} records dataset {dataset!r}, which this command cannot load; pass "
            f"--dataset, one of {', '.join(_DATASETS)}"
        )
    data_path = args.data_path
    if data_path is None and dataset == dataset_info.get("name"):
        recorded_path = dataset_info.get("data_path")
        data_path = recorded_path if recorded_path and Path(recorded_path).is_dir() else None
    _check_data_path(data_path, dataset)
    _, _, X_test, y_test, names = load_dataset(dataset, data_path, dataset_info.get("seed", 0))
    scaler = _scaler_from_record(recorded.get("preprocessing"))
    if scaler is not None:
        X_test = scaler.transform(X_test)
    if tuple(X_test.shape[1:]) != tuple(net.input_shape):
        raise LayerkitValueError(
            f"the model takes inputs of shape {tuple(net.input_shape)} but {dataset}'s are "
            f"{tuple(X_test.shape[1:])}; pass the --dataset it was trained on"
        )
    if net.loss_fn.name in ("mse", "sum_of_squares"):
        y_test = lk.one_hot(y_test, net.output_shape[0])
    cost, accuracy = net.evaluate(X_test, y_test)
    print(
        f"{dataset} test split: cost {cost:.4f}"
        + (f", accuracy {accuracy:.2%}" if accuracy is not None else "")
    )
    if accuracy is not None:
        labels = np.asarray(y_test)
        print_confusion(
            labels.argmax(axis=1) if labels.ndim == 2 else labels,
            net.predict_classes(X_test),
            names,
        )
    return 0


def _experiments(args: argparse.Namespace) -> int:
    from . import experiments

    if not args.name:
        for name, exp in experiments.EXPERIMENTS.items():
            data = " (needs Fashion-MNIST)" if exp.needs_data else ""
            print(f"{name:<16} {exp.title} ({exp.source}){data}")
        from .plots import INSTALL_HINT, matplotlib_available

        if not matplotlib_available():
            print(f"\nrunning one needs matplotlib, the plots extra: {INSTALL_HINT}")
        return 0
    if args.name not in experiments.EXPERIMENTS:
        raise LayerkitValueError(
            f"unknown experiment {args.name!r}; choose one of: {', '.join(experiments.EXPERIMENTS)}"
        )
    out = Path(args.out or f"runs/experiments/{args.name}")
    _check_out_folder(out, "--out", overwrite=True)
    if args.name == "lr-batch-grid":  # the one experiment that runs on the sweep engine
        from .experiments import lr_batch_grid

        report = lr_batch_grid.run(out, args.quick, args.seed, args.jobs, args.scheduler)
    elif args.jobs is not None or args.scheduler is not None:
        raise LayerkitValueError("--jobs and --scheduler apply to lr-batch-grid only")
    else:
        report = experiments.run(args.name, out, quick=args.quick, seed=args.seed)
    print(f"report written to {report}")
    return 0


# ---------------------------------------------------------------------------- checks
def _check_train_args(args: argparse.Namespace) -> dict[str, Any]:
    """Check every flag of ``train``; return the parsed plan (hidden sizes, optimiser, out)."""
    import layerkit as lk

    hidden = parse_layers(args.layers)
    _check_int(args.epochs, "--epochs", minimum=0)
    _check_int(args.batch_size, "--batch-size", minimum=1)
    _check_int(args.seed, "--seed", minimum=0)
    if args.early_stopping is not None:
        _check_int(args.early_stopping, "--early-stopping", minimum=1)
        if not args.validation_split:
            raise LayerkitValueError(
                "--early-stopping needs validation data: give --validation-split > 0"
            )
    _check_range(args.validation_split, "--validation-split", 0.0, 1.0)
    _check_range(args.dropout, "--dropout", 0.0, 1.0)
    _check_range(args.penalty, "--penalty", 0.0, math.inf)
    if args.activation not in lk.available_activations():
        raise LayerkitValueError(
            f"--activation: unknown activation {args.activation!r}; choose one of "
            f"{', '.join(lk.available_activations())}"
        )
    if args.loss not in lk.available_losses():
        raise LayerkitValueError(
            f"--loss: unknown loss {args.loss!r}; choose one of {', '.join(lk.available_losses())}"
        )
    _check_data_path(args.data_path, args.dataset)
    rate = _DEFAULT_RATE[args.optimizer] if args.learning_rate is None else args.learning_rate
    if not (math.isfinite(rate) and rate > 0):
        raise LayerkitValueError(f"--learning-rate must be > 0; received learning-rate={rate}")
    optimizer: Any
    if args.optimizer == "sgd":
        momentum = _DEFAULT_MOMENTUM if args.momentum is None else args.momentum
        _check_range(momentum, "--momentum", 0.0, 1.0)
        optimizer = lk.SGD(learning_rate=rate, momentum=momentum)
    else:
        if args.momentum is not None:
            raise LayerkitValueError(
                f"--momentum applies only to --optimizer sgd; {args.optimizer} has its own "
                "moment estimates (drop --momentum)"
            )
        optimizer = lk.Adam(learning_rate=rate) if args.optimizer == "adam" else lk.RMSProp(rate)
    out = Path(args.out or f"runs/{args.dataset}-{time.strftime('%Y%m%d-%H%M%S')}")
    _check_out_folder(out, "--out", overwrite=args.overwrite)
    return {"hidden": hidden, "optimizer": optimizer, "out": out}


def parse_layers(text: str) -> list[int]:
    """``"200,30"`` -> ``[200, 30]``; an empty string means no hidden layer."""
    parts = [part.strip() for part in text.split(",") if part.strip()] if text else []
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise LayerkitValueError(
            f"--layers must be comma-separated positive integers such as 200,30; received "
            f"--layers {text!r}"
        )
    return [int(part) for part in parts]


def _check_int(value: int, flag: str, *, minimum: int) -> None:
    if value < minimum:
        raise LayerkitValueError(f"{flag} must be >= {minimum}; received {flag[2:]}={value}")


def _check_range(value: float, flag: str, low: float, high: float) -> None:
    """``low <= value < high`` (NaN and infinity fail it)."""
    if not low <= value < high:
        upper = "inf)" if high == math.inf else f"{high:g})"
        raise LayerkitValueError(
            f"{flag} must be in [{low:g}, {upper}; received {flag[2:]}={value}"
        )


def _check_data_path(data_path: str | None, dataset: str) -> None:
    if data_path is None:
        return
    if dataset not in _IDX_DATASETS:
        raise LayerkitValueError(
            f"--data-path applies to {', '.join(_IDX_DATASETS)}; {dataset} is "
            + ("bundled with layerkit" if dataset == "digits" else "generated")
        )
    path = Path(data_path).expanduser()
    if not path.exists():
        raise LayerkitValueError(f"--data-path {data_path}: no such folder")
    if not path.is_dir():
        raise LayerkitValueError(
            f"--data-path {data_path} is a file; expected the folder of the IDX files"
        )


def _check_out_folder(out: Path, flag: str, *, overwrite: bool) -> None:
    """``out`` can be created (or is a folder), is writable, and holds no run unless allowed."""
    if out.exists() and not out.is_dir():
        raise LayerkitValueError(f"{flag} {out} is an existing file; expected a folder")
    if out.is_dir() and (out / "model.npz").exists() and not overwrite:
        raise LayerkitValueError(
            f"{flag} {out} already holds a model.npz; choose another folder or pass --overwrite"
        )
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise LayerkitValueError(f"{flag} {out}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise LayerkitValueError(f"{flag} {out}: no permission to write in {ancestor}")


# ---------------------------------------------------------------------------- data
def load_dataset(
    name: str, path: str | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """``(X_train, y_train, X_test, y_test, class_names)`` for a dataset name of the CLI."""
    from . import datasets

    if name == "digits":
        d = datasets.load_digits()
    elif name in _IDX_DATASETS:
        d = datasets.load_mnist_family(name, path)
    elif name in _SYNTHETIC:
        makers = {
            "moons": datasets.make_moons,
            "four-groups": datasets.make_four_groups,
            "spirals": datasets.make_spirals,
        }
        X, y = makers[name](1000, seed=seed)
        X_test, y_test = makers[name](1000, seed=seed + 1)
        names = [str(c) for c in range(int(y.max()) + 1)]
        return X, y, X_test, y_test, names
    else:
        raise LayerkitValueError(f"unknown dataset {name!r}; choose one of {', '.join(_DATASETS)}")
    return d.X_train, d.y_train, d.X_test, d.y_test, list(d.class_names)


def _make_scaler(kind: str) -> Any:
    from .preprocessing import MinMaxScaler, StandardScaler

    if kind == "none":
        return None
    return StandardScaler() if kind == "standard" else MinMaxScaler()


def _scaler_record(scaler: Any) -> dict[str, Any] | None:
    """The fitted scaler as JSON (config and statistics), for ``net.metadata``."""
    if scaler is None:
        return None
    return {
        "config": scaler.get_config(),
        "state": {key: value.tolist() for key, value in scaler.get_state().items()},
    }


def _scaler_from_record(record: Any) -> Any:
    if not record:
        return None
    from . import preprocessing

    try:
        config = dict(record["config"])
        classes: dict[str, Any] = {
            "StandardScaler": preprocessing.StandardScaler,
            "MinMaxScaler": preprocessing.MinMaxScaler,
        }
        return classes[config["class"]].from_config(config).set_state(record["state"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LayerkitValueError(
            f"the model's recorded preprocessing is malformed ({type(exc).__name__}: {exc})"
        ) from exc


def import_modules(names: Sequence[str]) -> None:
    """Import each ``--import`` module (a dotted name, or a path to a ``.py`` file)."""
    for name in names:
        if name.endswith(".py") or os.sep in name:
            path = Path(name)
            if not path.is_file():
                raise LayerkitValueError(f"--import {name}: no such file")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise LayerkitValueError(f"--import {name}: not a Python file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
            continue
        # A console script does not put the working folder on sys.path; `python -m` does.
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # the module exists; something it imports does not
            raise LayerkitValueError(
                f"--import {name}: no module named {exc.name!r} here or on the path; run from "
                "the folder that holds it or give the path of its .py file"
            ) from exc


# ---------------------------------------------------------------------------- output
def stop_message(history: Any, epochs: int) -> str:
    """Why the run ended and which weights the model holds, for every way it can end."""
    trained = len(history)
    reason = history.stop_reason
    if trained == 0 and reason == "epochs":
        return f"no epoch was run (epochs={epochs}); the model holds its initial weights"
    if reason == "epochs":
        text = "ran its one epoch" if trained == 1 else f"ran all {trained} epochs"
    elif reason == "early_stopping":
        text = f"early stopping after epoch {history.stopped_epoch or trained}"
    elif reason == "interrupted":
        text = f"interrupted (Ctrl-C) after {trained} complete epoch{'s' * (trained != 1)}"
    elif reason == "diverged":
        text = f"diverged in epoch {history.stopped_epoch or trained + 1}"
    elif reason == "callback":
        text = f"a callback stopped training after epoch {history.stopped_epoch or trained}"
    else:
        text = f"{reason} after {trained} epochs"
    if reason in ("diverged", "interrupted") and history.message:
        return f"{text}: {history.message}"  # the loop's account says what was restored
    if history.restored_epoch:
        return f"{text}; restored the weights of epoch {history.restored_epoch}"
    return f"{text}; the model holds the weights of the last epoch"


def _result_rows(
    history: Any, test_cost: float, test_acc: float | None
) -> list[tuple[str, float, float | None]]:
    rows: list[tuple[str, float, float | None]] = []
    if history.train_cost:
        last = len(history) - 1
        if history.restored_epoch and history.restored_epoch <= len(history):
            last = history.restored_epoch - 1
        rows.append(
            (
                "train",
                history.train_cost[last],
                history.train_accuracy[last] if history.train_accuracy else None,
            )
        )
        if history.val_cost and last < len(history.val_cost):
            rows.append(
                (
                    "validation",
                    history.val_cost[last],
                    history.val_accuracy[last] if history.val_accuracy else None,
                )
            )
    rows.append(("test", test_cost, test_acc))
    return rows


def print_confusion(y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str]) -> None:
    """Print the confusion matrix: columns numbered by class, rows with the class names."""
    from .metrics import confusion_matrix

    cm = confusion_matrix(y_true, y_pred, n_classes=len(names))
    k = len(names)
    width = max(len(str(int(cm.max()))), len(str(k - 1))) + 2
    # Rows carry "index name"; the columns, which cannot fit long names, carry the index.
    plain = all(str(name) == str(i) for i, name in enumerate(names))
    labels = [str(i) if plain else f"{i} {name}" for i, name in enumerate(names)]
    label_width = max(len(s) for s in labels)
    print("\nconfusion matrix (rows: true class, columns: predicted class)")
    print(" " * label_width + "".join(f"{i:>{width}}" for i in range(k)))
    for label, row in zip(labels, cm, strict=True):
        print(f"{label:<{label_width}}" + "".join(f"{int(v):>{width}}" for v in row))


def _save_plots(
    net: Any, history: Any, X_test: Any, y_test: Any, names: list[str], out: Path
) -> bool:
    """Learning curves and confusion matrix as PNG, when matplotlib is installed."""
    from . import plots

    if not plots.matplotlib_available():
        print(f"figures skipped: they need matplotlib, the plots extra: {plots.INSTALL_HINT}")
        return False
    plots.save_run_figures(net, history, X_test, y_test, names, out)
    return True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
