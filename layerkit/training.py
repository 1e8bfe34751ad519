"""The training loop behind :meth:`Network.train`.

One step, for a batch of row indices ``idx`` (see ``docs/performance.md``)::

    xb = X[idx]            gathered into a reused buffer (np.take(..., out=)), never a copy
                           of the data set; works for numpy.memmap (shuffle="batch": a
                           contiguous slice, nothing gathered)
    J  = net._backprop     forward in training mode, fused output error, backward into
                           each layer's grads (+ lambda W for weights); with SGD or
                           momentum, large weights are updated inside the gemm of their
                           gradient instead (Optimizer.fused_update, armed for the step)
    optimizer.step         the other parameters, in place

Everything is validated before any state changes, so a bad argument leaves the network,
its optimiser and its history exactly as they were.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from . import _blas
from ._validation import (
    LayerkitTypeError,
    LayerkitValueError,
    check_features,
    check_n_samples,
    check_positive_int,
    check_range_for,
    check_real,
)
from .callbacks import Callback, EarlyStopping, History, ValidationWindow
from .optimizers import SGD, Optimizer, get_optimizer
from .schedules import GrowAndSlash, Schedule, get_schedule

if TYPE_CHECKING:
    from .network import Network

__all__ = ["DivergenceError", "DivergenceWarning", "Evaluation", "train"]

_EVAL_ELEMENTS = 1 << 22


class DivergenceError(FloatingPointError):
    """Training produced a non-finite cost (``on_divergence="raise"``)."""


class DivergenceWarning(UserWarning):
    """Training produced a non-finite cost and was stopped (``on_divergence="warn"``)."""


class Evaluation(NamedTuple):
    """Result of :meth:`Network.evaluate`: unpack as ``cost, accuracy = ...``."""

    cost: float
    accuracy: float | None


@dataclass
class _Data:
    X: np.ndarray
    T: np.ndarray  # targets as (n, k) in the network's dtype
    W: np.ndarray | None  # per-sample weights (float64) or None
    index: np.ndarray | None  # rows of X used (validation_split), None for all
    labels: np.ndarray | None = None  # class of each row (classification), for accuracy

    @property
    def n(self) -> int:
        return len(self.X) if self.index is None else len(self.index)


def train(
    net: Network,
    X: Any,
    y: Any,
    X_val: Any = None,
    y_val: Any = None,
    *,
    epochs: int = 1,
    batch_size: int | None = 32,
    learning_rate: float | None = None,
    optimizer: str | Optimizer | None = None,
    schedule: str | Schedule | None = None,
    penalty: float | None = None,
    early_stopping: int | EarlyStopping | None = None,
    validation_split: float | None = None,
    sample_weight: Any = None,
    class_weight: dict[int, float] | None = None,
    shuffle: bool | str = True,
    verbose: int = 1,
    callbacks: Sequence[Callback] | None = None,
    on_divergence: str = "warn",
    checkpoint: Any = None,
    checkpoint_every: int = 1,
    resume: Any = None,
) -> History:
    """Train ``net``; see :meth:`Network.train` for the parameters."""
    # ------------------------------------------------------------ validate (no state touched)
    epochs = check_positive_int(epochs, "epochs", minimum=0)
    batch_size = check_positive_int(batch_size, "batch_size", allow_none=True)
    if learning_rate is not None:
        learning_rate = check_real(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    if penalty is not None:
        penalty = check_real(penalty, "penalty", low=0.0)
    if not (
        isinstance(shuffle, bool | np.bool_) or (isinstance(shuffle, str) and shuffle == "batch")
    ):
        raise LayerkitValueError(
            f"shuffle must be True, False or 'batch' (contiguous batches in a shuffled "
            f"order); received shuffle={shuffle!r}"
        )
    shuffle = "batch" if isinstance(shuffle, str) else bool(shuffle)
    if verbose not in (0, 1, 2, False, True):
        raise LayerkitValueError(f"verbose must be 0, 1 or 2; received verbose={verbose!r}")
    if on_divergence not in ("raise", "warn", "stop"):
        raise LayerkitValueError(
            f"on_divergence must be 'raise', 'warn' or 'stop'; received {on_divergence!r}"
        )
    callbacks = _check_callbacks(callbacks)
    stopper = _check_early_stopping(early_stopping)
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    if checkpoint is not None and not isinstance(checkpoint, str | os.PathLike):
        raise LayerkitTypeError(f"checkpoint must be a file path; received {checkpoint!r}")
    resumed = _read_resume(net, resume) if resume is not None else None
    opt = _resolve_optimizer(net, optimizer, learning_rate)
    if resumed is not None and resumed[1].get("optimizer"):
        from .io import _load_optimizer

        opt = _load_optimizer(resumed[1]["optimizer"], resumed[0], {})
    sched = get_schedule(schedule)
    if isinstance(sched, GrowAndSlash) and not (isinstance(opt, SGD) and opt.momentum == 0.0):
        raise LayerkitValueError(
            "the grow_and_slash schedule (seed 002, Algorithm 1) needs optimizer='sgd' without "
            f"momentum, since it rescales one fixed step -eta*grad; received optimizer={opt!r}"
        )

    train_data = _prepare(net, X, y, sample_weight, class_weight, "X", "y")
    val_data = None
    if validation_split is not None:
        if X_val is not None or y_val is not None:
            raise LayerkitValueError("give either X_val/y_val or validation_split, not both")
        split = check_real(
            validation_split,
            "validation_split",
            low=0.0,
            high=1.0,
            low_inclusive=False,
            high_inclusive=False,
        )
        train_data, val_data = _split(net, train_data, split)
    elif (X_val is None) != (y_val is None):
        raise LayerkitValueError(
            "X_val and y_val go together; received "
            + ("X_val without y_val" if y_val is None else "y_val without X_val")
        )
    elif X_val is not None:
        val_data = _prepare(net, X_val, y_val, None, None, "X_val", "y_val")
    if stopper is not None and val_data is None:
        raise LayerkitValueError(
            f"early_stopping={early_stopping!r} needs validation data: pass X_val and y_val, "
            "or validation_split"
        )

    # ------------------------------------------------------------ run
    state = None
    if resumed is not None:
        from .io import _apply_state

        arrays, meta, path = resumed
        _apply_state(net, meta, arrays, {}, path)
        state = {"meta": meta["training"], "arrays": arrays, "history": net.history}
        if stopper is not None and meta["training"].get("stopper") is not None:
            stopper.set_state(meta["training"]["stopper"])
        sched.set_state(meta["training"].get("schedule") or {})
    elif learning_rate is not None:
        opt.learning_rate = opt.initial_learning_rate = learning_rate
    net.optimizer = opt
    net.stop_training = False
    previous_override = net._penalty_override
    net._penalty_override = penalty
    try:
        loop = _Loop(
            net,
            opt,
            sched,
            stopper,
            callbacks,
            train_data,
            val_data,
            epochs,
            batch_size,
            shuffle,
            int(verbose),
            on_divergence,
        )
        loop.checkpoint, loop.checkpoint_every = checkpoint, checkpoint_every
        # A diverging run overflows before its cost turns non-finite; the loop detects that
        # and reports it once (on_divergence), so NumPy's floating-point warnings would only
        # repeat it.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            history = loop.run(resume_state=state)
    finally:
        net._penalty_override = previous_override
    net.history = history
    return history


class _Loop:
    def __init__(
        self,
        net,
        opt,
        sched,
        stopper,
        callbacks,
        data,
        val,
        epochs,
        batch_size,
        shuffle,
        verbose,
        on_divergence,
    ):
        self.net, self.opt, self.sched, self.stopper = net, opt, sched, stopper
        self.callbacks, self.data, self.val = callbacks, data, val
        self.epochs, self.shuffle, self.verbose = epochs, shuffle, verbose
        self.on_divergence = on_divergence
        self.batch_size = data.n if batch_size is None else min(batch_size, data.n)
        self.history = History()
        self.params = [p for _, _, p in net.parameters()]
        self.keys = [(layer, key) for layer, key, _ in net.parameters()]
        self.batch_callbacks = [
            cb for cb in callbacks if type(cb).on_batch_end is not Callback.on_batch_end
        ]
        self.checkpoint: Any = None
        self.checkpoint_every = 1
        # (layer, {key: apply}) for each layer with a fused update, and their positions
        self.fused: list[tuple[Any, dict[str, Any]]] = []
        self.fused_indices: frozenset[int] = frozenset()

    # ---------------------------------------------------------------- buffers
    def _allocate(self) -> None:
        net, data, m = self.net, self.data, self.batch_size
        self.rows = np.arange(data.n) if data.index is None else data.index
        self.order = self.rows.copy()
        # Contiguous batches (no shuffling, shuffle="batch", or one full batch) of an array
        # already in the network's dtype are plain slices: nothing to gather.
        self.slices = (
            (self.shuffle is not True or m == data.n)
            and data.index is None
            and data.X.dtype == net.dtype
        )
        self.blocks = np.arange(math.ceil(data.n / m))  # batch order (shuffle="batch")
        self.block_range = self.blocks.copy()
        if not self.slices:
            self.xbuf = np.empty((m, *data.X.shape[1:]), dtype=net.dtype)
            self.rawbuf = (
                None
                if data.X.dtype == net.dtype
                else np.empty((m, *data.X.shape[1:]), dtype=data.X.dtype)
            )
            self.tbuf = np.empty((m, data.T.shape[1]), dtype=data.T.dtype)
            self.wbuf = None if data.W is None else np.empty(m, dtype=data.W.dtype)
            self.lbuf = None if data.labels is None else np.empty(m, dtype=data.labels.dtype)
        self.epoch_start = [p.copy() for p in self.params]
        self.best = [p.copy() for p in self.params] if self.stopper is not None else None
        self.saved = (
            [p.copy() for p in self.params] if isinstance(self.sched, GrowAndSlash) else None
        )

    def _batch(self, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Any]:
        data, start = self.data, b * self.batch_size
        stop = min(start + self.batch_size, data.n)
        if self.slices:
            w = None if data.W is None else data.W[start:stop]
            labels = None if data.labels is None else data.labels[start:stop]
            return data.X[start:stop], data.T[start:stop], w, labels
        idx = self.order[start:stop]
        m = stop - start
        if self.rawbuf is None:
            xb = data.X.take(idx, axis=0, out=self.xbuf[:m], mode="clip")
        else:
            raw = data.X.take(idx, axis=0, out=self.rawbuf[:m], mode="clip")
            xb = self.xbuf[:m]
            np.copyto(xb, raw, casting="unsafe")
        tb = data.T.take(idx, axis=0, out=self.tbuf[:m], mode="clip")
        wb = None if data.W is None else data.W.take(idx, out=self.wbuf[:m], mode="clip")
        lb = None if data.labels is None else data.labels.take(idx, out=self.lbuf[:m], mode="clip")
        return xb, tb, wb, lb

    # ---------------------------------------------------------------- the loop
    def run(self, resume_state: dict[str, Any] | None = None) -> History:
        net = self.net
        first = 1
        if self.stopper is not None and resume_state is None:
            self.stopper.reset()
        self._allocate()
        if resume_state is not None:
            meta = resume_state["meta"]
            first = meta["epoch"] + 1
            self.history = resume_state["history"] or History()
            if self.best is not None and meta.get("best"):
                for b, name in zip(self.best, meta["best"], strict=True):
                    np.copyto(b, resume_state["arrays"][name])
        hist = self.history
        n_batches = math.ceil(self.data.n / self.batch_size)
        bar = None
        if self.verbose == 1 and self.epochs:
            from tqdm import tqdm

            bar = tqdm(total=self.epochs, unit="epoch", desc="train", leave=True)
        for cb in self.callbacks:
            cb.on_train_begin(net)
        eta0 = self.opt.initial_learning_rate
        try:
            self._fuse_updates()
            for epoch in range(first, self.epochs + 1):
                began = time.perf_counter()
                self.opt.learning_rate = self.sched.rate(eta0, epoch - 1)
                for p, s in zip(self.params, self.epoch_start, strict=True):
                    np.copyto(s, p)
                # from the same starting order every epoch, so that the order depends only
                # on the generator's state (a resumed run repeats it exactly)
                if self.shuffle is True:
                    np.copyto(self.order, self.rows)
                    net.rng.shuffle(self.order)
                elif self.shuffle == "batch":
                    np.copyto(self.blocks, self.block_range)
                    net.rng.shuffle(self.blocks)
                total = correct = 0.0
                seen = 0
                for b in range(n_batches):
                    xb, tb, wb, lb = self._batch(int(self.blocks[b]))
                    cost = self._step(xb, tb, wb)
                    m = len(xb)
                    seen += m
                    total += cost * m
                    if lb is not None:
                        correct += _count_correct(net._last_output, lb)
                    if not math.isfinite(cost):
                        return self._diverged(epoch, b)
                    if self.batch_callbacks:
                        logs = {"cost": cost, "size": m}
                        for cb in self.batch_callbacks:
                            cb.on_batch_end(net, b, logs)
                        if net.stop_training:
                            break
                # over the samples trained (all of them unless a callback stopped mid-epoch)
                self._end_epoch(epoch, total / seen, correct / seen, began, bar)
                if self.checkpoint is not None and epoch % self.checkpoint_every == 0:
                    self._write_checkpoint(epoch)
                if net.stop_training:
                    hist.stop_reason = (
                        hist.stop_reason if hist.stop_reason != "epochs" else "callback"
                    )
                    hist.stopped_epoch = epoch
                    break
        except KeyboardInterrupt:
            hist.stop_reason = "interrupted"
            hist.stopped_epoch = len(hist.epochs)
            hist.message = "training interrupted (KeyboardInterrupt)"
        finally:
            if bar is not None:
                bar.close()
        self._restore_best()
        for cb in self.callbacks:
            cb.on_train_end(net, hist)
        return hist

    def _fuse_updates(self) -> None:
        """Prepare the optimiser's updates fused into the weight-gradient products.

        See :meth:`Optimizer.fused_update`. Not for grow-and-slash, which needs the
        gradient to try several steps. They are armed only inside each training step
        (:meth:`_arm`): a callback's ``net.backprop`` or ``gradcheck`` between steps
        computes plain gradients and changes nothing.
        """
        if isinstance(self.sched, GrowAndSlash):
            return
        net, opt = self.net, self.opt
        opt._allocate(self.params)
        per_layer: dict[int, tuple[Any, dict[str, Any]]] = {}
        indices = set()
        for i, ((layer, key), param) in enumerate(zip(self.keys, self.params, strict=True)):
            if (
                key not in layer._product_params
                or param.size < _blas.MIN_ELEMENTS
                or not _backward_is_declaring_class(layer)
            ):
                continue
            apply = opt.fused_update(i, param, partial(net._penalty_for, layer, key))
            if apply is not None:
                per_layer.setdefault(id(layer), (layer, {}))[1][key] = apply
                indices.add(i)
        self.fused = list(per_layer.values())
        self.fused_indices = frozenset(indices)

    def _arm(self, on: bool) -> None:
        """Install (``on``) or remove the fused updates of :meth:`_fuse_updates`."""
        for layer, updates in self.fused:
            layer._fused_updates = updates if on else {}
        self.opt._fused = self.fused_indices if on else frozenset()
        self.net._fusing = on

    def _step(self, xb: np.ndarray, tb: np.ndarray, wb: np.ndarray | None) -> float:
        net = self.net
        if not isinstance(self.sched, GrowAndSlash):
            if self.fused:
                self._arm(True)
            try:
                cost = net._backprop(xb, tb, wb, True)
                self.opt.step(self.params, self._grads())
            finally:
                if self.fused:
                    self._arm(False)
            return cost
        # Seed 002's Algorithm 1: every trial uses the same dropout mask (same rng state).
        state = net.rng.bit_generator.state
        cost = net._backprop(xb, tb, wb, True)
        saved = self.saved
        for s, p in zip(saved, self.params, strict=True):
            np.copyto(s, p)

        grads = self._grads()

        def try_step(eta: float) -> float:
            for p, g, s in zip(self.params, grads, saved, strict=True):
                np.multiply(g, -eta, out=p)
                p += s
            net.rng.bit_generator.state = state
            out = net._forward(xb, True)
            return net._data_cost(out, tb, wb) + net.penalty_value()

        if self.sched.search(cost, try_step) is None:
            for s, p in zip(saved, self.params, strict=True):
                np.copyto(p, s)
        self.opt.iterations += 1
        self.opt.learning_rate = self.sched.eta
        return cost

    def _grads(self) -> list[np.ndarray]:
        # Read after every backward: a user's layer may rebind self.grads[k] to a new
        # array instead of writing into it, and its gradient must still be used.
        return [layer.grads[key] for layer, key in self.keys]

    def _end_epoch(self, epoch, train_cost, train_acc, began, bar) -> None:
        net, hist = self.net, self.history
        hist.epochs.append(epoch)
        hist.train_cost.append(float(train_cost))
        logs: dict[str, float] = {"cost": float(train_cost)}
        if self.data.labels is not None:
            hist.train_accuracy.append(float(train_acc))
            logs["accuracy"] = float(train_acc)
        if self.val is not None:
            val_cost, val_acc = evaluate_data(net, self.val)
            hist.val_cost.append(val_cost)
            logs["val_cost"] = val_cost
            if val_acc is not None:
                hist.val_accuracy.append(val_acc)
                logs["val_accuracy"] = val_acc
            if self.stopper is not None:
                improved, stop = self.stopper.update(epoch, val_cost)
                if improved:
                    for b, p in zip(self.best, self.params, strict=True):
                        np.copyto(b, p)
                    hist.best_epoch = epoch
                if stop:
                    net.stop_training = True
                    hist.stop_reason = "early_stopping"
        hist.learning_rate.append(float(self.opt.learning_rate))
        hist.epoch_time.append(time.perf_counter() - began)
        logs["learning_rate"] = float(self.opt.learning_rate)
        for cb in self.callbacks:
            cb.on_epoch_end(net, epoch, logs)
        if bar is not None:
            bar.set_postfix(
                {k: f"{v:.4g}" for k, v in logs.items() if k != "learning_rate"}, refresh=False
            )
            bar.update(1)
        elif self.verbose == 2:
            parts = " - ".join(f"{k}: {v:.4g}" for k, v in logs.items())
            print(f"epoch {epoch}/{self.epochs} - {hist.epoch_time[-1]:.2f}s - {parts}", flush=True)

    def _write_checkpoint(self, epoch: int) -> None:
        from .io import save

        arrays = {f"b{i}": b for i, b in enumerate(self.best)} if self.best is not None else {}
        state = {
            "epoch": epoch,
            "stopper": None if self.stopper is None else self.stopper.get_state(),
            "schedule": self.sched.get_state(),
            "best": sorted(arrays, key=lambda k: int(k[1:])),
        }
        previous, self.net.history = self.net.history, self.history
        try:
            save(self.net, self.checkpoint, _checkpoint={"state": state, "arrays": arrays})
        finally:
            self.net.history = previous

    def _restore_best(self) -> None:
        hist = self.history
        if self.stopper is not None and hist.best_epoch is not None:
            for b, p in zip(self.best, self.params, strict=True):
                np.copyto(p, b)
            hist.restored_epoch = hist.best_epoch
            if hist.stop_reason == "epochs":
                hist.message = (
                    f"reached epochs={self.epochs}; restored the weights of epoch "
                    f"{hist.best_epoch} (lowest validation cost)"
                )
            elif not hist.message:
                hist.message = (
                    f"stopped after epoch {hist.stopped_epoch} ({hist.stop_reason}); restored "
                    f"the weights of epoch {hist.best_epoch} (lowest validation cost)"
                )

    def _diverged(self, epoch: int, batch: int) -> History:
        hist = self.history
        hist.stop_reason = "diverged"
        hist.stopped_epoch = epoch
        if self.stopper is not None and hist.best_epoch is not None:
            self._restore_best()
            restored = f"the weights of epoch {hist.best_epoch} (lowest validation cost)"
        else:
            for s, p in zip(self.epoch_start, self.params, strict=True):
                np.copyto(p, s)
            hist.restored_epoch = epoch - 1
            restored = f"the weights from the start of epoch {epoch}"
        hist.message = (
            f"the training cost became non-finite at epoch {epoch}, batch {batch + 1}; "
            f"restored {restored}. Lower the learning rate (it was {self.opt.learning_rate:g})."
        )
        for cb in self.callbacks:
            cb.on_train_end(self.net, hist)
        self.net.history = hist
        if self.on_divergence == "raise":
            raise DivergenceError(hist.message)
        if self.on_divergence == "warn":
            # _diverged <- run <- training.train <- Network.train <- the caller's line
            warnings.warn(hist.message, DivergenceWarning, stacklevel=5)
        return hist


def _backward_is_declaring_class(layer: Any) -> bool:
    """Whether ``layer`` runs the backward pass of the class that declared its
    ``_product_params`` (which calls ``_param_gradient``): a subclass that overrides
    ``backward`` might write ``grads`` itself, and is then never fused."""
    cls = type(layer)
    owner = next(c for c in cls.__mro__ if "_product_params" in c.__dict__)
    return all(
        getattr(cls, name) is getattr(owner, name)
        for name in ("backward", "_backward_preactivation")
        if hasattr(owner, name)
    )


def _labels(target: np.ndarray) -> np.ndarray:
    """Class of each target row: argmax of one-hot rows, ``> 0.5`` for one sigmoid unit."""
    if target.shape[1] == 1:
        return (target[:, 0] > 0.5).astype(np.intp)
    return np.argmax(target, axis=1)


def _is_one_hot(target: np.ndarray) -> bool:
    """Rows of 0s and one 1 (at least two columns)."""
    return (
        target.shape[1] > 1
        and bool(np.all((target == 0) | (target == 1)))
        and bool(np.all(target.sum(axis=1) == 1))
    )


def _count_correct(output: np.ndarray, labels: np.ndarray) -> int:
    predicted = (output[:, 0] > 0.5) if output.shape[1] == 1 else output.argmax(axis=1)
    return int(np.count_nonzero(predicted == labels))


def evaluate_data(net: Network, data: _Data) -> tuple[float, float | None]:
    """Objective (data cost + penalty) and accuracy over ``data``, in chunks, inference mode."""
    n = data.n
    width = max(int(np.prod(layer.output_shape)) for layer in net.layers)
    chunk = max(256, _EVAL_ELEMENTS // width)
    total = 0.0
    correct = 0
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        if data.index is None:
            xb, tb = data.X[start:stop], data.T[start:stop]
            wb = None if data.W is None else data.W[start:stop]
        else:
            idx = data.index[start:stop]
            xb, tb = data.X[idx], data.T[idx]
            wb = None if data.W is None else data.W[idx]
        xb = np.asarray(xb, dtype=net.dtype)  # range checked in _prepare
        out = net._forward(xb, False)
        total += net._data_cost(out, tb, wb) * (stop - start)
        if data.labels is not None:
            rows = slice(start, stop) if data.index is None else data.index[start:stop]
            correct += _count_correct(out, data.labels[rows])
    cost = total / n + net.penalty_value()
    return float(cost), (correct / n if data.labels is not None else None)


def _prepare(net, X, y, sample_weight, class_weight, x_name, y_name) -> _Data:
    x = check_features(X, net.input_shape, argument=x_name, layer=net.layers[0].name)
    check_range_for(x, net.dtype, x_name)  # batches are cast later, one at a time
    target = net.loss_fn.prepare_targets(y, net.output_shape[0], net.dtype, argument=y_name)
    check_n_samples(x, target, x_name, y_name)
    weight = None
    if sample_weight is not None:
        from .network import _check_sample_weight

        weight = _check_sample_weight(sample_weight, len(x))
    # Accuracy is reported for class targets: a classification loss, or one-hot rows under
    # a regression loss (seed 001 trains a sigmoid network with mse on one-hot digits).
    labels = _labels(target) if net.is_classifier or _is_one_hot(target) else None
    if class_weight is not None:
        if labels is None:
            raise LayerkitValueError(
                f"class_weight needs a classification loss; the network's loss is {net.loss_fn.name!r}"
            )
        per_class = _class_weights(class_weight, labels, max(2, target.shape[1]))
        weight = per_class if weight is None else weight * per_class
    return _Data(x, target, weight, None, labels)


def _class_weights(class_weight: Any, labels: np.ndarray, n_classes: int) -> np.ndarray:
    if not isinstance(class_weight, dict):
        raise LayerkitTypeError(
            f"class_weight must be a dict {{class: weight}}; received {type(class_weight).__name__}"
        )
    table = np.ones(n_classes)
    for key, value in class_weight.items():
        if (
            isinstance(key, bool)
            or not isinstance(key, int | np.integer)
            or not 0 <= key < n_classes
        ):
            raise LayerkitValueError(
                f"class_weight keys must be class labels in [0, {n_classes - 1}]; received {key!r}"
            )
        table[int(key)] = check_real(value, f"class_weight[{key}]", low=0.0)
    return table[labels]


def _split(net: Network, data: _Data, fraction: float) -> tuple[_Data, _Data]:
    """Stratified (classification) or plain random split of rows, from the network's rng."""
    n = data.n
    n_val = round(fraction * n)
    if n_val < 1 or n_val >= n:
        raise LayerkitValueError(
            f"validation_split={fraction} leaves {n_val} validation and {n - n_val} training "
            f"samples out of {n}; both must be at least 1"
        )
    if data.labels is not None:
        labels = data.labels
        perm = net.rng.permutation(n)
        # Sort the shuffled rows by class and deal the first rows of each class to
        # validation. Per-class counts follow the largest-remainder rule, so the total is
        # exactly round(fraction * n) and every class share is within one sample.
        by_class = perm[np.argsort(labels[perm], kind="stable")]
        counts = np.bincount(labels)
        quotas = counts * fraction
        per_class_val = np.floor(quotas).astype(np.int64)
        short = n_val - int(per_class_val.sum())
        if short > 0:
            order = np.argsort(-(quotas - per_class_val), kind="stable")
            per_class_val[order[:short]] += 1
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        ranks = np.empty(n, dtype=np.int64)
        ranks[by_class] = np.arange(n) - np.repeat(starts, counts)
        is_val = ranks < per_class_val[labels]
        val_idx = np.flatnonzero(is_val)
        train_idx = np.flatnonzero(~is_val)
    else:
        perm = net.rng.permutation(n)
        val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    train = _Data(data.X, data.T, data.W, train_idx, data.labels)
    val = _Data(data.X, data.T, data.W, val_idx, data.labels)
    return train, val


