"""Layers: one class per module."""

from .activation import Activation
from .base import Layer
from .batch_normalization import BatchNormalization
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .input import Input

__all__ = ["Activation", "BatchNormalization", "Dense", "Dropout", "Flatten", "Input", "Layer"]
