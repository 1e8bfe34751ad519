"""The fully connected layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _blas
from .._validation import LayerkitValueError, check_positive_int, check_real
from ..activations import ActivationFunction, Identity, get_activation
from ..initializers import default_kernel_initializer, get_initializer
from .activation import _kink_signature
from .base import Layer

__all__ = ["Dense"]


class Dense(Layer):
    """Fully connected layer: every input feeds every unit.

    Forward, for a batch ``x`` of shape ``(m, n_in)`` (one sample per row):

    .. math:: z = x W + b, \\qquad a = f(z)

    with ``W`` of shape ``(n_in, units)`` and ``b`` of shape ``(units,)``. The documents
    write one sample as a column, ``a = f(W_doc a_prev + b)``: their ``W_doc`` is our
    ``W.T`` (seed 002 section 3.1, seed 003).

    Backward, given ``g = dJ/da``:

    .. math:: \\delta = g \\odot f'(z), \\quad \\frac{\\partial J}{\\partial W} = x^T \\delta,
              \\quad \\frac{\\partial J}{\\partial b} = \\sum_i \\delta_i, \\quad
              \\frac{\\partial J}{\\partial x} = \\delta W^T

    ``dJ/db`` sums ``delta`` over the samples, one value per unit (seed 000's printed code
    sums over the units too, so its biases never learn: ``gradcheck`` catches that).

    Parameters
    ----------
    units : int
        Number of output units.
    activation : str or ActivationFunction, optional
        Applied to ``z``; ``None`` is the identity. Keyword parameters of the activation go
        in ``activation_params``, e.g. ``Dense(30, "leaky_relu", activation_params={"alpha": 0.1})``.
    kernel_initializer : str or callable, optional
        Default: ``"he_normal"`` for relu/leaky_relu/elu, ``"glorot_uniform"`` otherwise.
        ``"uniform"`` is the documents' U[-0.5, 0.5). See :mod:`layerkit.initializers`.
    bias_initializer : str or callable, default "zeros"
    penalty : float, optional
        L2 strength ``lambda`` for this layer's ``W`` (never ``b``); overrides the
        network's and ``train()``'s ``penalty``.
    input_dim : int, optional
        Expected input width; only checked (the network infers it from the layer before).
    use_bias : bool, default True
    name : str, optional
    """

    _product_params = ("W",)

    def __init__(
        self,
        units: int,
        activation: str | ActivationFunction | None = None,
        *,
        activation_params: dict[str, Any] | None = None,
        kernel_initializer: Any = None,
        bias_initializer: Any = "zeros",
        penalty: float | None = None,
        input_dim: int | None = None,
        use_bias: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.units = check_positive_int(units, "units")
        self.activation = get_activation(activation, **(activation_params or {}))
        self.kernel_initializer = (
            default_kernel_initializer(self.activation.name)
            if kernel_initializer is None
            else kernel_initializer
        )
        get_initializer(self.kernel_initializer, argument="kernel_initializer")
        get_initializer(bias_initializer, argument="bias_initializer")
        self.bias_initializer = bias_initializer
        self.penalty = None if penalty is None else check_real(penalty, "penalty", low=0.0)
        self.input_dim = check_positive_int(input_dim, "input_dim", allow_none=True)
        self.use_bias = bool(use_bias)
        self._identity = isinstance(self.activation, Identity)
        self._views: tuple | None = None
        self._watch_input = False
        self._z0_total = 0.0
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 1:
            raise LayerkitValueError(
                f"Dense layer {self.name!r} expects flat inputs of shape (n_features,); "
                f"received input shape {input_shape} (flatten the samples first)"
            )
        n_in = input_shape[0]
        if self.input_dim is not None and self.input_dim != n_in:
            raise LayerkitValueError(
                f"Dense layer {self.name!r} was declared with input_dim={self.input_dim} but "
                f"the layer before it outputs {n_in} features"
            )
        kernel = get_initializer(self.kernel_initializer)(self.rng, (n_in, self.units))
        self.add_param("W", kernel, penalize=True)
        if self.use_bias:
            self.add_param("b", get_initializer(self.bias_initializer)(self.rng, (self.units,)))

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.units,)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        z, a = self._buffers(x.shape[0])
        _affine(x, self.params["W"], self.params.get("b"), out=z)  # z = x W + b
        if self._watch_input:
            # A NaN or infinity in a row of x makes every z of that row NaN or infinite
            # (W is finite), so one column of z tells whether x was finite (Network.predict).
            self._z0_total = float(np.add.reduce(z[:, 0], dtype=np.float64))
        if not self._identity:
            self.activation(z, out=a)  # a = f(z); a is z itself for ReLU (in place)
        self._x, self._z, self._a = x, z, a
        return a

    def _buffers(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """``z`` and ``a`` workspaces for a batch of ``m``, cached per size."""
        cached = self._views
        if cached is not None and cached[0] == m and cached[1].dtype == self.dtype:
            return cached[1:]
        z = self._workspace("z", (m, self.units))
        shared = self._identity or self.activation.in_place
        a = z if shared else self._workspace("a", (m, self.units))
        self._views = (m, z, a)
        return z, a

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        if self._identity:
            return self._backward_preactivation(grad_out)
        delta = self.activation.backward(
            self._z, self._a, grad_out, out=self._workspace("delta", grad_out.shape)
        )
        return self._backward_preactivation(delta)

    def _backward_preactivation(self, delta: np.ndarray) -> np.ndarray | None:
        """Backward from ``delta = dJ/dz`` (the network calls it with the fused output error)."""
        dx = None
        if self.needs_input_grad:
            # before dJ/dW: inside train() that product may update W in place
            dx = np.matmul(delta, self.params["W"].T, out=self._workspace("dx", self._x.shape))
        if self.use_bias:
            # sum over the samples as a matrix-vector product: BLAS beats np.sum here
            m = delta.shape[0]
            ones = self._workspaces.get("ones")
            if ones is None or ones.shape[0] < m or ones.dtype != delta.dtype:
                ones = self._workspaces["ones"] = np.ones(m, dtype=delta.dtype)
            np.matmul(ones[:m], delta, out=self.grads["b"])
        self._param_gradient("W", self._x.T, delta)
        return dx

    def _kink_signature(self) -> np.ndarray | None:
        return _kink_signature(self.activation, self._z)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "units": self.units,
            "activation": self.activation.name,
            "activation_params": self.activation.get_config(),
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
            "penalty": self.penalty,
            "input_dim": self.input_dim,
            "use_bias": self.use_bias,
            "name": self.name,
        }
        for key in ("kernel_initializer", "bias_initializer"):
            if callable(config[key]):
                # A user's function cannot be stored; saved weights make it moot on load.
                config[key] = None if key == "kernel_initializer" else "zeros"
        return config

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation.name!r}, name={self.name!r})"


def _affine(x: np.ndarray, W: np.ndarray, b: np.ndarray | None, out: np.ndarray) -> np.ndarray:
    """``out = x W + b``.

    A large product starts from rows of ``b`` and accumulates ``x W`` onto them in one gemm
    (``beta = 1``): no second pass over ``out`` for the bias (see ``docs/performance.md``).
    """
    if b is None:
        return np.matmul(x, W, out=out)
    if out.size >= _blas.MIN_ELEMENTS:
        np.copyto(out, b)
        if _blas.gemm(1.0, x, W, 1.0, out):
            return out
    np.matmul(x, W, out=out)
    out += b
    return out
