"""Classification metrics: accuracy, confusion matrix, precision, recall and F1.

Seed 002 (section 2.5) takes *accuracy*, "the proportion of observations which the network
predicts correctly as belonging to their associated class", as the simplest performance
metric, and warns that with imbalanced classes (90% / 10%) a model predicting only the
majority class scores 90% "without serving any useful purpose at all"; precision, recall
and the F1 score penalise such mistakes class by class::

    precision_c = TP_c / (TP_c + FP_c)      recall_c = TP_c / (TP_c + FN_c)
    F1_c = 2 precision_c recall_c / (precision_c + recall_c) = 2 TP_c / (2 TP_c + FP_c + FN_c)

Seed 000 (section 4.2.3) reads errors off a *confusion matrix* whose rows are the correct
labels and whose columns are the network's predictions; :func:`confusion_matrix` follows
that layout (as scikit-learn does), so ``C[3, 8]`` counts threes predicted as eights.

Every function accepts, for ``y_true`` and ``y_pred`` alike:

* integer class labels, shape ``(n,)`` (bool, or floats holding whole numbers, also do);
* one-hot rows or class scores / probabilities, shape ``(n, k)`` with ``k >= 2``: the
  label is the column of the largest value (ties go to the first, as ``numpy.argmax``);
* one sigmoid output, shape ``(n, 1)``: the probability of class 1, and the label is 1
  where it is ``> 0.5`` (the threshold :meth:`Network.predict_classes` uses).

So ``accuracy(y_test, net.predict(X_test))`` works directly on the network's output.

>>> from layerkit.metrics import accuracy, confusion_matrix
>>> y_true = [0, 1, 2, 2, 2]
>>> y_pred = [0, 0, 2, 2, 1]
>>> accuracy(y_true, y_pred)
0.6
>>> confusion_matrix(y_true, y_pred)
array([[1, 0, 0],
       [1, 0, 0],
       [0, 1, 2]])
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._validation import LayerkitTypeError, LayerkitValueError

__all__ = [
    "PrecisionRecallF1",
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "precision_recall_f1",
    "top_k_accuracy",
]

_AVERAGES = ("macro", "micro", "weighted")
# Floats are accepted as labels only while they are exact integers.
_MAX_FLOAT_LABEL = 2.0**53


class PrecisionRecallF1(NamedTuple):
    """Result of :func:`precision_recall_f1`; unpack as ``p, r, f1, support = ...``.

    Per-class ``(k,)`` arrays when no average was asked for; floats (and the total number
    of samples as ``support``) for an average.
    """

    precision: np.ndarray | float
    recall: np.ndarray | float
    f1: np.ndarray | float
    support: np.ndarray | int


# ---------------------------------------------------------------------------- input checks
def _as_array(y: ArrayLike, argument: str) -> np.ndarray:
    try:
        arr = y if isinstance(y, np.ndarray) else np.asarray(y)
    except (ValueError, TypeError) as exc:
        raise LayerkitTypeError(
            f"{argument} must be a numeric array of labels or scores; could not convert "
            f"{type(y).__name__}: {exc}"
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise LayerkitTypeError(
            f"{argument} must hold numbers (bool, int or float dtype); received an array of "
            f"dtype {arr.dtype}"
        )
    if arr.ndim not in (1, 2):
        raise LayerkitValueError(
            f"{argument} must be 1-D labels (n,) or 2-D scores (n, k); received shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise LayerkitValueError(
            f"{argument} is empty (shape {arr.shape}); expected at least one sample"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise LayerkitValueError(f"{argument} has shape {arr.shape}; expected at least one column")
    return arr


def _has_nan(arr: np.ndarray) -> bool:
    if arr.dtype.kind != "f":
        return False
    # One reduction for the usual clean case; the sum turns NaN (or inf - inf) into NaN,
    # and only then is the exact, allocating check needed.
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    return bool(np.isnan(total)) and bool(np.isnan(arr).any())


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _as_labels(y: ArrayLike, argument: str) -> tuple[np.ndarray, int, bool]:
    """Class labels (int64, shape (n,)), the number of classes the input implies, and
    whether that number is fixed by the shape (2-D input) rather than by the largest label.

    The implied number is ``k`` for ``(n, k)`` scores, 2 for one sigmoid column and
    ``max + 1`` for labels.
    """
    arr = _as_array(y, argument)
    if arr.ndim == 2 and arr.shape[1] == 1:
        column = arr[:, 0]
        if _has_nan(column):
            raise LayerkitValueError(
                f"{argument} contains NaN (first at row {_first(np.isnan(column))}); expected "
                "a probability of class 1 in [0, 1]"
            )
        outside = (column < 0) | (column > 1)
        if outside.any():
            row = _first(outside)
            raise LayerkitValueError(
                f"{argument} has one column, read as the probability of class 1, so its values "
                f"must lie in [0, 1]; received {column[row].item()!r} at row {row}"
            )
        return (column > 0.5).astype(np.int64), 2, True
    if arr.ndim == 2:
        if _has_nan(arr):
            row = int(np.argwhere(np.isnan(arr))[0, 0])
            raise LayerkitValueError(
                f"{argument} contains NaN (first in row {row}); expected finite class scores"
            )
        return arr.argmax(axis=1).astype(np.int64), arr.shape[1], True
    if arr.dtype.kind == "b":
        labels = arr.astype(np.int64)
        return labels, int(labels.max()) + 1, False
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.floor(arr)) | (np.abs(arr) >= _MAX_FLOAT_LABEL)
        if bad.any():
            i = _first(bad)
            raise LayerkitValueError(
                f"{argument} is 1-D, so it must hold class labels (whole numbers); received "
                f"{arr[i].item()!r} at index {i}. Pass one sigmoid output as shape (n, 1) and class "
                "scores as shape (n, k)"
            )
    elif arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
        i = int(arr.argmax())
        raise LayerkitValueError(
            f"{argument} holds label {arr[i].item()} at index {i}, too large for a class"
        )
    if arr.min() < 0:
        i = int(arr.argmin())
        raise LayerkitValueError(
            f"{argument} holds negative label {arr[i].item()!r} at index {i}; expected class labels "
            "0, 1, ..., k-1"
        )
    labels = arr.astype(np.int64)
    return labels, int(labels.max()) + 1, False


def _check_n_classes(n_classes: object, argument: str = "n_classes") -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise LayerkitTypeError(f"{argument} must be an int; received {type(n_classes).__name__}")
    if n_classes < 1:
        raise LayerkitValueError(f"{argument} must be at least 1; received {n_classes}")
    return int(n_classes)


def _pair(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Both inputs as labels of equal length, and the number of classes."""
    t, k_true, shaped_true = _as_labels(y_true, "y_true")
    p, k_pred, shaped_pred = _as_labels(y_pred, "y_pred")
    if len(t) != len(p):
        raise LayerkitValueError(
            f"y_true and y_pred must have the same number of samples; received {len(t)} and "
            f"{len(p)}"
        )
    if n_classes is None:
        return t, p, max(k_true, k_pred)
    k = _check_n_classes(n_classes)
    for name, labels, implied, shaped in (
        ("y_true", t, k_true, shaped_true),
        ("y_pred", p, k_pred, shaped_pred),
    ):
        if shaped and implied != k:
            raise LayerkitValueError(
                f"{name} is 2-D with scores for {implied} classes (one column counts as two), "
                f"but n_classes={k}; expected {k} columns"
            )
        if not shaped and implied > k:
            i = int(labels.argmax())
            raise LayerkitValueError(
                f"{name} holds label {labels[i].item()} at index {i}, but n_classes={k}; expected "
                f"labels in [0, {k - 1}]"
            )
    return t, p, k


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0 (zero_division=0)."""
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


# ---------------------------------------------------------------------------- metrics
def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of samples whose predicted class is the true class (seed 002, section 2.5).

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,), (n, k) or (n, 1)
        Labels, one-hot rows / class scores (argmax taken), or one sigmoid probability
        (class 1 where ``> 0.5``). Each argument may use a different form.

    Returns
    -------
    float
        In ``[0, 1]``.

    Raises
    ------
    TypeError
        If an argument is not numeric (object, string or complex dtype).
    ValueError
        If an argument is empty, of another shape, contains NaN, holds negative or
        non-integer labels, or the two lengths differ.

    Examples
    --------
    >>> accuracy([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    0.75
    >>> accuracy([1, 0, 1], [[0.7], [0.2], [0.4]])  # one sigmoid output
    0.6666666666666666
    """
    t, p, _ = _pair(y_true, y_pred)
    return float(np.count_nonzero(t == p) / len(t))


