"""The `Dataset` record returned by the loaders, and argument checks shared by them."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from .._validation import LayerkitTypeError, LayerkitValueError, fmt


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set split into a training and a test part.

    The record is frozen (its fields cannot be reassigned) but the arrays are ordinary,
    writable NumPy arrays owned by the caller: each loader call returns fresh arrays.

    Attributes
    ----------
    X_train, X_test : numpy.ndarray
        float32 inputs scaled to [0, 1]; one row per sample, either flat
        ``(n, n_features)`` or images ``(n, height, width)`` depending on the loader's
        ``flatten`` argument.
    y_train, y_test : numpy.ndarray
        int64 class labels ``0 .. n_classes - 1``, shape ``(n,)``.
    class_names : tuple of str
        ``class_names[k]`` names label ``k``.
    name : str
        Short identifier, e.g. ``"fashion-mnist"``.
    description : str
        Provenance, licence and how the split was made.

    Examples
    --------
    >>> from layerkit.datasets import load_digits
    >>> data = load_digits()
    >>> data.X_train.shape, data.n_classes
    ((1442, 64), 10)
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str
    description: str = field(default="", repr=False)

    @property
    def n_classes(self) -> int:
        """Number of classes, ``len(class_names)``."""
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        """Number of input values per sample (pixels for images)."""
        return int(np.prod(self.X_train.shape[1:], dtype=np.int64))

    def __repr__(self) -> str:
        # The default dataclass repr would print whole arrays.
        return (
            f"Dataset(name={self.name!r}, X_train={self.X_train.shape} {self.X_train.dtype}, "
            f"X_test={self.X_test.shape} {self.X_test.dtype}, n_classes={self.n_classes})"
        )


def _check_bool(value: object, argument: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise LayerkitTypeError(
            f"{argument} must be True or False; got {fmt(value)} ({type(value).__name__})"
        )
    return bool(value)


def _check_int(value: object, argument: str, minimum: int) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise LayerkitTypeError(
            f"{argument} must be an int; got {fmt(value)} ({type(value).__name__})"
        )
    if value < minimum:
        raise LayerkitValueError(f"{argument} must be >= {minimum}; got {value}")
    return int(value)
