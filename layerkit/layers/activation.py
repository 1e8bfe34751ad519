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
        self,
        activation: str | ActivationFunction,
        *,
        name: str | None = None,
        trainable: bool = True,
        **params: Any,
    ) -> None:
        super().__init__(name=name, trainable=trainable)
        self.activation = get_activation(activation, **params)
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        a = self.workspace("a", x.shape)
        self.activation(x, out=a)
        self._z, self._a = x, a
        return a

    @property
    def preactivation(self) -> np.ndarray | None:
        """``z`` (this layer's input) of the last forward pass."""
        return self._z

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dz = self.workspace("dz", grad_out.shape)
        return self.activation.backward(self._z, self._a, grad_out, out=dz)  # g * f'(z)

    def backward_preactivation(self, dz: np.ndarray) -> np.ndarray:
        """Backward from ``dJ/dz`` (the network's fused output error ``a - y``): ``dz`` itself."""
        return dz

    def kink_signature(self) -> np.ndarray | None:
        return None if self._z is None else self.activation.kink_signature(self._z)

    def get_config(self) -> dict[str, Any]:
        return {
            "activation": self.activation.name,
            **super().get_config(),
            **self.activation.get_config(),
        }

    def __repr__(self) -> str:
        return f"Activation({self.activation!r}, name={self.name!r})"
