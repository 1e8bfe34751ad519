"""The ``Input`` layer: declares the shape of one sample."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import LayerkitTypeError, LayerkitValueError
from .base import Layer

__all__ = ["Input"]


class Input(Layer):
    """First layer of every network: fixes the shape of one sample.

    The forward pass returns its input unchanged and the backward pass its gradient.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of one sample, batch axis excluded: ``Input(784)`` for flattened 28x28
        images. (Seed 002 writes it ``Input(output_size=784)``.)
    name : str, optional
    """

    def __init__(self, shape: int | tuple[int, ...], *, name: str | None = None) -> None:
        super().__init__(name=name)
        if isinstance(shape, bool):
            raise LayerkitTypeError(
                f"Input shape must be an int or tuple of ints; received {shape!r}"
            )
        dims = (shape,) if isinstance(shape, int | np.integer) else shape
        try:
            dims = tuple(dims)
        except TypeError:
            raise LayerkitTypeError(
                f"Input shape must be an int or tuple of ints; received {shape!r}"
            ) from None
        if not dims or any(
            isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1 for d in dims
        ):
            raise LayerkitValueError(
                f"Input shape must be positive integers, e.g. Input(784); received shape={shape!r}"
            )
        self.shape = tuple(int(d) for d in dims)
        self.input_shape = self.output_shape = self.shape
        self.built = True

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out

    def get_config(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Input:
        config = dict(config)
        config["shape"] = tuple(config["shape"])
        return cls(**config)
