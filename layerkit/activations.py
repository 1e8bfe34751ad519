"""Activation functions and their registry.

An activation is an object with ``__call__(z, out)`` computing ``a = f(z)`` and
``backward(z, a, grad, out)`` computing the vector-Jacobian product ``grad * f'(z)``
(for softmax, the full Jacobian product). Both write into ``out`` when it is given, so the
layers that own the buffers allocate nothing.

``Dense(..., activation=...)`` and ``Activation(...)`` look names up here; users add their
own with :func:`register_activation`.

The documents' activations (seed 000 sections 2-5; seed 002 section 2):

==============  =====================================  ====================================
name            f(z)                                   f'(z)
==============  =====================================  ====================================
identity        z                                      1
sigmoid         1 / (1 + e^{-z})                       a (1 - a)
tanh            tanh z                                 1 - a^2
relu            max(0, z)                              1 if z > 0 else 0 (0 at z = 0)
leaky_relu      z if z > 0 else alpha z                1 if z > 0 else alpha
elu             z if z > 0 else alpha (e^z - 1)        1 if z > 0 else a + alpha
softmax         e^{z_k} / sum_j e^{z_j}                a_k (delta_kj - a_j)
tsin            y with (y-x) = sqrt2 A sin((x+y)/sqrt2)  (1 + A cos u) / (1 - A cos u)
==============  =====================================  ====================================
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ._rows import RowReducer
from ._validation import LayerkitTypeError, LayerkitValueError

__all__ = [
    "ELU",
    "ActivationFunction",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "TSin",
    "Tanh",
    "available_activations",
    "get_activation",
    "register_activation",
]


class ActivationFunction:
    """Base class of activations.

    Subclasses set ``name`` and implement :meth:`__call__` and :meth:`derivative`; the
    default :meth:`backward` multiplies the incoming gradient by the derivative. Override
    ``backward`` when the Jacobian is not diagonal (softmax) or for speed.

    Attributes
    ----------
    name : str
        Registry name.
    kinks : tuple of float
        Inputs at which ``f`` is not differentiable (``gradcheck`` reports finite differences
        that straddle them as kinks rather than failures).
    """

    name: ClassVar[str] = "activation"
    kinks: ClassVar[tuple[float, ...]] = ()

    def kink_signature(self, z: np.ndarray) -> np.ndarray | None:
        """For each value of ``z``, which side of each of :attr:`kinks` it lies on.

        Layers return it from :meth:`layerkit.Layer.kink_signature`; ``None`` when the
        function has no kinks.
        """
        if not self.kinks:
            return None
        return np.stack([z > k for k in self.kinks])

    def __call__(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def log_normalizer(self, z: np.ndarray) -> np.ndarray | None:
        """``log sum_k exp(z_k)`` of each row of ``z`` if the last call, on this very ``z``,
        computed it on the way (softmax does), else ``None``.

        Cross-entropy then takes its cost from the logits without another pass over them.
        """
        return None

    def derivative(self, z: np.ndarray, a: np.ndarray | None = None) -> np.ndarray:
        """Elementwise ``f'(z)``; ``a = f(z)`` may be passed to save recomputing it."""
        raise NotImplementedError(f"{self.name} has no elementwise derivative")

    def backward(
        self, z: np.ndarray, a: np.ndarray, grad: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Return ``grad * f'(z)``, the gradient with respect to ``z``."""
        return np.multiply(grad, self.derivative(z, a), out=out)

    def get_config(self) -> dict[str, Any]:
        """Keyword parameters that rebuild this activation with :func:`get_activation`."""
        return {}

    def __getstate__(self) -> dict[str, Any]:
        # the buffers are caches: rebuilt after unpickling, never restored (a read-only
        # memory map could not be written into)
        state = dict(self.__dict__)
        state.pop("_buffers", None)
        state.pop("_last", None)
        return state

    def _buffer(self, name: str, x: np.ndarray, dtype: Any, make: Callable) -> np.ndarray:
        """``make(x.shape, dtype)``, kept between calls (no allocation): grown only for a
        larger batch, and its first rows returned for a smaller one."""
        buffers = self.__dict__.setdefault("_buffers", {})
        buf = buffers.get(name)
        if (
            buf is None
            or buf.shape[0] < x.shape[0]
            or buf.shape[1:] != x.shape[1:]
            or buf.dtype != dtype
        ):
            buf = buffers[name] = make(x.shape, dtype=dtype)
        return buf[: x.shape[0]]

    def _positive(self, x: np.ndarray) -> np.ndarray:
        """``x > 0`` written into a boolean buffer kept between calls (no allocation)."""
        if not isinstance(x, np.ndarray) or x.ndim == 0:
            return np.asarray(x > 0)
        return np.greater(x, 0, out=self._buffer("mask", x, np.dtype(bool), np.empty))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ActivationFunction)
            and self.name == other.name
            and self.get_config() == other.get_config()
        )

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.get_config().items()))))


