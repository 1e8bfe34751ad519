"""The layer contract every built-in and user-written layer follows.

A layer maps a batch ``x`` of shape ``(m, *input_shape)`` to ``y = f(x; params, state)`` of
shape ``(m, *output_shape)``. Batches are always the first axis.

The contract (see ``docs/custom-layers.md``) is four methods and two registrations:

* ``build(input_shape)`` creates the arrays once the input shape is known:
  :meth:`Layer.add_param` for trainable parameters (their gradients, dtype and the L2
  penalty are handled for you) and :meth:`Layer.add_state` for non-trainable arrays such as
  running statistics. Draw random numbers from ``self.rng`` (the network's generator) so
  that a seed reproduces the model.
* ``forward(x, training=False)`` returns ``y`` and keeps what ``backward`` needs. It may
  update ``self.state`` in place when ``training`` is true.
* ``backward(grad_out)`` receives ``dJ/dy`` (same shape as ``y``), writes
  ``dJ/dparams[k]`` into ``self.grads[k]`` (same key and shape, overwritten, never
  accumulated) and returns ``dJ/dx``. When ``self.needs_input_grad`` is false nothing
  needs ``dJ/dx`` (the layer's input is the data): returning ``None`` saves a product.
* ``get_config()`` returns the constructor arguments that rebuild the layer.

Optional: ``compute_output_shape`` (when the shape changes) and :meth:`Layer.kink_signature`
(for layers with non-differentiable points, read by :func:`layerkit.gradcheck`).

``trainable = False`` freezes a layer (Keras's meaning): training never changes its
parameters, and its backward pass may skip their gradients.

Parameters and state are updated in place: never rebind ``self.params[k]`` or
``self.state[k]``. The built-in layers return arrays that live in reusable per-layer
workspaces (so that a training step allocates nothing): they stay valid until the layer's
next call.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._products import Gradients
from .._validation import LayerkitTypeError, LayerkitValueError

__all__ = ["Layer"]


class Layer:
    """Base class of all layers.

    Parameters
    ----------
    name : str, optional
        A name for summaries and error messages. Defaults to the class name in lower case
        followed by a counter, e.g. ``dense_2``.
    trainable : bool, default True
        ``False`` freezes the layer's parameters.

    Attributes
    ----------
    params : dict[str, numpy.ndarray]
        Trainable arrays, updated in place by optimisers.
    grads : dict[str, numpy.ndarray]
        ``dJ/dparams``, same keys and shapes as ``params``, written by ``backward``. A
        ``dict`` subclass: in training, Dense may record ``dJ/dW`` as the two factors of
        its product, which any read forms first (``layerkit._products``).
    state : dict[str, numpy.ndarray]
        Non-trainable arrays (running statistics): saved, loaded and restored with the
        weights, never seen by optimisers, the L2 penalty or ``gradcheck``.
    trainable : bool
        Whether training may change ``params``.
    input_shape, output_shape : tuple[int, ...] or None
        Shapes of one sample (batch axis excluded), known after ``build``.
    needs_input_grad : bool
        Whether ``backward`` must return ``dJ/dx``. The network sets it to ``False`` for
        layers whose input is the data (or feeds only frozen layers).
    rng : numpy.random.Generator
        The owning network's random generator (a private seeded one before that).
    dtype : numpy.dtype
        Floating dtype of parameters, state and computation.
    """

    _counters: ClassVar[dict[str, int]] = {}

    def __init__(self, *, name: str | None = None, trainable: bool = True) -> None:
        if name is not None and not isinstance(name, str):
            raise LayerkitTypeError(f"name must be a str or None; received {name!r}")
        if not isinstance(trainable, bool | np.bool_):
            raise LayerkitTypeError(f"trainable must be True or False; received {trainable!r}")
        self.name = name if name is not None else self._default_name()
        self.trainable = bool(trainable)
        self.params: dict[str, np.ndarray] = {}
        self.grads = Gradients()
        self.state: dict[str, np.ndarray] = {}
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None
        self.built = False
        self.needs_input_grad = True
        self.dtype = np.dtype(np.float32)
        self.rng = np.random.default_rng(0)
        #: name of the network that owns this layer (a layer belongs to one network)
        self.owner: str | None = None
        self._penalized: set[str] = set()
        self._workspaces: dict[str, np.ndarray] = {}

    @classmethod
    def _default_name(cls) -> str:
        key = cls.__name__.lower()
        Layer._counters[key] = Layer._counters.get(key, 0) + 1
        return f"{key}_{Layer._counters[key]}"

    # ----------------------------------------------------------------- the contract
    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create parameters and state for inputs of one-sample shape ``input_shape``.

        The default creates none. Override it (calling :meth:`add_param` and
        :meth:`add_state`) and, when the shape changes, :meth:`compute_output_shape`.
        """

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """One-sample output shape for a one-sample input shape (default: unchanged)."""
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Return the layer's output for the batch ``x`` and keep what backward needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x, training)")

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Given ``dJ/dy``, write ``self.grads`` and return ``dJ/dx``."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_out)")

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this layer (JSON-serialisable).

        Override it (calling ``super().get_config()`` and adding your arguments) when the
        constructor takes arguments: saving checks that ``from_config(get_config())``
        rebuilds the layer.
        """
        config: dict[str, Any] = {"name": self.name}
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuild a layer from :meth:`get_config`'s output.

        ``trainable`` is set after construction, so a user layer's constructor need not
        take it.
        """
        config = dict(config)
        trainable = config.pop("trainable", True)
        layer = cls(**config)
        layer.trainable = bool(trainable)
        return layer

    def kink_signature(self) -> np.ndarray | None:
        """Which side of each non-differentiable point the last forward's values sat on.

        :func:`layerkit.gradcheck` compares the signatures of the evaluations of one
        finite difference: if they differ, the difference straddled a kink (ReLU at 0,
        say) and is reported as a kink rather than a failure. Return any array that
        changes exactly when some value crosses a kink, e.g. ``x > 0`` for a ReLU-like
        layer; layers without kinks return ``None`` (the default).
        """
        return None

    def nonfinite_witness(self) -> np.ndarray | None:
        """After a forward pass (training or inference) as the first layer: a small array
        with a NaN or an infinity wherever a row of the input had one, or ``None`` (the
        default) for no such promise.

        :meth:`Network.predict` and ``train()`` must refuse non-finite input. With a
        witness they check that small array (``train()`` on each batch of its first epoch)
        and read the whole input only when the witness is not finite; without one they
        read the whole input, one more pass over memory.
        """
        return None

    # ---------------------------------------------------------------- registrations
    def add_param(self, key: str, value: Any, *, penalize: bool = False) -> np.ndarray:
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

        Returns
        -------
        numpy.ndarray
            The registered array (``self.params[key]``).
        """
        self._check_new_key(key, self.state, "state")
        array = np.array(value, dtype=self.dtype, order="C", copy=True)
        self.params[key] = array
        self.grads[key] = np.zeros_like(array)
        if penalize:
            self._penalized.add(key)
        else:
            self._penalized.discard(key)
        return array

    def add_state(self, key: str, value: Any) -> np.ndarray:
        """Register a non-trainable array (cast to ``self.dtype``), e.g. running statistics.

        State is saved, loaded and checkpointed with the parameters and restored with them
        by early stopping; optimisers, the L2 penalty, ``gradcheck`` and ``n_params``
        leave it out. Update it in place in ``forward`` when ``training`` is true.

        Returns
        -------
        numpy.ndarray
            The registered array (``self.state[key]``).
        """
        self._check_new_key(key, self.params, "parameter")
        array = np.array(value, dtype=self.dtype, order="C", copy=True)
        self.state[key] = array
        return array

    def _check_new_key(self, key: Any, other: dict[str, Any], kind: str) -> None:
        if not isinstance(key, str) or not key:
            raise LayerkitTypeError(
                f"layer {self.name!r}: array names must be non-empty strings; received {key!r}"
            )
        if key in other:
            raise LayerkitValueError(
                f"layer {self.name!r} already has a {kind} named {key!r}; choose another name"
            )

    # ---------------------------------------------------------------- properties
    @property
    def penalized_params(self) -> tuple[str, ...]:
        """Keys of the parameters the L2 penalty applies to."""
        return tuple(k for k in self.params if k in self._penalized)

    @property
    def n_params(self) -> int:
        """Number of parameter scalars (trainable or frozen; state excluded)."""
        return int(sum(p.size for p in self.params.values()))

    @property
    def n_state(self) -> int:
        """Number of non-trainable state scalars."""
        return int(sum(s.size for s in self.state.values()))

    # ---------------------------------------------------------------- the network's calls
    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training=training)

    def attach(self, input_shape: tuple[int, ...], *, rng: np.random.Generator, dtype: Any) -> None:
        """Take the network's generator and dtype, then :meth:`build`. Called by ``Network``."""
        self.rng = rng
        self.dtype = np.dtype(dtype)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.build(self.input_shape)
        self.output_shape = tuple(int(d) for d in self.compute_output_shape(self.input_shape))
        self.built = True

    def detach(self) -> None:
        """Forget what :meth:`attach` built, so that the layer can join another network."""
        self.params.clear()
        self.grads.clear()
        self.state.clear()
        self._penalized.clear()
        self.release_workspaces()
        self.built = False
        self.owner = None
        self.input_shape = self.output_shape = None

    def cast(self, dtype: Any) -> None:
        """Convert parameters, gradients and state to ``dtype``; drop the workspaces."""
        self.dtype = np.dtype(dtype)
        for store in (self.params, self.grads, self.state):
            for key in store:
                store[key] = store[key].astype(self.dtype)
        self.release_workspaces()

    def release_workspaces(self) -> None:
        """Drop the reusable buffers; they are made again, at the right size, when needed."""
        self._workspaces.clear()

    def workspace(self, key: str, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        """A reusable array of ``shape`` (batch first) named ``key``, grown only when a
        batch is larger; its contents are whatever was last written into it.

        Returning the first rows of one buffer keeps a training step free of allocations
        whatever the batch size (the last, smaller batch of an epoch included). Layers
        write their outputs and gradients into workspaces; the network keeps its own
        per-layer scratch arrays here too. :meth:`release_workspaces` drops them all.
        """
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        buf = self._workspaces.get(key)
        if buf is not None and buf.shape == shape and buf.dtype == dtype:
            return buf  # the common case: every batch of an epoch but the last
        if (
            buf is None
            or buf.shape[0] < shape[0]
            or buf.shape[1:] != tuple(shape[1:])
            or buf.dtype != dtype
        ):
            buf = np.empty(shape, dtype=dtype)
            self._workspaces[key] = buf
        return buf[: shape[0]]

    def __getstate__(self) -> dict[str, Any]:
        # Workspaces are caches: pickling them wastes space, and arrays unpickled from a
        # read-only memory map could not be written into (scikit-learn's pickling check).
        state = dict(self.__dict__)
        state["_workspaces"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for store in ("params", "grads", "state"):
            arrays = self.__dict__.get(store) or {}
            for key, value in arrays.items():
                if isinstance(value, np.ndarray) and not value.flags.writeable:
                    arrays[key] = np.array(value)  # updated in place later: must be writable

    def __repr__(self) -> str:
        shape = f", output_shape={self.output_shape}" if self.built else ""
        return f"{type(self).__name__}(name={self.name!r}{shape})"
