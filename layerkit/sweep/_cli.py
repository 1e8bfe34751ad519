"""``layerkit sweep SPEC.toml [--jobs N] [--scheduler tcp://HOST:PORT]``.

The spec is a TOML file with the tables ``[data]``, ``[model]``, ``[grid]``, ``[train]`` and
``[sweep]`` (see ``docs/sweeps.md``); for example::

    [data]
    dataset = "digits"        # digits, fashion-mnist, mnist, kmnist, moons, four-groups, spirals
    validation = 0.2          # fraction held out for scoring (unless [sweep] cv is set)

    [model]                   # keyword arguments of layerkit.sweep.mlp ...
    hidden = [32]
    activation = "relu"
    # build = "mypackage.models:build"   # ... or your own module-level function

    [grid]
    learning_rate = [0.05, 0.1, 0.5]
    batch_size = [16, 64]

    [train]
    epochs = 10

    [sweep]
    seeds = [0, 1]
    store = "runs/digits-sweep.jsonl"
"""

from __future__ import annotations

import argparse
import functools
import importlib
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import LayerkitTypeError, LayerkitValueError

__all__ = ["add_parser", "load_spec", "run"]

_TABLES = {
    "data": {"dataset", "path", "validation", "n_train", "seed"},
    "model": None,  # the recipe's own arguments
    "grid": None,
    "train": None,
    "sweep": {"seeds", "cv", "scoring", "store", "split_seed", "threads_per_worker"},
}
_SQUARED = ("mse", "sum_of_squares", "sse")


def add_parser(subparsers: Any) -> None:
    """Add the ``sweep`` subcommand."""
    parser = subparsers.add_parser(
        "sweep",
        help="train a model over a parameter grid, on every core or a Dask cluster",
        description="Run the sweep described by a TOML spec; results stream to its store "
        "(JSON lines), and running the same spec again runs only the missing tasks.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("spec", help="the sweep's TOML file")
    parser.add_argument(
        "--jobs", type=int, default=1, help="worker processes on this machine (-1: every core)"
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="run on the Dask cluster of this scheduler instead",
    )
    parser.add_argument("--store", default=None, help="store file (overrides [sweep] store)")
    parser.add_argument("--top", type=int, default=10, help="cells shown, best first")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def _import_build(text: str) -> Any:
    module, _, name = text.partition(":")
    if not module or not name:
        raise LayerkitValueError(
            f"[model] build must be 'package.module:function'; received build = {text!r}"
        )
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise LayerkitValueError(f"[model] build = {text!r} cannot be imported: {exc}") from exc


def _dataset(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``(X, y, n_features, n_classes)`` of the spec's ``[data]`` table."""
    from .. import datasets

    name = data.get("dataset", "digits")
    seed = int(data.get("seed", 0))
    makers = {
        "moons": datasets.make_moons,
        "four-groups": datasets.make_four_groups,
        "spirals": datasets.make_spirals,
    }
    if name == "digits":
        d = datasets.load_digits()
        X, y = d.X_train, d.y_train
    elif name in ("fashion-mnist", "mnist", "kmnist"):
        d = datasets.load_mnist_family(name, data.get("path"))
        X, y = d.X_train, d.y_train
    elif name in makers:
        X, y = makers[name](int(data.get("n_train", 1000)), seed=seed)
    else:
        raise LayerkitValueError(
            f"[data] dataset must be one of digits, fashion-mnist, mnist, kmnist, "
            f"{', '.join(makers)}; received {name!r}"
        )
    n_train = data.get("n_train")
    if n_train is not None and n_train < len(X) and name not in makers:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), int(n_train), replace=False))
        X, y = X[keep], y[keep]
    X = np.asarray(X).reshape(len(X), -1)
    return X, np.asarray(y), X.shape[1], int(np.max(y)) + 1


def load_spec(path: str | Path) -> dict[str, dict[str, Any]]:
    """The spec's tables, checked: unknown tables or keys are refused by name."""
    try:
        with open(path, "rb") as f:
            spec = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise LayerkitValueError(f"{path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(spec) - set(_TABLES))
    if unknown:
        raise LayerkitValueError(
            f"{path}: unknown table(s) {', '.join(unknown)}; expected {', '.join(_TABLES)}"
        )
    for table, allowed in _TABLES.items():
        value = spec.setdefault(table, {})
        if not isinstance(value, dict):
            raise LayerkitTypeError(f"{path}: {table} must be a table [{table}]")
        extra = sorted(set(value) - allowed) if allowed is not None else []
        if extra:
            raise LayerkitValueError(
                f"{path}: unknown key(s) in [{table}]: {', '.join(extra)}; expected some of "
                f"{', '.join(sorted(allowed or ()))}"
            )
    if not spec["grid"]:
        raise LayerkitValueError(f"{path}: [grid] is empty; give at least one parameter")
    return spec


def run(args: argparse.Namespace) -> int:
    """Run the sweep of ``args.spec``; print the best cells. Returns the exit status."""
    from .engine import sweep
    from .models import mlp

    spec = load_spec(args.spec)
    data, model, options = spec["data"], dict(spec["model"]), spec["sweep"]
    X, y, n_in, n_classes = _dataset(data)
    if "build" in model:
        build = _import_build(model.pop("build"))
        if model:
            build = functools.partial(build, **model)
    else:
        model.setdefault("n_outputs", n_classes)
        build = functools.partial(mlp, n_in, **model)
    if model.get("loss") in _SQUARED:
        y = np.eye(n_classes, dtype=np.float32)[y]  # seed 001: one-hot targets
    X_val = y_val = None
    if options.get("cv") is None:
        from ..model_selection import train_test_split

        X, X_val, y, y_val = train_test_split(
            X, y, test_size=data.get("validation", 0.2), seed=int(data.get("seed", 0))
        )
    store = args.store or options.get("store")
    result = sweep(
        build,
        spec["grid"],
        X,
        y,
        X_val=X_val,
        y_val=y_val,
        cv=options.get("cv"),
        seeds=options.get("seeds", (0,)),
        scoring=options.get("scoring", "accuracy"),
        n_jobs=args.jobs,
        client=args.scheduler,
        threads_per_worker=options.get("threads_per_worker"),
        store=store,
        split_seed=int(options.get("split_seed", 0)),
        progress=not args.no_progress,
        **spec["train"],
    )
    _print_summary(result, args.top)
    if store:
        print(f"records in {store}")
    return 0 if not result.errors else 1


def _print_summary(result: Any, top: int) -> None:
    rows = result.summary()
    sign = -1.0 if result.greater_is_better else 1.0
    rows.sort(key=lambda r: (np.isnan(r["mean_score"]), sign * np.nan_to_num(r["mean_score"])))
    names = list(result.cells[0])
    header = [*names, "mean score", "std", "tasks", "failed"]
    lines = [
        [
            *(str(r[n]) for n in names),
            f"{r['mean_score']:.4f}",
            f"{r['std_score']:.4f}",
            str(r["n_ok"]),
            str(r["n_errors"]),
        ]
        for r in rows[: max(top, 1)]
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for line in lines:
        print("  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)))
    print(f"best: {result.best_params} (mean score {result.best_score})")
    for record in result.errors[:3]:
        last = (record["error"] or "").strip().splitlines()[-1:]
        print(f"failed: {record['params']} fold {record['fold']}: {' '.join(last)}")
