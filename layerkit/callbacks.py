"""Training history, callbacks and early stopping.

``train()`` and ``fit()`` call their callbacks through :class:`CallbackList`, which speaks
two conventions. A callback declares the one it follows with its class attribute
``convention``:

* ``"layerkit"`` (:class:`Callback`, and any object without the attribute): the hooks
  receive the network, ``on_train_begin(network)``, ``on_epoch_begin(network, epoch)``,
  ``on_epoch_end(network, epoch, logs)``, ``on_batch_end(network, batch, logs)`` and
  ``on_train_end(network, history)``. Epochs are numbered from 1 and the logs use
  layerkit's names: ``cost``, ``accuracy``, ``val_cost``, ``val_accuracy``,
  ``learning_rate``.
* ``"keras"`` (:class:`KerasCallback`): Keras's hooks, ``on_train_begin(logs=None)``,
  ``on_epoch_begin(epoch, logs=None)``, ``on_epoch_end(epoch, logs=None)``,
  ``on_batch_end(batch, logs=None)`` and ``on_train_end(logs=None)``, with the network
  as ``self.model``. Epochs are Keras's 0-based indices and the logs use Keras's names:
  ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``learning_rate``.

Both kinds may be mixed in one list; they are called in the order given. The callbacks
with Keras's names and semantics (:class:`EarlyStopping`, :class:`ModelCheckpoint`,
:class:`CSVLogger`, :class:`LearningRateScheduler`, :class:`ReduceLROnPlateau`,
:class:`TerminateOnNaN`, :class:`LambdaCallback`) follow the Keras convention. Their
``monitor`` accepts both names: ``"val_cost"`` is ``"val_loss"``, ``"cost"`` is ``"loss"``.

``train(early_stopping=...)`` takes a :class:`StoppingCriterion` instead
(:class:`ValidationWindow`, seed 002's rule, or :class:`Patience`): the loop applies it and
always restores the best weights, and the history records the epochs it chose.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
import re
import string
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ._html import history_html
from ._validation import LayerkitTypeError, LayerkitValueError, check_positive_int, check_real

__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "KerasCallback",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "Patience",
    "ReduceLROnPlateau",
    "StoppingCriterion",
    "TerminateOnNaN",
    "ValidationWindow",
    "check_callbacks",
    "fit_callbacks",
]

#: layerkit's log names and Keras's for the same quantity
KERAS_NAMES = {"cost": "loss", "val_cost": "val_loss"}
_MONITOR_ALIASES = {
    **KERAS_NAMES,
    "acc": "accuracy",
    "val_acc": "val_accuracy",
    "lr": "learning_rate",
}
_MONITORED = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


@dataclass
class History:
    """What ``train()`` records, one entry per epoch (epochs are numbered from 1).

    Attributes
    ----------
    epochs : list of int
    train_cost : list of float
        Mean over the epoch's batches of the batch objective (data cost + penalty),
        weighted by batch size, measured as the batches were trained (as Keras reports).
    train_accuracy : list of float
        Accuracy of those batch predictions (for class targets: a cross-entropy loss, or
        one-hot rows under a squared-error loss; else empty).
    val_cost, val_accuracy : list of float
        Full objective and accuracy on the validation data after the epoch, in inference
        mode (empty without validation data).
    learning_rate : list of float
        The optimiser's rate during the epoch (for grow-and-slash, the rate at its end).
    epoch_time : list of float
        Wall-clock seconds per epoch (validation included).
    best_epoch : int or None
        Epoch of lowest validation cost (as the early-stopping criterion judges it).
    stopped_epoch : int or None
        Last epoch trained when training ended before ``epochs`` (early stopping,
        a callback, divergence or interruption).
    restored_epoch : int or None
        Epoch whose weights the network holds at the end, when they were restored.
    stop_reason : str
        ``"epochs"``, ``"early_stopping"``, ``"callback"``, ``"diverged"`` or ``"interrupted"``.
    """

    epochs: list[int] = field(default_factory=list)
    train_cost: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_cost: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    restored_epoch: int | None = None
    stop_reason: str = "epochs"
    message: str = ""

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def history(self) -> dict[str, list[float]]:
        """Keras's ``history.history``: ``{"loss": [...], "accuracy": [...], "val_loss":
        [...], "val_accuracy": [...], "learning_rate": [...]}``, one value per epoch.

        Derived from the attributes each time it is read (a new dict of new lists; it is
        not saved with the model). Keys whose list is empty (no validation data, no
        accuracy for a regression) are left out, as Keras leaves out what it did not log.
        """
        pairs = (
            ("loss", self.train_cost),
            ("accuracy", self.train_accuracy),
            ("val_loss", self.val_cost),
            ("val_accuracy", self.val_accuracy),
            ("learning_rate", self.learning_rate),
        )
        return {name: list(values) for name, values in pairs if values}

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a history from :meth:`as_dict`'s output."""
        return cls(**data)

    def _repr_html_(self) -> str:
        """A table of the epochs (first and last ones of a long run) for notebooks."""
        return history_html(self)


