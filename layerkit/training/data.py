"""Training data: checked once, then served batch by batch without copying the data set.

``prepare`` checks inputs, targets and weights and returns a :class:`Dataset` (rows of the
caller's arrays, which are never modified); ``split`` holds out a validation fraction;
:class:`Batches` gathers each batch into reused buffers (``np.take(..., out=)``), or hands
out slices when the batches are contiguous, so that ``X`` may be a ``numpy.memmap``
larger than memory; ``evaluate_data`` computes the objective and accuracy in chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import (
    LayerkitTypeError,
    LayerkitValueError,
    check_features,
    check_finite,
    check_n_samples,
    check_range_for,
    check_real,
    check_sample_weight,
)

if TYPE_CHECKING:
    from ..network import Network

__all__ = ["Batches", "Dataset", "evaluate_data", "prepare", "split"]

_EVAL_ELEMENTS = 1 << 22


@dataclass
class Dataset:
    """Checked training or validation data.

    Attributes
    ----------
    X : numpy.ndarray
        The caller's inputs (any float or int dtype; cast batch by batch).
    T : numpy.ndarray
        Targets as ``(n, k)`` rows in the network's dtype.
    W : numpy.ndarray or None
        Per-sample weights (float64).
    index : numpy.ndarray or None
        Rows of ``X`` used (after ``validation_split``); ``None`` for all.
    labels : numpy.ndarray or None
        Class of each row of ``X`` (class targets), for accuracy.
    values_checked : bool
        Whether ``X``'s values are known to be finite (``prepare(defer_values=True)``
        leaves that to the training loop's first epoch).
    """

    X: np.ndarray
    T: np.ndarray
    W: np.ndarray | None
    index: np.ndarray | None
    labels: np.ndarray | None = None
    values_checked: bool = True

    @property
    def n(self) -> int:
        return len(self.X) if self.index is None else len(self.index)


def labels_of(target: np.ndarray, y: Any = None) -> np.ndarray:
    """Class of each target row: argmax of one-hot rows, ``> 0.5`` for one sigmoid unit.

    ``y``, the labels ``target`` was made from, if the caller gave labels: they are the
    argmax already (a row-by-row argmax of ``(n, 10)`` costs a millisecond per 60,000).
    """
    if target.shape[1] == 1:
        return (target[:, 0] > 0.5).astype(np.intp)
    if isinstance(y, np.ndarray) and y.ndim == 1:
        return y.astype(np.intp)  # checked whole numbers in range by prepare_targets
    return np.argmax(target, axis=1)


def is_one_hot(target: np.ndarray) -> bool:
    """Rows of 0s and one 1 (at least two columns)."""
    return (
        target.shape[1] > 1
        and bool(np.all((target == 0) | (target == 1)))
        and bool(np.all(target.sum(axis=1) == 1))
    )


def count_correct(output: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> int:
    """How many rows of ``output`` predict their label (``threshold`` for one unit)."""
    predicted = (output[:, 0] > threshold) if output.shape[1] == 1 else output.argmax(axis=1)
    return int(np.add.reduce(predicted == labels))  # a bool sum counts (one C call)


def evaluate_data(net: Network, data: Dataset) -> tuple[float, float | None]:
    """Objective (data cost + penalty) and accuracy over ``data``, in chunks, inference mode."""
    n = data.n
    width = max(int(np.prod(layer.output_shape)) for layer in net.layers)
    chunk = max(256, _EVAL_ELEMENTS // width)
    total = 0.0
    correct = 0
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        if data.index is None:
            xb, tb = data.X[start:stop], data.T[start:stop]
            wb = None if data.W is None else data.W[start:stop]
        else:
            idx = data.index[start:stop]
            xb, tb = data.X[idx], data.T[idx]
            wb = None if data.W is None else data.W[idx]
        xb = np.asarray(xb, dtype=net.dtype)  # range checked in _prepare
        out = net.run(xb, False)
        total += net.data_cost(out, tb, wb) * (stop - start)
        if data.labels is not None:
            rows = slice(start, stop) if data.index is None else data.index[start:stop]
            correct += count_correct(out, data.labels[rows], net.loss_fn.decision_threshold)
    cost = total / n + net.penalty_value()
    return float(cost), (correct / n if data.labels is not None else None)


def prepare(
    net: Network,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    class_weight: Any = None,
    x_name: str = "X",
    y_name: str = "y",
    w_name: str = "sample_weight",
    *,
    defer_values: bool = False,
) -> Dataset:
    """Check ``X``, ``y`` and the weights against ``net``; nothing is copied but targets.

    ``x_name``, ``y_name`` and ``w_name`` are the argument names errors give.
    ``defer_values=True`` leaves the check that ``X``'s values are finite to the training
    loop, which makes it as its first epoch reads them (``values_checked`` is then
    ``False``), for float values no wider than the network's dtype: wider ones are read
    here anyway, for their range.
    """
    x = check_features(
        X, net.input_shape, argument=x_name, layer=net.layers[0].name, check_values=False
    )
    deferred = defer_values and x.dtype.kind == "f" and x.dtype.itemsize <= net.dtype.itemsize
    if not deferred:
        check_finite(x, x_name)
    check_range_for(x, net.dtype, x_name)  # batches are cast later, one at a time
    target = net.loss_fn.prepare_targets(y, net.output_shape[0], net.dtype, argument=y_name)
    check_n_samples(x, target, x_name, y_name)
    weight = None if sample_weight is None else check_sample_weight(sample_weight, len(x), w_name)
    # Accuracy is reported for class targets: a classification loss, or one-hot rows under
    # a regression loss (seed 001 trains a sigmoid network with mse on one-hot digits).
    labels = labels_of(target, y) if net.is_classifier or is_one_hot(target) else None
    if class_weight is not None:
        if labels is None:
            raise LayerkitValueError(
                f"class_weight needs a classification loss; the network's loss is {net.loss_fn.name!r}"
            )
        per_class = _class_weights(class_weight, labels, max(2, target.shape[1]))
        weight = per_class if weight is None else weight * per_class
    return Dataset(x, target, weight, None, labels, values_checked=not deferred)


def _class_weights(class_weight: Any, labels: np.ndarray, n_classes: int) -> np.ndarray:
    if not isinstance(class_weight, dict):
        raise LayerkitTypeError(
            f"class_weight must be a dict {{class: weight}}; received {type(class_weight).__name__}"
        )
    table = np.ones(n_classes)
    for key, value in class_weight.items():
        if (
            isinstance(key, bool)
            or not isinstance(key, int | np.integer)
            or not 0 <= key < n_classes
        ):
            raise LayerkitValueError(
                f"class_weight keys must be class labels in [0, {n_classes - 1}]; received {key!r}"
            )
        table[int(key)] = check_real(value, f"class_weight[{key}]", low=0.0)
    return table[labels]


def split(rng: np.random.Generator, data: Dataset, fraction: float) -> tuple[Dataset, Dataset]:
    """Stratified (classification) or plain random split of rows, drawn from ``rng``."""
    n = data.n
    n_val = round(fraction * n)
    if n_val < 1 or n_val >= n:
        raise LayerkitValueError(
            f"validation_split={fraction} leaves {n_val} validation and {n - n_val} training "
            f"samples out of {n}; both must be at least 1"
        )
    if data.labels is not None:
        labels = data.labels
        perm = rng.permutation(n)
        # Sort the shuffled rows by class and deal the first rows of each class to
        # validation. Per-class counts follow the largest-remainder rule, so the total is
        # exactly round(fraction * n) and every class share is within one sample.
        by_class = perm[np.argsort(labels[perm], kind="stable")]
        counts = np.bincount(labels)
        quotas = counts * fraction
        per_class_val = np.floor(quotas).astype(np.int64)
        short = n_val - int(per_class_val.sum())
        if short > 0:
            order = np.argsort(-(quotas - per_class_val), kind="stable")
            per_class_val[order[:short]] += 1
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        ranks = np.empty(n, dtype=np.int64)
        ranks[by_class] = np.arange(n) - np.repeat(starts, counts)
        is_val = ranks < per_class_val[labels]
        val_idx = np.flatnonzero(is_val)
        train_idx = np.flatnonzero(~is_val)
    else:
        perm = rng.permutation(n)
        val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    checked = data.values_checked
    train = Dataset(data.X, data.T, data.W, train_idx, data.labels, values_checked=checked)
    val = Dataset(data.X, data.T, data.W, val_idx, data.labels, values_checked=checked)
    return train, val


class Batches:
    """The batches of one epoch, in the order the network's generator draws.

    ``shuffle=True`` permutes the rows every epoch and gathers each batch into reused
    buffers; ``"batch"`` keeps batches contiguous and shuffles only their order;
    ``False`` keeps both. Contiguous batches of an array already in the network's dtype
    are plain slices: nothing is copied.
    """

    def __init__(self, data: Dataset, batch_size: int | None, shuffle: bool | str, dtype: Any):
        self.data, self.shuffle = data, shuffle
        self.n = data.n
        m = self.size = data.n if batch_size is None else min(batch_size, data.n)
        self.count = math.ceil(data.n / m)
        self.rows = np.arange(data.n) if data.index is None else data.index
        self.order = self.rows.copy()
        self.slices = (
            (shuffle is not True or m == data.n)
            and data.index is None
            and data.X.dtype == np.dtype(dtype)
        )
        self.block_range = np.arange(self.count)
        self.blocks = self.block_range.copy()
        if not self.slices:
            X = data.X
            self.xbuf = np.empty((m, *X.shape[1:]), dtype=dtype)
            self.rawbuf = None if X.dtype == dtype else np.empty((m, *X.shape[1:]), X.dtype)
            self.tbuf = np.empty((m, data.T.shape[1]), dtype=data.T.dtype)
            self.wbuf = None if data.W is None else np.empty(m, dtype=data.W.dtype)
            self.lbuf = None if data.labels is None else np.empty(m, dtype=data.labels.dtype)

    def shuffle_epoch(self, rng: np.random.Generator) -> None:
        """Draw this epoch's order, always from the same starting order, so that it depends
        only on the generator's state (a resumed run repeats it exactly)."""
        if self.shuffle is True:
            np.copyto(self.order, self.rows)
            rng.shuffle(self.order)
        elif self.shuffle == "batch":
            np.copyto(self.blocks, self.block_range)
            rng.shuffle(self.blocks)

    def __getitem__(self, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Any]:
        """``(x, targets, weights, labels)`` of the ``b``-th batch of the epoch."""
        data = self.data
        start = int(self.blocks[b]) * self.size
        stop = min(start + self.size, self.n)
        if self.slices:
            w = None if data.W is None else data.W[start:stop]
            labels = None if data.labels is None else data.labels[start:stop]
            return data.X[start:stop], data.T[start:stop], w, labels
        idx = self.order[start:stop]
        m = stop - start
        if self.rawbuf is None:
            xb = data.X.take(idx, axis=0, out=self.xbuf[:m], mode="clip")
        else:
            raw = data.X.take(idx, axis=0, out=self.rawbuf[:m], mode="clip")
            xb = self.xbuf[:m]
            np.copyto(xb, raw, casting="unsafe")
        tb = data.T.take(idx, axis=0, out=self.tbuf[:m], mode="clip")
        wb = None if data.W is None else data.W.take(idx, out=self.wbuf[:m], mode="clip")
        lb = None if data.labels is None else data.labels.take(idx, out=self.lbuf[:m], mode="clip")
        return xb, tb, wb, lb


def check_fraction(validation_split: Any) -> float:
    """``validation_split`` as a float in (0, 1)."""
    return check_real(
        validation_split,
        "validation_split",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
