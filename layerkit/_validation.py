"""Argument checks shared by the public entry points.

Every check raises before any state is touched, with a message that names the argument,
what was expected and what was received.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


class LayerkitValueError(ValueError):
    """A value is out of range, of the wrong shape, or inconsistent with the model."""


class LayerkitTypeError(TypeError):
    """An argument has the wrong type (non-numeric array, object dtype, ...)."""


def fmt(value: Any) -> str:
    """``repr(value)`` for an error message, NumPy scalars written as plain numbers.

    ``fmt(np.int64(1))`` is ``'1'`` and ``fmt(np.float32("nan"))`` is ``'nan'`` where
    ``repr`` gives ``np.int64(1)`` and ``np.float32(nan)``; tuples, lists and 0-d arrays
    are written the same way, element by element. Other values keep their ``repr``.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.bool_ | np.integer):
        return repr(value.item())
    if isinstance(value, np.generic):
        return str(value)  # NumPy's shortest text for the scalar's own precision
    if isinstance(value, tuple):
        inner = ", ".join(fmt(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    return repr(value)


def _as_array(value: Any, argument: str, expected: str) -> np.ndarray:
    """``value`` as an ndarray; an ndarray (a memmap too) as it is, since converting it
    would read it all."""
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise LayerkitTypeError(
            f"{argument} must be {expected}; could not convert {type(value).__name__}: {exc}"
        ) from exc


def as_numeric_array(value: Any, argument: str) -> np.ndarray:
    """``np.asarray(value)``, refusing object, string and complex arrays and empty ones."""
    array = _as_array(value, argument, "a numeric array")
    if array.dtype.kind not in "biuf":
        raise LayerkitTypeError(
            f"{argument} must hold real numbers (bool, int or float dtype); received an array "
            f"of dtype {array.dtype}"
        )
    if array.size == 0:
        raise LayerkitValueError(
            f"{argument} is empty (shape {array.shape}); expected at least one sample"
        )
    return array


def all_finite(array: np.ndarray) -> bool:
    """Whether every element is finite, in one reduction for the usual (finite) case."""
    if array.dtype.kind in "biu":
        return True
    # Any NaN or inf makes the sum non-finite, so a finite sum proves finiteness. A
    # non-finite one may be overflow of huge finite values: check exactly then. Summing in
    # the array's own dtype avoids a conversion pass.
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(array.reshape(-1))
    return bool(np.isfinite(total)) or bool(np.isfinite(array).all())


def check_finite(array: np.ndarray, argument: str) -> None:
    if not all_finite(array):
        bad = np.argwhere(~np.isfinite(array))[0]
        where = tuple(int(i) for i in bad)
        raise LayerkitValueError(
            f"{argument} contains NaN or infinity (first at index {where}: "
            f"{fmt(array[where])}); expected finite values"
        )


def as_indexable(X: Any, argument: str) -> np.ndarray:
    """``X`` as an array with at least one row, without copying an ndarray (or memmap)."""
    arr = _as_array(X, argument, "an array")
    if arr.ndim == 0:
        raise LayerkitValueError(f"{argument} must have one row per sample; received a scalar")
    if len(arr) == 0:
        raise LayerkitValueError(
            f"{argument} is empty (shape {arr.shape}); expected at least one sample"
        )
    return arr


def check_features(
    X: Any,
    input_shape: tuple[int, ...],
    *,
    argument: str = "X",
    layer: str = "input",
    check_values: bool = True,
) -> np.ndarray:
    """Check ``X`` is a batch of samples of shape ``input_shape``; return it as an array."""
    array = as_numeric_array(X, argument)
    expected_ndim = 1 + len(input_shape)
    if array.ndim != expected_ndim or tuple(array.shape[1:]) != tuple(input_shape):
        hint = ""
        if array.ndim == len(input_shape) and tuple(array.shape) == tuple(input_shape):
            hint = " (a single sample? pass X[None] or X.reshape(1, -1))"
        raise LayerkitValueError(
            f"{argument} must have shape (n_samples, {', '.join(map(str, input_shape))}) for "
            f"layer {fmt(layer)} with input shape {tuple(input_shape)}; received shape "
            f"{array.shape}{hint}"
        )
    if check_values:
        check_finite(array, argument)
    return array


def check_n_samples(X: np.ndarray, y: np.ndarray, x_name: str = "X", y_name: str = "y") -> None:
    if len(X) != len(y):
        raise LayerkitValueError(
            f"{x_name} and {y_name} must have the same number of samples; received "
            f"{len(X)} and {len(y)}"
        )


def check_targets_regression(
    y: Any, n_outputs: int, dtype: Any, *, argument: str = "y"
) -> np.ndarray:
    array = as_numeric_array(y, argument)
    if array.ndim == 1 and n_outputs == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] != n_outputs:
        raise LayerkitValueError(
            f"{argument} must have shape (n_samples, {n_outputs}) to match the network's "
            f"{n_outputs} outputs"
            + (" (or (n_samples,))" if n_outputs == 1 else "")
            + f"; received shape {array.shape}"
        )
    check_finite(array, argument)
    check_range_for(array, dtype, argument)
    return np.asarray(array, dtype=dtype)


def check_targets_classification(
    y: Any, n_outputs: int, dtype: Any, *, argument: str = "y", binary: bool
) -> np.ndarray:
    """Labels ``(m,)`` or one-hot/probability rows ``(m, k)`` -> ``(m, k)`` float targets."""
    array = as_numeric_array(y, argument)
    check_finite(array, argument)
    if array.ndim == 2 and array.shape[1] == 1 and n_outputs > 1:
        array = array[:, 0]
    loss = "binary_crossentropy" if binary else "categorical_crossentropy"
    if array.ndim == 1:
        if binary and n_outputs == 1:
            if array.min() < 0 or array.max() > 1:
                raise LayerkitValueError(
                    f"{argument} for {loss} with one sigmoid output must hold values in [0, 1]; "
                    f"received values from {fmt(array.min())} to {fmt(array.max())}"
                )
            return np.asarray(array[:, None], dtype=dtype)
        return one_hot_labels(array, n_outputs, dtype, argument=argument)
    if array.ndim != 2 or array.shape[1] != n_outputs:
        raise LayerkitValueError(
            f"{argument} must be integer class labels of shape (n_samples,) or one-hot rows "
            f"of shape (n_samples, {n_outputs}) to match the network's {n_outputs} outputs; "
            f"received shape {array.shape}"
        )
    if array.min() < 0 or array.max() > 1:
        raise LayerkitValueError(
            f"{argument} rows for {loss} must hold probabilities in [0, 1]; received values "
            f"from {fmt(array.min())} to {fmt(array.max())}"
        )
    if not binary:
        sums = array.sum(axis=1, dtype=np.float64)
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-4)
        if bad.size:
            raise LayerkitValueError(
                f"{argument} one-hot rows must sum to 1 for {loss}; row {int(bad[0])} sums to "
                f"{sums[bad[0]]:.6g} ({bad.size} such rows)"
            )
    return np.asarray(array, dtype=dtype)


