"""layerkit: an object-oriented, Keras-style neural-network framework in NumPy and SciPy.

>>> import layerkit as lk
>>> net = lk.Network([lk.Input(64), lk.Dense(32, "relu"), lk.Dense(10, "softmax")], seed=0)
"""

from typing import Any

from . import datasets, metrics, model_selection, preprocessing, testing
from ._validation import LayerkitTypeError, LayerkitValueError
from ._version import __version__
from .activations import (
    ActivationFunction,
    available_activations,
    get_activation,
    register_activation,
)
from .callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    KerasCallback,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    Patience,
    ReduceLROnPlateau,
    StoppingCriterion,
    TerminateOnNaN,
    ValidationWindow,
)
from .explain import ExerciseSheet, Trace, exercise_sheet, explain
from .gradcheck import GradcheckReport, ParamCheck, gradcheck
from .io import ModelFileError, load, register_layer, save
from .layers import Activation, BatchNormalization, Dense, Dropout, Flatten, Input, Layer
from .losses import Loss, available_losses, get_loss
from .metrics import accuracy, classification_report, confusion_matrix, precision_recall_f1
from .model_selection import cross_validate, kfold_indices, train_test_split, train_val_test_split
from .network import Network
from .notebook import LivePlot
from .optimizers import SGD, Adam, Optimizer, RMSProp, available_optimizers, get_optimizer
from .preprocessing import MinMaxScaler, StandardScaler, one_hot, to_labels
from .schedules import Constant, GrowAndSlash, Schedule, StepDecay, TimeDecay, get_schedule

# After this line ``layerkit.sweep`` is the function; the package's other names are
# imported from ``layerkit.sweep`` as usual. It loads no joblib or dask.
from .sweep import SweepResult, sweep
from .training import DivergenceError, DivergenceWarning, Evaluation

__all__ = [
    "SGD",
    "Activation",
    "ActivationFunction",
    "Adam",
    "BatchNormalization",
    "CSVLogger",
    "Callback",
    "Constant",
    "Dense",
    "DivergenceError",
    "DivergenceWarning",
    "Dropout",
    "EarlyStopping",
    "Evaluation",
    "ExerciseSheet",
    "Flatten",
    "GradcheckReport",
    "GrowAndSlash",
    "History",
    "Input",
    "KerasCallback",
    "LambdaCallback",
    "Layer",
    "LayerkitTypeError",
    "LayerkitValueError",
    "LearningRateScheduler",
    "LivePlot",
    "Loss",
    "MinMaxScaler",
    "ModelCheckpoint",
    "ModelFileError",
    "Network",
    "Optimizer",
    "ParamCheck",
    "Patience",
    "RMSProp",
    "ReduceLROnPlateau",
    "Schedule",
    "StandardScaler",
    "StepDecay",
    "StoppingCriterion",
    "SweepResult",
    "TerminateOnNaN",
    "TimeDecay",
    "Trace",
    "ValidationWindow",
    "__version__",
    "accuracy",
    "available_activations",
    "available_losses",
    "available_optimizers",
    "classification_report",
    "confusion_matrix",
    "cross_validate",
    "datasets",
    "exercise_sheet",
    "explain",
    "get_activation",
    "get_loss",
    "get_optimizer",
    "get_schedule",
    "gradcheck",
    "kfold_indices",
    "load",
    "metrics",
    "model_selection",
    "one_hot",
    "precision_recall_f1",
    "preprocessing",
    "register_activation",
    "register_layer",
    "save",
    "sweep",
    "testing",
    "to_labels",
    "train_test_split",
    "train_val_test_split",
]


def __getattr__(name: str) -> Any:
    # layerkit.sklearn and layerkit.export need optional extras: imported on first use, so
    # that `import layerkit` never imports scikit-learn or onnx.
    if name in ("sklearn", "export"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'layerkit' has no attribute {name!r}")
