"""Helpers shared by the experiments: data, networks, figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import datasets
from ..layers import Dense, Dropout, Input
from ..network import Network

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["fashion", "mlp", "save", "subsample"]


def subsample(
    X: np.ndarray, y: np.ndarray, n: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of ``(X, y)`` drawn without replacement (all of them when ``n`` is None)."""
    if n is None or n >= len(X):
        return X, y
    idx = np.sort(rng.choice(len(X), size=n, replace=False))
    return X[idx], y[idx]


def fashion(
    *, n_train: int | None, n_val: int, n_test: int | None, seed: int
) -> tuple[datasets.Dataset, tuple[np.ndarray, ...]]:
    """Fashion-MNIST split into training, validation (from the training set) and test.

    Returns the full :class:`~layerkit.datasets.Dataset` (for ``class_names``) and
    ``(X_train, y_train, X_val, y_val, X_test, y_test)``: ``n_val`` validation rows taken
    at random from the 60k training images, ``n_train`` of the rest for training (all when
    None) and ``n_test`` of the official 10k test images (all when None).

    Raises
    ------
    layerkit.datasets.DatasetNotFoundError
        When Fashion-MNIST is not installed (nothing is downloaded).
    """
    data = datasets.load_mnist_family("fashion-mnist", download=False)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(data.X_train))
    val, rest = perm[:n_val], perm[n_val:]
    if n_train is not None:
        rest = rest[:n_train]
    rest, val = np.sort(rest), np.sort(val)
    X_test, y_test = subsample(data.X_test, data.y_test, n_test, rng)
    parts = (
        data.X_train[rest],
        data.y_train[rest],
        data.X_train[val],
        data.y_train[val],
        X_test,
        y_test,
    )
    return data, parts


def mlp(
    n_in: int,
    hidden: Sequence[int],
    n_out: int,
    activation: Any,
    *,
    output: str = "softmax",
    loss: str = "categorical_crossentropy",
    dropout: float = 0.0,
    penalty: float = 0.0,
    seed: int = 0,
) -> Network:
    """A fully connected network ``n_in - hidden... - n_out`` (optional dropout after each
    hidden layer)."""
    layers: list[Any] = [Input(n_in)]
    for width in hidden:
        layers.append(Dense(width, activation=activation))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(n_out, activation=output))
    return Network(layers, loss=loss, penalty=penalty, seed=seed)


def save(fig: Figure, out_dir: Path, name: str) -> Path:
    """Save ``fig`` as ``out_dir/name`` (PNG, 100 dpi) and return the path."""
    path = Path(out_dir) / name
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    return path
