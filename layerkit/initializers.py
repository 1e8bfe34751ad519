"""Weight initialisers.

Each initialiser is a function ``init(rng, shape) -> float64 array``; layers cast the
result to their dtype, so float32 and float64 networks built with one seed start from the
same weights (up to rounding). For a ``Dense`` weight of shape ``(fan_in, fan_out)``:

================  ==============================================================
name              distribution
================  ==============================================================
glorot_uniform    U(-l, l), l = sqrt(6 / (fan_in + fan_out))  (default for tanh, sigmoid, softmax, linear)
glorot_normal     N(0, 2 / (fan_in + fan_out))
he_normal         N(0, 2 / fan_in)  (default for relu, leaky_relu, elu)
he_uniform        U(-l, l), l = sqrt(6 / fan_in)
uniform           U[-0.5, 0.5), the documents' choice (seed 000)
zeros, ones       constants (biases start at zero)
================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validation import LayerkitValueError

__all__ = ["available_initializers", "default_kernel_initializer", "get_initializer"]

Initializer = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    return int(np.prod(shape[:-1])), int(shape[-1])


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def glorot_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    fan_in, _ = _fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def he_uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    fan_in, _ = _fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape)


def uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.random(size=shape) - 0.5


def zeros(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.zeros(shape)


def ones(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.ones(shape)


_INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "uniform": uniform,
    "zeros": zeros,
    "ones": ones,
}
_HE_ACTIVATIONS = frozenset({"relu", "leaky_relu", "elu"})


def available_initializers() -> list[str]:
    """Names accepted by :func:`get_initializer`."""
    return sorted(_INITIALIZERS)


def get_initializer(spec: str | Initializer, *, argument: str = "initializer") -> Initializer:
    """Return the initialiser named ``spec`` (a callable is returned unchanged).

    A callable must accept ``(rng, shape)`` and return an array of that shape.
    """
    if callable(spec):
        return spec
    if isinstance(spec, str) and spec.lower() in _INITIALIZERS:
        return _INITIALIZERS[spec.lower()]
    raise LayerkitValueError(
        f"{argument} must be one of {available_initializers()} or a callable (rng, shape); "
        f"received {spec!r}"
    )


def default_kernel_initializer(activation_name: str) -> str:
    """He for the ReLU family, Glorot otherwise."""
    return "he_normal" if activation_name in _HE_ACTIVATIONS else "glorot_uniform"