def top_k_accuracy(y_true: ArrayLike, y_score: ArrayLike, k: int = 5) -> float:
    """Fraction of samples whose true class is among the ``k`` highest-scored classes.

    A class ranks above the true class if its score is higher, or equal with a smaller
    index: ties are broken as ``numpy.argmax`` breaks them, so ``k=1`` gives exactly
    :func:`accuracy`.

    Parameters
    ----------
    y_true : array_like, shape (n,) or (n, c)
        Labels or one-hot rows.
    y_score : array_like, shape (n, c)
        Class scores or probabilities, ``c >= 2``.
    k : int, default 5
        At least 1; ``k >= c`` gives 1.0.

    Returns
    -------
    float
        In ``[0, 1]``.

    Raises
    ------
    TypeError
        If an argument is not numeric or ``k`` is not an int.
    ValueError
        If ``y_score`` is not 2-D with at least two columns or contains NaN, a label is
        ``>= c``, the lengths differ, or ``k < 1``.

    Examples
    --------
    >>> scores = [[0.5, 0.3, 0.2], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]]
    >>> top_k_accuracy([1, 0, 2], scores, k=2)
    0.6666666666666666
    """
    k = _check_n_classes(k, "k")
    scores = _as_array(y_score, "y_score")
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise LayerkitValueError(
            f"y_score must be class scores of shape (n, c) with c >= 2; received shape "
            f"{scores.shape}"
        )
    t, _, _ = _pair(y_true, scores, n_classes=scores.shape[1])
    true_score = np.take_along_axis(scores, t[:, None], axis=1)
    above = (scores > true_score) | (
        (scores == true_score) & (np.arange(scores.shape[1]) < t[:, None])
    )
    return float(np.count_nonzero(above.sum(axis=1) < k) / len(t))


def confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
) -> np.ndarray:
    """Counts of (true class, predicted class) pairs (seed 000, section 4.2.3).

    ``C[i, j]`` is the number of samples of class ``i`` predicted as class ``j``: rows are
    the true classes, columns the predictions, as in scikit-learn. The diagonal holds the
    correct predictions; ``C.sum()`` is the number of samples.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,), (n, k) or (n, 1)
        Labels, one-hot rows / class scores (argmax taken), or one sigmoid probability.
    n_classes : int, optional
        Size ``k`` of the matrix. By default the largest label + 1, or the number of
        columns of a 2-D argument (2 for one sigmoid column), whichever is larger; pass it
        so classes absent from a small sample still get a row and column.

    Returns
    -------
    numpy.ndarray
        int64, shape ``(k, k)``.

    Raises
    ------
    TypeError
        If an argument is not numeric, or ``n_classes`` is not an int.
    ValueError
        As :func:`accuracy`, and if a label is ``>= n_classes`` or a 2-D argument has a
        number of columns other than ``n_classes``.

    Examples
    --------
    >>> confusion_matrix([1, 1, 0], [1, 0, 0], n_classes=3)
    array([[1, 0, 0],
           [1, 1, 0],
           [0, 0, 0]])
    """
    t, p, k = _pair(y_true, y_pred, n_classes)
    # Pair (i, j) has the unique code i*k + j; one bincount tallies every pair at once.
    counts = np.bincount(t * k + p, minlength=k * k)
    return counts.reshape(k, k).astype(np.int64, copy=False)


