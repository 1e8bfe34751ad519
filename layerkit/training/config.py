"""The arguments of ``train()``: checked and resolved before anything changes.

:func:`configure` turns the keyword arguments of :meth:`layerkit.Network.train` (the one
place they are documented) into a :class:`TrainConfig`, raising on the first bad one, so a
refused call leaves the network, its optimiser and its history exactly as they were.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import LayerkitTypeError, LayerkitValueError, check_positive_int, check_real
from ..callbacks import Callback, StoppingCriterion, ValidationWindow, check_callbacks
from ..optimizers import Optimizer, get_optimizer
from ..schedules import Schedule, get_schedule
from .data import check_fraction

__all__ = ["TrainConfig", "configure"]


@dataclass
class TrainConfig:
    """Checked options of one ``train()`` call (see :meth:`layerkit.Network.train`)."""

    epochs: int
    batch_size: int | None
    learning_rate: float | None
    optimizer: Optimizer
    schedule: Schedule
    penalty: float | None
    stopper: StoppingCriterion | None
    validation_split: float | None
    shuffle: bool | str
    verbose: int
    callbacks: list[Callback] = field(default_factory=list)
    on_divergence: str = "warn"
    checkpoint: Any = None
    checkpoint_every: int = 1
    resume: Any = None


def configure(
    net: Any,
    *,
    epochs: Any = 1,
    batch_size: Any = 32,
    learning_rate: Any = None,
    optimizer: Any = None,
    schedule: Any = None,
    penalty: Any = None,
    early_stopping: Any = None,
    validation_split: Any = None,
    shuffle: Any = True,
    verbose: Any = 1,
    callbacks: Any = None,
    on_divergence: Any = "warn",
    checkpoint: Any = None,
    checkpoint_every: Any = 1,
    resume: Any = None,
) -> TrainConfig:
    """Check every option of ``train()``; see :meth:`layerkit.Network.train`."""
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
    callbacks = check_callbacks(callbacks)
    stopper = _check_early_stopping(early_stopping)
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    for name, value in (("checkpoint", checkpoint), ("resume", resume)):
        if value is not None and not isinstance(value, str | os.PathLike):
            raise LayerkitTypeError(f"{name} must be a checkpoint file path; received {value!r}")
    opt = _resolve_optimizer(net, optimizer, learning_rate)
    sched = get_schedule(schedule)
    if sched.line_search and not opt.steps_along_gradient:
        raise LayerkitValueError(
            f"the {sched.name} schedule (seed 002, Algorithm 1) needs optimizer='sgd' without "
            f"momentum, since it rescales one fixed step -eta*grad; received optimizer={opt!r}"
        )
    if validation_split is not None:
        validation_split = check_fraction(validation_split)
    return TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=opt,
        schedule=sched,
        penalty=penalty,
        stopper=stopper,
        validation_split=validation_split,
        shuffle=shuffle,
        verbose=int(verbose),
        callbacks=callbacks,
        on_divergence=on_divergence,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        resume=resume,
    )


def _check_early_stopping(early_stopping: Any) -> StoppingCriterion | None:
    if early_stopping is None or early_stopping is False:
        return None
    if isinstance(early_stopping, StoppingCriterion):
        return early_stopping
    if isinstance(early_stopping, bool) or not isinstance(early_stopping, int | np.integer):
        raise LayerkitTypeError(
            "early_stopping must be a window size s (int), a StoppingCriterion (ValidationWindow, "
            "Patience) or None (the EarlyStopping callback goes in callbacks=[...]); "
            f"received {early_stopping!r}"
        )
    return ValidationWindow(int(early_stopping))


def _resolve_optimizer(net: Any, spec: Any, learning_rate: float | None) -> Optimizer:
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
