"""k-fold indices, and the class labels that stratify splits (seed 002, section 3.4.2).

:func:`kfold_indices` is public through :mod:`layerkit.model_selection`; it lives here so
that both :func:`layerkit.model_selection.cross_validate` and :func:`layerkit.sweep`, which
``cross_validate`` runs on, can use it without importing each other.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike

from ._validation import LayerkitTypeError, LayerkitValueError, as_indexable

__all__ = ["check_seed", "class_labels", "kfold_indices"]


def class_labels(y: np.ndarray) -> np.ndarray | None:
    """Class index (0..c-1) of each sample when ``y`` holds class labels, else None."""
    if y.ndim == 1 and y.dtype.kind in "biu":
        return np.unique(y, return_inverse=True)[1].reshape(-1)
    if y.ndim == 2 and y.dtype.kind in "biuf":
        # Only exact 0/1 targets with one 1 per row (or one 0/1 column) are class labels;
        # anything else is a real-valued target.
        is_binary = np.all((y == 0) | (y == 1))
        if is_binary and y.shape[1] == 1:
            return y[:, 0].astype(np.intp)
        if is_binary and y.shape[1] > 1 and np.all(y.sum(axis=1) == 1):
            return y.argmax(axis=1)
    return None


def check_seed(seed: object) -> None:
    """Refuse a split seed that is not None or a non-negative int."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise LayerkitTypeError(
            f"seed must be None or an int; received {type(seed).__name__} {seed!r}"
        )
    if seed < 0:
        raise LayerkitValueError(f"seed must be non-negative; received {seed}")


def kfold_indices(
    n_or_y: int | ArrayLike,
    k: int = 5,
    *,
    stratify: bool = True,
    shuffle: bool = True,
    seed: int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Training and validation indices of each of ``k`` folds (seed 002, 3.4.2).

    The samples are divided into ``k`` folds whose sizes differ by at most one; fold ``i``
    is the validation set of round ``i`` and the other folds its training set, so every
    sample is validated exactly once. With class labels and ``stratify=True`` each class
    is dealt round the folds in turn, so its count in every fold is within one of
    ``class_count / k`` (a class with fewer than ``k`` samples is missing from some folds).

    Parameters
    ----------
    n_or_y : int or array_like
        The number of samples, or the targets ``y`` (shape ``(n,)`` or ``(n, k)``), which
        are only needed for stratification.
    k : int, default 5
        Number of folds, ``2 <= k <= n``.
    stratify : bool, default True
        Stratify by class when ``n_or_y`` holds class labels (int/bool labels, one-hot
        rows, or a 0/1 column); ignored for a count or real-valued targets.
    shuffle : bool, default True
        Assign samples to folds at random. Without shuffling, unstratified folds are
        consecutive blocks ``0..n/k-1``, ``n/k..``; stratified ones deal each class's
        samples round the folds in their original order.
    seed : int or None, default None
        Seed of ``numpy.random.default_rng`` (used only with ``shuffle``).

    Returns
    -------
    iterator of (numpy.ndarray, numpy.ndarray)
        ``k`` pairs ``(train_idx, val_idx)`` of sorted int64 indices. The arguments are
        checked at the call, not at the first ``next``.

    Raises
    ------
    TypeError
        If ``k`` is not an int, ``n_or_y`` is neither an int nor an array, or ``seed`` is
        not an int.
    ValueError
        If ``k < 2`` or ``k > n``, or there are no samples.

    Examples
    --------
    >>> for train_idx, val_idx in kfold_indices(5, k=2, shuffle=False):
    ...     print(train_idx, val_idx)
    [3 4] [0 1 2]
    [0 1 2] [3 4]
    """
    folds = _fold_of_each_sample(n_or_y, k, stratify=stratify, shuffle=shuffle, seed=seed)
    return _fold_pairs(folds, int(k))


def _fold_of_each_sample(
    n_or_y: int | ArrayLike, k: object, *, stratify: bool, shuffle: bool, seed: int | None
) -> np.ndarray:
    check_seed(seed)
    labels = None
    if isinstance(n_or_y, numbers.Integral) and not isinstance(n_or_y, bool):
        n = int(n_or_y)
        if n < 1:
            raise LayerkitValueError(
                f"n_or_y as a number of samples must be at least 1; received {n}"
            )
    elif isinstance(n_or_y, bool | str | bytes | numbers.Number):
        raise LayerkitTypeError(
            f"n_or_y must be the number of samples (int) or the targets y (array); received "
            f"{type(n_or_y).__name__} {n_or_y!r}"
        )
    else:
        y = as_indexable(n_or_y, "n_or_y")
        n = len(y)
        labels = class_labels(y) if stratify else None
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise LayerkitTypeError(f"k must be an int; received {type(k).__name__} {k!r}")
    k = int(k)
    if not 2 <= k <= n:
        raise LayerkitValueError(
            f"k must be in [2, n] = [2, {n}] folds for {n} samples; received {k}"
        )
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    fold = np.empty(n, dtype=np.intp)
    if labels is None:
        # Consecutive blocks of the (shuffled) order; sizes floor(n/k) or ceil(n/k).
        fold[order] = np.arange(n) * k // n
    else:
        # Order by class, then deal round the folds: each class's run of consecutive
        # positions puts floor or ceil of its count / k into every fold, and the deal
        # carries on where the previous class stopped, so fold sizes stay within one.
        order = order[np.argsort(labels[order], kind="stable")]
        fold[order] = np.arange(n) % k
    return fold


def _fold_pairs(fold: np.ndarray, k: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for i in range(k):
        in_fold = fold == i
        yield np.flatnonzero(~in_fold), np.flatnonzero(in_fold)