def one_hot_labels(
    labels: np.ndarray, n_classes: int, dtype: Any, *, argument: str = "y"
) -> np.ndarray:
    if labels.dtype.kind == "f":
        if not np.array_equal(labels, np.round(labels)):
            raise LayerkitValueError(
                f"{argument} class labels must be whole numbers; received non-integer values "
                f"such as {fmt(labels[labels != np.round(labels)][0])}"
            )
    lo, hi = labels.min(), labels.max()
    if lo < 0 or hi >= n_classes:
        raise LayerkitValueError(
            f"{argument} class labels must be in [0, {n_classes - 1}] for a network with "
            f"{n_classes} outputs; received labels from {fmt(lo)} to {fmt(hi)}"
        )
    out = np.zeros((labels.shape[0], n_classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels.astype(np.intp)] = 1
    return out


def check_positive_int(
    value: Any, argument: str, *, minimum: int = 1, allow_none: bool = False
) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise LayerkitTypeError(f"{argument} must be an integer; received {fmt(value)}")
    if value < minimum:
        raise LayerkitValueError(
            f"{argument} must be >= {minimum}; received {argument}={fmt(value)}"
        )
    return int(value)


def check_real(
    value: Any,
    argument: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """A finite real number within optional bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LayerkitTypeError(f"{argument} must be a real number; received {fmt(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise LayerkitValueError(f"{argument} must be finite; received {argument}={fmt(value)}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        bound = "[" if low_inclusive else "("
        raise LayerkitValueError(
            f"{argument} must be in {bound}{low}, {high if high is not None else 'inf'}"
            f"{']' if high_inclusive and high is not None else ')'}; received {argument}={fmt(value)}"
        )
    if high is not None and (value > high or (value == high and not high_inclusive)):
        raise LayerkitValueError(
            f"{argument} must be in {'[' if low_inclusive else '('}{low if low is not None else '-inf'}, "
            f"{high}{']' if high_inclusive else ')'}; received {argument}={fmt(value)}"
        )
    return value


def cast_checked(array: np.ndarray, dtype: Any, argument: str) -> np.ndarray:
    """``array`` as ``dtype``, refusing finite values the cast would turn into infinity."""
    dtype = np.dtype(dtype)
    if array.dtype == dtype:
        return array
    with np.errstate(over="ignore"):
        converted = np.asarray(array, dtype=dtype)
    if not all_finite(converted):
        check_finite(array, argument)  # NaN or inf already in the input: say so
        raise LayerkitValueError(
            f"{argument} holds values beyond the {dtype} range (largest magnitude "
            f"{fmt(np.abs(array).max())} > {fmt(np.finfo(dtype).max)}); rescale the data or use a "
            "float64 network"
        )
    return converted


def check_range_for(array: np.ndarray, dtype: Any, argument: str) -> None:
    """Refuse values of ``array`` that would overflow when cast to the float ``dtype``."""
    dtype = np.dtype(dtype)
    if array.dtype.kind != "f" or array.dtype.itemsize <= dtype.itemsize:
        return
    # two reductions rather than np.abs(array): no temporary the size of the data
    largest = max(float(array.max()), -float(array.min())) if array.size else 0.0
    if largest > float(np.finfo(dtype).max):  # a float32 scalar would cast 1e300 first
        raise LayerkitValueError(
            f"{argument} holds values beyond the {dtype} range (largest magnitude "
            f"{fmt(largest)} > {fmt(np.finfo(dtype).max)}); rescale the data or use a float64 network"
        )


def check_sample_weight(sample_weight: Any, n: int, argument: str = "sample_weight") -> np.ndarray:
    """Per-sample weights: shape ``(n,)``, finite, non-negative; returned as float64.

    ``argument`` is the name errors give (``sample_weight_val`` for validation weights).
    """
    weight = as_numeric_array(sample_weight, argument)
    if weight.shape != (n,):
        raise LayerkitValueError(
            f"{argument} must have shape ({n},), one weight per sample; received shape "
            f"{weight.shape}"
        )
    check_finite(weight, argument)
    if weight.min() < 0:
        raise LayerkitValueError(
            f"{argument} must be >= 0; received a minimum of {float(weight.min())!r}"
        )
    return weight.astype(np.float64)
