"""``Network``: an ordered stack of layers with a cost.

The network builds its layers, runs them forward and backward, and computes the objective

.. math:: J(\\theta) = \\frac{1}{m} \\sum_{i=1}^m w_i\\, c(a_i, y_i)
          + \\sum_{\\text{layers } l} \\frac{\\lambda_l}{2} \\lVert \\bar\\theta_l \\rVert^2

(seed 002, section 3.4.3), where ``c`` is the per-sample cost of :mod:`layerkit.losses`,
``w_i`` optional sample weights (1 by default) and ``theta_bar`` the weights with the biases
left out. Because the data term is an average and the penalty is not, ``lambda`` keeps its
meaning whatever the batch size: the gradient of a weight is ``delta a + lambda W``.

It knows nothing about optimisers: training lives in :mod:`layerkit.training`. A training
loop talks to it through :meth:`Network.run`, :meth:`Network.compute_gradients`,
:meth:`Network.data_cost`, :meth:`Network.variables` and :meth:`Network.penalty_scope`,
which take arrays already checked (by :meth:`Network.prepare_inputs` and
:meth:`Network.prepare_targets`).
"""

from __future__ import annotations

import contextlib
import numbers
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._html import network_rows
from ._products import Gradients, worth_deferring
from ._validation import (
    LayerkitTypeError,
    LayerkitValueError,
    all_finite,
    cast_checked,
    check_features,
    check_finite,
    check_n_samples,
    check_positive_int,
    check_real,
    check_sample_weight,
)
from .layers.base import Layer
from .layers.input import Input
from .losses import Loss, get_loss

__all__ = ["Network"]

_DTYPES = {np.dtype(np.float32), np.dtype(np.float64)}
# Rows per forward chunk in predict(): about 4 M elements per workspace, whatever the width.
_PREDICT_ELEMENTS = 1 << 22
# A diverging or overflowing model yields inf and NaN, which the callers report once
# (predict checks its inputs, train() its costs): NumPy's warnings would only repeat it.
_QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore", "under": "ignore"}


