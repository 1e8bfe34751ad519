"""Data sets for layerkit: bundled, downloadable, and synthetic.

* :func:`load_digits`: 1,797 8x8 handwritten digits shipped inside layerkit (no download).
* :func:`load_mnist_family`: MNIST, Fashion-MNIST and Kuzushiji-MNIST from IDX files
  found on disk or downloaded with checksums.
* :func:`make_moons`, :func:`make_four_groups`, :func:`make_spirals`: seeded 2-D problems
  from Jones (2019), section 4.
* :func:`read_idx`, :func:`write_idx`: the IDX file format.

Loaders return a :class:`Dataset` (``X_train, y_train, X_test, y_test, class_names,
name, description``) with float32 inputs in [0, 1] and int64 labels.
"""

from ._base import Dataset
from .digits import DIGITS_TEST_EVERY, load_digits
from .idx import read_idx, write_idx
from .mnist_family import (
    KMNIST_HIRAGANA,
    MNIST_FAMILY,
    ChecksumError,
    DatasetNotFoundError,
    load_mnist_family,
)
from .synthetic import make_four_groups, make_moons, make_spirals

__all__ = [
    "DIGITS_TEST_EVERY",
    "KMNIST_HIRAGANA",
    "MNIST_FAMILY",
    "ChecksumError",
    "Dataset",
    "DatasetNotFoundError",
    "load_digits",
    "load_mnist_family",
    "make_four_groups",
    "make_moons",
    "make_spirals",
    "read_idx",
    "write_idx",
]