# ---------------------------------------------------------------------------- base classes


class Callback:
    """layerkit's callback: hooks that receive the network. Override the ones you need.

    Epochs are numbered from 1 and ``logs`` use layerkit's names (``cost``,
    ``accuracy``, ``val_cost``, ``val_accuracy``, ``learning_rate``). For Keras's
    hooks (``self.model``, ``on_epoch_end(epoch, logs)``), subclass
    :class:`KerasCallback` instead.

    To stop training, set ``network.stop_training = True``: the loop ends after the
    current batch (from ``on_batch_end``) or epoch (from ``on_epoch_end``).
    """

    convention: ClassVar[str] = "layerkit"

    def on_train_begin(self, network: Any) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, network: Any, epoch: int) -> None:
        """Before each epoch, after the schedule has set ``network.optimizer.learning_rate``
        (a change made here applies to this epoch)."""

    def on_epoch_end(self, network: Any, epoch: int, logs: dict[str, float]) -> None:
        """After each epoch; ``logs`` holds that epoch's history entries."""

    def on_batch_end(self, network: Any, batch: int, logs: dict[str, float]) -> None:
        """After each optimiser step; ``logs`` holds ``cost`` and ``size`` of the batch."""

    def on_train_end(self, network: Any, history: History) -> None:
        """After the last epoch (also after an early stop or an interruption)."""


class KerasCallback:
    """Keras's callback: the network is ``self.model``; hooks take ``(epoch, logs)``.

    Override the hooks you need. Epochs are Keras's 0-based indices (``fit(initial_epoch=k)``
    starts at ``k``) and ``logs`` use Keras's names: ``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy``, ``learning_rate``. A batch's logs hold ``loss`` (the mean cost of the
    epoch's batches so far, as Keras reports) and ``size``. One epoch's ``logs`` dict is
    shared by the Keras-style callbacks of a run, in order, so a value one adds is seen by
    those after it.

    To stop training, set ``self.model.stop_training = True``.

    Attributes
    ----------
    model : Network or None
        Set by :meth:`set_model` when training starts.
    """

    convention: ClassVar[str] = "keras"
    model: Any = None

    def set_model(self, model: Any) -> None:
        """Called by :class:`CallbackList` before training starts."""
        self.model = model

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Before each epoch; a change to ``self.model.optimizer.learning_rate`` applies
        to this epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """After each epoch (validation included)."""

    def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        """After each optimiser step."""

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """After the last epoch; ``logs`` are those of the last epoch."""


_HOOKS = ("on_train_begin", "on_epoch_end", "on_batch_end", "on_train_end")


