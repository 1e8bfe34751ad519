"""The training loop: epochs of steps, then the end-of-epoch work.

One step, for a batch ``(x, y, w)``::

    J, a = net.compute_gradients(x, y, w)   forward in training mode, output error, backward:
                                            every trainable layer's grads hold dJ/dtheta
    optimizer.step(params, grads)           the update, in place (frozen layers: None)

A step is atomic for the model: an exception in a layer leaves the weights (and state) as
they were, a non-finite cost applies no update, and Ctrl-C is honoured between steps (a
second Ctrl-C interrupts at once). After each epoch: the weights are checked finite (so
the last update of a run is checked too), the validation cost is computed, the schedule,
the early-stopping criterion and the callbacks see the epoch's logs, and a checkpoint may
be written.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .._products import Gradients
from .._validation import all_finite, check_finite
from ..callbacks import CallbackList, History
from .config import TrainConfig
from .data import Batches, Dataset, count_correct, evaluate_data
from .progress import Progress

if TYPE_CHECKING:
    from ..network import Network

__all__ = ["CheckpointFiles", "DivergenceError", "DivergenceWarning", "Loop"]


class DivergenceError(FloatingPointError):
    """Training produced a non-finite cost or weights (``on_divergence="raise"``)."""


class DivergenceWarning(UserWarning):
    """Training produced a non-finite cost or weights and was stopped (``on_divergence="warn"``)."""


class CheckpointFiles(Protocol):
    """What the loop needs to write checkpoints (:mod:`layerkit.io` provides it)."""

    def write_checkpoint(
        self, net: Any, path: Any, training_state: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> Any: ...


class Loop:
    """One ``train()`` run over checked data; see :func:`layerkit.training.train`."""

    def __init__(
        self,
        net: Network,
        config: TrainConfig,
        data: Dataset,
        val: Dataset | None,
        *,
        files: CheckpointFiles | None = None,
        split_state: dict[str, Any] | None = None,
        undo: Callable[[], None] | None = None,
    ) -> None:
        self.net, self.cfg, self.data, self.val = net, config, data, val
        # X when its values are still to be checked (``data.values_checked`` false): the
        # first epoch does it through the first layer's witness, and ``undo`` puts the
        # model back as the call found it if a value is not finite
        self.unchecked = None if data.values_checked else data.X
        if self.unchecked is not None and undo is None:
            raise RuntimeError("a Loop over data whose values are unchecked needs undo")
        self.undo = undo
        self.opt, self.sched, self.stopper = config.optimizer, config.schedule, config.stopper
        self.files, self.split_state = files, split_state
        self.history = History()
        self.batches = Batches(data, config.batch_size, config.shuffle, net.dtype)
        self.params = [p for _, _, p in net.parameters()]
        self.keys = [(layer, key) for layer, key, _ in net.parameters()]
        self.variables = net.variables()
        self.states = [s for _, _, s in net.states()]
        self.epoch_start = [v.copy() for v in self.variables]
        self.previous_start = [v.copy() for v in self.variables]
        self.state_backup = [s.copy() for s in self.states]
        self.best = [v.copy() for v in self.variables] if self.stopper is not None else None
        self.saved = [p.copy() for p in self.params] if self.sched.line_search else None
        self.callbacks = CallbackList(config.callbacks, net)
        # weight gradients as pending products, applied by the optimiser in one gemm
        # (layerkit._products); the line search reads every gradient, so it forms them
        self.use_products = (
            self.opt.applies_products
            and not self.sched.line_search
            and all(isinstance(layer.grads, Gradients) for layer, _ in self.keys)
        )
        self.products = False  # whether any layer is armed, during run()
        self.scale = 1.0  # a rate changed by someone else rescales the schedule's formula
        self.rate_set: float | None = None
        self.interrupted = False

    # ---------------------------------------------------------------- the loop
    def run(self, first_epoch: int = 1) -> History:
        net, cfg, hist = self.net, self.cfg, self.history
        self.first_epoch = first_epoch
        progress = Progress(
            cfg.epochs - first_epoch + 1, self.batches.count, cfg.verbose, cfg.epochs
        )
        self.callbacks.on_train_begin()
        self.products = self.use_products and net.arm_products(True)
        try:
            with _DeferInterrupts(self):
                for epoch in range(first_epoch, cfg.epochs + 1):
                    if self._epoch(epoch, progress):
                        break
        except KeyboardInterrupt:
            self._check_input()
            hist.stop_reason = "interrupted"
            hist.stopped_epoch = len(hist.epochs)
            hist.message = (
                f"training interrupted (KeyboardInterrupt) after epoch {len(hist.epochs)}; the "
                "weights are those after the last complete step"
            )
        except BaseException:
            self._check_input()  # a bad value of X is the error train() reports
            raise
        finally:
            progress.close()
            if self.products:
                net.arm_products(False)  # forms the last step's products
                self.products = False
        self._check_input()  # not done if no epoch read every row (epochs=0, a stop)
        if hist.stop_reason != "diverged":
            self._restore_best()
        if not hist.message:
            hist.message = _end_message(hist, cfg.epochs)
        self.callbacks.on_train_end(hist)
        if hist.stop_reason == "diverged":
            net.history = hist
            if cfg.on_divergence == "raise":
                raise DivergenceError(hist.message)
            if cfg.on_divergence == "warn":
                # run <- training.train <- Network.train <- the caller's line
                warnings.warn(hist.message, DivergenceWarning, stacklevel=4)
        return hist

    def _epoch(self, epoch: int, progress: Progress) -> bool:
        """Train one epoch; return whether training ends."""
        net, hist = self.net, self.history
        began = time.perf_counter()
        self._set_learning_rate(epoch)
        if self.callbacks:
            self.callbacks.on_epoch_begin(epoch)  # a rate set here applies to this epoch
        # the last two epoch starts: a first batch of non-finite cost condemns the weights
        # it started from, and the start before them (whose first batch was finite) is the
        # last state known good
        self.previous_start, self.epoch_start = self.epoch_start, self.previous_start
        for v, s in zip(self.variables, self.epoch_start, strict=True):
            np.copyto(s, v)
        self.batches.shuffle_epoch(net.rng)
        total = correct = 0.0
        seen = 0
        threshold = net.loss_fn.decision_threshold
        callbacks = self.callbacks if self.callbacks else None
        counting = progress if progress.active else None
        for b in range(self.batches.count):
            if self.products:
                net.retire_products()  # before the gather overwrites their factors
            xb, tb, wb, lb = self.batches[b]
            cost, output = self._step(xb, tb, wb)
            if self.unchecked is not None:
                self._witness()
            m = len(xb)
            if not math.isfinite(cost):
                self._check_input()  # a bad value of X is the error, not divergence
                back = b == 0 and epoch > self.first_epoch
                self._diverged(epoch, f"batch {b + 1}", "the training cost became non-finite", back)
                return True
            seen += m
            total += cost * m
            if lb is not None:
                correct += count_correct(output, lb, threshold)
            if counting is not None:
                counting.batch(m)
            if callbacks is not None:
                callbacks.on_batch_end(b, {"cost": cost, "size": m})
            if self.interrupted:
                raise KeyboardInterrupt
            if net.stop_training:
                break
        if self.unchecked is not None:
            if seen == self.batches.n:
                self.unchecked = None  # every row witnessed
            else:
                self._check_input()  # a callback stopped the epoch: read the rest
        if not all(all_finite(p) for p in self.params):
            self._diverged(epoch, "its last update", "the weights became non-finite")
            return True
        # over the samples trained (all of them unless a callback stopped mid-epoch)
        self._end_epoch(epoch, total / seen, correct / seen, began, progress)
        if self.cfg.checkpoint is not None and epoch % self.cfg.checkpoint_every == 0:
            self._write_checkpoint(epoch)
        if net.stop_training:
            if hist.stop_reason == "epochs":
                hist.stop_reason = "callback"
            hist.stopped_epoch = epoch
            return True
        if self.interrupted:
            raise KeyboardInterrupt
        return False

    # ---------------------------------------------------------------- X's values
    def _witness(self) -> None:
        """In the first epoch, after a step: the first layer's witness of the batch's
        values (:meth:`~layerkit.Layer.nonfinite_witness`), instead of a pass over X
        before training. Without a witness, or with a non-finite one, X is read whole."""
        witness = self.net.layers[1].nonfinite_witness()
        # a finite sum proves a finite witness (train() runs with overflow warnings off;
        # a sum that overflows only sends us to read X)
        if witness is None or not math.isfinite(np.add.reduce(witness)):
            self._check_input()

    def _check_input(self) -> None:
        """Read the whole of X if it is still unchecked; if a value is not finite, put the
        model back as the call found it and raise the error of an up-front check."""
        X, self.unchecked = self.unchecked, None
        if X is None or all_finite(X):
            return
        if self.products:
            self.net.arm_products(False)
            self.products = False
        self.undo()
        check_finite(X, "X")

    def _set_learning_rate(self, epoch: int) -> None:
        """The schedule's rate for ``epoch``, continuing from any change made since."""
        opt, sched = self.opt, self.sched
        eta0 = opt.initial_learning_rate
        if self.rate_set is not None and opt.learning_rate != self.rate_set:
            self.scale = opt.learning_rate / sched.rate(eta0, epoch - 2)
        rate = sched.rate(eta0, epoch - 1)
        opt.learning_rate = rate if self.scale == 1.0 else rate * self.scale
        self.rate_set = opt.learning_rate

    # ---------------------------------------------------------------- one step
    def _step(
        self, xb: np.ndarray, tb: np.ndarray, wb: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        net = self.net
        if self.states:
            for s, backup in zip(self.states, self.state_backup, strict=True):
                np.copyto(backup, s)
        try:
            if self.sched.line_search:
                return self._line_search_step(xb, tb, wb)
            cost, output = net.compute_gradients(xb, tb, wb, training=True)
        except BaseException:
            self._restore_states()
            raise
        if math.isfinite(cost):
            self.opt.step(self.params, self._grads())
        return cost, output

    def _grads(self) -> list[Any]:
        # Read after every backward: a user's layer may rebind grads[k] to a new array.
        if self.products:  # a pending product goes to the optimiser unformed
            return [
                layer.grads.gradient(key) if layer.trainable else None for layer, key in self.keys
            ]
        return [layer.grads[key] if layer.trainable else None for layer, key in self.keys]

    def _restore_states(self) -> None:
        for s, backup in zip(self.states, self.state_backup, strict=True):
            np.copyto(s, backup)

    def _line_search_step(
        self, xb: np.ndarray, tb: np.ndarray, wb: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        """Seed 002's Algorithm 1: every trial uses the same dropout mask (same rng state)
        and leaves the layers' state as the real step left it."""
        net = self.net
        rng_state = net.rng.bit_generator.state
        cost, output = net.compute_gradients(xb, tb, wb, training=True)
        if not math.isfinite(cost):
            return cost, output
        saved = self.saved
        for s, p in zip(saved, self.params, strict=True):
            np.copyto(s, p)
        grads = self._grads()
        after = net.rng.bit_generator.state

        def try_step(eta: float) -> float:
            for p, g, s in zip(self.params, grads, saved, strict=True):
                if g is not None:
                    np.multiply(g, -eta, out=p)
                    p += s
            net.rng.bit_generator.state = rng_state
            with net.state_preserved():
                out = net.run(xb, True)
                return net.data_cost(out, tb, wb) + net.penalty_value()

        if self.sched.search(cost, try_step, self.opt.learning_rate) is None:
            for s, p in zip(saved, self.params, strict=True):
                np.copyto(p, s)
        net.rng.bit_generator.state = after
        self.opt.iterations += 1
        self.opt.learning_rate = self.rate_set = self.sched.eta
        return cost, output

    # ---------------------------------------------------------------- end of epoch
    def _end_epoch(
        self, epoch: int, train_cost: float, train_acc: float, began: float, progress: Progress
    ) -> None:
        net, hist = self.net, self.history
        logs: dict[str, float] = {"cost": float(train_cost)}
        if self.data.labels is not None:
            logs["accuracy"] = float(train_acc)
        improved = stop = False
        if self.val is not None:
            val_cost, val_acc = evaluate_data(net, self.val)
            logs["val_cost"] = val_cost
            if val_acc is not None:
                logs["val_accuracy"] = val_acc
            if self.stopper is not None:
                improved, stop = self.stopper.update(epoch, val_cost)
        logs["learning_rate"] = float(self.opt.learning_rate)
        # every list grows here, together: an interrupted epoch leaves them equal in length
        hist.epochs.append(epoch)
        hist.train_cost.append(logs["cost"])
        if "accuracy" in logs:
            hist.train_accuracy.append(logs["accuracy"])
        if "val_cost" in logs:
            hist.val_cost.append(logs["val_cost"])
        if "val_accuracy" in logs:
            hist.val_accuracy.append(logs["val_accuracy"])
        hist.learning_rate.append(logs["learning_rate"])
        hist.epoch_time.append(time.perf_counter() - began)
        if improved:
            for b, v in zip(self.best, self.variables, strict=True):
                np.copyto(b, v)
            hist.best_epoch = epoch
        if stop:
            net.stop_training = True
            hist.stop_reason = "early_stopping"
        self.sched.on_epoch_end(epoch, logs)
        self.callbacks.on_epoch_end(epoch, logs)
        progress.epoch(epoch, hist.epoch_time[-1], logs)

    def _write_checkpoint(self, epoch: int) -> None:
        arrays = {f"b{i}": b for i, b in enumerate(self.best)} if self.best is not None else {}
        state = {
            "epoch": epoch,
            "stopper": None if self.stopper is None else self.stopper.get_state(),
            "schedule": self.sched.get_state(),
            "best": sorted(arrays, key=lambda k: int(k[1:])),
            "split_state": self.split_state,
            "rate_scale": self.scale,
            "rate_set": self.rate_set,
        }
        previous, self.net.history = self.net.history, self.history
        try:
            self.files.write_checkpoint(self.net, self.cfg.checkpoint, state, arrays)
        finally:
            self.net.history = previous

    def resume_from(self, training_state: dict[str, Any], arrays: dict[str, np.ndarray]) -> int:
        """Take the loop's progress from a checkpoint; return the first epoch to train."""
        if self.best is not None and training_state.get("best"):
            for b, name in zip(self.best, training_state["best"], strict=True):
                np.copyto(b, arrays[name])
        if self.stopper is not None and training_state.get("stopper") is not None:
            self.stopper.set_state(training_state["stopper"])
        self.sched.set_state(training_state.get("schedule") or {})
        self.scale = float(training_state.get("rate_scale", 1.0))
        self.rate_set = training_state.get("rate_set")
        self.history = self.net.history or History()
        return int(training_state["epoch"]) + 1

    def _restore_best(self) -> None:
        hist = self.history
        if self.stopper is None or hist.best_epoch is None:
            return
        for b, v in zip(self.best, self.variables, strict=True):
            np.copyto(v, b)
        hist.restored_epoch = hist.best_epoch

    def _diverged(self, epoch: int, where: str, what: str, back: bool = False) -> None:
        hist = self.history
        hist.stop_reason = "diverged"
        hist.stopped_epoch = epoch
        if self.stopper is not None and hist.best_epoch is not None:
            self._restore_best()
            restored = f"the weights of epoch {hist.best_epoch} (lowest validation cost)"
        else:
            start = self.previous_start if back else self.epoch_start
            for s, v in zip(start, self.variables, strict=True):
                np.copyto(v, s)
            began = epoch - 1 if back else epoch
            hist.restored_epoch = began - 1
            restored = f"the weights from the start of epoch {began}"
        hist.message = (
            f"{what} at epoch {epoch}, {where}; restored {restored}. Lower the learning "
            f"rate (it was {self.opt.learning_rate:g})."
        )


class _DeferInterrupts:
    """Within the block, a first SIGINT sets ``loop.interrupted`` (the loop stops at the next
    step boundary); a second raises KeyboardInterrupt at once. Main thread only."""

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.previous: Any = None

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            self.previous = signal.getsignal(signal.SIGINT)
        except (ValueError, OSError):
            return
        if self.previous is not signal.default_int_handler:
            self.previous = None  # someone else handles Ctrl-C: leave it to them
            return

        def handler(signum: int, frame: Any) -> None:
            if self.loop.interrupted:
                raise KeyboardInterrupt
            self.loop.interrupted = True

        signal.signal(signal.SIGINT, handler)

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _end_message(hist: History, epochs: int) -> str:
    """A one-line account of how the run ended (when nothing more specific was said)."""
    restored = (
        f"; restored the weights of epoch {hist.best_epoch} (lowest validation cost)"
        if hist.restored_epoch is not None
        else ""
    )
    if hist.stop_reason == "epochs":
        if epochs == 0 or not hist.epochs:
            return "no epochs to train (epochs=0)"
        return f"reached epochs={epochs}{restored}"
    return f"stopped after epoch {hist.stopped_epoch} ({hist.stop_reason}){restored}"
