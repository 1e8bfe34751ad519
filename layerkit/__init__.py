"""layerkit: an object-oriented, Keras-style neural-network framework in NumPy and SciPy."""

from ._validation import LayerkitTypeError, LayerkitValueError
from ._version import __version__
from .activations import (
    ActivationFunction,
    available_activations,
    get_activation,
    register_activation,
)
from .gradcheck import GradcheckReport, ParamCheck, gradcheck
from .layers import Activation, Dense, Dropout, Input, Layer
from .losses import Loss, available_losses, get_loss
from .network import Network

__all__ = [
    "Activation",
    "ActivationFunction",
    "Dense",
    "Dropout",
    "GradcheckReport",
    "Input",
    "Layer",
    "LayerkitTypeError",
    "LayerkitValueError",
    "Loss",
    "Network",
    "ParamCheck",
    "__version__",
    "available_activations",
    "available_losses",
    "get_activation",
    "get_loss",
    "gradcheck",
    "register_activation",
]