class Identity(ActivationFunction):
    """``f(z) = z``."""

    name = "identity"

    def __call__(self, z, out=None):
        if out is None:
            return np.array(z, copy=True)
        np.copyto(out, z)
        return out

    def derivative(self, z, a=None):
        return np.ones_like(z)

    def backward(self, z, a, grad, out=None):
        if out is None:
            return np.array(grad, copy=True)
        np.copyto(out, grad)
        return out


def _expit(z, out=None):
    # Imported on first use: scipy.special is about a third of `import layerkit`.
    from scipy.special import expit

    return expit(z, out=out)


class Sigmoid(ActivationFunction):
    """``f(z) = 1 / (1 + exp(-z))``, ``f' = a (1 - a)``.

    Computed by :func:`scipy.special.expit`, which neither overflows nor warns for
    large ``|z|``.
    """

    name = "sigmoid"

    def __call__(self, z, out=None):
        return _expit(z, out=out)

    def derivative(self, z, a=None):
        a = _expit(z) if a is None else a
        return a * (1 - a)

    def backward(self, z, a, grad, out=None):
        # grad * a * (1 - a), written into out without temporaries
        out = np.subtract(1, a, out=_out(out, a))
        out *= a
        out *= grad
        return out


class Tanh(ActivationFunction):
    """``f(z) = tanh z``, ``f' = 1 - a^2``."""

    name = "tanh"

    def __call__(self, z, out=None):
        return np.tanh(z, out=out)

    def derivative(self, z, a=None):
        a = np.tanh(z) if a is None else a
        return 1 - a * a

    def backward(self, z, a, grad, out=None):
        out = np.multiply(a, a, out=_out(out, a))
        np.subtract(1, out, out=out)
        out *= grad
        return out


class ReLU(ActivationFunction):
    """``f(z) = max(0, z)``; ``f'(0) = 0`` as in seed 000's code (``Z > 0``)."""

    name = "relu"
    kinks = (0.0,)

    def __call__(self, z, out=None):
        if not isinstance(z, np.ndarray) or z.ndim == 0 or z.size < 4096:
            return np.maximum(z, 0.0, out=out)
        # against an array of zeros: NumPy's loop for a scalar operand is three times
        # slower, which shows on large batches (on small ones, fetching the buffer costs more)
        return np.maximum(z, self._buffer("zeros", z, z.dtype, np.zeros), out=out)

    def derivative(self, z, a=None):
        z = np.asarray(z)
        return (z > 0).astype(np.result_type(z.dtype, np.float32))

    def backward(self, z, a, grad, out=None):
        # a > 0 exactly where z > 0
        return np.multiply(grad, self._positive(a), out=out)


class LeakyReLU(ActivationFunction):
    """``f(z) = z`` for ``z > 0`` else ``alpha z``; ``f'(0) = alpha``.

    Parameters
    ----------
    alpha : float, default 0.01
        Slope for negative inputs, ``0 <= alpha < 1``.
    """

    name = "leaky_relu"
    kinks = (0.0,)

    def __init__(self, alpha: float = 0.01) -> None:
        alpha = _check_float("alpha", alpha)
        if not 0.0 <= alpha < 1.0:
            raise LayerkitValueError(
                f"leaky_relu alpha must be in [0, 1); received alpha={alpha!r}"
            )
        self.alpha = alpha

    def __call__(self, z, out=None):
        # max(z, alpha z) is z for z > 0 and alpha z otherwise because 0 <= alpha < 1
        out = np.multiply(z, self.alpha, out=_out(out, z))
        return np.maximum(out, z, out=out)

    def derivative(self, z, a=None):
        z = np.asarray(z)
        return np.where(z > 0, 1.0, self.alpha).astype(np.result_type(z.dtype, np.float32))

    def backward(self, z, a, grad, out=None):
        out = np.multiply(grad, self.alpha, out=_out(out, grad))
        np.copyto(out, grad, where=self._positive(z))
        return out

    def get_config(self):
        return {"alpha": self.alpha}