def _read_resume(net: Network, resume: Any) -> tuple[dict[str, np.ndarray], dict[str, Any], Any]:
    """Read and check a checkpoint before anything changes."""
    from .io import _check_compatible, _read_verified

    if not isinstance(resume, str | os.PathLike):
        raise LayerkitTypeError(f"resume must be a checkpoint file path; received {resume!r}")
    arrays, meta, path = _read_verified(resume)
    if "training" not in meta:
        raise LayerkitValueError(
            f"resume={str(resume)!r} is a saved model, not a checkpoint written by "
            "train(checkpoint=...)"
        )
    _check_compatible(net, meta, arrays, path)
    return arrays, meta, path


def _check_callbacks(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or not isinstance(callbacks, Sequence):
        raise LayerkitTypeError(
            f"callbacks must be a list of Callback objects; received {type(callbacks).__name__}"
        )
    for i, cb in enumerate(callbacks):
        if not all(
            hasattr(cb, h)
            for h in ("on_train_begin", "on_epoch_end", "on_batch_end", "on_train_end")
        ):
            raise LayerkitTypeError(
                f"callbacks[{i}] must be a layerkit.Callback (or have its four methods); "
                f"received {cb!r}"
            )
    return list(callbacks)


def _check_early_stopping(early_stopping: Any) -> EarlyStopping | None:
    if early_stopping is None or early_stopping is False:
        return None
    if isinstance(early_stopping, EarlyStopping):
        return early_stopping
    if isinstance(early_stopping, bool) or not isinstance(early_stopping, int | np.integer):
        raise LayerkitTypeError(
            "early_stopping must be a window size s (int), an EarlyStopping instance or None; "
            f"received {early_stopping!r}"
        )
    return ValidationWindow(int(early_stopping))


def _resolve_optimizer(net: Network, spec: Any, learning_rate: float | None) -> Optimizer:
    """The network's current optimiser when ``spec`` is None or names it; else a new one."""
    current = getattr(net, "optimizer", None)
    if spec is None:
        if current is not None:
            return current
        spec = "sgd"
    if isinstance(spec, str) and current is not None and spec.lower() == current.name:
        return current
    if isinstance(spec, str) or isinstance(spec, Optimizer):
        return get_optimizer(spec, learning_rate)
    raise LayerkitTypeError(
        f"optimizer must be a name or an Optimizer instance; received {type(spec).__name__}"
    )
