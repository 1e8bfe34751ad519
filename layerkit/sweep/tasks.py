"""The tasks of a sweep and the function that runs one of them on a worker.

A sweep is a list of :class:`Task`: one per parameter combination (a *cell*), fold and
seed. :func:`run_task` builds a fresh model, trains it, evaluates it and returns one record
(a JSON-ready dict). It runs the same way in this process, in a loky worker and on a Dask
worker; everything it needs travels in one picklable :class:`Job`.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import inspect
import itertools
import json
import math
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import LayerkitTypeError, LayerkitValueError

__all__ = ["Job", "Task", "expand_grid", "make_tasks", "new_record", "run_task"]

_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Task:
    """One unit of work: train the model of parameter cell ``cell`` on fold ``fold``.

    Attributes
    ----------
    key : str
        Stable identity of the task (a hash of the sweep's context, the parameters, the
        fold and the seed): the store keeps one record per key.
    cell : int
        Index of the parameter combination in the expanded grid.
    params : dict
        The parameter values of the cell.
    fold : int
        Fold number (0 without cross-validation).
    seed : int or None
        Seed passed to ``build`` (None when ``build`` takes no ``seed``).
    """

    key: str
    cell: int
    params: dict[str, Any]
    fold: int
    seed: int | None


def _check_value(name: str, value: Any) -> None:
    # Values go into JSON records and task keys: they must survive a round trip.
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and not math.isfinite(value):
            raise LayerkitValueError(f"grid value of {name!r} must be finite; received {value!r}")
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_value(name, item)
        return
    raise LayerkitTypeError(
        f"grid values must be numbers, strings, booleans, None or lists of them (they are "
        f"stored as JSON); received {type(value).__name__} {value!r} for {name!r}"
    )


def _plain(value: Any) -> Any:
    """NumPy scalars and tuples as plain Python numbers and lists (JSON-ready)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def expand_grid(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]) -> list[dict]:
    """The parameter combinations (cells) of a grid.

    Parameters
    ----------
    grid : dict or list of dict
        ``{name: [values...]}``: every combination of the values (the first name varies
        slowest). A list of such dicts is the concatenation of their grids; a dict whose
        values are all scalars is one cell.

    Returns
    -------
    list of dict
        One dict per cell, values converted to plain Python (JSON-ready) types.

    Raises
    ------
    LayerkitTypeError
        If ``grid`` is not a dict or list of dicts, or a value is not JSON-ready.
    LayerkitValueError
        If a list of values is empty, or the grid has no cells.

    Examples
    --------
    >>> expand_grid({"learning_rate": [0.1, 1.0], "batch_size": [10, 20]})
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'learning_rate': 0.1, 'batch_size': 10}, {'learning_rate': 0.1, 'batch_size': 20},
     {'learning_rate': 1.0, 'batch_size': 10}, {'learning_rate': 1.0, 'batch_size': 20}]
    """
    parts = [grid] if isinstance(grid, Mapping) else grid
    if isinstance(parts, str | bytes) or not isinstance(parts, Sequence):
        raise LayerkitTypeError(
            f"grid must be a dict of {{name: [values]}} or a list of such dicts; received "
            f"{type(grid).__name__}"
        )
    cells: list[dict] = []
    for part in parts:
        if not isinstance(part, Mapping):
            raise LayerkitTypeError(
                f"grid must be a dict or a list of dicts; received a list holding "
                f"{type(part).__name__} {part!r}"
            )
        names, choices = [], []
        for name, values in part.items():
            if not isinstance(name, str):
                raise LayerkitTypeError(f"grid names must be strings; received {name!r}")
            values = [values] if isinstance(values, _SCALARS) else list(values)
            if not values:
                raise LayerkitValueError(f"grid entry {name!r} has no values; expected >= 1")
            values = [_plain(v) for v in values]
            for value in values:
                _check_value(name, value)
            names.append(name)
            choices.append(values)
        cells.extend(dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices))
    if not cells:
        raise LayerkitValueError("grid has no cells; expected at least one combination")
    return cells


def task_key(context: str, params: Mapping[str, Any], fold: int, seed: int | None) -> str:
    """A short, stable hash naming one task of one sweep context."""
    text = json.dumps(
        {"context": context, "params": params, "fold": fold, "seed": seed}, sort_keys=True
    )
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def make_tasks(
    cells: Sequence[dict], n_folds: int, seeds: Sequence[int | None], context: str
) -> list[Task]:
    """Every cell x fold x seed, cell by cell."""
    return [
        Task(task_key(context, params, fold, seed), cell, params, fold, seed)
        for cell, params in enumerate(cells)
        for fold in range(n_folds)
        for seed in seeds
    ]