class Network:
    """A feed-forward network: ``Input`` first, then any layers, then a cost.

    Parameters
    ----------
    layers : sequence of Layer
        ``layers[0]`` must be an :class:`~layerkit.Input`. Each layer learns its input width
        from the one before it when the network is built (here, in the constructor).
    loss : str or Loss, default "categorical_crossentropy"
        See :mod:`layerkit.losses`. Categorical cross-entropy needs a softmax output and
        binary cross-entropy a sigmoid output (the network then uses the fused output error
        ``a - y``), unless the loss is given ``from_logits=True`` and the output is linear.
    penalty : float, default 0.0
        L2 strength ``lambda >= 0`` applied to every layer's weights (never biases) unless a
        layer sets its own (``Dense(..., penalty=...)``).
    seed : int, optional
        Seeds the network's one random generator (initial weights, dropout masks,
        shuffling). The same seed gives bit-identical weights and masks. ``None`` draws a
        fresh seed, stored in ``self.seed`` so the model can still be rebuilt.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of parameters and computation; inputs are converted to it.
    name : str, optional

    Attributes
    ----------
    layers : list of Layer
    loss_fn : Loss
    rng : numpy.random.Generator
    history : History or None
        Set by ``train()``.
    optimizer : Optimizer or None
        The optimiser of the last ``train()``, with its state.
    metadata : dict
        Free JSON-serialisable information saved with the model (the command line records
        the data set and its preprocessing here).

    Notes
    -----
    ``predict``, ``evaluate``, ``forward``, ``loss`` and ``backprop`` may be called from
    several threads on one network: they take turns (the layers' workspaces are shared).

    Examples
    --------
    >>> import layerkit as lk
    >>> net = lk.Network([lk.Input(4), lk.Dense(8, "relu"), lk.Dense(3, "softmax")], seed=0)
    >>> net.predict(np.zeros((2, 4))).shape
    (2, 3)
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        loss: str | Loss = "categorical_crossentropy",
        *,
        penalty: float = 0.0,
        seed: int | None = None,
        dtype: Any = "float32",
        name: str = "network",
    ) -> None:
        layers = _check_layers(layers)
        loss_fn = get_loss(loss)
        penalty = check_real(penalty, "penalty", low=0.0)
        dtype = _check_dtype(dtype)
        if seed is None:
            seed = int(np.random.SeedSequence().entropy)
        elif isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise LayerkitTypeError(f"seed must be a non-negative int or None; received {seed!r}")
        self.name = str(name)
        self.layers: list[Layer] = layers
        self.loss_fn = loss_fn
        self.penalty = penalty
        self.seed = int(seed)
        self.dtype = dtype
        self.rng = np.random.default_rng(self.seed)
        self.history: Any = None
        self.optimizer: Any = None
        self.metadata: dict[str, Any] = {}
        self.stop_training = False
        self._penalty_override: float | None = None
        self._penalty_enabled = True
        self._lock = threading.RLock()
        # grads that may hold pending products while training (layerkit._products)
        self._armed: tuple[tuple[Layer, Gradients], ...] = ()
        self._checked_plans: set[tuple[Any, ...]] = set()  # see backward()
        self._planned_first = -1  # see _plan_backward()
        try:
            self._build()
            self._check_output_for_loss()
        except Exception:
            for layer in self.layers[1:]:
                layer.detach()  # the user's layers stay reusable after a refused constructor
            self.layers[0].owner = None
            raise

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        shape = self.layers[0].output_shape
        self.layers[0].owner = self.name
        for previous, layer in zip(self.layers, self.layers[1:], strict=False):
            try:
                layer.attach(shape, rng=self.rng, dtype=self.dtype)
            except (ValueError, TypeError) as exc:
                raise _relabel(
                    exc,
                    f"cannot build layer {layer.name!r} ({type(layer).__name__}) on the output "
                    f"of layer {previous.name!r} (shape {shape}): {exc}",
                ) from exc
            layer.owner = self.name
            _check_forward_shape(layer, shape, self.dtype)
            shape = layer.output_shape
        self._plan_backward()
        last = self.layers[-1]
        activation = getattr(getattr(last, "activation", None), "name", None)
        self._fused = (
            not self.loss_fn.from_logits
            and activation is not None
            and activation == self.loss_fn.fused_activation
            and hasattr(last, "backward_preactivation")
        )

    def _check_output_for_loss(self) -> None:
        last = self.layers[-1]
        activation = getattr(getattr(last, "activation", None), "name", None)
        loss = self.loss_fn
        if len(self.output_shape) != 1:
            raise LayerkitValueError(
                f"the last layer {last.name!r} must output flat vectors for loss {loss.name!r}; "
                f"its output shape is {self.output_shape}"
            )
        if loss.fused_activation == "softmax" and self.output_shape[0] < 2:
            raise LayerkitValueError(
                f"{loss.name} needs at least 2 output units; the last layer "
                f"{last.name!r} has {self.output_shape[0]} (for two classes use one sigmoid "
                "unit with binary_crossentropy)"
            )
        needed = loss.fused_activation
        if needed is None:
            return
        if loss.from_logits:
            if activation not in (None, "identity"):
                raise LayerkitValueError(
                    f"{loss.name} with from_logits=True expects raw scores, but the last layer "
                    f"{last.name!r} applies {activation!r}; remove the output activation "
                    f"(Dense(k)) or use from_logits=False with a {needed} output"
                )
            return
        if activation != needed:
            where = f"uses activation {activation!r}" if activation else "has no activation"
            raise LayerkitValueError(
                f"{loss.name} expects {needed} probabilities, but the last layer "
                f"{last.name!r} ({type(last).__name__}) {where}; use activation={needed!r} "
                f"on the last layer, or a linear output with "
                f"loss=lk.losses.{type(loss).__name__}(from_logits=True)"
            )

    # ------------------------------------------------------------------ properties
    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample."""
        return self.layers[0].output_shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one output sample."""
        return self.layers[-1].output_shape

    @property
    def n_params(self) -> int:
        """Number of parameter scalars (frozen ones included, state excluded)."""
        return sum(layer.n_params for layer in self.layers)

    @property
    def n_trainable_params(self) -> int:
        """Number of parameter scalars that training may change."""
        return sum(layer.n_params for layer in self.layers if layer.trainable)

    @property
    def n_state(self) -> int:
        """Number of non-trainable state scalars (running statistics)."""
        return sum(layer.n_state for layer in self.layers)

    @property
    def is_classifier(self) -> bool:
        """Whether the loss is a classification cost (accuracy is then meaningful)."""
        return self.loss_fn.is_classification

    @property
    def fused_output_error(self) -> bool:
        """Whether backpropagation starts from ``dJ/dz = a - y`` at the output layer
        (softmax with categorical or sigmoid with binary cross-entropy)."""
        return self._fused

    def parameters(
        self, *, trainable_only: bool = False
    ) -> Iterator[tuple[Layer, str, np.ndarray]]:
        """Yield ``(layer, key, array)`` for every parameter array, in layer order.

        ``trainable_only=True`` leaves out the parameters of frozen layers.
        """
        for layer in self.layers:
            if trainable_only and not layer.trainable:
                continue
            for key, value in layer.params.items():
                yield layer, key, value

    def states(self) -> Iterator[tuple[Layer, str, np.ndarray]]:
        """Yield ``(layer, key, array)`` for every non-trainable state array, in layer order."""
        for layer in self.layers:
            for key, value in layer.state.items():
                yield layer, key, value

    def variables(self) -> list[np.ndarray]:
        """Every array that defines the model's function: each layer's parameters, then its
        state, layer by layer (the order of :meth:`get_weights`). The arrays themselves,
        not copies: a training loop snapshots and restores them in place."""
        out: list[np.ndarray] = []
        for layer in self.layers:
            out.extend(layer.params.values())
            out.extend(layer.state.values())
        return out

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter and state array (see :meth:`variables`)."""
        return [value.copy() for value in self.variables()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the model in place.

        Every array is checked (count, shape, finiteness) before any is copied.
        """
        targets = self.variables()
        names = [
            f"{layer.name}.{key}" for layer in self.layers for key in (*layer.params, *layer.state)
        ]
        if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence):
            raise LayerkitTypeError(
                f"weights must be a list of arrays (as get_weights returns); received "
                f"{type(weights).__name__}"
            )
        if len(weights) != len(targets):
            raise LayerkitValueError(
                f"weights must hold {len(targets)} arrays (one per parameter and state "
                f"array); received {len(weights)}"
            )
        checked = []
        for name, value, new in zip(names, targets, weights, strict=True):
            new = np.asarray(new)
            if new.shape != value.shape:
                raise LayerkitValueError(
                    f"weights for {name} must have shape {value.shape}; received {new.shape}"
                )
            checked.append(cast_checked(new, self.dtype, f"weights for {name}"))
        for value, new in zip(targets, checked, strict=True):
            np.copyto(value, new)

    # ------------------------------------------------------------------ checks
    def prepare_inputs(self, X: Any, argument: str = "X") -> np.ndarray:
        """``X`` checked against the input shape and cast to the network's dtype."""
        x = check_features(X, self.input_shape, argument=argument, layer=self.layers[0].name)
        return cast_checked(x, self.dtype, argument)

    def prepare_targets(self, y: Any, argument: str = "y") -> np.ndarray:
        """``y`` checked by the loss and returned as ``(n, k)`` rows of the network's dtype."""
        return self.loss_fn.prepare_targets(y, self.output_shape[0], self.dtype, argument=argument)

    def _check_Xy(
        self, X: Any, y: Any, sample_weight: Any = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        x = self.prepare_inputs(X)
        target = self.prepare_targets(y)
        check_n_samples(x, target, "X", "y")
        weight = None if sample_weight is None else check_sample_weight(sample_weight, len(x))
        return x, target, weight

    # ------------------------------------------------------------------ forward / backward
    def forward(self, X: Any, training: bool = False) -> np.ndarray:
        """Run every layer on the batch ``X`` and return the output.

        The returned array belongs to the last layer's workspace: copy it to keep it
        beyond the next call (or use :meth:`predict`, which returns a fresh array).
        """
        x = self.prepare_inputs(X)
        with self._lock, np.errstate(**_QUIET):
            return self.run(x, training)

    def __call__(self, X: Any, training: bool = False) -> np.ndarray:
        """``net(X)`` is :meth:`forward` (Keras's and PyTorch's habit)."""
        return self.forward(X, training=training)

    def run(self, x: np.ndarray, training: bool) -> np.ndarray:
        """Forward pass of an array already checked and cast (for training loops).

        Gradients still pending as products are formed first: the pass overwrites the
        buffers their factors live in (see :meth:`arm_products`).
        """
        for _, grads in self._armed:
            grads.settle()
        for layer in self.layers[1:]:
            x = layer.forward(x, training=training)
        return x

    # ------------------------------------------------------------------ pending products
    def arm_products(self, armed: bool) -> bool:
        """Let layers record gradients as pending products, formed when read
        (:mod:`layerkit._products`), or stop and form what is pending. Returns whether any
        layer was armed (only layers with an array large enough to gain are).

        The training loop arms them for an optimiser that applies products
        (:attr:`~layerkit.Optimizer.applies_products`) and calls
        :meth:`retire_products` before each step's batch.
        """
        for _, grads in self._armed:
            grads.arm(False)
        self._armed = ()
        if armed:
            self._armed = tuple(
                (layer, layer.grads)
                for layer in self.layers
                if isinstance(layer.grads, Gradients) and worth_deferring(layer.params)
            )
            for _, grads in self._armed:
                grads.arm(True)
        return bool(self._armed)

    def retire_products(self) -> None:
        """Before a training step: discard the pending products the step's backward pass
        replaces (trainable layers') and form the others (a layer frozen since)."""
        for layer, grads in self._armed:
            if layer.trainable:
                grads.discard()
            else:
                grads.settle()

    def backward(self, delta: np.ndarray, *, preactivation: bool = False) -> None:
        """Propagate ``delta`` from the output back to the first layer that needs it.

        ``delta`` is ``dJ/da`` of the output, or ``dJ/dz`` of its pre-activation when
        ``preactivation`` (the fused error of :attr:`fused_output_error`). Each layer writes
        its ``grads``; the shapes of ``dJ/dx`` and of every gradient are checked and a
        wrong one is reported with the layer's name.
        """
        first = self._plan_backward()
        last = len(self.layers) - 1
        # checked on the first pass of each batch shape and plan, not on every step
        plan = (delta.shape, first, preactivation)
        check = plan not in self._checked_plans
        for i in range(last, first - 1, -1):
            layer = self.layers[i]
            if i == last and preactivation:
                delta_in = layer.backward_preactivation(delta)  # type: ignore[attr-defined]
            else:
                delta_in = layer.backward(delta)
            if check:
                _check_backward(layer, delta_in, delta)
            delta = delta_in
        if check:
            if len(self._checked_plans) > 16:  # many batch sizes: forget the old ones
                self._checked_plans.clear()
            self._checked_plans.add(plan)

    def _plan_backward(self) -> int:
        """Index of the first layer the backward pass visits; sets ``needs_input_grad``.

        Layers before the first trainable layer with parameters have nothing to learn and
        nothing after them needs ``dJ/dx``, so backward stops there.
        """
        first = len(self.layers)
        for i, layer in enumerate(self.layers):
            if layer.trainable and layer.params:
                first = i
                break
        if first != self._planned_first:
            for i, layer in enumerate(self.layers):
                layer.needs_input_grad = i > first
            self._planned_first = first
        return first

    def compute_gradients(
        self,
        x: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray | None = None,
        *,
        training: bool = True,
    ) -> tuple[float, np.ndarray]:
        """Fill every trainable layer's ``grads`` with ``dJ/dtheta``; return ``(J, output)``.

        For training loops: ``x``, ``target`` and ``weight`` come from
        :meth:`prepare_inputs`, :meth:`prepare_targets` and the sample-weight check. The
        gradient includes the penalty term ``lambda W`` of every penalised weight; the
        output is the last layer's workspace (valid until the next forward pass).
        """
        output = self.run(x, training)
        cost = self.data_cost(output, target, weight)
        buffer = self.layers[-1].workspace("loss_delta", output.shape)
        if self._fused:
            delta = self.loss_fn.fused_delta(output, target, sample_weight=weight, out=buffer)
        else:
            delta = self.loss_fn.gradient(output, target, sample_weight=weight, out=buffer)
        self.backward(delta, preactivation=self._fused)
        return cost + self._add_penalty_gradient(), output

    def data_cost(
        self, output: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None
    ) -> float:
        """``(1/m) sum_i w_i c(a_i, y_i)`` for the output of the last :meth:`run`.

        With a fused output the cost is computed from the logits ``z`` (exact for any
        magnitude).
        """
        if not self._fused:
            return self.loss_fn.value(output, target, sample_weight=weight)
        last: Any = self.layers[-1]
        logits = last.preactivation
        return self.loss_fn.value(
            output,
            target,
            logits=logits,
            sample_weight=weight,
            lse=last.activation.log_normalizer(logits),
        )

    # ------------------------------------------------------------------ public evaluation
    def predict(self, X: Any, *, batch_size: int | None = None) -> np.ndarray:
        """Network output for ``X`` in inference mode (dropout off), as a new array.

        Parameters
        ----------
        X : array_like, shape (n_samples, *input_shape)
        batch_size : int, optional
            Rows per forward pass; by default as many as keep each layer's workspace
            near 4 M elements. Results agree to rounding whatever it is (BLAS may sum in
            another order for other shapes).
        """
        batch_size = check_positive_int(batch_size, "batch_size", allow_none=True)
        X = check_features(X, self.input_shape, check_values=False, layer=self.layers[0].name)
        n = X.shape[0]
        width = max(int(np.prod(layer.output_shape)) for layer in self.layers[1:])
        chunk = batch_size or max(256, _PREDICT_ELEMENTS // width)
        out = np.empty((n, *self.output_shape), dtype=self.dtype)
        with self._lock, np.errstate(**_QUIET):
            for start in range(0, n, chunk):
                # Chunk by chunk: a memmap larger than memory is never loaded whole.
                xb = cast_checked(X[start : start + chunk], self.dtype, "X")
                out[start : start + len(xb)] = self.run(xb, training=False)
                witness = self.layers[1].nonfinite_witness()
                if witness is None or not all_finite(witness):
                    check_finite(xb, "X")
        return out

    def predict_proba(self, X: Any, *, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (scikit-learn's name): :meth:`predict` of a softmax or
        sigmoid output; for ``from_logits`` losses, the probabilities of the logits."""
        out = self.predict(X, batch_size=batch_size)
        if not self.loss_fn.from_logits:
            return out
        if self.output_shape[0] == 1 or self.loss_fn.fused_activation == "sigmoid":
            return 1.0 / (1.0 + np.exp(-out))
        out = np.exp(out - out.max(axis=1, keepdims=True))
        return out / out.sum(axis=1, keepdims=True)

    def predict_classes(self, X: Any, *, batch_size: int | None = None) -> np.ndarray:
        """Predicted class labels: argmax of the outputs, or ``output > threshold`` for one
        unit (0.5 for probabilities, 0 for logits)."""
        proba = self.predict(X, batch_size=batch_size)
        if proba.shape[1] == 1:
            return (proba[:, 0] > self.loss_fn.decision_threshold).astype(np.int64)
        return np.argmax(proba, axis=1)

    def loss(
        self,
        X: Any,
        y: Any,
        *,
        training: bool = False,
        sample_weight: Any = None,
    ) -> float:
        """The full objective ``J``: averaged data cost plus the L2 penalty.

        Parameters
        ----------
        X, y : array_like
            Inputs and targets (class labels or one-hot rows for cross-entropy).
        training : bool, default False
            Run layers in training mode (dropout active). State (running statistics) is
            left as it was.
        sample_weight : array_like of shape (n_samples,), optional
        """
        x, target, weight = self._check_Xy(X, y, sample_weight)
        with self._lock, np.errstate(**_QUIET), self.state_preserved():
            output = self.run(x, training)
            return self.data_cost(output, target, weight) + self.penalty_value()

    def backprop(
        self,
        X: Any,
        y: Any,
        *,
        training: bool = False,
        sample_weight: Any = None,
    ) -> float:
        """Fill every trainable layer's ``grads`` with ``dJ/dtheta`` and return ``J``.

        Same arguments and value as :meth:`loss`; the gradient includes the penalty
        term ``lambda W`` for weights. State is left as it was.
        """
        x, target, weight = self._check_Xy(X, y, sample_weight)
        with self._lock, np.errstate(**_QUIET), self.state_preserved():
            return self.compute_gradients(x, target, weight, training=training)[0]

    @contextlib.contextmanager
    def state_preserved(self) -> Iterator[None]:
        """Within this block, forward passes leave the layers' state as it was.

        Trial forwards (grow-and-slash's line search, gradient checks, ``loss`` and
        ``backprop``) run in it, so that only real training steps move running statistics.
        """
        if not self.n_state:
            yield
            return
        saved = [value.copy() for _, _, value in self.states()]
        try:
            yield
        finally:
            for (_, _, value), old in zip(self.states(), saved, strict=True):
                np.copyto(value, old)

    # ------------------------------------------------------------------ facades

    def train(
        self,
        X: Any,
        y: Any,
        X_val: Any = None,
        y_val: Any = None,
        *,
        epochs: int = 1,
        batch_size: int | None = 32,
        learning_rate: float | None = None,
        optimizer: Any = None,
        schedule: Any = None,
        penalty: float | None = None,
        early_stopping: Any = None,
        validation_split: float | None = None,
        sample_weight: Any = None,
        class_weight: dict[int, float] | None = None,
        sample_weight_val: Any = None,
        shuffle: bool | str = True,
        verbose: int = 1,
        callbacks: Sequence[Any] | None = None,
        on_divergence: str = "warn",
        checkpoint: Any = None,
        checkpoint_every: int = 1,
        resume: Any = None,
    ) -> Any:
        """Train with mini-batch gradient descent (seed 002, sections 2.4 and 3.4).

        Parameters
        ----------
        X, y : array_like
            Training inputs ``(n, *input_shape)`` and targets (class labels ``(n,)`` or
            one-hot ``(n, k)`` for cross-entropy; ``(n, k)`` values for mse). Batches are
            gathered by index into a reused buffer: ``X`` may be a ``numpy.memmap`` larger
            than memory, and the caller's arrays are never modified. ``X``'s values are
            checked finite as the first epoch reads them; a non-finite one undoes the
            call and raises (see the training guide).
        X_val, y_val : array_like, optional
            Validation data, evaluated after every epoch (inference mode).
        epochs : int, default 1
            Passes over the training data (0 trains nothing).
        batch_size : int or None, default 32
            Samples per step. The last, smaller batch of an epoch is used, not dropped.
            ``None`` is full-batch gradient descent (seed 000); 1 is online learning
            (seed 001). A size above ``n`` means full batch.
        learning_rate : float, optional
            The optimiser's (initial) rate ``eta``; default: the optimiser's own
            (SGD 0.01, RMSProp and Adam 0.001).
        optimizer : str or Optimizer, optional
            ``"sgd"``, ``"rmsprop"``, ``"adam"`` or an instance (``lk.SGD(momentum=0.9)``).
            ``None`` continues with the network's current optimiser (and its state), or
            plain SGD the first time. Passing the current optimiser's name continues it too.
        schedule : str or Schedule, optional
            ``"constant"`` (default), ``"time_decay"``, ``"step_decay"``,
            ``"grow_and_slash"`` (seed 002, Algorithm 1; plain SGD only) or an instance.
        penalty : float, optional
            L2 strength ``lambda`` for this call, replacing the network's ``penalty``
            (layers with their own ``penalty`` keep it). The objective is
            ``J = (1/m) sum_i w_i c_i + (lambda/2) sum W^2``: the data term is averaged
            over the batch and the penalty is not, so the weight gradient is
            ``delta a + lambda W`` whatever the batch size (seed 002, section 3.4.3).
        early_stopping : int or StoppingCriterion, optional
            An int ``s`` is seed 002's validation window (:class:`ValidationWindow`);
            :class:`Patience` is Keras's rule. Needs validation data. When training ends
            (early or after ``epochs``) the weights of the best validation epoch are
            restored; ``history.best_epoch`` and ``history.restored_epoch`` say which.
        validation_split : float, optional
            Fraction of ``(X, y)`` held out for validation instead of ``X_val, y_val``: a
            random split from the network's seed, stratified by class for classification
            losses (Keras takes the *last* fraction instead).
        sample_weight : array_like of shape (n,), optional
            Weights of the samples in the data cost: ``(1/m) sum_i w_i c_i``. The penalty
            is not weighted.
        class_weight : dict, optional
            ``{class: weight}``, multiplied into the sample weights.
        sample_weight_val : array_like of shape (n_val,), optional
            Weights of the validation samples in the validation cost,
            ``(1/n_val) sum_i w_i c_i`` (Keras's reduction); needs ``X_val``. Validation
            accuracy is not weighted. With ``validation_split`` the held-out rows keep
            their ``sample_weight``.
        shuffle : bool or "batch", default True
            Reshuffle the samples every epoch (from the network's generator). ``"batch"``
            (Keras's option for HDF5 data) keeps each batch a contiguous block of rows and
            shuffles only the order of the blocks: nothing is gathered, and a
            ``numpy.memmap`` is read sequentially, block by block. The rows must then be in
            random order already (shuffle a file once when you write it): a file sorted by
            class would give batches of one class.
        verbose : {0, 1, 2}, default 1
            0 silent, 1 a progress bar over epochs, 2 one line per epoch.
        callbacks : list of Callback, optional
        on_divergence : {"warn", "raise", "stop"}, default "warn"
            What to do when the training cost becomes NaN or infinite: training stops at
            once and the best weights (or those from the start of the epoch) are restored;
            then a :class:`DivergenceWarning` is issued, a :class:`DivergenceError`
            raised, or nothing more.
        checkpoint : path, optional
            Write a checkpoint (weights, optimiser state, random-generator state, history
            and early-stopping progress) to this file every ``checkpoint_every`` epochs,
            atomically.
        checkpoint_every : int, default 1
        resume : path, optional
            Continue from a checkpoint: call ``train`` with the same arguments (and
            ``epochs`` the total) and it picks up after the checkpoint's epoch, so an
            interrupted and resumed run ends with the same weights, bit for bit, as an
            uninterrupted one. The checkpoint's optimiser replaces ``optimizer``.

        Returns
        -------
        History
            Also kept as ``self.history``. Training again continues from the current
            weights and optimiser state.
        """
        from . import io
        from .training import train

        with self._lock:
            return train(
                self,
                X,
                y,
                X_val,
                y_val,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                optimizer=optimizer,
                schedule=schedule,
                penalty=penalty,
                early_stopping=early_stopping,
                validation_split=validation_split,
                sample_weight=sample_weight,
                class_weight=class_weight,
                sample_weight_val=sample_weight_val,
                shuffle=shuffle,
                verbose=verbose,
                callbacks=callbacks,
                on_divergence=on_divergence,
                checkpoint=checkpoint,
                checkpoint_every=checkpoint_every,
                resume=resume,
                checkpoint_files=io,
            )

    def evaluate(self, X: Any, y: Any, *, sample_weight: Any = None) -> Any:
        """Objective (data cost + penalty) and accuracy on ``(X, y)``, in inference mode.

        Returns
        -------
        Evaluation
            A named tuple ``(cost, accuracy)``. ``accuracy`` is reported for class
            targets: with a cross-entropy loss, or one-hot rows under ``mse`` or
            ``sum_of_squares`` (as seed 001 trains); otherwise it is ``None``.
        """
        from .training import evaluate

        with self._lock:
            return evaluate(self, X, y, sample_weight=sample_weight)

    def save(self, path: Any, **options: Any) -> Any:
        """Write the network to one ``.npz`` file; see :func:`layerkit.save`."""
        from .io import save

        return save(self, path, **options)

    # ------------------------------------------------------------------ L2 penalty
    def penalty_for(self, layer: Layer, key: str) -> float:
        """The L2 strength ``lambda`` in force for ``layer.params[key]`` (0 if none).

        The one place where the penalty is resolved: a layer's own ``penalty`` wins, then
        the one of the current :meth:`penalty_scope`, then the network's.
        """
        if not self._penalty_enabled or key not in layer.penalized_params:
            return 0.0
        own = getattr(layer, "penalty", None)
        if own is not None:
            return float(own)
        return self.penalty if self._penalty_override is None else self._penalty_override

    @contextlib.contextmanager
    def penalty_scope(
        self, override: float | None = None, *, enabled: bool = True
    ) -> Iterator[None]:
        """Within this block, ``override`` replaces the network's ``penalty`` (layers with
        their own keep it), or ``enabled=False`` switches every penalty off (``gradcheck``
        checks the data term alone)."""
        previous = self._penalty_override, self._penalty_enabled
        self._penalty_override, self._penalty_enabled = override, enabled
        try:
            yield
        finally:
            self._penalty_override, self._penalty_enabled = previous

    def _penalties(self) -> Iterator[tuple[Layer, str, float]]:
        """``(layer, key, lambda)`` of every parameter under a non-zero penalty."""
        if not self._penalty_enabled:
            return
        network_wide = self.penalty if self._penalty_override is None else self._penalty_override
        for layer in self.layers:
            if not network_wide and getattr(layer, "penalty", None) is None:
                continue  # the common case of no penalty at all costs one test per layer
            for key in layer.penalized_params:
                lam = self.penalty_for(layer, key)
                if lam:
                    yield layer, key, lam

    def penalty_value(self) -> float:
        """``sum_l (lambda_l / 2) ||W_l||^2`` over penalised weights (biases excluded)."""
        total = 0.0
        for layer, key, lam in self._penalties():
            flat = layer.params[key].ravel()
            total += 0.5 * lam * float(np.dot(flat, flat))
        return total

    def _add_penalty_gradient(self) -> float:
        """Add ``lambda W`` to each penalised gradient of a trainable layer; return the
        penalty value."""
        total = 0.0
        for layer, key, lam in self._penalties():
            w = layer.params[key]
            if layer.trainable:
                scratch = layer.workspace(f"penalty_{key}", w.shape)
                np.multiply(w, lam, out=scratch)
                layer.grads[key] += scratch
            flat = w.ravel()
            total += 0.5 * lam * float(np.dot(flat, flat))
        return total

    # ------------------------------------------------------------------ misc
    def cast(self, dtype: Any) -> None:
        """Convert every layer to ``dtype`` (``"float32"`` or ``"float64"``) in place."""
        self.dtype = _check_dtype(dtype)
        for layer in self.layers:
            layer.cast(self.dtype)
        self.loss_fn._scratch.clear()

    def summary(self, print_fn: Callable[[str], Any] | None = print) -> str:
        """A table of layers, output shapes and parameter counts; printed and returned."""
        rows = [("Layer (type)", "Output shape", "Params"), *network_rows(self)]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        line = "-" * (sum(widths) + 6)

        def fmt(r: tuple[str, str, str]) -> str:
            return f"{r[0]:<{widths[0]}}   {r[1]:<{widths[1]}}   {r[2]:>{widths[2]}}"

        penalty = f", penalty={self.penalty:g}" if self.penalty else ""
        counts = [f"Total params: {self.n_params + self.n_state:,}"]
        counts.append(f"Trainable params: {self.n_trainable_params:,}")
        counts.append(
            f"Non-trainable params: {self.n_params - self.n_trainable_params + self.n_state:,}"
        )
        text = "\n".join(
            [
                f'Network "{self.name}"',
                line,
                fmt(rows[0]),
                "=" * len(line),
                *(fmt(r) for r in rows[1:]),
                "=" * len(line),
                *counts,
                f"Loss: {self.loss_fn.name}{' (fused output error a - y)' if self._fused else ''}"
                f"{penalty}; dtype: {self.dtype}; seed: {self.seed}",
            ]
        )
        if print_fn is not None:
            print_fn(text)
        return text

    # ------------------------------------------------------------------ Keras conventions
    # (fit, count_params, notebook display)

    def fit(
        self,
        x: Any,
        y: Any,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int | str = "auto",
        callbacks: Sequence[Any] | None = None,
        validation_split: float | None = None,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        *,
        optimizer: Any = None,
        learning_rate: float | None = None,
    ) -> Any:
        """Keras's ``fit``: :meth:`train` with Keras's arguments and defaults.

        Parameters
        ----------
        x, y : array_like
            Inputs and targets, as for :meth:`train`.
        batch_size : int, optional
            Samples per step; ``None`` is 32, as in Keras (full-batch descent is
            ``train(batch_size=None)``).
        epochs : int, default 1
            Index of the last epoch: training runs ``epochs - initial_epoch`` epochs.
        verbose : {"auto", 0, 1, 2}, default "auto"
            ``"auto"`` is 1 (a progress bar; ``tqdm.auto``, a widget in notebooks).
        callbacks : list, optional
            Keras-style callbacks (:class:`~layerkit.callbacks.KerasCallback`:
            :class:`~layerkit.EarlyStopping`, :class:`~layerkit.ModelCheckpoint`, ...)
            and layerkit's :class:`~layerkit.Callback`, in any mix.
        validation_split : float, optional
            Fraction of ``(x, y)`` held out for validation. Unlike Keras (which takes the
            last rows), the split is random from the network's seed and stratified by class.
        validation_data : tuple, optional
            ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``; overrides
            ``validation_split``, as in Keras. The weights weight the validation loss as
            ``sample_weight`` the training loss, ``(1/n_val) sum_i w_i c_i`` (Keras's
            reduction); validation accuracy is not weighted (Keras's ``metrics``).
        shuffle : bool, default True
        class_weight : dict, optional
        sample_weight : array_like of shape (n,), optional
        initial_epoch : int, default 0
            Epoch to start from, to continue an earlier run: the epochs trained are
            numbered ``initial_epoch + 1 .. epochs`` in the history (Keras-style
            callbacks see 0-based indices ``initial_epoch .. epochs - 1``, as in Keras).
            Only the numbering changes; the weights and optimiser continue from where they
            are, as they always do. The progress bar counts this call's epochs from 1.
        optimizer : str or Optimizer, optional
            Keras sets the optimiser with :meth:`compile`; here it may also be given
            directly. Default: the network's current optimiser (from ``compile`` or an
            earlier run), else SGD with rate 0.01.
        learning_rate : float, optional
            The optimiser's rate, as for :meth:`train`.

        Returns
        -------
        History
            Also ``self.history``; ``history.history`` is Keras's dict of lists.

        Notes
        -----
        Options without a Keras counterpart (``schedule``, ``penalty``,
        ``early_stopping``, ``checkpoint``, ...) are those of :meth:`train`.
        """
        from .keras_api import fit

        return fit(
            self,
            x,
            y,
            batch_size,
            epochs,
            verbose,
            callbacks,
            validation_split,
            validation_data,
            shuffle,
            class_weight,
            sample_weight,
            initial_epoch,
            optimizer=optimizer,
            learning_rate=learning_rate,
        )

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        *,
        learning_rate: float | None = None,
    ) -> None:
        """Keras's ``compile``: set the optimiser that :meth:`fit` and :meth:`train` use.

        Parameters
        ----------
        optimizer : str or Optimizer, default "rmsprop"
            A name (``"sgd"``, ``"rmsprop"``, ``"adam"``) or an instance; it becomes
            ``self.optimizer`` with fresh state.
        loss : str or Loss, optional
            Accepted only when it names the network's own loss (or the same cost under
            another name: ``"sparse_categorical_crossentropy"`` for categorical
            cross-entropy): a layerkit network's loss is chosen when it is built, because
            it must pair with the output layer.
        metrics : list of str, optional
            Only accuracy (``"accuracy"``, ``"acc"``, ...), which training logs for class
            targets in any case.
        learning_rate : float, optional
            The optimiser's rate (Keras writes ``optimizer=Adam(learning_rate=...)``,
            which works too).
        """
        from .keras_api import compile_model

        compile_model(self, optimizer, loss, metrics, learning_rate=learning_rate)

    def count_params(self) -> int:
        """Keras's ``count_params``: every scalar of the model, trainable parameters,
        frozen ones and state (running statistics) alike."""
        return self.n_params + self.n_state

    def _repr_html_(self) -> str:
        """The :meth:`summary` table as HTML, for notebooks."""
        from ._html import network_html

        return network_html(self)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"]  # locks cannot be pickled or copied; each copy gets its own
        state["_armed"] = ()  # a copy's gradients are formed (Gradients pickles formed)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_armed", ())
        self.__dict__.setdefault("_checked_plans", set())
        self.__dict__.setdefault("_planned_first", -1)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Network([{inner}], loss={self.loss_fn.name!r}, dtype={self.dtype})"


def _relabel(exc: Exception, message: str) -> Exception:
    """``exc``'s kind (value or type error) as a layerkit error with ``message``."""
    cls = LayerkitTypeError if isinstance(exc, TypeError) else LayerkitValueError
    return cls(message)


def _check_forward_shape(layer: Layer, input_shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Run ``layer`` on a small batch of zeros and compare with ``compute_output_shape``."""
    x = np.zeros((2, *input_shape), dtype=dtype)
    try:
        with np.errstate(**_QUIET):
            y = layer.forward(x, training=False)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise _relabel(
            exc if isinstance(exc, TypeError) else ValueError(),
            f"layer {layer.name!r} ({type(layer).__name__}) failed on a batch of shape "
            f"{x.shape}: {type(exc).__name__}: {exc}",
        ) from exc
    expected = (2, *layer.output_shape)
    if not isinstance(y, np.ndarray) or y.shape != expected:
        got = y.shape if isinstance(y, np.ndarray) else type(y).__name__
        raise LayerkitValueError(
            f"layer {layer.name!r} ({type(layer).__name__}) returned output of shape {got} "
            f"for an input of shape {x.shape}, but compute_output_shape({input_shape}) says "
            f"{layer.output_shape}; override compute_output_shape to return the shape of "
            "one output sample"
        )
    layer.release_workspaces()


def _check_backward(layer: Layer, dx: Any, grad_out: np.ndarray) -> None:
    """The shapes a backward pass must produce, reported with the layer's name."""
    if layer.needs_input_grad:
        expected = (grad_out.shape[0], *layer.input_shape)  # type: ignore[misc]
        if not isinstance(dx, np.ndarray) or dx.shape != expected:
            got = dx.shape if isinstance(dx, np.ndarray) else type(dx).__name__
            raise LayerkitValueError(
                f"layer {layer.name!r} ({type(layer).__name__}): backward returned dJ/dx of "
                f"shape {got}; expected {expected}, the shape of its input batch"
            )
    if layer.trainable:
        for key, value in layer.params.items():
            grad = layer.grads.get(key)
            if grad is None or grad.shape != value.shape:
                got = None if grad is None else grad.shape
                raise LayerkitValueError(
                    f"layer {layer.name!r} ({type(layer).__name__}): grads[{key!r}] has shape "
                    f"{got}; expected {value.shape}, the shape of params[{key!r}]"
                )


def _check_layers(layers: Any) -> list[Layer]:
    if isinstance(layers, Layer) or not isinstance(layers, Sequence):
        raise LayerkitTypeError(
            f"layers must be a list of Layer objects with an Input first; received {type(layers).__name__}"
        )
    layers = list(layers)
    if not layers:
        raise LayerkitValueError(
            "layers is empty; expected an Input followed by at least one layer"
        )
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise LayerkitTypeError(
                f"layers[{i}] must be a Layer instance; received {layer!r} of type {type(layer).__name__}"
            )
    if not isinstance(layers[0], Input):
        raise LayerkitValueError(
            f"layers[0] must be an Input layer declaring the sample shape, e.g. Input(784); "
            f"received {type(layers[0]).__name__}"
        )
    for i, layer in enumerate(layers[1:], start=1):
        if isinstance(layer, Input):
            raise LayerkitValueError(
                f"only layers[0] may be an Input layer; layers[{i}] is one too"
            )
    seen: set[int] = set()
    for i, layer in enumerate(layers):
        if id(layer) in seen:
            raise LayerkitValueError(
                f"layers[{i}] ({layer.name!r}) appears twice; create a new layer for each position"
            )
        seen.add(id(layer))
        owner = layer.owner
        if owner is not None and i > 0:
            raise LayerkitValueError(
                f"layer {layer.name!r} already belongs to network {owner!r}; layers cannot be "
                "shared between networks (create new ones, or copy weights with set_weights)"
            )
    if len(layers) < 2:
        raise LayerkitValueError("layers holds only the Input; add at least one layer after it")
    return layers


def _check_dtype(dtype: Any) -> np.dtype:
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in _DTYPES:
        raise LayerkitValueError(f"dtype must be 'float32' or 'float64'; received dtype={dtype!r}")
    return resolved
