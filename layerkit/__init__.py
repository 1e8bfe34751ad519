"""layerkit: an object-oriented, Keras-style neural-network framework in NumPy and SciPy.

>>> import layerkit as lk
>>> net = lk.Network([lk.Input(64), lk.Dense(32, "relu"), lk.Dense(10, "softmax")], seed=0)
"""

from . import datasets, metrics, model_selection, preprocessing
from ._validation import LayerkitTypeError, LayerkitValueError
from ._version import __version__
from .activations import (
    ActivationFunction,
    available_activations,
    get_activation,
    register_activation,
)
from .callbacks import Callback, EarlyStopping, History, Patience, ValidationWindow
from .gradcheck import GradcheckReport, ParamCheck, gradcheck
from .io import ModelFileError, load, register_layer, save
from .layers import Activation, Dense, Dropout, Input, Layer
from .losses import Loss, available_losses, get_loss
from .metrics import accuracy, classification_report, confusion_matrix, precision_recall_f1
from .model_selection import cross_validate, kfold_indices, train_test_split, train_val_test_split
from .network import Network
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
    "Callback",
    "Constant",
    "Dense",
    "DivergenceError",
    "DivergenceWarning",
    "Dropout",
    "EarlyStopping",
    "Evaluation",
    "GradcheckReport",
    "GrowAndSlash",
    "History",
    "Input",
    "Layer",
    "LayerkitTypeError",
    "LayerkitValueError",
    "Loss",
    "MinMaxScaler",
    "ModelFileError",
    "Network",
    "Optimizer",
    "ParamCheck",
    "Patience",
    "RMSProp",
    "Schedule",
    "StandardScaler",
    "StepDecay",
    "SweepResult",
    "TimeDecay",
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
    "to_labels",
    "train_test_split",
    "train_val_test_split",
]
