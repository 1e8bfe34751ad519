"""Training history, callbacks and early-stopping criteria."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ._validation import check_positive_int, check_real

__all__ = ["Callback", "CallbackList", "EarlyStopping", "History", "Patience", "ValidationWindow"]


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

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a history from :meth:`as_dict`'s output."""
        return cls(**data)


class Callback:
    """Hooks called by ``train()``. Override the ones you need.

    To stop training, set ``network.stop_training = True``: the loop ends after the
    current batch (from ``on_batch_end``) or epoch (from ``on_epoch_end``).
    """

    def on_train_begin(self, network: Any) -> None:
        """Before the first epoch."""

    def on_epoch_end(self, network: Any, epoch: int, logs: dict[str, float]) -> None:
        """After each epoch; ``logs`` holds that epoch's history entries."""

    def on_batch_end(self, network: Any, batch: int, logs: dict[str, float]) -> None:
        """After each optimiser step; ``logs`` holds ``cost`` and ``size`` of the batch."""

    def on_train_end(self, network: Any, history: History) -> None:
        """After the last epoch (also after an early stop or an interruption)."""


class CallbackList:
    """The callbacks of one ``train()`` run, called in order by the training loop.

    The loop talks to its callbacks only through this object, so the interface a callback
    implements is decided here.
    """

    def __init__(self, callbacks: list[Any], model: Any) -> None:
        self.callbacks = list(callbacks)
        self.model = model

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def on_train_begin(self) -> None:
        for cb in self.callbacks:
            cb.on_train_begin(self.model)

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        for cb in self.callbacks:
            cb.on_batch_end(self.model, batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(self.model, epoch, logs)

    def on_train_end(self, history: History) -> None:
        for cb in self.callbacks:
            cb.on_train_end(self.model, history)


class EarlyStopping:
    """Base class of validation-based stopping criteria.

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


class ValidationWindow(EarlyStopping):
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


class Patience(EarlyStopping):
    """Keras's ``EarlyStopping(monitor="val_loss", restore_best_weights=True)``.

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