def _counts(t: np.ndarray, p: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, predicted counts and true counts (support) per class, O(n + k)."""
    tp = np.bincount(t[t == p], minlength=k)
    predicted = np.bincount(p, minlength=k)
    support = np.bincount(t, minlength=k)
    return tp, predicted, support


def precision_recall_f1(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    n_classes: int | None = None,
    average: str | None = None,
) -> PrecisionRecallF1:
    """Precision, recall, F1 score and support, per class or averaged (seed 002, 2.5).

    For class ``c``: ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``,
    ``F1 = 2 TP / (2 TP + FP + FN)`` (the harmonic mean of the two), and ``support`` is the
    number of samples of class ``c``. A ratio with a zero denominator is 0 and raises no
    warning (scikit-learn's ``zero_division=0``).

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,), (n, k) or (n, 1)
        Labels, one-hot rows / class scores (argmax taken), or one sigmoid probability.
    n_classes : int, optional
        Number of classes ``k``; inferred as in :func:`confusion_matrix` by default.
    average : {None, "macro", "micro", "weighted"}, default None
        ``None``: per-class arrays of length ``k``. ``"macro"``: unweighted mean over the
        classes that occur in ``y_true`` or ``y_pred`` (a class absent from both has no
        errors to count, so it does not pull the mean down; this matches scikit-learn's
        default ``labels``). ``"weighted"``: mean weighted by support. ``"micro"``: from the
        totals of TP, FP and FN over classes, which for single-label data all equal the
        accuracy. For a two-class problem, the usual "binary" scores are the per-class
        values at index 1.

    Returns
    -------
    PrecisionRecallF1
        Named tuple ``(precision, recall, f1, support)``: float64 arrays and an int64
        support array per class, or floats and the total number of samples when averaged.

    Raises
    ------
    TypeError
        If an argument is not numeric, or ``n_classes`` is not an int.
    ValueError
        As :func:`confusion_matrix`, and for an unknown ``average``.

    Examples
    --------
    >>> p, r, f1, support = precision_recall_f1([0, 1, 2, 2, 2], [0, 0, 2, 2, 1])
    >>> p, r, support
    (array([0.5, 0. , 1. ]), array([1.        , 0.        , 0.66666667]), array([1, 1, 3]))
    >>> round(precision_recall_f1([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], average="macro").f1, 4)
    0.4889
    """
    if average is not None and average not in _AVERAGES:
        raise LayerkitValueError(
            f"average must be None or one of {', '.join(map(repr, _AVERAGES))}; received "
            f"{average!r}"
        )
    t, p, k = _pair(y_true, y_pred, n_classes)
    tp, predicted, support = _counts(t, p, k)
    if average == "micro":
        # Every sample is one prediction and one truth: total TP+FP = total TP+FN = n.
        score = float(tp.sum() / len(t))
        return PrecisionRecallF1(score, score, score, len(t))
    precision = _safe_divide(tp, predicted)
    recall = _safe_divide(tp, support)
    f1 = _safe_divide(2 * tp, predicted + support)
    if average is None:
        return PrecisionRecallF1(precision, recall, f1, support.astype(np.int64, copy=False))
    if average == "macro":
        weights = ((predicted + support) > 0).astype(np.float64)
    else:
        weights = support.astype(np.float64)
    total = weights.sum()

    def mean(values: np.ndarray) -> float:
        # as np.average (and scikit-learn): the weighted sum, then one division, so that
        # a mean of exactly 0.5 prints as sklearn prints it
        return float((values * weights).sum() / total)

    return PrecisionRecallF1(mean(precision), mean(recall), mean(f1), len(t))


def classification_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    class_names: Sequence[object] | None = None,
    digits: int = 3,
) -> str:
    """Plain-text table of per-class precision, recall, F1 and support, like scikit-learn's.

    One row per class (all ``k``, including classes absent from the sample), then the
    accuracy and the macro and weighted averages of :func:`precision_recall_f1`.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,), (n, k) or (n, 1)
        Labels, one-hot rows / class scores (argmax taken), or one sigmoid probability.
    class_names : sequence, optional
        Name of each class (``str()`` is applied); its length sets the number of classes.
        By default the classes are named ``0 .. k-1``, ``k`` inferred as in
        :func:`confusion_matrix`.
    digits : int, default 3
        Decimal places of the scores.

    Returns
    -------
    str
        The table, lines separated by ``"\\n"``, ending with a newline.

    Raises
    ------
    TypeError
        If an argument is not numeric, or ``digits`` is not an int.
    ValueError
        As :func:`precision_recall_f1`, if ``class_names`` is empty, or ``digits < 0``.

    Examples
    --------
    >>> print(classification_report([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], ["cat", "dog", "owl"], digits=2))
                  precision    recall  f1-score   support
    <BLANKLINE>
             cat       0.50      1.00      0.67         1
             dog       0.00      0.00      0.00         1
             owl       1.00      0.67      0.80         3
    <BLANKLINE>
        accuracy                           0.60         5
       macro avg       0.50      0.56      0.49         5
    weighted avg       0.70      0.60      0.61         5
    <BLANKLINE>
    """
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral):
        raise LayerkitTypeError(f"digits must be an int; received {type(digits).__name__}")
    if digits < 0:
        raise LayerkitValueError(f"digits must be at least 0; received {digits}")
    n_classes = None
    if class_names is not None:
        if isinstance(class_names, str):
            raise LayerkitTypeError(
                "class_names must be a sequence of names; received a single str"
            )
        class_names = [str(name) for name in class_names]
        if not class_names:
            raise LayerkitValueError("class_names is empty; expected one name per class")
        n_classes = len(class_names)
    t, p, k = _pair(y_true, y_pred, n_classes)
    names = class_names if class_names is not None else [str(c) for c in range(k)]
    per_class = precision_recall_f1(t, p, n_classes=k)
    macro = precision_recall_f1(t, p, n_classes=k, average="macro")
    weighted = precision_recall_f1(t, p, n_classes=k, average="weighted")
    acc = float(np.count_nonzero(t == p) / len(t))

    width = max(len("weighted avg"), digits, *(len(name) for name in names))
    header = f"{'':>{width}} " + "".join(
        f" {h:>9}" for h in ("precision", "recall", "f1-score", "support")
    )

    def row(name: str, scores: tuple[float, float, float], support: int) -> str:
        return (
            f"{name:>{width}} " + "".join(f" {s:>9.{digits}f}" for s in scores) + f" {support:>9}"
        )

    lines = [header, ""]
    for c, name in enumerate(names):
        scores = (per_class.precision[c], per_class.recall[c], per_class.f1[c])
        lines.append(row(name, scores, int(per_class.support[c])))
    lines.append("")
    lines.append(f"{'accuracy':>{width}} " + " " * 20 + f" {acc:>9.{digits}f} {len(t):>9}")
    lines.append(row("macro avg", macro[:3], len(t)))
    lines.append(row("weighted avg", weighted[:3], len(t)))
    return "\n".join(lines) + "\n"