def check_callbacks(callbacks: Any) -> list[Any]:
    """``callbacks`` as a list, each checked to have the four hooks every callback has.

    Raises
    ------
    LayerkitTypeError
        If ``callbacks`` is not a list, or an element lacks a hook.
    """
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback | KerasCallback | str) or not isinstance(callbacks, Sequence):
        raise LayerkitTypeError(
            f"callbacks must be a list of Callback objects; received {type(callbacks).__name__}"
        )
    for i, cb in enumerate(callbacks):
        if not all(hasattr(cb, hook) for hook in _HOOKS):
            raise LayerkitTypeError(
                f"callbacks[{i}] must be a layerkit.Callback or a KerasCallback (or have "
                f"their methods {', '.join(_HOOKS)}); received {cb!r}"
            )
        if getattr(cb, "convention", "layerkit") not in ("layerkit", "keras"):
            raise LayerkitValueError(
                f"callbacks[{i}].convention must be 'layerkit' or 'keras'; received "
                f"{cb.convention!r}"
            )
    return list(callbacks)


def keras_logs(logs: dict[str, float]) -> dict[str, float]:
    """``logs`` with Keras's names (``cost`` -> ``loss``, ``val_cost`` -> ``val_loss``)."""
    return {KERAS_NAMES.get(name, name): value for name, value in logs.items()}


