"""The ``Flatten`` layer: one sample of any shape becomes one row."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Layer

__all__ = ["Flatten"]


class Flatten(Layer):
    """Flatten each sample: ``(m, d_1, ..., d_k) -> (m, d_1 * ... * d_k)``.

    Forward and backward only change the view of the data, in C (row-major) order, the
    order of ``numpy.reshape``:

    .. math:: y_{i, \\,\\mathrm{flat}(j_1, \\ldots, j_k)} = x_{i, j_1, \\ldots, j_k},
              \\qquad \\frac{\\partial J}{\\partial x} =
              \\operatorname{reshape}\\Bigl(\\frac{\\partial J}{\\partial y},
              (m, d_1, \\ldots, d_k)\\Bigr)

    Put it after ``Input((28, 28))`` to feed images to a :class:`~layerkit.Dense` layer.
    Nothing is copied: both passes return views of their argument.

    Parameters
    ----------
    name : str, optional
    """

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(input_shape),)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        if not self.needs_input_grad:
            return None
        return grad_out.reshape(grad_out.shape[0], *self.input_shape)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}
