"""Keras's ``compile`` and ``fit``, mapped onto :meth:`layerkit.Network.train`.

:meth:`Network.fit` and :meth:`Network.compile` are thin facades over these functions and
carry the documentation. Everything is checked before anything changes: a refused call
leaves the network, its optimiser and its history as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._validation import LayerkitTypeError, LayerkitValueError, check_positive_int, check_real
from .callbacks import History, fit_callbacks
from .losses import get_loss
from .optimizers import get_optimizer

if TYPE_CHECKING:
    from .network import Network

__all__ = ["compile_model", "fit"]

_KERAS_BATCH_SIZE = 32  # Keras's fit() trains batches of 32 when batch_size is None
_ACCURACY_NAMES = ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy")


def compile_model(
    net: Network,
    optimizer: Any = "rmsprop",
    loss: Any = None,
    metrics: Any = None,
    *,
    learning_rate: float | None = None,
) -> None:
    """Choose the optimiser of later ``fit`` calls; see :meth:`Network.compile`."""
    if loss is not None:
        wanted = get_loss(loss)
        own = net.loss_fn
        # a subclass is the same cost under another name (sparse_categorical_crossentropy)
        same = isinstance(own, type(wanted)) or isinstance(wanted, type(own))
        if not same or wanted.from_logits != own.from_logits:
            raise LayerkitValueError(
                f"a layerkit network's loss is chosen when it is built "
                f"(Network(layers, loss=...)); this network's is {own.name!r}"
                f"{' (from_logits=True)' if own.from_logits else ''}, received loss={loss!r}"
            )
    if metrics is not None:
        names = [metrics] if isinstance(metrics, str) else metrics
        if not isinstance(names, Sequence) or any(m not in _ACCURACY_NAMES for m in names):
            raise LayerkitValueError(
                f"metrics may only name accuracy ({', '.join(_ACCURACY_NAMES)}), which "
                "training logs for class targets anyway; compute other metrics with "
                f"layerkit.metrics on predict()'s output. Received metrics={metrics!r}"
            )
    if learning_rate is not None:
        learning_rate = check_real(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    if not isinstance(optimizer, str) and not hasattr(optimizer, "step"):
        raise LayerkitTypeError(
            f"optimizer must be a name or an Optimizer instance; received {optimizer!r}"
        )
    chosen = get_optimizer(optimizer, learning_rate)
    if learning_rate is not None:
        chosen.learning_rate = chosen.initial_learning_rate = learning_rate
    net.optimizer = chosen


def fit(
    net: Network,
    x: Any,
    y: Any,
    batch_size: int | None = None,
    epochs: int = 1,
    verbose: Any = "auto",
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
) -> History:
    """Keras's ``fit``; see :meth:`Network.fit`."""
    epochs = check_positive_int(epochs, "epochs", minimum=0)
    initial_epoch = check_positive_int(initial_epoch, "initial_epoch", minimum=0)
    if initial_epoch > epochs:
        raise LayerkitValueError(
            f"initial_epoch must be at most epochs (the index of the last epoch to train); "
            f"received initial_epoch={initial_epoch}, epochs={epochs}"
        )
    if verbose == "auto":
        verbose = 1
    if batch_size is None:
        batch_size = _KERAS_BATCH_SIZE
    x_val = y_val = w_val = None
    if validation_data is not None:
        x_val, y_val, w_val = _check_validation_data(validation_data)
        validation_split = None  # Keras: validation_data overrides validation_split
    options: dict[str, Any] = {
        "epochs": epochs - initial_epoch,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "optimizer": optimizer,
        "validation_split": validation_split,
        "sample_weight": sample_weight,
        "class_weight": class_weight,
        "shuffle": shuffle,
        "verbose": verbose,
        "callbacks": fit_callbacks(callbacks, initial_epoch),
    }
    return net.train(x, y, x_val, y_val, sample_weight_val=w_val, **options)


def _check_validation_data(validation_data: Any) -> tuple[Any, Any, Any]:
    if not isinstance(validation_data, tuple | list) or len(validation_data) not in (2, 3):
        raise LayerkitTypeError(
            "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
            f"sample_weight_val); received {type(validation_data).__name__}"
            + (
                f" of length {len(validation_data)}"
                if isinstance(validation_data, tuple | list)
                else ""
            )
        )
    x_val, y_val, *rest = validation_data
    return x_val, y_val, (rest[0] if rest else None)
