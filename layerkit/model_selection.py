"""Holdout splits, k-fold indices and k-fold cross-validation (seed 002, section 3.4.2).

Seed 002: "The simplest implementation is *holdout cross-validation*: some proportion of
the available dataset is 'held out' as the validation set for the duration of the
training process. A more robust extension is *k-fold cross-validation*: the available
dataset is split into k approximately equally-sized sections, and the training process is
repeated k times, where each section of the data in turn is considered as the validation
set while the remaining sections form the training set. The performance metric from each
of the k repetitions can be somehow combined (usually averaged)". A further *test* set
"remains isolated and unused until all training and hyperparameter tuning is completed";
for KMNIST (section 4) the data were split 60% / 20% / 20% into training, validation and
test sets, the defaults of :func:`train_val_test_split`.

Splits are **stratified** by default when ``y`` holds class labels (integer or bool labels
``(n,)``, one-hot rows ``(n, k)``, or a 0/1 column ``(n, 1)``): every class is divided in
the same proportions as the whole, each class's count in each part within one sample of
``class_count * part_size / n``. Other targets (float ``(n,)`` or real-valued ``(n, m)``,
i.e. regression) are split by a plain shuffle. All randomness comes from
``numpy.random.default_rng(seed)``, so a seed gives the same split on every run.

Parts are gathered by index (``X[idx]``), never by converting ``X`` first, so a
``numpy.memmap`` is read only for the rows each part needs; indices within a part are in
increasing order, which keeps those reads sequential (training shuffles batches anyway).

>>> import numpy as np
>>> from layerkit.model_selection import train_val_test_split
>>> X, y = np.arange(20.0).reshape(10, 2), np.array([0] * 5 + [1] * 5)
>>> X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(X, y, seed=0)
>>> len(y_train), len(y_val), len(y_test)
(6, 2, 2)
>>> int(y_val.sum()), int(y_test.sum())  # one sample of class 1 in each
(1, 1)
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._folds import check_seed, class_labels, kfold_indices
from ._validation import LayerkitTypeError, LayerkitValueError, as_indexable, check_n_samples
from .callbacks import History
from .sweep import engine
from .sweep.tasks import Job, Task

__all__ = [
    "CrossValidationResult",
    "cross_validate",
    "kfold_indices",
    "train_test_split",
    "train_val_test_split",
]


# ---------------------------------------------------------------------------- helpers
def _part_size(size: object, n: int, argument: str) -> int:
    """A part's number of samples from a fraction in (0, 1) or a count in [1, n)."""
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise LayerkitTypeError(
            f"{argument} must be a fraction in (0, 1) or a number of samples (int); received "
            f"{type(size).__name__} {size!r}"
        )
    if isinstance(size, numbers.Integral):
        if not 1 <= size < n:
            raise LayerkitValueError(
                f"{argument} as a number of samples must be in [1, {n - 1}] for {n} samples; "
                f"received {size}"
            )
        return int(size)
    if not (math.isfinite(size) and 0 < size < 1):
        raise LayerkitValueError(f"{argument} as a fraction must be in (0, 1); received {size!r}")
    count = math.floor(size * n + 0.5)
    if count < 1:
        raise LayerkitValueError(
            f"{argument}={size} of {n} samples rounds to 0 samples; expected a part of at "
            "least one sample (use more data or a larger fraction)"
        )
    return count


