"""Training: :func:`train` behind :meth:`layerkit.Network.train`, and :func:`evaluate`.

The package has one module per job:

* :mod:`~layerkit.training.config`: the options of ``train()``, checked and resolved;
* :mod:`~layerkit.training.data`: data checks, the validation split, batching, evaluation;
* :mod:`~layerkit.training.loop`: epochs, steps, divergence, checkpoints;
* :mod:`~layerkit.training.progress`: the progress bar.

Everything is validated before any state changes, so a bad argument leaves the network,
its optimiser and its history exactly as they were.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._validation import LayerkitValueError
from ..callbacks import History
from .config import TrainConfig, configure
from .data import evaluate_data, prepare, split
from .loop import CheckpointFiles, DivergenceError, DivergenceWarning, Loop

if TYPE_CHECKING:
    from ..network import Network

__all__ = [
    "CheckpointFiles",
    "DivergenceError",
    "DivergenceWarning",
    "Evaluation",
    "TrainConfig",
    "evaluate",
    "train",
]

# A diverging run overflows before its cost turns non-finite; the loop detects that and
# reports it once (on_divergence), so NumPy's floating-point warnings would only repeat it.
_QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore", "under": "ignore"}


class Evaluation(NamedTuple):
    """Result of :meth:`Network.evaluate`: unpack as ``cost, accuracy = ...``."""

    cost: float
    accuracy: float | None


def evaluate(net: Network, X: Any, y: Any, *, sample_weight: Any = None) -> Evaluation:
    """Objective and accuracy of ``net`` on ``(X, y)``; see :meth:`Network.evaluate`."""
    data = prepare(net, X, y, sample_weight, None, "X", "y")
    with np.errstate(**_QUIET):
        return Evaluation(*evaluate_data(net, data))


def train(
    net: Network,
    X: Any,
    y: Any,
    X_val: Any = None,
    y_val: Any = None,
    *,
    sample_weight: Any = None,
    class_weight: Any = None,
    sample_weight_val: Any = None,
    checkpoint_files: Any = None,
    **options: Any,
) -> History:
    """Train ``net``; see :meth:`Network.train` for the parameters.

    ``sample_weight_val`` (shape ``(n_val,)``, checked as ``sample_weight``) weights the
    validation cost as ``sample_weight`` weights the training cost, ``(1/n) sum_i w_i c_i``
    (Keras's ``validation_data=(x_val, y_val, sample_weight_val)``); it needs ``X_val``.
    Validation accuracy stays unweighted, as Keras's ``metrics=["accuracy"]``.

    ``checkpoint_files`` provides ``write_checkpoint``, ``read_checkpoint`` and
    ``apply_checkpoint`` (:mod:`layerkit.io`, passed in by ``Network.train``): the loop
    does not depend on the file format.
    """
    cfg = configure(net, **options)
    if (cfg.checkpoint is not None or cfg.resume is not None) and checkpoint_files is None:
        raise LayerkitValueError(
            "checkpoint and resume need the checkpoint files of layerkit.io; call "
            "Network.train, which provides them"
        )
    resumed = None
    if cfg.resume is not None:
        # read and checked in full before anything changes
        resumed = checkpoint_files.read_checkpoint(net, cfg.resume)
    # X's values are checked as the first epoch reads them, not in a pass of their own
    # (the loop's first-layer witness), when a failure can undo the whole call
    defer = resumed is None and cfg.validation_split is None
    train_data = prepare(net, X, y, sample_weight, class_weight, "X", "y", defer_values=defer)
    val_data = None
    split_state = None
    if sample_weight_val is not None and X_val is None:
        raise LayerkitValueError(
            "sample_weight_val weights X_val and y_val, and none were given"
            + (
                " (with validation_split the held-out rows keep their sample_weight)"
                if cfg.validation_split is not None
                else ""
            )
        )
    if cfg.validation_split is not None:
        if X_val is not None or y_val is not None:
            raise LayerkitValueError("give either X_val/y_val or validation_split, not both")
        stored = resumed.training.get("split_state") if resumed is not None else None
        split_state = stored or net.rng.bit_generator.state
        rng = np.random.Generator(type(net.rng.bit_generator)())
        rng.bit_generator.state = split_state
        train_data, val_data = split(rng, train_data, cfg.validation_split)
        split_rng_after = rng.bit_generator.state
    elif (X_val is None) != (y_val is None):
        raise LayerkitValueError(
            "X_val and y_val go together; received "
            + ("X_val without y_val" if y_val is None else "y_val without X_val")
        )
    elif X_val is not None:
        val_data = prepare(
            net, X_val, y_val, sample_weight_val, None, "X_val", "y_val", "sample_weight_val"
        )
    if cfg.stopper is not None and val_data is None:
        raise LayerkitValueError(
            f"early_stopping={options.get('early_stopping')!r} needs validation data: pass "
            "X_val and y_val, or validation_split"
        )

    if resumed is None:
        cfg.optimizer.check_params([p for _, _, p in net.parameters()])

    # ------------------------------------------------------------ run: state changes now
    undo = None if train_data.values_checked else _undo_point(net, cfg)
    if cfg.validation_split is not None and resumed is None:
        net.rng.bit_generator.state = split_rng_after  # the split drew from the network's rng
    if resumed is not None:
        checkpoint_files.apply_checkpoint(net, resumed)
        if net.optimizer is not None and resumed.optimizer is not None:
            cfg.optimizer = net.optimizer
    elif cfg.learning_rate is not None:
        cfg.optimizer.learning_rate = cfg.optimizer.initial_learning_rate = cfg.learning_rate
    net.optimizer = cfg.optimizer
    net.stop_training = False
    if cfg.stopper is not None and resumed is None:
        cfg.stopper.reset()
    loop = Loop(
        net, cfg, train_data, val_data, files=checkpoint_files, split_state=split_state, undo=undo
    )
    first = 1 if resumed is None else loop.resume_from(resumed.training, resumed.arrays)
    with net.penalty_scope(cfg.penalty), np.errstate(**_QUIET):
        history = loop.run(first)
    net.history = history
    return history


def _undo_point(net: Network, cfg: TrainConfig) -> Callable[[], None]:
    """A function that puts back all that ``train()`` changes in the model: weights and
    state, gradients, the network's optimiser and everything in it, the generator, the
    stop flag, the schedule's and the stopping criterion's progress. Taken before the
    first change; called when the first epoch finds a non-finite input."""
    weights = net.get_weights()
    grads = [
        (layer.grads, key, layer.grads[key].copy()) for layer in net.layers for key in layer.grads
    ]
    optimizer, restore_optimizer = net.optimizer, cfg.optimizer.snapshot()
    rng, stop = net.rng.bit_generator.state, net.stop_training
    schedule = copy.deepcopy(cfg.schedule.get_state())
    stopper = None if cfg.stopper is None else copy.deepcopy(cfg.stopper.get_state())

    def undo() -> None:
        for variable, saved in zip(net.variables(), weights, strict=True):
            np.copyto(variable, saved)
        for layer_grads, key, saved in grads:
            np.copyto(layer_grads[key], saved)
        restore_optimizer()
        net.optimizer = optimizer
        net.rng.bit_generator.state = rng
        net.stop_training = stop
        cfg.schedule.set_state(schedule)
        if cfg.stopper is not None:
            cfg.stopper.set_state(stopper)

    return undo
