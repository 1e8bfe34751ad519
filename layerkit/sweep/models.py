"""A ready-made model recipe for sweeps: a fully connected network from plain values.

``mlp`` is a module-level function of plain arguments, so it (and any
``functools.partial`` of it) pickles to every worker; ``layerkit sweep SPEC.toml`` uses it
when the spec gives a ``[model]`` table instead of a ``build`` function.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._validation import check_positive_int
from ..layers import Dense, Dropout, Input
from ..network import Network

__all__ = ["mlp"]


def mlp(
    n_inputs: int,
    hidden: Sequence[int] = (32,),
    n_outputs: int = 10,
    *,
    activation: str = "sigmoid",
    output: str = "softmax",
    loss: str = "categorical_crossentropy",
    dropout: float = 0.0,
    penalty: float = 0.0,
    dtype: str = "float32",
    seed: int | None = 0,
) -> Network:
    """A fully connected network ``n_inputs - hidden... - n_outputs``.

    Parameters
    ----------
    n_inputs : int
        Features per sample.
    hidden : sequence of int, default (32,)
        Widths of the hidden layers.
    n_outputs : int, default 10
        Output units (classes).
    activation : str, default "sigmoid"
        Activation of the hidden layers.
    output : str, default "softmax"
        Activation of the output layer (``"sigmoid"`` with ``loss="mse"`` is seed 001's
        network).
    loss : str, default "categorical_crossentropy"
    dropout : float, default 0.0
        Dropout rate after each hidden layer (0: none).
    penalty : float, default 0.0
        L2 strength of the network.
    dtype : str, default "float32"
    seed : int or None, default 0
        Seed of the network's generator (initial weights, shuffling, dropout).

    Returns
    -------
    Network

    Examples
    --------
    >>> from layerkit.sweep import mlp
    >>> net = mlp(784, (32, 16), 10, activation="sigmoid", output="sigmoid", loss="mse")
    >>> [layer.units for layer in net.layers[1:]]
    [32, 16, 10]
    """
    layers: list = [Input(check_positive_int(n_inputs, "n_inputs"))]
    for width in hidden:
        layers.append(Dense(check_positive_int(width, "hidden"), activation=activation))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(check_positive_int(n_outputs, "n_outputs"), activation=output))
    return Network(layers, loss=loss, penalty=penalty, seed=seed, dtype=dtype)
