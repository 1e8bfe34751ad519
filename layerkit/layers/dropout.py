"""The ``Dropout`` layer (seed 000, section 5.1), inverted scaling."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_real
from .base import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    """Randomly zero a fraction ``rate`` of the units while training.

    Seed 000 keeps each unit with probability ``p`` while training and multiplies the
    activations by ``p`` at test time. layerkit follows Keras and PyTorch instead:
    ``rate = 1 - p`` is the fraction *dropped*, and the kept units are scaled by ``1/p``
    while training (inverted dropout), so that inference is the identity:

    .. math:: y = x \\odot m / p, \\quad m_{ij} \\sim \\text{Bernoulli}(p), \\qquad
              \\mathbb{E}[y] = x.

    Both conventions give the next layer inputs of the same expectation: the paper's
    test-time output ``p x`` equals its training-time expectation ``E[x m] = p x``, and
    ours is ``x`` in both; the two networks differ only by the factor ``p`` folded into the
    next layer's weights. The backward pass is ``dJ/dx = dJ/dy * m / p``.

    The mask is drawn from the network's generator, so a seed reproduces it.

    Parameters
    ----------
    rate : float
        Fraction of units dropped, ``0 <= rate < 1``.
    name : str, optional
    """

    def __init__(self, rate: float, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.rate = check_real(rate, "rate", low=0.0, high=1.0, high_inclusive=False)
        self._mask: np.ndarray | None = None

    @property
    def keep_probability(self) -> float:
        """The documents' ``p = 1 - rate``."""
        return 1.0 - self.rate

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        mask = self.workspace("mask", x.shape)
        # One buffer: uniform draws, then in place the 0/1 keep decision u >= rate, then 1/p.
        self.rng.random(out=mask, dtype=mask.dtype)
        np.greater_equal(mask, self.rate, out=mask)
        mask *= 1.0 / self.keep_probability
        self._mask = mask
        return np.multiply(x, mask, out=self.workspace("y", x.shape))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self._mask is None:
            return grad_out
        return np.multiply(grad_out, self._mask, out=self.workspace("dx", grad_out.shape))

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "name": self.name}