@dataclass(frozen=True)
class ArrayFile:
    """A large array in a file that every local worker maps instead of receiving a copy.

    Sending the array itself with every task would pickle (and joblib would hash) it
    each time; a path costs nothing and the operating system shares the pages. Either a
    ``.npy`` file (``dtype`` None) or the raw file behind a caller's ``numpy.memmap``.
    """

    path: str
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    offset: int = 0

    def open(self) -> np.ndarray:
        """The array, memory-mapped read-only (cached per process)."""
        array = _OPENED.get(self)
        if array is None:
            # A worker outlives a sweep: keep only the latest few (X, y, X_val, y_val).
            while len(_OPENED) >= 4:
                _OPENED.pop(next(iter(_OPENED)))
            if self.dtype is None:
                array = np.load(self.path, mmap_mode="r")
            else:
                array = np.memmap(
                    self.path, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape
                )
            _OPENED[self] = array
        return array


_OPENED: dict[ArrayFile, np.ndarray] = {}


def _resolve(array: Any) -> Any:
    if isinstance(array, ArrayFile):
        return array.open()
    if isinstance(array, np.ndarray) and not array.flags.aligned:
        # Dask can hand a worker an array in an unaligned buffer; NumPy's gathers on it
        # are about 80 times slower. Copy it once per worker, not per task.
        held = _ALIGNED.get(id(array))
        if held is None or held[0] is not array:
            while len(_ALIGNED) >= 4:
                _ALIGNED.pop(next(iter(_ALIGNED)))
            held = _ALIGNED[id(array)] = (array, np.array(array))
        return held[1]
    return array


_ALIGNED: dict[int, tuple[np.ndarray, np.ndarray]] = {}


@dataclass(frozen=True)
class Job:
    """What every task of a sweep shares: the recipe, the data and the settings.

    Attributes
    ----------
    build : callable
        Returns a fresh, untrained model; called with the cell's build parameters and
        ``seed=`` when it takes one.
    build_names : frozenset of str
        Grid names that go to ``build``; the others go to ``train``.
    takes_seed : bool
        Whether ``build`` has a ``seed`` parameter.
    X, y, X_val, y_val : array or ArrayFile
        Training data and optional validation data.
    folds : tuple of (ndarray, ndarray), or None
        ``(train_idx, val_idx)`` of each fold for cross-validation.
    train_kwargs : dict
        Fixed arguments of every ``train`` call (grid values override them).
    scoring : str or callable
        ``"accuracy"``, ``"cost"`` or ``scoring(model, X, y) -> float``.
    capture_errors : bool
        Record a task's exception (True, sweeps) or let it propagate (cross-validation).
    """

    build: Callable[..., Any]
    build_names: frozenset[str]
    takes_seed: bool
    X: Any
    y: Any
    X_val: Any = None
    y_val: Any = None
    folds: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None
    train_kwargs: Mapping[str, Any] | None = None
    scoring: str | Callable[..., float] = "accuracy"
    capture_errors: bool = True

    def data(self, fold: int) -> tuple[Any, Any, Any, Any]:
        """``(X_train, y_train, X_val, y_val)`` of a fold (validation may be None)."""
        X, y = _resolve(self.X), _resolve(self.y)
        if self.folds is not None:
            train_idx, val_idx = self.folds[fold]
            return X[train_idx], y[train_idx], X[val_idx], y[val_idx]
        return X, y, _resolve(self.X_val), _resolve(self.y_val)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _score(job: Job, net: Any, X: Any, y: Any, cost: float, accuracy: float | None) -> float:
    if job.scoring == "accuracy":
        if accuracy is None:
            raise LayerkitValueError(
                "scoring='accuracy' needs class targets, but the model reports no accuracy "
                "(regression); use scoring='cost'"
            )
        return accuracy
    if job.scoring == "cost":
        return cost
    return float(job.scoring(net, X, y))


def _thread_limit(threads: int | Mapping[str, int] | None) -> int | None:
    if isinstance(threads, Mapping):
        # Dask: the client computed a limit for each worker from its host's cores.
        from distributed import get_worker

        return int(threads.get(get_worker().address, 1))
    return None if threads is None else int(threads)


