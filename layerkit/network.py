"""``Network``: an ordered stack of layers with a cost.

The network builds its layers, runs them forward and backward, and computes the objective

.. math:: J(\\theta) = \\frac{1}{m} \\sum_{i=1}^m w_i\\, c(a_i, y_i)
          + \\sum_{\\text{layers } l} \\frac{\\lambda_l}{2} \\lVert \\bar\\theta_l \\rVert^2

(seed 002, section 3.4.3), where ``c`` is the per-sample cost of :mod:`layerkit.losses`,
``w_i`` optional sample weights (1 by default) and ``theta_bar`` the weights with the biases
left out. Because the data term is an average and the penalty is not, ``lambda`` keeps its
meaning whatever the batch size: the gradient of a weight is ``delta a + lambda W``.

It knows nothing about optimisers: training lives in :mod:`layerkit.training`.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._validation import (
    LayerkitTypeError,
    LayerkitValueError,
    cast_checked,
    check_features,
    check_finite,
    check_n_samples,
    check_positive_int,
    check_real,
)
from .layers.activation import Activation
from .layers.base import Layer
from .layers.dense import Dense
from .layers.input import Input
from .losses import Loss, get_loss

__all__ = ["Network"]

_DTYPES = {np.dtype(np.float32), np.dtype(np.float64)}
# Rows per forward chunk in predict(): about 4 M elements per workspace, whatever the width.
_PREDICT_ELEMENTS = 1 << 22


class Network:
    """A feed-forward network: ``Input`` first, then any layers, then a cost.

    Parameters
    ----------
    layers : sequence of Layer
        ``layers[0]`` must be an :class:`~layerkit.Input`. Each layer learns its input width
        from the one before it when the network is built (here, in the constructor).
    loss : str or Loss, default "categorical_crossentropy"
        See :mod:`layerkit.losses`. A softmax output with categorical cross-entropy, or a
        sigmoid output with binary cross-entropy, uses the fused output error ``a - y``.
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
        self.stop_training = False
        self._last_output: np.ndarray | None = None
        self._penalty_override: float | None = None
        self._penalty_enabled = True
        self._fusing = False  # train() installed fused updates (Layer._fused_updates)
        self._build()
        try:
            self._check_output_for_loss()
        except Exception:
            self._unbuild()  # the user's layers stay reusable after a refused constructor
            raise

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        shape = self.layers[0].output_shape
        built: list[Layer] = []
        try:
            for previous, layer in zip(self.layers, self.layers[1:], strict=False):
                try:
                    layer._setup(shape, rng=self.rng, dtype=self.dtype)
                except (ValueError, TypeError) as exc:
                    raise type(exc)(
                        f"cannot build layer {layer.name!r} ({type(layer).__name__}) on the output "
                        f"of layer {previous.name!r} (shape {shape}): {exc}"
                    ) from exc
                built.append(layer)
                shape = layer.output_shape
        except Exception:
            _unbuild(built)  # leave the user's layers as they came
            raise
        trainable = [i for i, layer in enumerate(self.layers) if layer.params]
        first = trainable[0] if trainable else len(self.layers)
        for i, layer in enumerate(self.layers):
            layer.needs_input_grad = i > first
            layer._network_name = self.name  # marks the layer as owned
        self._first_trainable = first
        last = self.layers[-1]
        activation = getattr(last, "activation", None)
        self._fused = (
            isinstance(last, Dense | Activation)
            and activation is not None
            and activation.name == self.loss_fn.fused_activation
        )

    def _unbuild(self) -> None:
        _unbuild(self.layers[1:])
        for layer in self.layers:
            layer.__dict__.pop("_network_name", None)

    def _check_output_for_loss(self) -> None:
        last = self.layers[-1]
        activation = getattr(getattr(last, "activation", None), "name", None)
        loss = self.loss_fn.name
        if len(self.output_shape) != 1:
            raise LayerkitValueError(
                f"the last layer {last.name!r} must output flat vectors for loss {loss!r}; "
                f"its output shape is {self.output_shape}"
            )
        if loss == "binary_crossentropy" and activation == "softmax":
            raise LayerkitValueError(
                f"binary_crossentropy needs independent sigmoid outputs, but the last layer "
                f"{last.name!r} uses softmax; use loss='categorical_crossentropy' with softmax, "
                "or activation='sigmoid' with binary_crossentropy"
            )
        if loss == "categorical_crossentropy" and self.output_shape[0] < 2:
            raise LayerkitValueError(
                f"categorical_crossentropy needs at least 2 output units; the last layer "
                f"{last.name!r} has {self.output_shape[0]} (for two classes use one sigmoid "
                "unit with binary_crossentropy)"
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
        """Number of trainable scalars."""
        return sum(layer.n_params for layer in self.layers)

    @property
    def is_classifier(self) -> bool:
        """Whether the loss is a classification cost (accuracy is then meaningful)."""
        return self.loss_fn.is_classification

    def parameters(self) -> Iterator[tuple[Layer, str, np.ndarray]]:
        """Yield ``(layer, key, array)`` for every trainable array, in layer order."""
        for layer in self.layers:
            for key, value in layer.params.items():
                yield layer, key, value

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter array, in :meth:`parameters` order."""
        return [value.copy() for _, _, value in self.parameters()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the parameters in place."""
        targets = list(self.parameters())
        if len(weights) != len(targets):
            raise LayerkitValueError(
                f"weights must hold {len(targets)} arrays (one per parameter); received {len(weights)}"
            )
        for (layer, key, value), new in zip(targets, weights, strict=True):
            new = np.asarray(new)
            if new.shape != value.shape:
                raise LayerkitValueError(
                    f"weights for {layer.name}.{key} must have shape {value.shape}; "
                    f"received {new.shape}"
                )
        for (_, _, value), new in zip(targets, weights, strict=True):
            np.copyto(value, new, casting="same_kind")

    # ------------------------------------------------------------------ forward / backward
    def forward(self, X: Any, training: bool = False) -> np.ndarray:
        """Run every layer on the batch ``X`` and return the output.

        The returned array belongs to the last layer's workspace: copy it to keep it
        beyond the next call (or use :meth:`predict`, which returns a fresh array).
        """
        return self._forward(self._check_X(X), training)

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self.layers[1:]:
            x = layer.forward(x, training=training)
        return x

    def backward(self, delta: np.ndarray, *, fused: bool = False) -> None:
        """Propagate ``delta`` from the output back to the first layer with parameters.

        ``delta`` is ``dJ/da`` of the output, or ``dJ/dz`` of its pre-activation when
        ``fused`` (softmax or sigmoid output with its cross-entropy). Fills ``grads``.
        """
        last = len(self.layers) - 1
        for i in range(last, self._first_trainable - 1, -1):
            layer = self.layers[i]
            if i == last and fused:
                delta = layer._backward_preactivation(delta)
            else:
                delta = layer.backward(delta)

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
        first = self.layers[1]
        # only Dense's own forward records the column (a subclass may transform x first)
        watch = type(first).forward is Dense.forward
        try:
            if watch:
                first._watch_input = True
            for start in range(0, n, chunk):
                # Chunk by chunk: a memmap larger than memory is never loaded whole.
                xb = cast_checked(X[start : start + chunk], self.dtype, "X")
                # a NaN or inf in xb is reported below, not as NumPy's warning
                with np.errstate(invalid="ignore"):
                    out[start : start + len(xb)] = self._forward(xb, training=False)
                if watch and math.isfinite(first._z0_total):
                    continue  # every value of xb was finite (see Dense.forward)
                check_finite(xb, "X")
        finally:
            if watch:
                first._watch_input = False
        return out

    def predict_classes(self, X: Any, *, batch_size: int | None = None) -> np.ndarray:
        """Predicted class labels: argmax of the outputs, or ``output > 0.5`` for one unit."""
        proba = self.predict(X, batch_size=batch_size)
        if proba.shape[1] == 1:
            return (proba[:, 0] > 0.5).astype(np.int64)
        return np.argmax(proba, axis=1)

    # ------------------------------------------------------------------ the objective
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
            Run layers in training mode (dropout active).
        sample_weight : array_like of shape (n_samples,), optional
        """
        x, target, weight = self._check_Xy(X, y, sample_weight)
        output = self._forward(x, training)
        return self._data_cost(output, target, weight) + self.penalty_value()

    def backprop(
        self,
        X: Any,
        y: Any,
        *,
        training: bool = False,
        sample_weight: Any = None,
    ) -> float:
        """Fill every layer's ``grads`` with ``dJ/dtheta`` and return ``J``.

        Same arguments and value as :meth:`loss`; the gradient includes the penalty
        term ``lambda W`` for weights.
        """
        x, target, weight = self._check_Xy(X, y, sample_weight)
        return self._backprop(x, target, weight, training)

    def _backprop(
        self, x: np.ndarray, target: np.ndarray, weight: np.ndarray | None, training: bool
    ) -> float:
        output = self._last_output = self._forward(x, training)
        cost = self._data_cost(output, target, weight)
        if self._fusing:
            # the penalty of the weights that backward is about to update (fused updates)
            cost += self._penalty_sum(fused_only=True)
        last = self.layers[-1]
        if self._fused:
            delta = self.loss_fn.fused_delta(
                output,
                target,
                sample_weight=weight,
                out=last._workspace("loss_delta", output.shape),
            )
        else:
            delta = self.loss_fn.gradient(
                output,
                target,
                sample_weight=weight,
                out=last._workspace("loss_delta", output.shape),
            )
        self.backward(delta, fused=self._fused)
        return cost + self._add_penalty_gradient()

    def _data_cost(
        self, output: np.ndarray, target: np.ndarray, weight: np.ndarray | None
    ) -> float:
        if not self._fused:
            return self.loss_fn.value(output, target, sample_weight=weight)
        last = self.layers[-1]
        logits = last._z
        normalizer = getattr(last.activation, "log_normalizer", None)
        lse = None
        if normalizer is not None and _accepts_lse(self.loss_fn):
            lse = normalizer(logits)
        return self.loss_fn.value(output, target, logits=logits, sample_weight=weight, lse=lse)

    # ------------------------------------------------------------------ training
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
            than memory, and the caller's arrays are never modified.
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
        early_stopping : int or EarlyStopping, optional
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
        from .training import train

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
            shuffle=shuffle,
            verbose=verbose,
            callbacks=callbacks,
            on_divergence=on_divergence,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            resume=resume,
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
        from .training import Evaluation, _prepare, evaluate_data

        data = _prepare(self, X, y, sample_weight, None, "X", "y")
        return Evaluation(*evaluate_data(self, data))

    def save(self, path: Any) -> Any:
        """Write the network to one ``.npz`` file; see :func:`layerkit.save`."""
        from .io import save

        return save(self, path)

    # ------------------------------------------------------------------ L2 penalty
    def _penalty_terms(self) -> Iterator[tuple[Layer, str, float]]:
        if not self._penalty_enabled:
            return
        default = self.penalty if self._penalty_override is None else self._penalty_override
        for layer in self.layers:
            own = getattr(layer, "penalty", None)
            lam = default if own is None else own
            if lam:
                for key in layer.penalized_params:
                    yield layer, key, lam

    def _penalty_for(self, layer: Layer, key: str) -> float:
        """The L2 strength in force for ``layer.params[key]`` (0 if not penalised)."""
        if not self._penalty_enabled or key not in layer._penalized:
            return 0.0
        own = getattr(layer, "penalty", None)
        if own is not None:
            return own
        return self.penalty if self._penalty_override is None else self._penalty_override

    def penalty_value(self) -> float:
        """``sum_l (lambda_l / 2) ||W_l||^2`` over penalised weights (biases excluded)."""
        return self._penalty_sum()

    def _penalty_sum(self, fused_only: bool = False) -> float:
        """The penalty over all weights, or only over those whose update is fused into
        their gradient product."""
        total = 0.0
        for layer, key, lam in self._penalty_terms():
            if not fused_only or key in layer._fused_updates:
                w = layer.params[key].ravel()
                total += 0.5 * lam * float(np.dot(w, w))
        return total

    def _add_penalty_gradient(self) -> float:
        """Add ``lambda W`` to each penalised gradient; return the penalty value.

        Weights with a fused update are left out: their update included ``lambda W``.
        """
        total = 0.0
        for layer, key, lam in self._penalty_terms():
            if key in layer._fused_updates:
                continue
            w = layer.params[key]
            scratch = layer._workspace(f"penalty_{key}", w.shape)
            np.multiply(w, lam, out=scratch)
            layer.grads[key] += scratch
            flat = w.ravel()
            total += 0.5 * lam * float(np.dot(flat, flat))
        return total

    # ------------------------------------------------------------------ checks
    def _check_X(self, X: Any, argument: str = "X") -> np.ndarray:
        x = check_features(X, self.input_shape, argument=argument, layer=self.layers[0].name)
        return cast_checked(x, self.dtype, argument)

    def _check_Xy(
        self, X: Any, y: Any, sample_weight: Any = None, *, x_name: str = "X", y_name: str = "y"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        x = self._check_X(X, x_name)
        target = self.loss_fn.prepare_targets(y, self.output_shape[0], self.dtype, argument=y_name)
        check_n_samples(x, target, x_name, y_name)
        weight = None
        if sample_weight is not None:
            weight = _check_sample_weight(sample_weight, len(x))
        return x, target, weight

    # ------------------------------------------------------------------ misc
    def _set_dtype(self, dtype: Any) -> None:
        self.dtype = _check_dtype(dtype)
        for layer in self.layers:
            layer._set_dtype(self.dtype)
        self.loss_fn._scratch.clear()

    def summary(self, print_fn: Callable[[str], Any] | None = print) -> str:
        """A table of layers, output shapes and parameter counts; printed and returned."""
        rows = [("Layer (type)", "Output shape", "Params")]
        for layer in self.layers:
            kind = type(layer).__name__
            activation = getattr(layer, "activation", None)
            if (
                isinstance(layer, Dense)
                and activation is not None
                and activation.name != "identity"
            ):
                kind += f", {activation.name}"
            elif isinstance(layer, Activation):
                kind += f", {layer.activation.name}"
            rows.append(
                (f"{layer.name} ({kind})", str((None, *layer.output_shape)), f"{layer.n_params:,}")
            )
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        line = "-" * (sum(widths) + 6)

        def fmt(r: tuple[str, str, str]) -> str:
            return f"{r[0]:<{widths[0]}}   {r[1]:<{widths[1]}}   {r[2]:>{widths[2]}}"

        penalty = f", penalty={self.penalty:g}" if self.penalty else ""
        text = "\n".join(
            [
                f'Network "{self.name}"',
                line,
                fmt(rows[0]),
                "=" * len(line),
                *(fmt(r) for r in rows[1:]),
                "=" * len(line),
                f"Total params: {self.n_params:,}",
                f"Loss: {self.loss_fn.name}{' (fused output error a - y)' if self._fused else ''}"
                f"{penalty}; dtype: {self.dtype}; seed: {self.seed}",
            ]
        )
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Network([{inner}], loss={self.loss_fn.name!r}, dtype={self.dtype})"


_LSE_LOSSES: dict[type, bool] = {}


def _accepts_lse(loss: Loss) -> bool:
    """Whether the loss's ``per_sample_from_logits`` takes ``lse`` (a user's loss written
    to the three-argument form does not)."""
    cls = type(loss)
    known = _LSE_LOSSES.get(cls)
    if known is None:
        params = inspect.signature(cls.per_sample_from_logits).parameters
        known = _LSE_LOSSES[cls] = "lse" in params
    return known


def _unbuild(layers: Sequence[Layer]) -> None:
    for layer in layers:
        layer.params.clear()
        layer.grads.clear()
        layer._penalized.clear()
        layer._release_workspaces()
        layer.built = False
        layer.input_shape = layer.output_shape = None


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
        owner = getattr(layer, "_network_name", None)
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


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray:
    from ._validation import as_numeric_array, check_finite

    weight = as_numeric_array(sample_weight, "sample_weight")
    if weight.shape != (n,):
        raise LayerkitValueError(
            f"sample_weight must have shape ({n},), one weight per sample; received shape {weight.shape}"
        )
    check_finite(weight, "sample_weight")
    if weight.min() < 0:
        raise LayerkitValueError(
            f"sample_weight must be >= 0; received a minimum of {weight.min()!r}"
        )
    return weight.astype(np.float64)
