"""The fully connected layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import LayerkitValueError, check_positive_int, check_real
from ..activations import ActivationFunction, Identity, get_activation
from ..initializers import default_kernel_initializer, get_initializer
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
    trainable : bool, default True
        ``False`` freezes ``W`` and ``b`` (see :class:`~layerkit.Layer`).
    """

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
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name, trainable=trainable)
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
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None
        self._ones_vector: np.ndarray | None = None

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
        z, a = self._outputs(x.shape[0])
        np.matmul(x, self.params["W"], out=z)
        if self.use_bias:
            z += self.params["b"]  # z = x W + b
        if not self._identity:
            self.activation(z, out=a)  # a = f(z)
        self._x, self._z, self._a = x, z, a
        return a

    def _outputs(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``z`` and ``a`` workspaces for ``m`` rows (``a`` is ``z`` for the identity),
        looked up once per batch size."""
        views = getattr(self, "_views", None)  # absent from layers pickled before it
        if views is None or views[0] != m or views[1].dtype != self.dtype:
            z = self.workspace("z", (m, self.units))
            a = z if self._identity else self.workspace("a", z.shape)
            views = self._views = (m, z, a)
        return views[1], views[2]

    def release_workspaces(self) -> None:
        super().release_workspaces()
        self._views = None

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_views"] = None  # views of the workspaces, which are not pickled either
        return state

    @property
    def preactivation(self) -> np.ndarray | None:
        """``z`` of the last forward pass (the logits, for a softmax or sigmoid output)."""
        return self._z

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        if self._identity:
            return self.backward_preactivation(grad_out)
        delta = self.activation.backward(  # delta = g * f'(z)
            self._z, self._a, grad_out, out=self.workspace("delta", grad_out.shape)
        )
        return self.backward_preactivation(delta)

    def backward_preactivation(self, delta: np.ndarray) -> np.ndarray | None:
        """Backward from ``delta = dJ/dz``.

        The network calls it directly with the output error ``a - y`` of a softmax or
        sigmoid output under its cross-entropy (seed 002, Lemmas 1 and 2).
        """
        if self.trainable:
            # dJ/dW = x^T delta (in training under SGD, formed only if read: layerkit._products)
            self.grads.set_product("W", self._x.T, delta)
            if self.use_bias:
                # dJ/db = sum_i delta_i = 1^T delta: one BLAS gemv, faster than np.sum's loop
                np.matmul(self._ones(delta), delta, out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        return np.matmul(delta, self.params["W"].T, out=self.workspace("dx", self._x.shape))

    def _ones(self, delta: np.ndarray) -> np.ndarray:
        """A vector of ones, one per row of ``delta``, filled once per size."""
        m = delta.shape[0]
        ones = getattr(self, "_ones_vector", None)  # absent from layers pickled before it
        if ones is None or ones.shape[0] < m or ones.dtype != delta.dtype:
            ones = self._ones_vector = np.ones(m, dtype=delta.dtype)
        return ones if ones.shape[0] == m else ones[:m]

    def nonfinite_witness(self) -> np.ndarray | None:
        # z_i0 = sum_k x_ik W_k0 + b_0: a NaN or an infinity in row i of x makes it NaN or
        # infinite whatever W is (inf * 0 is NaN), so one column of z witnesses the input.
        return None if self._z is None else self._z[:, 0]

    def kink_signature(self) -> np.ndarray | None:
        return None if self._z is None else self.activation.kink_signature(self._z)

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
            **super().get_config(),
        }
        for key in ("kernel_initializer", "bias_initializer"):
            if callable(config[key]):
                # A user's function cannot be stored; saved weights make it moot on load.
                config[key] = None if key == "kernel_initializer" else "zeros"
        return config

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation.name!r}, name={self.name!r})"