def _limit_threads(threads: int | None) -> Any:
    """A threadpoolctl context limiting this process's BLAS threads (None: no limit)."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads)


def _worker_name() -> str:
    # Only a Dask worker has distributed loaded already; never import it just to ask.
    if "distributed" in sys.modules:
        from distributed import get_worker

        try:
            return str(get_worker().address)
        except ValueError:  # not inside a Dask task
            pass
    return f"pid {os.getpid()}"


def new_record(task: Task) -> dict[str, Any]:
    """A task's record before it runs: status "ok", no results yet."""
    return {
        "key": task.key,
        "cell": task.cell,
        "params": task.params,
        "fold": task.fold,
        "seed": task.seed,
        "status": "ok",
        "score": None,
        "metrics": {},
        "history": None,
        "seconds": None,
        "host": None,
        "worker": None,
        "threads": None,
        "finished": None,
        "error": None,
    }


def failed(record: dict[str, Any], text: str) -> dict[str, Any]:
    """``record`` marked as failed with the traceback ``text``."""
    record.update(status="error", error=text, finished=_now())
    return record


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def run_task(task: Task, job: Job, threads: int | Mapping[str, int] | None = None) -> dict:
    """Build, train and evaluate one task's model; return its record.

    Parameters
    ----------
    task : Task
    job : Job
    threads : int, dict or None
        BLAS threads for this task (threadpoolctl), a ``{worker address: threads}`` map
        on Dask, or None to leave the process's setting alone.

    Returns
    -------
    dict
        ``key, cell, params, fold, seed, status ("ok" or "error"), score, metrics
        (train_cost, train_accuracy, val_cost, val_accuracy, epochs, stop_reason),
        history (a dict of lists), seconds, host, worker, threads, finished (UTC time,
        ISO 8601), error (traceback text or None)``.
    """
    began = time.perf_counter()
    record = new_record(task)
    record.update(host=socket.gethostname(), worker=_worker_name())
    try:
        record["threads"] = _thread_limit(threads)
        with _limit_threads(record["threads"]):
            _train_and_score(task, job, record)
        record["finished"] = _now()
    except Exception:
        if not job.capture_errors:
            raise
        failed(record, traceback.format_exc())
    record["seconds"] = time.perf_counter() - began
    return record


def _train_and_score(task: Task, job: Job, record: dict[str, Any]) -> None:
    build_kwargs = {k: v for k, v in task.params.items() if k in job.build_names}
    train_kwargs = dict(job.train_kwargs or {})
    train_kwargs.update((k, v) for k, v in task.params.items() if k not in job.build_names)
    if job.takes_seed:
        build_kwargs["seed"] = task.seed
    net = job.build(**build_kwargs)
    X, y, X_val, y_val = job.data(task.fold)
    history = net.train(X, y, X_val, y_val, **train_kwargs)
    X_eval, y_eval = (X, y) if X_val is None else (X_val, y_val)
    cost, accuracy = net.evaluate(X_eval, y_eval)
    cost, accuracy = float(cost), _float_or_none(accuracy)
    record["history"] = history.as_dict() if hasattr(history, "as_dict") else history
    train_cost = list(getattr(history, "train_cost", []) or [None])[-1]
    train_acc = list(getattr(history, "train_accuracy", []) or [None])[-1]
    record["metrics"] = {
        "train_cost": _float_or_none(train_cost),
        "train_accuracy": _float_or_none(train_acc),
        "val_cost": cost,
        "val_accuracy": accuracy,
        "epochs": len(getattr(history, "epochs", [])),
        "stop_reason": getattr(history, "stop_reason", None),
    }
    record["score"] = _score(job, net, X_eval, y_eval, cost, accuracy)


def build_parameter_names(build: Callable[..., Any]) -> tuple[set[str], bool, bool]:
    """``(explicit parameter names, takes **kwargs, takes seed)`` of ``build``."""
    try:
        parameters = inspect.signature(build).parameters.values()
    except (TypeError, ValueError):  # some callables have no signature
        return set(), True, False
    named = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    return named - {"seed"}, var_kw, "seed" in named


def route_parameters(
    names: Iterable[str], build: Callable[..., Any], train_names: set[str]
) -> frozenset[str]:
    """Which grid names go to ``build`` (the rest go to ``train``); refuse the others.

    A name ``build`` declares goes to ``build``; otherwise a ``train`` argument goes to
    ``train``; otherwise it goes to ``build`` if it takes ``**kwargs``.
    """
    named, var_kw, _ = build_parameter_names(build)
    to_build = set()
    for name in names:
        if name == "seed":
            raise LayerkitValueError(
                "grid must not contain 'seed': pass the seeds as seeds=[...] (each cell is "
                "trained once per seed)"
            )
        if name in named or (name not in train_names and var_kw):
            to_build.add(name)
        elif name not in train_names:
            raise LayerkitValueError(
                f"grid name {name!r} is neither a parameter of build "
                f"({', '.join(sorted(named)) or 'none'}) nor an argument of train() "
                f"({', '.join(sorted(train_names))})"
            )
    return frozenset(to_build)