class ELU(ActivationFunction):
    """``f(z) = z`` for ``z > 0`` else ``alpha (e^z - 1)``; ``f' = 1`` or ``a + alpha``.

    Parameters
    ----------
    alpha : float, default 1.0
        Saturation value for negative inputs, ``alpha > 0``.
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        alpha = _check_float("alpha", alpha)
        if not alpha > 0:
            raise LayerkitValueError(f"elu alpha must be > 0; received alpha={alpha!r}")
        self.alpha = alpha

    # The derivative jumps at 0 unless alpha == 1, and even then the second derivative
    # does (0 vs alpha): a finite difference straddling 0 is not accurate to O(h^4).
    kinks = (0.0,)

    def __call__(self, z, out=None):
        out = np.minimum(z, 0, out=_out(out, z))  # exp of positive z would overflow for nothing
        np.expm1(out, out=out)
        out *= self.alpha
        np.copyto(out, z, where=self._positive(z))
        return out

    def derivative(self, z, a=None):
        z = np.asarray(z)
        a = self(z) if a is None else a
        return np.where(z > 0, 1.0, a + self.alpha).astype(np.result_type(z.dtype, np.float32))

    def backward(self, z, a, grad, out=None):
        out = np.add(a, self.alpha, out=_out(out, a))
        out *= grad
        np.copyto(out, grad, where=self._positive(z))
        return out

    def get_config(self):
        return {"alpha": self.alpha}


class Softmax(ActivationFunction):
    """``a_k = exp(z_k - max z) / sum_j exp(z_j - max z)`` over the last axis.

    Subtracting the row maximum changes nothing (seed 002, Proposition 1) and keeps
    ``exp`` from overflowing. The backward pass is the Jacobian product
    ``dz = a * (grad - sum(grad * a))``; followed by cross-entropy the network uses the
    fused error ``dz = a - y`` instead (seed 002, Lemma 2).
    """

    name = "softmax"

    def __init__(self) -> None:
        self._rows = RowReducer()

    def __call__(self, z, out=None):
        if not isinstance(z, np.ndarray) or z.ndim != 2:
            out = np.subtract(z, np.max(z, axis=-1, keepdims=True), out=out)
            np.exp(out, out=out)
            out /= np.sum(out, axis=-1, keepdims=True)
            return out
        # output rows are short: see layerkit._rows for why not np.max / np.sum
        zmax = self._rows.max(z)
        out = np.subtract(z, zmax[:, None], out=out)
        np.exp(out, out=out)
        total = self._rows.sum(out)
        out /= total[:, None]
        self._last = (z, zmax, total)
        return out

    def log_normalizer(self, z):
        # logsumexp(z) = max z + log sum exp(z - max z): both parts are the last call's
        last = self.__dict__.get("_last")
        if last is None or last[0] is not z:
            return None
        _, zmax, total = last
        lse = np.log(total, out=self._rows.scratch("lse"))
        lse += zmax
        return lse

    def backward(self, z, a, grad, out=None):
        out = np.multiply(grad, a, out=out)
        dot = np.add.reduce(out, axis=-1, keepdims=True)
        np.subtract(grad, dot, out=out)
        out *= a
        return out


class TSin(ActivationFunction):
    """The TSin activation of seed 000, section 5.2.

    ``y = f(x)`` is defined implicitly by

    .. math:: (y - x) - \\sqrt{2} A \\sin\\left(\\frac{x + y}{\\sqrt{2}}\\right) = 0,
              \\qquad 0 < A < 1,

    (the graph of ``A sin`` rotated by 45 degrees) and differentiating implicitly,

    .. math:: \\frac{dy}{dx} = \\frac{1 + A\\cos u}{1 - A\\cos u},
              \\qquad u = \\frac{x + y}{\\sqrt{2}}.

    Writing ``y = x + d``, the residual ``g(d) = d - sqrt2 A sin((2x + d)/sqrt2)`` has
    ``g'(d) = 1 - A cos u >= 1 - A > 0``: the root is unique and ``|d| <= sqrt2 A`` brackets
    it. Newton's method on ``d``, kept inside the bracket by bisection, converges for every
    element at once (vectorised), in float64 whatever the layer's dtype.

    Parameters
    ----------
    A : float, default 0.5
        Amplitude, ``0 < A < 1``.
    """

    name = "tsin"
    _MAX_ITER = 60

    def __init__(self, A: float = 0.5) -> None:
        A = _check_float("A", A)
        if not 0.0 < A < 1.0:
            raise LayerkitValueError(
                f"tsin A must be in the open interval (0, 1); received A={A!r}"
            )
        self.A = A

    def solve(self, x: np.ndarray) -> np.ndarray:
        """Solve the implicit equation for ``y`` elementwise, in float64."""
        x = np.asarray(x, dtype=np.float64)
        r2, A = math.sqrt(2.0), self.A
        # sin(u) with u = (x + y)/sqrt2 is periodic: reduce 2x/sqrt2 modulo 2 pi so that
        # huge |x| does not lose the phase (sin of a large float is still exact, but the
        # reduced phase keeps Newton's cos/sin consistent with the residual we test).
        phase = np.remainder(2.0 * x / r2, 2.0 * np.pi)
        lo = np.full_like(x, -r2 * A)
        hi = np.full_like(x, r2 * A)
        d = r2 * A * np.sin(phase)  # one fixed-point step: a good start
        tol = 4 * np.finfo(np.float64).eps
        for _ in range(self._MAX_ITER):
            u = phase + d / r2
            g = d - r2 * A * np.sin(u)
            lo = np.where(g < 0, d, lo)
            hi = np.where(g > 0, d, hi)
            step = g / (1.0 - A * np.cos(u))
            d_new = d - step
            outside = (d_new <= lo) | (d_new >= hi)
            d_new = np.where(outside, 0.5 * (lo + hi), d_new)
            if np.all(np.abs(d_new - d) <= tol * (1.0 + np.abs(d))):
                d = d_new
                break
            d = d_new
        return x + d

    def __call__(self, z, out=None):
        y = self.solve(z)
        if out is None:
            return y.astype(np.result_type(z, np.float32), copy=False)
        np.copyto(out, y, casting="same_kind")
        return out

    def derivative(self, z, a=None):
        y = self.solve(z) if a is None else np.asarray(a, dtype=np.float64)
        c = self.A * np.cos((np.asarray(z, dtype=np.float64) + y) / math.sqrt(2.0))
        return ((1.0 + c) / (1.0 - c)).astype(np.result_type(z, np.float32), copy=False)

    def backward(self, z, a, grad, out=None):
        return np.multiply(grad, self.derivative(z, a), out=out, casting="same_kind")

    def get_config(self):
        return {"A": self.A}


class _FunctionActivation(ActivationFunction):
    """An activation built from a user's ``fn(z)`` and ``derivative(z)`` functions."""

    def __init__(self, name: str, fn: Callable, derivative: Callable, **params: Any) -> None:
        self.name = name  # instance attribute shadows the ClassVar
        self._fn = fn
        self._derivative = derivative
        self._params = params

    def __call__(self, z, out=None):
        value = np.asarray(self._fn(z, **self._params))
        if value.shape != np.shape(z):
            raise LayerkitValueError(
                f"activation {self.name!r} returned shape {value.shape} for input shape "
                f"{np.shape(z)}; an activation must be elementwise"
            )
        if out is None:
            return value.astype(np.result_type(z, np.float32), copy=False)
        np.copyto(out, value, casting="same_kind")
        return out

    def derivative(self, z, a=None):
        return np.asarray(self._derivative(z, **self._params))

    def backward(self, z, a, grad, out=None):
        return np.multiply(grad, self.derivative(z, a), out=out, casting="same_kind")

    def get_config(self):
        return dict(self._params)