class CallbackList:
    """The callbacks of one ``train()`` run, called in order by the training loop.

    The loop talks to its callbacks only through this object: it calls
    ``on_train_begin()``, ``on_epoch_begin(epoch)``, ``on_batch_end(batch, logs)``,
    ``on_epoch_end(epoch, logs)`` and ``on_train_end(history)`` with its own epoch numbers
    (from 1) and log names, and this object calls each callback in its own convention (see
    the module's description).

    Parameters
    ----------
    callbacks : list
        As checked by :func:`check_callbacks`.
    model : Network
    epoch_offset : int, default 0
        Added to every epoch number the callbacks see, and to the history's epochs at
        the end (``fit(initial_epoch=k)``).
    """

    def __init__(self, callbacks: Sequence[Any], model: Any, *, epoch_offset: int = 0) -> None:
        self.callbacks = list(callbacks)
        self.model = model
        self.epoch_offset = epoch_offset
        self._keras = [getattr(cb, "convention", "layerkit") == "keras" for cb in self.callbacks]
        self._any_keras = any(self._keras)
        for cb, keras in zip(self.callbacks, self._keras, strict=True):
            if keras:
                cb.set_model(model)
        self._cost_sum = 0.0
        self._seen = 0
        self._last_logs: dict[str, float] = {}

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def _each(self) -> Any:
        return zip(self.callbacks, self._keras, strict=True)

    def on_train_begin(self) -> None:
        self._last_logs = {}
        for cb, keras in self._each():
            if keras:
                cb.on_train_begin(None)
            else:
                cb.on_train_begin(self.model)

    def on_epoch_begin(self, epoch: int) -> None:
        epoch += self.epoch_offset
        for cb, keras in self._each():
            if keras:
                cb.on_epoch_begin(epoch - 1, {})
            elif hasattr(cb, "on_epoch_begin"):  # older callbacks have only four hooks
                cb.on_epoch_begin(self.model, epoch)

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        if self._any_keras:
            if batch == 0:
                self._cost_sum, self._seen = 0.0, 0
            self._cost_sum += logs["cost"] * logs["size"]
            self._seen += logs["size"]
            batch_logs = {"loss": self._cost_sum / self._seen, "size": logs["size"]}
        for cb, keras in self._each():
            if keras:
                cb.on_batch_end(batch, batch_logs)
            else:
                cb.on_batch_end(self.model, batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        epoch += self.epoch_offset
        shared = self._last_logs = keras_logs(logs) if self._any_keras else logs
        for cb, keras in self._each():
            if keras:
                cb.on_epoch_end(epoch - 1, shared)
            else:
                cb.on_epoch_end(self.model, epoch, logs)

    def on_train_end(self, history: History) -> None:
        if self.epoch_offset:
            renumber(history, self.epoch_offset)
        for cb, keras in self._each():
            if keras:
                cb.on_train_end(dict(self._last_logs))
            else:
                cb.on_train_end(self.model, history)


_EPOCH_IN_MESSAGE = re.compile(r"\b(epochs?[ =])(\d+)")


def renumber(history: History, offset: int) -> None:
    """Shift the epochs a history records (and names in its message) by ``offset``."""
    if not history.epochs:
        return
    history.epochs = [e + offset for e in history.epochs]
    for name in ("best_epoch", "stopped_epoch", "restored_epoch"):
        value = getattr(history, name)
        if value is not None:
            setattr(history, name, value + offset)
    history.message = _EPOCH_IN_MESSAGE.sub(
        lambda m: f"{m.group(1)}{int(m.group(2)) + offset}", history.message
    )


class _Offset(Callback):
    """The callbacks of ``fit(initial_epoch=k)``: one layerkit callback for the loop that
    calls them through a :class:`CallbackList` whose epochs start after ``k``."""

    def __init__(self, callbacks: list[Any], offset: int) -> None:
        self.callbacks, self.offset = callbacks, offset
        self.inner: CallbackList | None = None

    def on_train_begin(self, network: Any) -> None:
        self.inner = CallbackList(self.callbacks, network, epoch_offset=self.offset)
        self.inner.on_train_begin()

    def on_epoch_begin(self, network: Any, epoch: int) -> None:
        self.inner.on_epoch_begin(epoch)

    def on_epoch_end(self, network: Any, epoch: int, logs: dict[str, float]) -> None:
        self.inner.on_epoch_end(epoch, logs)

    def on_batch_end(self, network: Any, batch: int, logs: dict[str, float]) -> None:
        self.inner.on_batch_end(batch, logs)

    def on_train_end(self, network: Any, history: History) -> None:
        self.inner.on_train_end(history)


def fit_callbacks(callbacks: Any, initial_epoch: int) -> list[Any]:
    """The ``callbacks`` argument ``fit()`` gives ``train()``: epochs numbered from
    ``initial_epoch`` (Keras's indices ``initial_epoch, ...``; layerkit's numbers
    ``initial_epoch + 1, ...``), and the returned history renumbered to match."""
    callbacks = check_callbacks(callbacks)
    if initial_epoch == 0:
        return callbacks
    return [_Offset(callbacks, initial_epoch)]


# ---------------------------------------------------------------------------- stopping criteria
class StoppingCriterion:
    """Base class of the validation-based stopping criteria of ``train(early_stopping=...)``.

    ``update(epoch, val_cost)`` is called after every epoch and returns
    ``(improved, stop)``: whether this epoch's weights are the best so far (the loop then
    snapshots them) and whether to stop. At the end of training the network gets the
    snapshot back, whether training stopped early or ran all its epochs.
    """

    def reset(self) -> None:
        """Forget any progress (called when training starts)."""
        self.best_epoch: int | None = None
        self.best_cost = float("inf")

    def update(self, epoch: int, val_cost: float) -> tuple[bool, bool]:
        """Record epoch ``epoch``'s validation cost; return ``(improved, stop)``."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    def get_state(self) -> dict[str, Any]:
        """The criterion's progress (JSON-serialisable), for checkpoints."""
        return {k: v for k, v in vars(self).items() if k not in self.get_config()}

    def set_state(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, list(value) if isinstance(value, list) else value)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class ValidationWindow(StoppingCriterion):
    """Seed 002's criterion (section 3.4.4, after Prechelt's third class).

    With window ``s``: after epoch ``e >= 2s``, stop if the mean validation cost of epochs
    ``e-s+1 .. e`` is higher than that of epochs ``e-2s+1 .. e-s``; the weights are then
    set to those of the epoch of lowest validation cost. (Seed 002's code compared the last
    ``s`` epochs with the ``s + 2`` before them; this is the rule its text states.)

    Parameters
    ----------
    window : int
        ``s >= 1``.
    """

    def __init__(self, window: int) -> None:
        self.window = check_positive_int(window, "early_stopping window")
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._costs: list[float] = []

    def update(self, epoch: int, val_cost: float) -> tuple[bool, bool]:
        self._costs.append(val_cost)
        improved = val_cost < self.best_cost
        if improved:
            self.best_cost, self.best_epoch = val_cost, epoch
        s = self.window
        if len(self._costs) < 2 * s:
            return improved, False
        recent = sum(self._costs[-s:]) / s
        previous = sum(self._costs[-2 * s : -s]) / s
        return improved, recent > previous

    def get_config(self):
        return {"window": self.window}


class Patience(StoppingCriterion):
    """The rule of Keras's ``EarlyStopping(monitor="val_loss", restore_best_weights=True)``,
    applied by the loop (:class:`EarlyStopping` is the callback with Keras's whole interface).

    An epoch improves when its validation cost is below the best so far minus
    ``min_delta``; training stops after ``patience`` epochs without improvement.

    Parameters
    ----------
    patience : int, default 10
    min_delta : float, default 0.0
    """

    def __init__(self, patience: int = 10, min_delta: float = 0.0) -> None:
        self.patience = check_positive_int(patience, "patience")
        self.min_delta = check_real(min_delta, "min_delta", low=0.0)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.wait = 0

    def update(self, epoch: int, val_cost: float) -> tuple[bool, bool]:
        if val_cost < self.best_cost - self.min_delta:
            self.best_cost, self.best_epoch, self.wait = val_cost, epoch, 0
            return True, False
        self.wait += 1
        return False, self.wait >= self.patience

    def get_config(self):
        return {"patience": self.patience, "min_delta": self.min_delta}


# ---------------------------------------------------------------------------- Keras's callbacks


def monitor_name(monitor: Any, argument: str = "monitor") -> str:
    """Keras's name of a monitored quantity; layerkit's names are accepted too."""
    if not isinstance(monitor, str):
        raise LayerkitTypeError(f"{argument} must be a str; received {monitor!r}")
    name = _MONITOR_ALIASES.get(monitor, monitor)
    if name not in _MONITORED:
        raise LayerkitValueError(
            f"{argument} must be one of {list(_MONITORED)} (or layerkit's names 'cost', "
            f"'val_cost'); received {argument}={monitor!r}"
        )
    return name


def _direction(monitor: str, mode: Any) -> str:
    """``"min"`` or ``"max"``: ``mode="auto"`` maximises accuracies, minimises the rest."""
    if mode not in ("auto", "min", "max"):
        raise LayerkitValueError(f"mode must be 'auto', 'min' or 'max'; received mode={mode!r}")
    if mode != "auto":
        return mode
    return "max" if "accuracy" in monitor else "min"


def _check_bool(value: Any, argument: str) -> bool:
    if not isinstance(value, bool):
        raise LayerkitTypeError(f"{argument} must be True or False; received {value!r}")
    return value


def _check_verbose(verbose: Any) -> int:
    if verbose not in (0, 1, 2, False, True):
        raise LayerkitValueError(f"verbose must be 0, 1 or 2; received verbose={verbose!r}")
    return int(verbose)


class _Monitoring(KerasCallback):
    """Reads one monitored value from the logs; warns once per run when it is missing."""

    def __init__(self, monitor: Any, mode: Any) -> None:
        self.monitor = monitor_name(monitor)
        self.mode = mode
        self.direction = _direction(self.monitor, mode)
        self._warned = False

    def _reset_warning(self) -> None:
        self._warned = False

    def _current(self, logs: dict[str, float] | None) -> float | None:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None and not self._warned:
            self._warned = True
            warnings.warn(
                f"{type(self).__name__} monitors {self.monitor!r}, which is not in the logs "
                f"(available: {', '.join(logs) or 'none'}); validation quantities need "
                "validation_data or validation_split",
                RuntimeWarning,
                stacklevel=3,
            )
        return value

    def _better(self, current: float, reference: float, delta: float = 0.0) -> bool:
        """``current`` improves on ``reference`` by more than ``delta``."""
        if self.direction == "min":
            return current < reference - delta
        return current > reference + delta

    def _worst(self) -> float:
        return math.inf if self.direction == "min" else -math.inf


class EarlyStopping(_Monitoring):
    """Keras's ``EarlyStopping``: stop when a monitored quantity stops improving.

    After each epoch ``e`` (0-based) from ``start_from_epoch`` on: the epoch improves
    when its value beats the best so far by more than ``min_delta`` (lower for ``"min"``,
    higher for ``"max"``); ``wait`` counts the epochs since the last improvement (it is
    reset only when the value also beats ``baseline``), and training stops when
    ``wait >= patience`` (never after the first epoch). With ``restore_best_weights``,
    the weights (and state) of the best epoch are put back when training ends, whether it
    stopped early or not; if no epoch was monitored, nothing is restored.

    Parameters
    ----------
    monitor : str, default "val_loss"
        ``"val_loss"``, ``"loss"``, ``"val_accuracy"``, ``"accuracy"`` or
        ``"learning_rate"`` (``"val_cost"`` and ``"cost"`` too).
    min_delta : float, default 0
        Smallest change that counts as an improvement (its sign is ignored).
    patience : int, default 0
        Epochs without improvement before stopping.
    verbose : {0, 1}, default 0
        1 prints a line when training stops and when weights are restored.
    mode : {"auto", "min", "max"}, default "auto"
        ``"auto"`` maximises accuracies and minimises the rest.
    baseline : float, optional
        Training stops after ``patience`` epochs unless the value beats this.
    restore_best_weights : bool, default False
    start_from_epoch : int, default 0
        Epochs (0-based indices below this) that are not monitored: a warm-up.

    Attributes
    ----------
    best : float
        Best monitored value so far.
    best_epoch : int
        Its epoch index (0-based, as in Keras).
    stopped_epoch : int
        Index of the epoch after which training stopped; 0 if it did not stop.
    wait : int

    Notes
    -----
    This is a callback: pass it in ``callbacks=[...]`` to ``fit`` or ``train``. The
    loop's own criteria for ``train(early_stopping=...)`` are :class:`ValidationWindow`
    and :class:`Patience` (subclasses of :class:`StoppingCriterion`).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__(monitor, mode)
        self.min_delta = abs(check_real(min_delta, "min_delta"))
        self.patience = check_positive_int(patience, "patience", minimum=0)
        self.verbose = _check_verbose(verbose)
        self.baseline = None if baseline is None else check_real(baseline, "baseline")
        self.restore_best_weights = _check_bool(restore_best_weights, "restore_best_weights")
        self.start_from_epoch = check_positive_int(start_from_epoch, "start_from_epoch", minimum=0)
        self.on_train_begin()

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._worst()
        self.best_epoch = 0
        self.best_weights: list[Any] | None = None
        self._reset_warning()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        current = self._current(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # the first monitored epoch is the best until another beats it
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._better(current, self.best, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


_FORMATTER = string.Formatter()


class ModelCheckpoint(_Monitoring):
    """Keras's ``ModelCheckpoint``: save the model after epochs, with ``model.save``.

    Parameters
    ----------
    filepath : str or path
        Formatted with ``epoch`` (numbered from 1, as Keras names files) and the epoch's
        logs: ``"model-{epoch:02d}-{val_loss:.3f}.npz"``. Placeholders are checked when the
        callback is made; ``.npz`` is appended when the name has another suffix
        (:func:`layerkit.save`).
    monitor : str, default "val_loss"
        The quantity ``save_best_only`` compares.
    verbose : {0, 1}, default 0
        1 prints a line for every save.
    save_best_only : bool, default False
        Save only when the monitored value is strictly better than at every earlier
        save of this run (with a fixed ``filepath`` the file then always holds the best
        model). False saves after every epoch.
    mode : {"auto", "min", "max"}, default "auto"

    Attributes
    ----------
    best : float
        Best monitored value saved so far in this run.

    Notes
    -----
    The file is a complete model file (weights, optimiser state, rng state): load it with
    ``lk.load``. Its ``history`` is that of the network's previous completed run, since
    the current run's history is attached when training ends; for a resumable
    checkpoint of the whole run use ``train(checkpoint=...)``. Keras's
    ``save_weights_only``, ``save_freq`` and ``initial_value_threshold`` are not offered:
    files are whole models, written after epochs.
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        mode: str = "auto",
    ) -> None:
        if not isinstance(filepath, str | os.PathLike):
            raise LayerkitTypeError(f"filepath must be a str or path; received {filepath!r}")
        self.filepath = os.fspath(filepath)
        allowed = {"epoch", *_MONITORED}
        try:
            fields = [f for _, f, _, _ in _FORMATTER.parse(self.filepath) if f is not None]
        except ValueError as exc:
            raise LayerkitValueError(
                f"filepath {self.filepath!r} is not a valid format: {exc}"
            ) from None
        for name in fields:
            if name not in allowed:
                raise LayerkitValueError(
                    f"filepath placeholder {{{name}}} is not one of {sorted(allowed)}; "
                    f"received filepath={self.filepath!r}"
                )
        super().__init__(monitor, mode)
        self.verbose = _check_verbose(verbose)
        self.save_best_only = _check_bool(save_best_only, "save_best_only")
        self.best = self._worst()

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self.best = self._worst()
        self._reset_warning()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        if self.save_best_only:
            current = self._current(logs)
            if current is None or not self._better(current, self.best):
                return
            self.best = current
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as exc:
            raise LayerkitValueError(
                f"ModelCheckpoint filepath {self.filepath!r} needs {exc.args[0]!r}, which "
                f"epoch {epoch + 1}'s logs lack (they hold {', '.join(logs)}); validation "
                "quantities need validation data"
            ) from None
        written = self.model.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved model to {written}")


