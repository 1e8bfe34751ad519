"""The ``BatchNormalization`` layer (Keras semantics), written against the public contract."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import LayerkitTypeError, LayerkitValueError, check_real
from .base import Layer

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Normalise each feature over the batch, then scale and shift it.

    For a batch ``x`` of shape ``(m, n_features)``, in a training forward pass the
    statistics are the batch's own (the variance is the biased one, divided by ``m``):

    .. math:: \\mu = \\frac{1}{m} \\sum_i x_i, \\quad
              \\sigma^2 = \\frac{1}{m} \\sum_i (x_i - \\mu)^2, \\quad
              \\hat x = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}, \\quad
              y = \\gamma \\odot \\hat x + \\beta

    and the running statistics move towards them, in place:

    .. math:: \\bar\\mu \\leftarrow p\\,\\bar\\mu + (1 - p)\\,\\mu, \\qquad
              \\bar\\sigma^2 \\leftarrow p\\,\\bar\\sigma^2 + (1 - p)\\,\\sigma^2

    with ``p = momentum``. In inference (``training=False``, e.g. ``predict``) the running
    statistics replace the batch's: ``x_hat = (x - mu_bar) / sqrt(sigma_bar^2 + eps)``.

    Backward, given ``g = dJ/dy`` (sums over the batch axis):

    .. math:: \\frac{\\partial J}{\\partial \\gamma} = \\sum_i g_i \\odot \\hat x_i, \\quad
              \\frac{\\partial J}{\\partial \\beta} = \\sum_i g_i, \\quad
              \\frac{\\partial J}{\\partial x} = \\frac{\\gamma}{m \\sqrt{\\sigma^2 + \\epsilon}}
              \\odot \\Bigl(m g - \\sum_i g_i - \\hat x \\odot \\sum_i g_i \\odot \\hat x_i\\Bigr)

    in training mode (``mu`` and ``sigma`` depend on every sample), and
    ``dJ/dx = g * gamma / sqrt(sigma_bar^2 + eps)`` in inference mode.

    Parameters ``gamma`` (ones) and ``beta`` (zeros) are trainable and never penalised;
    ``moving_mean`` (zeros) and ``moving_variance`` (ones) are state: saved, loaded and
    restored by early stopping, never trained. Trial forwards (``Network.loss``,
    ``backprop``, ``gradcheck``, grow-and-slash's line search) leave them as they were.

    As in Keras, a frozen layer (``trainable=False``) runs in inference mode even in
    training: it uses and keeps its running statistics, so fine-tuning the layers around
    it does not disturb them.

    Parameters
    ----------
    momentum : float, default 0.99
        Weight ``p`` of the old running statistics, ``0 <= momentum <= 1``.
    epsilon : float, default 1e-3
        Added to the variance before the square root, ``> 0``.
    center : bool, default True
        Learn the shift ``beta`` (otherwise ``beta = 0``).
    scale : bool, default True
        Learn the scale ``gamma`` (otherwise ``gamma = 1``).
    name : str, optional
    trainable : bool, default True
    """

    def __init__(
        self,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name, trainable=trainable)
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0)
        self.epsilon = check_real(epsilon, "epsilon", low=0.0, low_inclusive=False)
        for argument, value in (("center", center), ("scale", scale)):
            if not isinstance(value, bool | np.bool_):
                raise LayerkitTypeError(f"{argument} must be True or False; received {value!r}")
        self.center = bool(center)
        self.scale = bool(scale)
        self._x_hat: np.ndarray | None = None
        self._inv_sigma: np.ndarray | None = None
        self._batch_statistics = False

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 1:
            raise LayerkitValueError(
                f"BatchNormalization layer {self.name!r} expects flat inputs of shape "
                f"(n_features,); received input shape {input_shape} (add a Flatten first)"
            )
        n = input_shape[0]
        if self.scale:
            self.add_param("gamma", np.ones(n))
        if self.center:
            self.add_param("beta", np.zeros(n))
        self.add_state("moving_mean", np.zeros(n))
        self.add_state("moving_variance", np.ones(n))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        # A frozen layer keeps inference's statistics (Keras's rule for BatchNormalization).
        self._batch_statistics = bool(training) and self.trainable
        if self._batch_statistics:
            mu = x.mean(axis=0)
            var = x.var(axis=0)  # biased: divided by m
            self._update_running_statistics(mu, var)
        else:
            mu, var = self.state["moving_mean"], self.state["moving_variance"]
        inv_sigma = 1.0 / np.sqrt(var + self.epsilon)
        x_hat = self.workspace("x_hat", x.shape)
        np.subtract(x, mu, out=x_hat)
        x_hat *= inv_sigma  # x_hat = (x - mu) / sqrt(var + eps)
        y = self.workspace("y", x.shape)
        np.copyto(y, x_hat)
        if self.scale:
            y *= self.params["gamma"]
        if self.center:
            y += self.params["beta"]  # y = gamma x_hat + beta
        self._x_hat, self._inv_sigma = x_hat, inv_sigma
        return y

    def _update_running_statistics(self, mu: np.ndarray, var: np.ndarray) -> None:
        p = self.momentum
        mean, variance = self.state["moving_mean"], self.state["moving_variance"]
        mean *= p
        mean += (1.0 - p) * mu  # mu_bar <- p mu_bar + (1 - p) mu
        variance *= p
        variance += (1.0 - p) * var  # var_bar <- p var_bar + (1 - p) var

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        g, x_hat = grad_out, self._x_hat
        sum_g = g.sum(axis=0)  # also dJ/dbeta
        sum_g_x_hat = np.einsum("ij,ij->j", g, x_hat)  # also dJ/dgamma
        if self.trainable:
            if self.scale:
                self.grads["gamma"][...] = sum_g_x_hat
            if self.center:
                self.grads["beta"][...] = sum_g
        if not self.needs_input_grad:
            return None
        factor = self._inv_sigma * self.params["gamma"] if self.scale else self._inv_sigma
        dx = self.workspace("dx", g.shape)
        if not self._batch_statistics:
            return np.multiply(g, factor, out=dx)  # dx = g gamma / sqrt(var_bar + eps)
        m = g.shape[0]
        # dx = gamma / (m sigma) (m g - sum g - x_hat sum(g x_hat))
        np.multiply(x_hat, sum_g_x_hat, out=dx)
        np.subtract(m * g, dx, out=dx)
        dx -= sum_g
        dx *= factor / m
        return dx

    def get_config(self) -> dict[str, Any]:
        return {
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **super().get_config(),
        }
