"""``lk.sweep``: train a model recipe over a parameter grid, folds and seeds, in parallel.

Each cell x fold x seed is one task (:mod:`~layerkit.sweep.tasks`); the tasks run in this
process, on joblib's loky worker processes or on a Dask cluster
(:mod:`~layerkit.sweep.backends`); each record is appended to an on-disk store as it
arrives (:mod:`~layerkit.sweep.store`), and a sweep started again with the same store
runs only the tasks it lacks.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._folds import kfold_indices
from .._validation import (
    LayerkitTypeError,
    LayerkitValueError,
    as_indexable,
    check_n_samples,
)
from .results import SweepResult
from .store import ResultStore
from .tasks import Job, Task, build_parameter_names, expand_grid, make_tasks, route_parameters

__all__ = ["sweep"]

_SCORINGS = ("accuracy", "cost")


def _train_parameter_names() -> set[str]:
    from ..network import Network

    names = set(inspect.signature(Network.train).parameters)
    return names - {"self", "X", "y", "X_val", "y_val"}


def _describe(value: Any) -> Any:
    """A JSON-ready description of a setting that does not change between runs."""
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _describe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_describe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "get_config"):
        return [type(value).__qualname__, _describe(value.get_config())]
    if isinstance(value, functools.partial):
        return ["partial", _describe(value.func), _describe(value.args), _describe(value.keywords)]
    if inspect.isfunction(value):
        # The name and the compiled body: an edited recipe is a new sweep, two lambdas
        # of one module are two recipes. (Reformatting alone changes neither.)
        code = value.__code__
        constants = [c for c in code.co_consts if isinstance(c, str | int | float | bool)]
        body = hashlib.sha1(code.co_code + repr(constants).encode()).hexdigest()[:12]
        return [f"{value.__module__}.{value.__qualname__}", body, _describe(value.__defaults__)]
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    if hasattr(value, "__dict__"):
        # Not repr(): the default one holds a memory address, new on every run.
        public = {k: v for k, v in vars(value).items() if not k.startswith("_")}
        return [type(value).__qualname__, _describe(public)]
    return repr(value)


def _fingerprint(array: Any) -> Any:
    """Shape, dtype and a hash of up to 1,000 evenly spaced rows (cheap on a memmap)."""
    if array is None:
        return None
    rows = np.unique(np.linspace(0, len(array) - 1, num=min(len(array), 1000)).astype(np.intp))
    sample = np.ascontiguousarray(array[rows])
    return [list(array.shape), str(array.dtype), hashlib.sha1(sample.tobytes()).hexdigest()]


def _check_seeds(seeds: Any, takes_seed: bool) -> list[int | None]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = [seeds]
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Iterable):
        raise LayerkitTypeError(
            f"seeds must be an int or a list of ints; received {type(seeds).__name__} {seeds!r}"
        )
    seeds = list(seeds)
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise LayerkitValueError(f"seeds must be non-negative ints; received {seeds!r}")
    if not seeds or len(set(seeds)) != len(seeds):
        raise LayerkitValueError(f"seeds must be distinct and at least one; received {seeds!r}")
    if not takes_seed:
        if len(seeds) > 1:
            raise LayerkitValueError(
                f"seeds={seeds!r} gives several seeds, but build has no 'seed' parameter to "
                "receive them; add one (e.g. def build(seed): return lk.Network(..., seed=seed))"
            )
        return [None]
    return [int(s) for s in seeds]


def _folds(
    cv: Any, y: np.ndarray, split_seed: int
) -> tuple[tuple[np.ndarray, np.ndarray], ...] | None:
    if cv is None:
        return None
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        return tuple(kfold_indices(y, int(cv), seed=split_seed))
    if isinstance(cv, str | bytes) or not isinstance(cv, Iterable):
        raise LayerkitTypeError(
            f"cv must be None, a number of folds (int) or a list of (train_idx, val_idx) "
            f"pairs; received {type(cv).__name__} {cv!r}"
        )
    folds = []
    for pair in cv:
        try:
            train_idx, val_idx = (np.asarray(part, dtype=np.intp) for part in pair)
        except (TypeError, ValueError) as exc:
            raise LayerkitTypeError(
                f"cv must hold (train_idx, val_idx) pairs of integer indices; received {pair!r}"
            ) from exc
        folds.append((train_idx, val_idx))
    if not folds:
        raise LayerkitValueError("cv holds no folds; expected at least one (train, val) pair")
    return tuple(folds)


def check_n_jobs(n_jobs: Any) -> int:
    from .backends import available_cores

    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise LayerkitTypeError(f"n_jobs must be an int; received {type(n_jobs).__name__}")
    if n_jobs == -1:
        return available_cores()
    if n_jobs < 1:
        raise LayerkitValueError(f"n_jobs must be >= 1, or -1 for every core; received {n_jobs}")
    return int(n_jobs)


def check_threads(threads: Any) -> int | None:
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise LayerkitValueError(
            f"threads_per_worker must be None or an int >= 1; received {threads!r}"
        )
    return int(threads)


def prepare_job(
    build: Callable[..., Any],
    names: Iterable[str],
    X: Any,
    y: Any,
    X_val: Any,
    y_val: Any,
    folds: tuple[tuple[np.ndarray, np.ndarray], ...] | None,
    train_kwargs: dict[str, Any],
    scoring: Any,
    capture_errors: bool,
) -> Job:
    """Check ``build`` and ``scoring`` and route the grid names; the shared :class:`Job`."""
    if not callable(build):
        raise LayerkitTypeError(
            f"build must be a callable returning a fresh, untrained model; received "
            f"{type(build).__name__}"
        )
    if not (callable(scoring) or scoring in _SCORINGS):
        raise LayerkitValueError(
            f"scoring must be 'accuracy', 'cost' or a callable scoring(model, X, y) -> float; "
            f"received {scoring!r}"
        )
    train_names = _train_parameter_names()
    unknown = sorted(set(train_kwargs) - train_names)
    if unknown:
        raise LayerkitValueError(
            f"unknown train() arguments {', '.join(unknown)}; expected some of "
            f"{', '.join(sorted(train_names))}"
        )
    _, _, takes_seed = build_parameter_names(build)
    return Job(
        build=build,
        build_names=route_parameters(names, build, train_names),
        takes_seed=takes_seed,
        X=X,
        y=y,
        X_val=X_val,
        y_val=y_val,
        folds=folds,
        train_kwargs=train_kwargs,
        scoring=scoring,
        capture_errors=capture_errors,
    )


def execute(
    tasks: Sequence[Task],
    job: Job,
    *,
    n_jobs: int,
    backend: str,
    client: Any,
    threads: int | None,
) -> Iterator[dict]:
    """Records of ``tasks`` as they finish, on the chosen backend."""
    from . import backends

    if backend == "dask":
        return backends.run_dask(tasks, job, threads, client)
    if threads is None and n_jobs > 1:
        threads = max(1, backends.available_cores() // n_jobs)
    if n_jobs == 1 or len(tasks) <= 1:
        # One task left (a resumed sweep) runs here, with the thread count the workers
        # would have used: its numbers are the same either way.
        return backends.run_serial(tasks, job, threads)
    return backends.run_loky(tasks, job, threads, n_jobs)


def check_backend(backend: Any, client: Any) -> str:
    """``"loky"`` or ``"dask"`` (None: Dask when a client is given, else loky)."""
    if backend is None:
        return "loky" if client is None else "dask"
    if backend not in ("loky", "dask"):
        raise LayerkitValueError(f"backend must be 'loky' or 'dask'; received {backend!r}")
    if backend == "loky" and client is not None:
        raise LayerkitValueError(
            "client= is for backend='dask'; received a client with backend='loky'"
        )
    return backend


def sweep(
    build: Callable[..., Any],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    X: Any,
    y: Any,
    *,
    X_val: Any = None,
    y_val: Any = None,
    cv: int | Iterable[tuple[Any, Any]] | None = None,
    seeds: int | Sequence[int] = (0,),
    scoring: str | Callable[[Any, Any, Any], float] = "accuracy",
    n_jobs: int = 1,
    backend: str | None = None,
    client: Any = None,
    threads_per_worker: int | None = None,
    store: str | Path | ResultStore | None = None,
    split_seed: int = 0,
    progress: bool = True,
    **train_kwargs: Any,
) -> SweepResult:
    """Train a model recipe at every cell of a parameter grid, for every fold and seed.

    Every combination of the grid's values (a *cell*), every cross-validation fold and
    every seed is one task::

        net = build(**build_params, seed=seed)
        history = net.train(X_train, y_train, X_val, y_val, **train_kwargs, **train_params)
        cost, accuracy = net.evaluate(X_val, y_val)

    Tasks run in this process (``n_jobs=1``), on ``n_jobs`` loky worker processes
    (joblib), or on a Dask cluster (``client=``). Each finished task is appended to
    ``store`` at once; run the same sweep again with the same store and only the missing
    tasks run. A task that raises is recorded with its traceback and the sweep goes on.

    Parameters
    ----------
    build : callable
        Returns a fresh, untrained model (a :class:`~layerkit.Network`, or anything with
        its ``train`` and ``evaluate``). It receives the grid values whose names are its
        parameters, and ``seed=`` if it has a ``seed`` parameter. On worker processes it
        must be picklable: a module-level function (or ``functools.partial`` of one) always
        is; lambdas and closures travel by value with cloudpickle (loky and Dask both use
        it) as long as everything they refer to pickles.
    grid : dict or list of dict
        ``{name: [values...]}``; see :func:`~layerkit.sweep.tasks.expand_grid`. A name that
        ``build`` declares goes to ``build``; any other must be an argument of
        ``Network.train`` (``learning_rate``, ``batch_size``, ``epochs``, ...) and goes
        there; if ``build`` takes ``**kwargs`` the remaining names go to it. Values are
        numbers, strings, booleans, None or lists of them (they are stored as JSON).
    X, y : array_like
        Training data (class labels, one-hot rows or regression targets). A large array
        is written once to a shared file that local worker processes map, not sent with
        every task.
    X_val, y_val : array_like, optional
        Validation data for every task, scored after training. Without validation data
        and without ``cv``, tasks are scored on their training data.
    cv : int or list of (train_idx, val_idx), optional
        k-fold cross-validation (stratified for class labels, folds from
        ``kfold_indices(y, k, seed=split_seed)``), or explicit folds. Excludes
        ``X_val``.
    seeds : int or list of int, default (0,)
        Each cell is trained once per seed (per fold); ``build`` must take ``seed`` for
        more than one.
    scoring : {"accuracy", "cost"} or callable, default "accuracy"
        Validation accuracy (higher is better), validation cost (lower is better), or
        ``scoring(model, X_val, y_val) -> float`` (higher is better).
    n_jobs : int, default 1
        Worker processes for the loky backend; -1 uses every core. 1 runs in this
        process.
    backend : {"loky", "dask"}, optional
        Default: ``"dask"`` when ``client`` is given, else ``"loky"``.
    client : distributed.Client or str, optional
        A Dask client, or a scheduler address (``"tcp://host:8786"``) to connect to (and
        disconnect from at the end). Needs ``pip install "layerkit[dask]"``.
    threads_per_worker : int, optional
        BLAS threads of every task (threadpoolctl). Default: loky, the cores divided by
        ``n_jobs``; Dask, each host's cores divided by the task slots (worker threads) on
        that host; ``n_jobs=1``, left as it is. Results are bitwise the same on every
        backend for the same seeds **and the same thread count** (OpenBLAS may sum a
        product in a different order with another number of threads).
    store : path or ResultStore, optional
        JSON-lines file receiving one record per task as it finishes; it makes the sweep
        restartable. Without it, records are kept in memory only.
    split_seed : int, default 0
        Seed of the folds when ``cv`` is an int.
    progress : bool, default True
        A progress bar over the tasks (``tqdm.auto``).
    **train_kwargs
        Fixed arguments of every ``train`` call (``epochs``, ``optimizer``, ...); grid
        values override them. ``verbose`` defaults to 0.

    Returns
    -------
    SweepResult
        Every task's record (this run's and those found in the store) in task order,
        with ``table()``, ``to_dataframe()``, ``summary()``, ``best_params``,
        ``best_score`` and ``errors``.

    Raises
    ------
    LayerkitTypeError
        If ``build`` is not callable or not picklable for worker processes, or an
        argument has the wrong type.
    LayerkitValueError
        If a grid name goes nowhere, ``X`` and ``y`` differ in length, ``cv`` and
        ``X_val`` are both given, or a setting is out of range.
    ImportError
        If ``backend="dask"`` and dask.distributed is not installed.

    Examples
    --------
    >>> import layerkit as lk
    >>> from layerkit.datasets import make_moons
    >>> def build(hidden, seed):
    ...     return lk.Network([lk.Input(2), lk.Dense(hidden, "tanh"), lk.Dense(2, "softmax")],
    ...                       seed=seed)
    >>> X, y = make_moons(200, seed=0)
    >>> result = lk.sweep(build, {"hidden": [4, 8], "learning_rate": [0.1, 0.5]}, X, y,
    ...                   cv=3, epochs=5, progress=False)
    >>> len(result), len(result.summary())  # 4 cells x 3 folds
    (12, 4)
    >>> sorted(result.best_params)
    ['hidden', 'learning_rate']
    """
    backend = check_backend(backend, client)
    n_jobs = check_n_jobs(n_jobs)
    threads = check_threads(threads_per_worker)
    if isinstance(split_seed, bool) or not isinstance(split_seed, numbers.Integral):
        raise LayerkitTypeError(f"split_seed must be an int; received {split_seed!r}")
    cells = expand_grid(grid)
    seen = set()
    for params in cells:
        text = json.dumps(params, sort_keys=True)
        if text in seen:
            raise LayerkitValueError(f"grid holds the cell {params} twice; expected each once")
        seen.add(text)
    X = as_indexable(X, "X")
    y = as_indexable(y, "y")
    check_n_samples(X, y)
    if (X_val is None) != (y_val is None):
        raise LayerkitValueError("X_val and y_val must be given together")
    if X_val is not None:
        if cv is not None:
            raise LayerkitValueError(
                "give either cv= (validation folds taken from X) or X_val/y_val, not both"
            )
        X_val = as_indexable(X_val, "X_val")
        y_val = as_indexable(y_val, "y_val")
        check_n_samples(X_val, y_val, "X_val", "y_val")
    train_kwargs.setdefault("verbose", 0)
    names = {name for params in cells for name in params}
    folds = _folds(cv, y, int(split_seed))
    job = prepare_job(build, names, X, y, X_val, y_val, folds, train_kwargs, scoring, True)
    seed_list = _check_seeds(seeds, job.takes_seed)
    context = json.dumps(
        {
            "build": _describe(build),
            "train": _describe(train_kwargs),
            "scoring": _describe(scoring),
            "data": [_fingerprint(a) for a in (X, y, X_val, y_val)],
            "folds": None
            if folds is None
            else hashlib.sha1(b"".join(np.concatenate(f).tobytes() for f in folds)).hexdigest(),
        },
        sort_keys=True,
    )
    tasks = make_tasks(cells, 1 if folds is None else len(folds), seed_list, context)
    if store is not None and not isinstance(store, ResultStore):
        store = ResultStore(store)
    done = {t.key: store.get(t.key) for t in tasks if store is not None and t.key in store}
    todo = [t for t in tasks if t.key not in done]

    from tqdm.auto import tqdm

    where = "dask" if backend == "dask" else f"{n_jobs} process{'es' * (n_jobs > 1)}"
    desc = f"sweep ({where}" + (f", {len(done)} stored" if done else "") + ")"
    with tqdm(total=len(tasks), initial=len(done), desc=desc, disable=not progress) as bar:
        if todo:
            for record in execute(
                todo, job, n_jobs=n_jobs, backend=backend, client=client, threads=threads
            ):
                if store is not None:
                    store.add(record)
                done.setdefault(record["key"], record)
                bar.update(1)
    # A stored record keeps the cell number of the sweep that wrote it; the grid may
    # since have been reordered or extended.
    records = [{**done[t.key], "cell": t.cell} for t in tasks]
    return SweepResult(records, cells, greater_is_better=scoring != "cost")