def _out(out: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """``out``, or a new array shaped like ``like`` (0-d included) for in-place steps."""
    if out is not None:
        return out
    like = np.asarray(like)
    return np.empty(like.shape, dtype=np.result_type(like.dtype, np.float32))


def _check_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise LayerkitTypeError(f"{name} must be a real number; received {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise LayerkitValueError(f"{name} must be finite; received {name}={value!r}")
    return value


_REGISTRY: dict[str, Callable[..., ActivationFunction]] = {}
_ALIASES = {
    "linear": "identity",
    "none": "identity",
    "logistic": "sigmoid",
    "leakyrelu": "leaky_relu",
}


def register_activation(
    name: str | type[ActivationFunction],
    fn: Callable[..., np.ndarray] | None = None,
    derivative: Callable[..., np.ndarray] | None = None,
    *,
    overwrite: bool = False,
) -> Any:
    """Make an activation available by name to ``Dense(activation=...)`` and ``Activation``.

    Two forms:

    * ``register_activation("swish", fn, derivative)``: ``fn(z, **params)`` returns
      ``f(z)`` and ``derivative(z, **params)`` returns ``f'(z)``, both elementwise NumPy
      functions. Keyword parameters given to ``Activation("swish", beta=2.0)`` are passed on.
    * ``register_activation(MyActivation)`` (also usable as a class decorator): an
      :class:`ActivationFunction` subclass with a ``name``.

    Parameters
    ----------
    name : str or ActivationFunction subclass
    fn, derivative : callable, optional
        Required with a string name.
    overwrite : bool, default False
        Replace an existing registration instead of raising ``LayerkitValueError``.

    Returns
    -------
    type or callable
        The registered class (so that it works as a decorator), or the factory for the
        function form.
    """
    if isinstance(name, type) and issubclass(name, ActivationFunction):
        cls = name
        key = cls.name.lower()
        _register(key, cls, overwrite)
        return cls
    if not isinstance(name, str) or not name:
        raise LayerkitTypeError(
            "register_activation expects a name (str) with fn and derivative, or an "
            f"ActivationFunction subclass; received {name!r}"
        )
    if not callable(fn) or not callable(derivative):
        raise LayerkitTypeError(
            f"register_activation({name!r}, fn, derivative) needs two callables; received "
            f"fn={fn!r}, derivative={derivative!r}"
        )
    key = name.lower()

    def factory(**params: Any) -> ActivationFunction:
        return _FunctionActivation(key, fn, derivative, **params)

    _register(key, factory, overwrite)
    return factory


def _register(key: str, factory: Callable[..., ActivationFunction], overwrite: bool) -> None:
    if key in _REGISTRY and not overwrite:
        raise LayerkitValueError(
            f"an activation named {key!r} is already registered; pass overwrite=True to replace it"
        )
    _REGISTRY[key] = factory


def available_activations() -> list[str]:
    """Names accepted by :func:`get_activation`."""
    return sorted(_REGISTRY)


def get_activation(spec: str | ActivationFunction | None, **params: Any) -> ActivationFunction:
    """Return a new activation object for ``spec``.

    Parameters
    ----------
    spec : str, ActivationFunction or None
        A registered name (``"relu"``, ``"tsin"``, ...), an instance (returned as is), or
        ``None`` for the identity.
    **params
        Keyword parameters of the activation, e.g. ``A=0.5`` for ``"tsin"``.
    """
    if isinstance(spec, ActivationFunction):
        if params:
            raise LayerkitTypeError(
                f"keyword parameters {sorted(params)} cannot be combined with the activation "
                f"instance {spec!r}"
            )
        return spec
    if spec is None:
        spec = "identity"
    if not isinstance(spec, str):
        raise LayerkitTypeError(
            "activation must be a name, an ActivationFunction instance or None; received "
            f"{spec!r} of type {type(spec).__name__}"
        )
    key = spec.lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise LayerkitValueError(
            f"unknown activation {spec!r}; expected one of {available_activations()} "
            "(or register your own with layerkit.register_activation)"
        )
    factory = _REGISTRY[key]
    accepted = _accepted_params(factory)
    unknown = [] if accepted is None else sorted(set(params) - set(accepted))
    if unknown:
        raise LayerkitTypeError(
            f"activation {key!r} accepts parameters {sorted(accepted)}; received {unknown}"
        )
    return factory(**params)


def _accepted_params(factory: Callable[..., Any]) -> list[str] | None:
    """Keyword names ``factory`` accepts (``None``: any, it takes ``**kwargs``)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters if p.name != "self"]


for _cls in (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softmax, TSin):
    register_activation(_cls)
del _cls
