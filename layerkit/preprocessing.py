"""Feature scaling and label encoding.

Scalers learn their statistics in :meth:`fit` from the **training data only** and then
apply those same statistics to validation and test data with :meth:`transform`. Fitting on
all the data, or refitting on the test set, leaks information about the data used to
judge the model into the model, and makes its measured accuracy optimistic.

>>> import numpy as np
>>> from layerkit.preprocessing import StandardScaler
>>> X_train = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]])
>>> scaler = StandardScaler().fit(X_train)
>>> scaler.transform(np.array([[2.0, 10.0], [6.0, 11.0]]))
array([[0.        , 0.        ],
       [2.44948974, 1.        ]])

The second feature is constant in the training data: its scale is taken as 1 rather than
0, so it is centred but not divided by zero (scikit-learn's convention).
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ._validation import LayerkitTypeError, LayerkitValueError, fmt

__all__ = ["MinMaxScaler", "NotFittedError", "StandardScaler", "one_hot", "to_labels"]

# Rows per block when computing column statistics: bounds the float64 temporaries to a
# few MB whatever the data size (a 60000x784 float32 array would otherwise need 376 MB).
_BLOCK_ROWS = 2048


class NotFittedError(ValueError, AttributeError):
    """A scaler was used before :meth:`fit` (a ValueError and an AttributeError, as in
    scikit-learn, so either ``except`` catches it)."""


def _as_2d(X: ArrayLike, argument: str = "X") -> np.ndarray:
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise LayerkitTypeError(
            f"{argument} must be a numeric array; could not convert: {exc}"
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise LayerkitTypeError(
            f"{argument} must hold real numbers; got an array of dtype {arr.dtype}"
        )
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 1:
            hint = "; for a single feature use X.reshape(-1, 1)"
        elif arr.ndim > 2:
            hint = "; flatten images first with X.reshape(len(X), -1)"
        raise LayerkitValueError(
            f"{argument} must be 2-D, (n_samples, n_features); got shape {arr.shape}{hint}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise LayerkitValueError(
            f"{argument} must have at least one sample and one feature; got shape {arr.shape}"
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise LayerkitValueError(f"{argument} must be finite; found {arr[bad]} at index {bad}")
    return arr


def _out_dtype(arr: np.ndarray) -> np.dtype:
    # float32 data stays float32 (half the memory, what the networks use); integers and
    # float16 are promoted to float64.
    return arr.dtype if arr.dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _column_mean_var(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and (population) variance in float64, two passes, blockwise."""
    n = X.shape[0]
    total = np.zeros(X.shape[1])
    for start in range(0, n, _BLOCK_ROWS):
        total += X[start : start + _BLOCK_ROWS].sum(axis=0, dtype=np.float64)
    mean = total / n
    squares = np.zeros(X.shape[1])
    for start in range(0, n, _BLOCK_ROWS):
        block = X[start : start + _BLOCK_ROWS].astype(np.float64)
        block -= mean
        squares += np.einsum("ij,ij->j", block, block)
    return mean, squares / n


