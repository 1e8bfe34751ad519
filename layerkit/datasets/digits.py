"""The 8x8 handwritten digits shipped inside layerkit: a data set that needs no download."""

from __future__ import annotations

import functools
import gzip
from importlib import resources
from typing import Literal, overload

import numpy as np

from .._validation import LayerkitValueError
from ._base import Dataset, _check_bool

__all__ = ["DIGITS_TEST_EVERY", "load_digits"]

_N_SAMPLES = 1797
#: Within each class, every ``DIGITS_TEST_EVERY``-th image (in file order) is a test image.
DIGITS_TEST_EVERY = 5

_DESCRIPTION = (
    "Optical Recognition of Handwritten Digits (E. Alpaydin, C. Kaynak, 1998; UCI Machine "
    "Learning Repository, https://doi.org/10.24432/C50P49, CC BY 4.0), the 1,797-image part "
    "that scikit-learn ships: 8x8 images, each pixel the count (0..16) of ink pixels in a 4x4 "
    "block of a 32x32 bitmap, scaled here to [0, 1] by dividing by 16. Split: within each "
    "class, in file order, images 5, 10, 15, ... (every fifth) are test images; 1,442 train, "
    "355 test. See layerkit/datasets/data/DIGITS_LICENSE.txt."
)


@functools.lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """(pixels uint8 (1797, 64), labels int64), parsed once per process, read-only."""
    source = resources.files(__package__).joinpath("data", "digits.csv.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    # A damaged or replaced data file must not pass silently as a different data set.
    if table.shape != (_N_SAMPLES, 65) or table.min() < 0 or table[:, :64].max() > 16:
        raise LayerkitValueError(
            f"{source}: expected 1797 rows of 64 pixels in 0..16 and a label; the bundled "
            f"digits file is damaged (shape {table.shape}); reinstall layerkit"
        )
    pixels = table[:, :64].astype(np.uint8)
    labels = table[:, 64].copy()
    pixels.flags.writeable = False
    labels.flags.writeable = False
    return pixels, labels


def _test_mask(labels: np.ndarray) -> np.ndarray:
    """True for every DIGITS_TEST_EVERY-th sample of each class, counting in file order."""
    mask = np.zeros(len(labels), dtype=bool)
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        mask[members[DIGITS_TEST_EVERY - 1 :: DIGITS_TEST_EVERY]] = True
    return mask


@overload
def load_digits(*, flatten: bool = ..., split: Literal[True] = ...) -> Dataset: ...
@overload
def load_digits(*, flatten: bool = ..., split: Literal[False]) -> tuple[np.ndarray, np.ndarray]: ...
def load_digits(
    *, flatten: bool = True, split: bool = True
) -> Dataset | tuple[np.ndarray, np.ndarray]:
    """Load the 1,797 8x8 handwritten digits bundled with layerkit (no download).

    The data are the UCI "Optical Recognition of Handwritten Digits" images as shipped by
    scikit-learn (``sklearn.datasets.load_digits``), in the same order, under CC BY 4.0
    (see ``layerkit/datasets/data/DIGITS_LICENSE.txt``).

    The data set has no official test split, so layerkit fixes one that is stratified and
    does not depend on any random number generator: within each class, taking the images in
    file order, every fifth one (the 5th, 10th, ...) is a test image. That gives 1,442
    training and 355 test images (19.8%), every class within one image of 20%, and the
    same split on every machine and NumPy version. Both parts keep file order.

    Parameters
    ----------
    flatten : bool, default True
        Rows of 64 values (True) or ``(n, 8, 8)`` images (False).
    split : bool, default True
        True returns a :class:`Dataset` with the split above. False returns the full
        arrays ``(X, y)``, all 1,797 samples in file order, exactly the order of
        ``sklearn.datasets.load_digits``: use this to make your own split or folds.

    Returns
    -------
    Dataset or tuple of numpy.ndarray
        ``X`` float32 in [0, 1] (pixel / 16; 16 is the largest pixel value), shape
        ``(n, 64)`` or ``(n, 8, 8)``; ``y`` int64 digits 0..9; ``class_names`` ``"0"``..``"9"``.

    Raises
    ------
    TypeError
        If ``flatten`` or ``split`` is not a bool.

    Examples
    --------
    >>> from layerkit.datasets import load_digits
    >>> data = load_digits()
    >>> data.X_train.shape, data.X_test.shape, data.y_train.dtype
    ((1442, 64), (355, 64), dtype('int64'))
    >>> X, y = load_digits(split=False, flatten=False)
    >>> X.shape, float(X.max())
    ((1797, 8, 8), 1.0)
    """
    flatten = _check_bool(flatten, "flatten")
    split = _check_bool(split, "split")
    pixels, labels = _raw_digits()
    X = pixels.astype(np.float32)
    X /= np.float32(16)
    if not flatten:
        X = X.reshape(-1, 8, 8)
    y = labels.copy()
    if not split:
        return X, y
    test = _test_mask(labels)
    return Dataset(
        X_train=X[~test],
        y_train=y[~test],
        X_test=X[test],
        y_test=y[test],
        class_names=tuple(str(d) for d in range(10)),
        name="digits",
        description=_DESCRIPTION,
    )