class CSVLogger(KerasCallback):
    """Keras's ``CSVLogger``: one row per epoch, ``epoch`` first (0-based, as Keras writes
    it), then the epoch's logs in sorted order (``accuracy``, ``learning_rate``, ``loss``,
    ``val_accuracy``, ``val_loss``).

    Parameters
    ----------
    filename : str or path
    separator : str, default ","
        One character.
    append : bool, default False
        Append to an existing file (the header is written only if the file is empty or
        new) instead of overwriting it.
    """

    def __init__(
        self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False
    ) -> None:
        if not isinstance(filename, str | os.PathLike):
            raise LayerkitTypeError(f"filename must be a str or path; received {filename!r}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise LayerkitValueError(
                f"separator must be one character; received separator={separator!r}"
            )
        self.filename = Path(filename)
        self.sep = separator
        self.append = _check_bool(append, "append")
        self.keys: list[str] | None = None
        self._file: Any = None
        self._writer: Any = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        existing = self.append and self.filename.exists() and self.filename.stat().st_size > 0
        self._header = not existing
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.sep, lineterminator="\n")
            if self._header:
                self._writer.writerow(["epoch", *self.keys])
        self._writer.writerow([epoch, *(logs.get(k, "NA") for k in self.keys)])
        self._file.flush()

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None


