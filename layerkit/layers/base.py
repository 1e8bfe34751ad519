"""The layer contract every built-in and user-written layer follows.

A layer maps a batch ``x`` of shape ``(m, *input_shape)`` to ``y = f(x; params)`` of shape
``(m, *output_shape)``. Batches are always the first axis.

The contract (see ``docs/custom-layers.md``):

* ``build(input_shape)`` creates the parameters once the input width is known. Use
  :meth:`Layer.add_param` so that gradients, dtype and the L2 penalty are handled for you;
  draw random numbers from ``self.rng`` (the network's generator) so that a seed reproduces
  the model.
* ``forward(x, training=False)`` returns ``y`` and keeps what ``backward`` needs.
* ``backward(grad_out)`` receives ``dJ/dy`` (same shape as ``y``), fills ``self.grads[k]``
  with ``dJ/dparams[k]`` (same key and shape, overwritten, not accumulated) and returns
  ``dJ/dx``. When ``self.needs_input_grad`` is false the network does not need ``dJ/dx``
  (the layer sits first in the network): returning ``None`` then saves a matrix product.
* Parameters are updated in place by optimisers: never rebind ``self.params[k]``.

Arrays returned by the built-in layers' ``forward`` and ``backward`` live in reusable
per-layer workspaces, so a training step allocates nothing: they stay valid until the
layer's next call. Copy them if you keep them longer.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

__all__ = ["Layer"]


class Layer:
    """Base class of all layers.

    Parameters
    ----------
    name : str, optional
        A name for summaries and error messages. Defaults to the class name in lower case
        followed by a counter, e.g. ``dense_2``.

    Attributes
    ----------
    params : dict[str, numpy.ndarray]
        Trainable arrays, updated in place by optimisers.
    grads : dict[str, numpy.ndarray]
        ``dJ/dparams``, same keys and shapes as ``params``; filled by ``backward``.
    input_shape, output_shape : tuple[int, ...] or None
        Shapes of one sample (batch axis excluded), known after ``build``.
    needs_input_grad : bool
        Whether ``backward`` must return ``dJ/dx``. The network sets it to ``False`` for
        the first layer with parameters, whose input is the data.
    rng : numpy.random.Generator
        The owning network's random generator (a private seeded one before that).
    dtype : numpy.dtype
        Floating dtype of parameters and computation.
    """

    _counters: ClassVar[dict[str, int]] = {}

    def __init__(self, *, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None; received {name!r}")
        self.name = name if name is not None else self._default_name()
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None
        self.built = False
        self.needs_input_grad = True
        self.dtype = np.dtype(np.float32)
        self.rng = np.random.default_rng(0)
        self._penalized: set[str] = set()
        self._workspaces: dict[str, np.ndarray] = {}
        # key -> apply(a, b, grad): an optimiser's update fused into the gradient product,
        # installed by train() for the keys in _product_params (see _param_gradient)
        self._fused_updates: dict[str, Any] = {}

    @classmethod
    def _default_name(cls) -> str:
        key = cls.__name__.lower()
        Layer._counters[key] = Layer._counters.get(key, 0) + 1
        return f"{key}_{Layer._counters[key]}"

    # ----------------------------------------------------------------- the contract
    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create parameters for inputs of one-sample shape ``input_shape``.

        The default creates none and keeps the shape. Override it (calling
        ``self.add_param``) and, when the shape changes, :meth:`compute_output_shape`.
        """

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """One-sample output shape for a one-sample input shape (default: unchanged)."""
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return the layer's output for the batch ``x`` and keep what backward needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x, training)")

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Given ``dJ/dy``, fill ``self.grads`` and return ``dJ/dx``."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_out)")

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuild a layer from :meth:`get_config`'s output."""
        return cls(**config)

    # ---------------------------------------------------------------- conveniences
    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training=training)

    def add_param(self, key: str, value: np.ndarray, *, penalize: bool = False) -> np.ndarray:
        """Register a trainable array (cast to ``self.dtype``) and its zeroed gradient.

        Parameters
        ----------
        key : str
            Name of the parameter, e.g. ``"W"``.
        value : array_like
            Initial value.
        penalize : bool, default False
            Whether the L2 penalty applies to it. Weights: yes; biases: no
            (seed 002, section 3.4.3).
        """
        array = np.array(value, dtype=self.dtype, order="C", copy=True)
        self.params[key] = array
        self.grads[key] = np.zeros_like(array)
        if penalize:
            self._penalized.add(key)
        else:
            self._penalized.discard(key)
        return array

    @property
    def penalized_params(self) -> tuple[str, ...]:
        """Keys of the parameters the L2 penalty applies to."""
        return tuple(k for k in self.params if k in self._penalized)

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        return int(sum(p.size for p in self.params.values()))

    def _setup(
        self, input_shape: tuple[int, ...], *, rng: np.random.Generator, dtype: np.dtype
    ) -> None:
        """Attach the network's generator and dtype, then build. Called by ``Network``."""
        self.rng = rng
        self.dtype = np.dtype(dtype)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.build(self.input_shape)
        self.output_shape = tuple(int(d) for d in self.compute_output_shape(self.input_shape))
        self.built = True

    def _workspace(self, key: str, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        """A reusable array of ``shape`` (batch first), grown only when a batch is larger.

        Returning the first rows of one buffer keeps a training step free of allocations
        whatever the batch size (the last, smaller batch of an epoch included).
        """
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        buf = self._workspaces.get(key)
        if (
            buf is None
            or buf.shape[0] < shape[0]
            or buf.shape[1:] != tuple(shape[1:])
            or buf.dtype != dtype
        ):
            buf = np.empty(shape, dtype=dtype)
            self._workspaces[key] = buf
        return buf[: shape[0]]

    #: parameters whose gradient the layer computes with :meth:`_param_gradient`
    _product_params: ClassVar[tuple[str, ...]] = ()

    def _param_gradient(self, key: str, a: np.ndarray, b: np.ndarray) -> None:
        """``grads[key] = a @ b``, or the optimiser's update applied straight from it.

        During ``train()`` an optimiser whose update is affine in the gradient (SGD,
        momentum) fuses it into this product (one BLAS gemm, see
        :meth:`Optimizer.fused_update`): the parameter changes here and ``grads[key]`` is
        not written. A layer that uses this lists ``key`` in ``_product_params`` and calls
        it only after everything else in its backward pass that reads the parameter.
        """
        fused = self._fused_updates.get(key)
        if fused is None:
            np.matmul(a, b, out=self.grads[key])
        else:
            fused(a, b, self.grads[key])

    def _set_dtype(self, dtype: Any) -> None:
        """Convert parameters and gradients to ``dtype`` and drop the workspaces."""
        self.dtype = np.dtype(dtype)
        for key in self.params:
            self.params[key] = self.params[key].astype(self.dtype)
            self.grads[key] = self.grads[key].astype(self.dtype)
        self._release_workspaces()

    def _release_workspaces(self) -> None:
        """Drop the workspaces (and any views a subclass cached in ``_views``)."""
        self._workspaces.clear()
        if hasattr(self, "_views"):
            self._views = None

    def _kink_signature(self) -> np.ndarray | None:
        """Which side of a non-differentiable point each unit sat on in the last forward.

        ``gradcheck`` compares signatures of the evaluations of one finite difference: if
        they differ, the difference straddled a kink (ReLU at 0, say) and is reported as a
        kink, not a failure. Layers without kinks return ``None``.
        """
        return None

    def __repr__(self) -> str:
        shape = f", output_shape={self.output_shape}" if self.built else ""
        return f"{type(self).__name__}(name={self.name!r}{shape})"