def _controlled_round(
    counts: np.ndarray, sizes: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Integer table ``T[c, p]``: rows sum to ``counts``, columns to ``sizes``, and each
    entry is the floor or the ceiling of its share ``counts[c] * sizes[p] / n``.

    Such a table always exists (Baranyai's matrix-rounding theorem). Start from the exact
    shares; the fractional entries of any row or column sum to an integer, so each row
    and column holding one holds at least two, and the fractional cells contain a cycle.
    Shifting mass alternately + and - round that cycle keeps every row and column sum and
    makes at least one more entry whole. All arithmetic is in integers (units of 1/n).
    """
    n = int(counts.sum())
    scaled = np.outer(counts.astype(np.int64), sizes.astype(np.int64))
    table = scaled // n
    rest = scaled - table * n  # fractional part of each share, times n
    while True:
        cells = np.argwhere(rest > 0)
        if len(cells) == 0:
            return table
        # Walk row -> column -> row ... leaving each vertex by a cell other than the one
        # it was entered by, until a vertex repeats; with few columns the walk is short.
        path: list[tuple[int, int]] = []
        seen: dict[tuple[str, int], int] = {}
        vertex, previous = ("row", int(cells[0, 0])), (-1, -1)
        while vertex not in seen:
            seen[vertex] = len(path)
            kind, i = vertex
            # Two fractional cells suffice: at most one of them is the way in.
            if kind == "row":
                options = [(i, int(j)) for j in np.flatnonzero(rest[i] > 0)[:2]]
            else:
                options = [(int(r), i) for r in np.flatnonzero(rest[:, i] > 0)[:2]]
            cell = options[0] if options[0] != previous else options[1]
            path.append(cell)
            previous = cell
            vertex = ("col", cell[1]) if kind == "row" else ("row", cell[0])
        cycle = path[seen[vertex] :]
        up, down = cycle[0::2], cycle[1::2]
        # Push up the half with the larger fractions (nearest rounding, as largest
        # remainders would); on a tie leave it to chance rather than to class order.
        lead = sum(int(rest[c]) for c in up) - sum(int(rest[c]) for c in down)
        if lead < 0 or (lead == 0 and rng.random() < 0.5):
            up, down = down, up
        step = min(min(n - rest[c] for c in up), min(rest[c] for c in down))
        for c in up:
            rest[c] += step
        for c in down:
            rest[c] -= step
        whole = rest == n
        table[whole] += 1
        rest[whole] = 0


def _assign_parts(
    labels: np.ndarray | None, n: int, sizes: list[int], rng: np.random.Generator
) -> np.ndarray:
    """Part number (index into ``sizes``) of every sample, stratified by ``labels``."""
    classes = np.zeros(n, dtype=np.intp) if labels is None else labels
    counts = np.bincount(classes)
    table = _controlled_round(counts, np.asarray(sizes), rng)
    # Shuffle, then order by class: the rank of a sample within its class is random, and
    # the first table[c, 0] ranks of class c go to part 0, the next table[c, 1] to part 1...
    perm = rng.permutation(n)
    order = perm[np.argsort(classes[perm], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    bounds = np.cumsum(table, axis=1)
    return (rank[:, None] >= bounds[classes]).sum(axis=1)


def _holdout(
    X: Any, y: Any, sizes: dict[str, object], stratify: bool, seed: int | None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """X parts and y parts, training first, then the parts named in ``sizes`` in order."""
    check_seed(seed)
    X = as_indexable(X, "X")
    y = as_indexable(y, "y")
    check_n_samples(X, y)
    n = len(y)
    counts = [_part_size(size, n, name) for name, size in sizes.items()]
    n_train = n - sum(counts)
    if n_train < 1:
        given = ", ".join(f"{name}={size!r}" for name, size in sizes.items())
        raise LayerkitValueError(
            f"{given} leave {n_train} of {n} samples for training; expected at least one "
            "(for fractions, their sum must be below 1)"
        )
    labels = class_labels(y) if stratify else None
    part = _assign_parts(labels, n, [n_train, *counts], np.random.default_rng(seed))
    index = [np.flatnonzero(part == p) for p in range(len(counts) + 1)]
    return [X[i] for i in index], [y[i] for i in index]


# ---------------------------------------------------------------------------- holdout
def train_val_test_split(
    X: ArrayLike,
    y: ArrayLike,
    *,
    val_size: float | int = 0.2,
    test_size: float | int = 0.2,
    stratify: bool = True,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split samples at random into training, validation and test sets (seed 002, 3.4.2).

    The defaults give seed 002's 60% / 20% / 20% split. Every sample lands in exactly one
    part. With class labels and ``stratify=True`` each class is split in the same
    proportions: its count in each part is within one sample of
    ``class_count * part_size / n``.

    Parameters
    ----------
    X : array_like, shape (n, ...)
        Features; an ndarray or ``numpy.memmap`` is indexed directly, never copied whole.
    y : array_like, shape (n,) or (n, k)
        Targets: labels, one-hot rows, or real values.
    val_size, test_size : float or int, default 0.2
        A fraction of the samples in (0, 1), rounded to the nearest count (halves up), or a
        number of samples (int >= 1). The training set gets the rest, at least one sample.
    stratify : bool, default True
        Stratify by class when ``y`` holds class labels (int/bool labels, one-hot rows, or a
        0/1 column); a real-valued ``y`` is always split by a plain shuffle.
    seed : int or None, default None
        Seed of ``numpy.random.default_rng``; the same seed gives the same split.

    Returns
    -------
    tuple of numpy.ndarray
        ``(X_train, X_val, X_test, y_train, y_val, y_test)``; the rows of each part keep
        their original relative order.

    Raises
    ------
    TypeError
        If a size is neither a float nor an int, or ``seed`` is not an int.
    ValueError
        If ``X`` and ``y`` differ in length or are empty, a fraction is outside (0, 1), a
        part would be empty, or the sizes leave no training samples.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.zeros((100, 3)), np.repeat([0, 1, 2, 3], 25)
    >>> parts = train_val_test_split(X, y, val_size=0.1, test_size=30, seed=1)
    >>> [len(p) for p in parts[:3]]
    [60, 10, 30]
    >>> np.bincount(parts[5]).tolist()  # 30 test samples: 7 or 8 of each class
    [7, 8, 7, 8]
    """
    X_parts, y_parts = _holdout(
        X, y, {"val_size": val_size, "test_size": test_size}, stratify, seed
    )
    return X_parts[0], X_parts[1], X_parts[2], y_parts[0], y_parts[1], y_parts[2]


def train_test_split(
    X: ArrayLike,
    y: ArrayLike,
    *,
    test_size: float | int = 0.2,
    stratify: bool = True,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split samples at random into a training and a held-out set (seed 002, 3.4.2).

    As :func:`train_val_test_split` with no validation part.

    Parameters
    ----------
    X : array_like, shape (n, ...)
        Features; an ndarray or ``numpy.memmap`` is indexed directly, never copied whole.
    y : array_like, shape (n,) or (n, k)
        Targets: labels, one-hot rows, or real values.
    test_size : float or int, default 0.2
        A fraction in (0, 1) (rounded, halves up) or a number of samples (int >= 1).
    stratify : bool, default True
        Stratify by class when ``y`` holds class labels.
    seed : int or None, default None
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(X_train, X_test, y_train, y_test)``.

    Raises
    ------
    TypeError
        If ``test_size`` is neither a float nor an int, or ``seed`` is not an int.
    ValueError
        As :func:`train_val_test_split`.

    Examples
    --------
    >>> import numpy as np
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     np.arange(10).reshape(5, 2), np.array([0, 0, 1, 1, 1]), test_size=2, seed=0)
    >>> X_train.shape, X_test.shape, sorted(y_test.tolist())
    ((3, 2), (2, 2), [0, 1])
    """
    X_parts, y_parts = _holdout(X, y, {"test_size": test_size}, stratify, seed)
    return X_parts[0], X_parts[1], y_parts[0], y_parts[1]


# ---------------------------------------------------------------------------- k-fold
# ---------------------------------------------------------------------------- cross-validation
@dataclass(frozen=True)
class CrossValidationResult:
    """Outcome of :func:`cross_validate`: one entry per fold, and their summaries.

    Attributes
    ----------
    costs : numpy.ndarray, shape (k,)
        Validation cost of each fold's model, as ``net.evaluate`` reports it.
    accuracies : numpy.ndarray, shape (k,), or None
        Validation accuracy of each fold; None when the model reports none (regression).
    histories : list
        What each fold's ``net.train`` returned (a ``History``), in fold order.
    folds : list of (numpy.ndarray, numpy.ndarray)
        The ``(train_idx, val_idx)`` of each fold.
    seeds : tuple of int, or None
        The seed passed to ``build_fn`` for each fold, or None if it takes no ``seed``.
    """

    costs: np.ndarray
    accuracies: np.ndarray | None
    histories: list[Any] = field(repr=False)
    folds: list[tuple[np.ndarray, np.ndarray]] = field(repr=False)
    seeds: tuple[int, ...] | None = None

    @property
    def k(self) -> int:
        """Number of folds."""
        return len(self.costs)

    @property
    def mean_cost(self) -> float:
        """Mean validation cost over the folds (seed 002: the k results "usually averaged")."""
        return float(np.mean(self.costs))

    @property
    def std_cost(self) -> float:
        """Standard deviation of the fold costs (``ddof=0``, as ``numpy.std``)."""
        return float(np.std(self.costs))

    @property
    def mean_accuracy(self) -> float | None:
        """Mean validation accuracy over the folds; None for regression."""
        return None if self.accuracies is None else float(np.mean(self.accuracies))

    @property
    def std_accuracy(self) -> float | None:
        """Standard deviation of the fold accuracies (``ddof=0``); None for regression."""
        return None if self.accuracies is None else float(np.std(self.accuracies))

    def __str__(self) -> str:
        text = f"{self.k}-fold cross-validation: cost {self.mean_cost:.4g} ± {self.std_cost:.2g}"
        if self.accuracies is not None:
            text += f", accuracy {self.mean_accuracy:.4f} ± {self.std_accuracy:.4f}"
        return text


def _takes_seed(build_fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(build_fn).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    parameter = parameters.get("seed")
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


def cross_validate(
    build_fn: Callable[..., Any],
    X: ArrayLike,
    y: ArrayLike,
    k: int = 5,
    *,
    seed: int | None = None,
    stratify: bool = True,
    n_jobs: int = 1,
    backend: str | None = None,
    client: Any = None,
    threads_per_worker: int | None = None,
    **train_kwargs: Any,
) -> CrossValidationResult:
    """k-fold cross-validation of a model recipe (seed 002, section 3.4.2).

    For each fold ``(train_idx, val_idx)`` of ``kfold_indices(y, k, stratify=stratify,
    seed=seed)``::

        net = build_fn()                 # or build_fn(seed=fold_seed), see below
        history = net.train(X[train_idx], y[train_idx], X[val_idx], y[val_idx], **train_kwargs)
        cost, accuracy = net.evaluate(X[val_idx], y[val_idx])

    and the ``k`` results are collected and averaged.

    Parameters
    ----------
    build_fn : callable
        Returns a fresh, untrained model (a :class:`~layerkit.Network` or anything with
        the same ``train`` and ``evaluate``). If it has a parameter named ``seed``, it is
        called as ``build_fn(seed=s)`` with a different ``s`` for each fold, drawn from
        ``numpy.random.SeedSequence(seed).spawn(k)``: the folds then start from
        independent initial weights, and the whole run is reproducible from ``seed``
        (the seeds used are kept in :attr:`CrossValidationResult.seeds`). A ``**kwargs``
        catch-all does not count: nothing is passed that ``build_fn`` did not ask for.
    X : array_like, shape (n, ...)
        Features; an ndarray or ``numpy.memmap`` is indexed fold by fold, never copied whole.
    y : array_like, shape (n,) or (n, k)
        Targets, in any form ``net.train`` accepts.
    k : int, default 5
        Number of folds, ``2 <= k <= n``.
    seed : int or None, default None
        Seed of the fold assignment (the folds equal those of :func:`kfold_indices` with
        the same seed) and of the per-fold model seeds.
    stratify : bool, default True
        Stratify the folds by class when ``y`` holds class labels.
    n_jobs : int, default 1
        Folds trained at once on loky worker processes (joblib), -1 for every core; 1
        trains them one after another in this process. The engine is :func:`layerkit.sweep`'s:
        ``build_fn`` must then be picklable (a module-level function), and the results
        equal the serial ones for the same ``threads_per_worker``.
    backend : {"loky", "dask"}, optional
        Default: ``"dask"`` when ``client`` is given, else ``"loky"``.
    client : distributed.Client or str, optional
        Train the folds on a Dask cluster (a client or a scheduler address).
    threads_per_worker : int, optional
        BLAS threads per fold (threadpoolctl); default as in :func:`layerkit.sweep`.
    **train_kwargs
        Passed to every ``net.train`` call: ``epochs``, ``batch_size``,
        ``learning_rate``, ``verbose``, ... The validation data are supplied by
        ``cross_validate`` and may not be given here.

    Returns
    -------
    CrossValidationResult
        Per-fold costs, accuracies, histories, fold indices and seeds, with ``mean_cost``,
        ``std_cost``, ``mean_accuracy`` and ``std_accuracy``.

    Raises
    ------
    LayerkitTypeError
        If ``build_fn`` is not callable (or not picklable with ``n_jobs > 1``), or an
        argument has the wrong type.
    LayerkitValueError
        If ``X`` and ``y`` differ in length, ``k`` is out of range, ``train_kwargs``
        contains ``X_val`` or ``y_val``, or ``build_fn`` returns the same object twice.

    A fold that raises stops the cross-validation with its exception, on every backend.

    Examples
    --------
    >>> import layerkit as lk  # doctest: +SKIP
    >>> from layerkit.datasets import load_digits  # doctest: +SKIP
    >>> X, y = load_digits(split=False)  # doctest: +SKIP
    >>> def build(seed):  # doctest: +SKIP
    ...     return lk.Network([lk.Input(64), lk.Dense(32, "relu"), lk.Dense(10, "softmax")],
    ...                       seed=seed)
    >>> result = cross_validate(build, X, y, k=5, seed=0, epochs=20, verbose=False)  # doctest: +SKIP
    >>> print(result)  # doctest: +SKIP
    5-fold cross-validation: cost 0.8312 ± 0.076, accuracy 0.8620 ± 0.0166
    """
    if not callable(build_fn):
        raise LayerkitTypeError(
            f"build_fn must be a callable returning a fresh model; received "
            f"{type(build_fn).__name__}"
        )
    clash = sorted({"X_val", "y_val"} & train_kwargs.keys())
    if clash:
        raise LayerkitValueError(
            f"train_kwargs must not contain {', '.join(clash)}: cross_validate supplies each "
            "fold's validation data itself"
        )
    X = as_indexable(X, "X")
    y = as_indexable(y, "y")
    check_n_samples(X, y)
    folds = list(kfold_indices(y, k, stratify=stratify, seed=seed))
    seeds = None
    if _takes_seed(build_fn):
        children = np.random.SeedSequence(seed).spawn(len(folds))
        seeds = tuple(int(child.generate_state(1)[0]) for child in children)

    backend = engine.check_backend(backend, client)
    job = Job(
        build=_FreshModels(build_fn),
        build_names=frozenset(),
        takes_seed=seeds is not None,
        X=X,
        y=y,
        folds=tuple(folds),
        train_kwargs=train_kwargs,
        scoring="cost",
        capture_errors=False,
    )
    tasks = [
        Task(f"fold-{i}", 0, {}, i, None if seeds is None else seeds[i]) for i in range(len(folds))
    ]
    by_key = {}
    for record in engine.execute(
        tasks,
        job,
        n_jobs=engine.check_n_jobs(n_jobs),
        backend=backend,
        client=client,
        threads=engine.check_threads(threads_per_worker),
    ):
        by_key[record["key"]] = record
    records = [by_key[task.key] for task in tasks]
    accuracies = [r["metrics"]["val_accuracy"] for r in records]
    have_accuracy = all(a is not None for a in accuracies)
    return CrossValidationResult(
        costs=np.asarray([r["metrics"]["val_cost"] for r in records]),
        accuracies=np.asarray(accuracies, dtype=np.float64) if have_accuracy else None,
        histories=[_history(r["history"]) for r in records],
        folds=folds,
        seeds=seeds,
    )


def _history(value: Any) -> Any:
    """A record's history as a :class:`~layerkit.History` again (other objects as they are)."""
    if isinstance(value, dict) and set(value) == set(History.__dataclass_fields__):
        return History.from_dict(value)
    return value


class _FreshModels:
    """``build_fn``, refusing to hand out the same model object for two folds in a row."""

    def __init__(self, build_fn: Callable[..., Any]) -> None:
        self.build_fn = build_fn
        self._previous: Any = None
        self._calls = 0

    def __call__(self, **kwargs: Any) -> Any:
        net = self.build_fn(**kwargs)
        if net is self._previous:
            raise LayerkitValueError(
                f"build_fn returned the same model object for folds {self._calls - 1} and "
                f"{self._calls}; it must build a fresh, untrained model on every call"
            )
        self._previous, self._calls = net, self._calls + 1
        return net

    def __getstate__(self) -> dict[str, Any]:
        # Workers get the recipe, not a model built in this process.
        return {"build_fn": self.build_fn, "_previous": None, "_calls": 0}