def _arity(function: Callable[..., Any]) -> int:
    """How many positional arguments ``function`` takes (2 when it takes any number)."""
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


class LearningRateScheduler(KerasCallback):
    """Keras's ``LearningRateScheduler``: ``schedule(epoch, lr)`` sets each epoch's rate.

    At the start of every epoch, ``self.model.optimizer.learning_rate`` becomes
    ``schedule(epoch, lr)``, with ``epoch`` the 0-based index and ``lr`` the current rate
    (a one-argument ``schedule(epoch)`` works too). It is called after layerkit's own
    schedule (``train(schedule=...)``), so it has the last word.

    Parameters
    ----------
    schedule : callable
    verbose : {0, 1}, default 0
        1 prints each epoch's rate.
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        if not callable(schedule):
            raise LayerkitTypeError(f"schedule must be callable; received {schedule!r}")
        self.schedule = schedule
        self.verbose = _check_verbose(verbose)
        self._two = _arity(schedule) >= 2

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        optimizer = self.model.optimizer
        lr = float(optimizer.learning_rate)
        new = self.schedule(epoch, lr) if self._two else self.schedule(epoch)
        optimizer.learning_rate = check_real(
            new, f"schedule({epoch}) (the learning rate)", low=0.0, low_inclusive=False
        )
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")


class ReduceLROnPlateau(_Monitoring):
    """Keras's ``ReduceLROnPlateau``: multiply the rate by ``factor`` on a plateau.

    After each epoch, the value improves when it beats the best by more than
    ``min_delta``; otherwise (outside a cooldown) ``wait`` grows, and when it reaches
    ``patience`` the optimiser's rate becomes ``max(lr * factor, min_lr)`` (if
    ``lr > min_lr``), ``wait`` restarts and ``cooldown`` epochs pass before epochs count
    again. The new rate is used from the next epoch on; layerkit's schedule
    (``train(schedule=...)``) continues from it.

    Parameters
    ----------
    monitor : str, default "val_loss"
    factor : float, default 0.1
        ``0 < factor < 1``.
    patience : int, default 10
    verbose : {0, 1}, default 0
    mode : {"auto", "min", "max"}, default "auto"
    min_delta : float, default 1e-4
    cooldown : int, default 0
    min_lr : float, default 0
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(monitor, mode)
        self.factor = check_real(
            factor, "factor", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        self.patience = check_positive_int(patience, "patience", minimum=0)
        self.verbose = _check_verbose(verbose)
        self.min_delta = check_real(min_delta, "min_delta", low=0.0)
        self.cooldown = check_positive_int(cooldown, "cooldown", minimum=0)
        self.min_lr = check_real(min_lr, "min_lr", low=0.0)
        self.on_train_begin()

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self.best = self._worst()
        self.wait = 0
        self.cooldown_counter = 0
        self._reset_warning()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        current = self._current(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current, self.best, self.min_delta):
            self.best = current
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        optimizer = self.model.optimizer
        old = float(optimizer.learning_rate)
        if old > self.min_lr:
            optimizer.learning_rate = max(old * self.factor, self.min_lr)
            if self.verbose:
                print(
                    f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                    f"{optimizer.learning_rate}."
                )
            self.cooldown_counter = self.cooldown
            self.wait = 0


class TerminateOnNaN(KerasCallback):
    """Keras's ``TerminateOnNaN``: stop when a loss is NaN or infinite.

    It watches each batch's ``loss`` and, after each epoch, ``loss`` and ``val_loss``.
    layerkit's loop already stops on a non-finite training cost and restores the weights
    (``train(on_divergence=...)``); this callback also stops on a non-finite validation
    loss, which the loop does not judge. The stop counts as a callback's
    (``history.stop_reason == "callback"``).
    """

    def _check(self, logs: dict[str, float] | None, keys: tuple[str, ...], where: str) -> None:
        for key in keys:
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(value):
                print(f"{where}: invalid {key} {value}, terminating training")
                self.model.stop_training = True
                return

    def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self._check(logs, ("loss",), f"Batch {batch}")

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._check(logs, ("loss", "val_loss"), f"Epoch {epoch + 1}")


class LambdaCallback(KerasCallback):
    """Keras's ``LambdaCallback``: a callback from functions with Keras's signatures.

    Parameters
    ----------
    on_epoch_begin, on_epoch_end : callable, optional
        ``f(epoch, logs)``.
    on_batch_end : callable, optional
        ``f(batch, logs)``.
    on_train_begin, on_train_end : callable, optional
        ``f(logs)``.

    Examples
    --------
    >>> import layerkit as lk
    >>> losses = []
    >>> cb = lk.LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
    """

    def __init__(
        self,
        on_epoch_begin: Callable[[int, dict[str, float]], Any] | None = None,
        on_epoch_end: Callable[[int, dict[str, float]], Any] | None = None,
        on_batch_end: Callable[[int, dict[str, float]], Any] | None = None,
        on_train_begin: Callable[[dict[str, float]], Any] | None = None,
        on_train_end: Callable[[dict[str, float]], Any] | None = None,
    ) -> None:
        given = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_batch_end": on_batch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
        }
        for name, function in given.items():
            if function is not None and not callable(function):
                raise LayerkitTypeError(f"{name} must be callable or None; received {function!r}")
            if function is not None:
                setattr(self, name, function)  # an instance attribute replaces the hook
