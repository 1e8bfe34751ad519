"""The ``Activation`` layer: an activation function applied elementwise (or row-wise)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..activations import ActivationFunction, get_activation
from .base import Layer

__all__ = ["Activation"]


class Activation(Layer):
    """Apply an activation function: ``a = f(z)``; backward ``dJ/dz = dJ/da * f'(z)``.

    Parameters
    ----------
    activation : str or ActivationFunction
        A registered name (see :func:`layerkit.available_activations`) or an instance.
    name : str, optional
    **params
        Keyword parameters of the activation: ``Activation("tsin", A=0.5)``,
        ``Activation("leaky_relu", alpha=0.01)``, ``Activation("elu", alpha=1.0)``.
    """

    def __init__(
        self, activation: str | ActivationFunction, *, name: str | None = None, **params: Any
    ) -> None:
        super().__init__(name=name)
        self.activation = get_activation(activation, **params)
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        a = self._workspace("a", x.shape)
        self.activation(x, out=a)
        self._z, self._a = x, a
        return a

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dz = self._workspace("dz", grad_out.shape)
        return self.activation.backward(self._z, self._a, grad_out, out=dz)

    def _backward_preactivation(self, dz: np.ndarray) -> np.ndarray:
        # Fused output error: the loss already gave dJ/dz.
        return dz

    def _kink_signature(self) -> np.ndarray | None:
        return _kink_signature(self.activation, self._z)

    def get_config(self) -> dict[str, Any]:
        return {
            "activation": self.activation.name,
            "name": self.name,
            **self.activation.get_config(),
        }

    def __repr__(self) -> str:
        return f"Activation({self.activation!r}, name={self.name!r})"


def _kink_signature(activation: ActivationFunction, z: np.ndarray | None) -> np.ndarray | None:
    if not activation.kinks or z is None:
        return None
    return np.stack([z > k for k in activation.kinks])