class _Scaler:
    """Shared fit/transform plumbing; subclasses define the affine map ``x * scale + shift``."""

    _state_keys: ClassVar[tuple[str, ...]] = ()

    n_features_in_: int

    def fit(self, X: ArrayLike) -> _Scaler:  # pragma: no cover - overridden
        raise NotImplementedError

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(
                f"{type(self).__name__}.{method}() called before fit(); call fit(X_train) "
                "first (with the training data only)"
            )

    def _check_input(self, X: ArrayLike, method: str) -> np.ndarray:
        self._check_fitted(method)
        arr = _as_2d(X)
        if arr.shape[1] != self.n_features_in_:
            raise LayerkitValueError(
                f"X has {arr.shape[1]} features but {type(self).__name__} was fitted on "
                f"{self.n_features_in_}; got X of shape {arr.shape}"
            )
        return arr

    def _affine(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError  # pragma: no cover

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Scale ``X`` with the statistics learned by :meth:`fit`.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            Any data with the training data's features: training, validation or test.

        Returns
        -------
        numpy.ndarray
            A new array of the same shape; float32 if ``X`` is float32, else float64.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        ValueError
            If ``X`` is not 2-D, not finite, or has a different number of features than
            the training data.
        """
        arr = self._check_input(X, "transform")
        scale, shift = self._affine()
        dtype = _out_dtype(arr)
        out = np.multiply(arr, scale.astype(dtype), dtype=dtype)
        out += shift.astype(dtype)
        return out

    def fit_transform(self, X: ArrayLike) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``; for the training data only.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            Training data.

        Returns
        -------
        numpy.ndarray
            The scaled training data (see :meth:`transform`).
        """
        return self.fit(X).transform(X)

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Undo :meth:`transform`: map scaled data back to the original units.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            Scaled data.

        Returns
        -------
        numpy.ndarray
            A new array; float32 if ``X`` is float32, else float64.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        ValueError
            If ``X`` has the wrong shape or is not finite.
        """
        arr = self._check_input(X, "inverse_transform")
        scale, shift = self._affine()
        dtype = _out_dtype(arr)
        out = np.subtract(arr, shift.astype(dtype), dtype=dtype)
        out /= scale.astype(dtype)
        return out

    # ------------------------------------------------------------------ persistence
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable, with the class name under ``"class"``."""
        raise NotImplementedError  # pragma: no cover

    def get_state(self) -> dict[str, np.ndarray]:
        """The fitted statistics as float64 arrays (empty dict before :meth:`fit`).

        Together with :meth:`get_config`, enough to rebuild the scaler with
        :meth:`from_config` and :meth:`set_state`, e.g. to store it beside a model.
        """
        if not hasattr(self, "n_features_in_"):
            return {}
        return {key: np.array(getattr(self, key), dtype=np.float64) for key in self._state_keys}

    def set_state(self, state: dict[str, ArrayLike]) -> _Scaler:
        """Restore statistics saved by :meth:`get_state`; returns ``self``.

        Raises
        ------
        ValueError
            If a key is missing or unknown, or the arrays are not 1-D of one common length
            or not finite.
        """
        if set(state) != set(self._state_keys):
            raise LayerkitValueError(
                f"state must have exactly the keys {sorted(self._state_keys)}; got {sorted(state)}"
            )
        arrays = {k: np.array(state[k], dtype=np.float64) for k in self._state_keys}
        lengths = {a.shape for a in arrays.values()}
        if (
            len(lengths) != 1
            or next(iter(lengths)) == ()
            or any(a.ndim != 1 for a in arrays.values())
        ):
            raise LayerkitValueError(
                "state arrays must be 1-D with one entry per feature, all the same length; got "
                f"shapes { {k: a.shape for k, a in arrays.items()} }"
            )
        if not all(np.isfinite(a).all() for a in arrays.values()):
            raise LayerkitValueError("state arrays must be finite")
        for key, value in arrays.items():
            setattr(self, key, value)
        self.n_features_in_ = len(next(iter(arrays.values())))
        return self

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _Scaler:
        """Build an unfitted scaler from :meth:`get_config` output.

        Raises
        ------
        ValueError
            If ``config["class"]`` names another class.
        """
        params = dict(config)
        name = params.pop("class", cls.__name__)
        if name != cls.__name__:
            raise LayerkitValueError(f"config is for {name!r}, not {cls.__name__!r}")
        return cls(**params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "class")
        return f"{type(self).__name__}({args})"


class StandardScaler(_Scaler):
    """Standardise features: ``z = (x - mean) / std``, per feature.

    ``mean`` and ``std`` (population standard deviation, ``ddof = 0``) are learned from the
    training data in :meth:`fit`, computed in float64. A feature whose variance is zero up
    to rounding error gets scale 1, so it is centred and not divided by zero.

    Parameters
    ----------
    with_mean : bool, default True
        Subtract the mean.
    with_std : bool, default True
        Divide by the standard deviation.

    Attributes
    ----------
    mean_ : numpy.ndarray
        Per-feature training mean (zeros if ``with_mean`` is False).
    var_ : numpy.ndarray
        Per-feature training variance.
    scale_ : numpy.ndarray
        Divisor per feature: the standard deviation, 1 for constant features (ones if
        ``with_std`` is False).
    n_features_in_ : int
        Number of features seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from layerkit.preprocessing import StandardScaler
    >>> s = StandardScaler().fit(np.array([[1.0], [3.0]]))
    >>> s.mean_, s.scale_
    (array([2.]), array([1.]))
    >>> s.transform(np.array([[5.0]]))
    array([[3.]])
    """

    _state_keys = ("mean_", "var_", "scale_")

    def __init__(self, *, with_mean: bool = True, with_std: bool = True) -> None:
        for name, value in (("with_mean", with_mean), ("with_std", with_std)):
            if not isinstance(value, bool | np.bool_):
                raise LayerkitTypeError(f"{name} must be True or False; got {fmt(value)}")
        self.with_mean = bool(with_mean)
        self.with_std = bool(with_std)

    def fit(self, X: ArrayLike) -> StandardScaler:
        """Learn per-feature mean and standard deviation from the training data ``X``.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            Training data only: never validation or test data.

        Returns
        -------
        StandardScaler
            ``self``.

        Raises
        ------
        TypeError
            If ``X`` is not numeric.
        ValueError
            If ``X`` is not 2-D, is empty, or holds NaN or infinity.
        """
        arr = _as_2d(X)
        mean, var = _column_mean_var(arr)
        n = arr.shape[0]
        # Variance that rounding alone could produce (scikit-learn's bound): treat as 0.
        eps = np.finfo(np.float64).eps
        constant = var <= n * eps * var + (n * mean * eps) ** 2
        self.var_ = np.where(constant, 0.0, var)
        self.mean_ = mean if self.with_mean else np.zeros_like(mean)
        self.scale_ = np.where(constant, 1.0, np.sqrt(var)) if self.with_std else np.ones_like(mean)
        self.n_features_in_ = arr.shape[1]
        return self

    def _affine(self) -> tuple[np.ndarray, np.ndarray]:
        return 1.0 / self.scale_, -self.mean_ / self.scale_

    def transform(self, X: ArrayLike) -> np.ndarray:
        arr = self._check_input(X, "transform")
        dtype = _out_dtype(arr)
        # (x - mean) / scale rather than x * (1/scale) + shift: exact zeros at the mean.
        out = np.subtract(arr, self.mean_.astype(dtype), dtype=dtype)
        out /= self.scale_.astype(dtype)
        return out

    transform.__doc__ = _Scaler.transform.__doc__

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        arr = self._check_input(X, "inverse_transform")
        dtype = _out_dtype(arr)
        out = np.multiply(arr, self.scale_.astype(dtype), dtype=dtype)
        out += self.mean_.astype(dtype)
        return out

    inverse_transform.__doc__ = _Scaler.inverse_transform.__doc__

    def get_config(self) -> dict[str, Any]:
        """``{"class": "StandardScaler", "with_mean": ..., "with_std": ...}``."""
        return {"class": "StandardScaler", "with_mean": self.with_mean, "with_std": self.with_std}


class MinMaxScaler(_Scaler):
    """Rescale each feature linearly so that its training range maps onto ``feature_range``.

    ``x' = lo + (x - min) * (hi - lo) / (max - min)`` with ``min`` and ``max`` learned from
    the training data in :meth:`fit`. A constant feature (``max == min``, or a range within
    rounding error of the values) maps to ``lo``.
    Test data outside the training range lands outside ``feature_range`` unless ``clip``.

    Parameters
    ----------
    feature_range : tuple of two floats, default (0, 1)
        ``(lo, hi)`` with ``lo < hi``.
    clip : bool, default False
        Clip transformed values to ``feature_range``.

    Attributes
    ----------
    data_min_, data_max_, data_range_ : numpy.ndarray
        Per-feature training minimum, maximum and their difference.
    scale_, min_ : numpy.ndarray
        The learned map is ``x * scale_ + min_``.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from layerkit.preprocessing import MinMaxScaler
    >>> MinMaxScaler(feature_range=(-1, 1)).fit_transform(np.array([[0.0], [5.0], [10.0]]))
    array([[-1.],
           [ 0.],
           [ 1.]])
    """

    _state_keys = ("data_min_", "data_max_", "data_range_", "scale_", "min_")

    def __init__(
        self, feature_range: tuple[float, float] = (0.0, 1.0), *, clip: bool = False
    ) -> None:
        try:
            lo, hi = feature_range
        except (TypeError, ValueError) as exc:
            raise LayerkitTypeError(
                f"feature_range must be a pair (lo, hi) of numbers; got {fmt(feature_range)}"
            ) from exc
        for value in (lo, hi):
            if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
                raise LayerkitTypeError(
                    f"feature_range must be a pair (lo, hi) of numbers; got {fmt(feature_range)}"
                )
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise LayerkitValueError(
                f"feature_range must be finite with lo < hi; got {fmt(feature_range)}"
            )
        if not isinstance(clip, bool | np.bool_):
            raise LayerkitTypeError(f"clip must be True or False; got {fmt(clip)}")
        self.feature_range = (float(lo), float(hi))
        self.clip = bool(clip)

    def fit(self, X: ArrayLike) -> MinMaxScaler:
        """Learn per-feature minimum and maximum from the training data ``X``.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            Training data only: never validation or test data.

        Returns
        -------
        MinMaxScaler
            ``self``.

        Raises
        ------
        TypeError
            If ``X`` is not numeric.
        ValueError
            If ``X`` is not 2-D, is empty, or holds NaN or infinity.
        """
        arr = _as_2d(X)
        lo, hi = self.feature_range
        self.data_min_ = arr.min(axis=0).astype(np.float64)
        self.data_max_ = arr.max(axis=0).astype(np.float64)
        self.data_range_ = self.data_max_ - self.data_min_
        # Constant features map to lo (divide by 1, not 0). "Constant" includes a range
        # within rounding error of the values, and a subnormal range whose reciprocal
        # would overflow.
        eps = np.finfo(np.float64).eps
        magnitude = np.maximum(np.abs(self.data_min_), np.abs(self.data_max_))
        with np.errstate(over="ignore", divide="ignore"):
            constant = (self.data_range_ <= 10 * eps * magnitude) | ~np.isfinite(
                (hi - lo) / self.data_range_
            )
        self.scale_ = (hi - lo) / np.where(constant, 1.0, self.data_range_)
        self.min_ = lo - self.data_min_ * self.scale_
        self.n_features_in_ = arr.shape[1]
        return self

    def _affine(self) -> tuple[np.ndarray, np.ndarray]:
        return self.scale_, self.min_

    def transform(self, X: ArrayLike) -> np.ndarray:
        out = super().transform(X)
        if self.clip:
            np.clip(out, self.feature_range[0], self.feature_range[1], out=out)
        return out

    transform.__doc__ = _Scaler.transform.__doc__

    def get_config(self) -> dict[str, Any]:
        """``{"class": "MinMaxScaler", "feature_range": [lo, hi], "clip": ...}``."""
        return {
            "class": "MinMaxScaler",
            "feature_range": list(self.feature_range),
            "clip": self.clip,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MinMaxScaler:
        """Build an unfitted scaler from :meth:`get_config` output (JSON gives lists).

        Raises
        ------
        ValueError
            If ``config["class"]`` names another class.
        """
        params = dict(config)
        if "feature_range" in params:
            params["feature_range"] = tuple(params["feature_range"])
        result = super().from_config(params)
        assert isinstance(result, MinMaxScaler)
        return result


# ---------------------------------------------------------------------------- labels
def one_hot(
    y: ArrayLike, n_classes: int | None = None, dtype: DTypeLike = np.float32
) -> np.ndarray:
    """Encode integer class labels as one-hot rows.

    Parameters
    ----------
    y : array_like, shape (n,)
        Class labels ``0 .. n_classes - 1``: integers, or floats with integral values
        (e.g. labels read from a CSV file). Booleans count as 0 and 1.
    n_classes : int, optional
        Number of columns. Default None: ``max(y) + 1``.
    dtype : numpy dtype, default numpy.float32
        dtype of the result.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, n_classes)``, row ``i`` all zeros but a one in column ``y[i]``.

    Raises
    ------
    TypeError
        If ``y`` is not numeric or ``n_classes`` is not an int.
    ValueError
        If ``y`` is not 1-D, holds a negative, non-integral or non-finite label, a label
        ``>= n_classes``, or is empty while ``n_classes`` is None; or ``n_classes < 1``.

    Examples
    --------
    >>> from layerkit.preprocessing import one_hot
    >>> one_hot([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    labels = _as_labels(y)
    if n_classes is None:
        if labels.size == 0:
            raise LayerkitValueError("y is empty, so n_classes cannot be inferred; pass n_classes")
        n_classes = int(labels.max()) + 1
    elif isinstance(n_classes, bool | np.bool_) or not isinstance(n_classes, numbers.Integral):
        raise LayerkitTypeError(
            f"n_classes must be an int or None; got {fmt(n_classes)} ({type(n_classes).__name__})"
        )
    elif n_classes < 1:
        raise LayerkitValueError(f"n_classes must be >= 1; got {n_classes}")
    elif labels.size and labels.max() >= n_classes:
        raise LayerkitValueError(
            f"y must hold labels in 0..{n_classes - 1} for n_classes={n_classes}; "
            f"found {int(labels.max())}"
        )
    out = np.zeros((labels.size, int(n_classes)), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


def _as_labels(y: ArrayLike) -> np.ndarray:
    try:
        arr = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise LayerkitTypeError(
            f"y must be an array of integer labels; could not convert: {exc}"
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise LayerkitTypeError(
            f"y must hold integer class labels; got an array of dtype {arr.dtype}"
        )
    if arr.ndim != 1:
        raise LayerkitValueError(f"y must be 1-D, one label per sample; got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise LayerkitValueError("y must hold integer class labels; found NaN or infinity")
        if not np.array_equal(arr, np.round(arr)):
            bad = arr[arr != np.round(arr)][0]
            raise LayerkitValueError(f"y must hold integer class labels; found {bad}")
    if arr.size and arr.min() < 0:
        raise LayerkitValueError(f"y must hold labels >= 0; found {arr.min()}")
    return arr.astype(np.intp)


def to_labels(Y: ArrayLike, *, threshold: float = 0.5) -> np.ndarray:
    """Turn network outputs (probabilities, scores or one-hot rows) into class labels.

    Parameters
    ----------
    Y : array_like, shape (n, k) or (n,)
        With ``k >= 2`` columns: the label is the column of the largest value (ties go to
        the first). With one column, or 1-D: a probability of class 1, and the label is 1
        where it is ``> threshold`` (as :meth:`Network.predict_classes` and the metrics).
    threshold : float, default 0.5
        Decision threshold for the single-output case.

    Returns
    -------
    numpy.ndarray
        int64 labels, shape ``(n,)``.

    Raises
    ------
    TypeError
        If ``Y`` is not numeric.
    ValueError
        If ``Y`` is not 1-D or 2-D, or has no columns.

    Examples
    --------
    >>> from layerkit.preprocessing import to_labels
    >>> to_labels([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]])
    array([1, 0])
    >>> to_labels([0.2, 0.9])
    array([0, 1])
    """
    arr = np.asarray(Y)
    if arr.dtype.kind not in "biuf":
        raise LayerkitTypeError(f"Y must be numeric; got an array of dtype {arr.dtype}")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 1:
        return (arr > threshold).astype(np.int64)
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise LayerkitValueError(f"Y must be of shape (n, k) or (n,); got {arr.shape}")
    return arr.argmax(axis=1).astype(np.int64)
