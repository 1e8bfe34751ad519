"""Cost functions: the data term of the objective.

Every cost is averaged over the ``m`` samples of a batch, as seed 002 writes it:
``J = (1/m) sum_i c(a_i, y_i)``. With sample weights, ``J = (1/m) sum_i w_i c(a_i, y_i)``
(Keras's ``sum_over_batch_size`` reduction): weights of one keep the unweighted cost.

============================  ===========================================  ===================
name                          per-sample cost ``c(a, y)`` over ``k`` outputs  ``dJ/dz`` when fused
============================  ===========================================  ===================
``sum_of_squares`` (``sse``)  ``sum_j (a_j - y_j)^2`` (seeds 000, 003, 004)   -
``mse``                       ``(1/k) sum_j (a_j - y_j)^2`` (Keras, PyTorch)  -
``binary_crossentropy``       ``-sum_j y_j log a_j + (1-y_j) log(1-a_j)``     ``(a - y)/m`` after sigmoid
``categorical_crossentropy``  ``-sum_j y_j log a_j``                          ``(a - y)/m`` after softmax
============================  ===========================================  ===================

A sigmoid output followed by binary cross-entropy, and a softmax output followed by
categorical cross-entropy, have the output error ``delta = a - y`` with respect to the
pre-activation ``z`` (seed 002, Lemmas 1 and 2). The network uses that *fused* error and
computes the cost from the logits ``z`` (``log a = z - logsumexp(z)``; for the sigmoid,
``-log a = softplus(-z)``) so that logits of magnitude 1e4 give finite, exact costs and no
warnings. Without logits (a custom output layer) ``log`` is taken of ``a`` clipped to
``[eps, 1 - eps]``, ``eps`` the dtype's machine epsilon (as Keras clips).
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from ._rows import RowReducer
from ._validation import (
    LayerkitTypeError,
    LayerkitValueError,
    check_targets_classification,
    check_targets_regression,
)

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "Loss",
    "MeanSquaredError",
    "SparseCategoricalCrossentropy",
    "SumOfSquares",
    "available_losses",
    "get_loss",
]


def _row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_j a_ij b_ij`` for each row ``i``."""
    return np.einsum("ij,ij->i", a, b)


if hasattr(np, "vecdot"):  # NumPy 2: one ufunc call instead of einsum's Python wrapper
    _row_dot = np.vecdot  # type: ignore[assignment]


_TAKES_LSE: dict[type, bool] = {}


def _takes_lse(cls: Any) -> bool:
    """Whether ``cls.per_sample_from_logits`` accepts ``lse`` (a user's loss written
    before it existed, with three arguments, keeps working); looked up once per class."""
    known = _TAKES_LSE.get(cls)
    if known is None:
        parameters = inspect.signature(cls.per_sample_from_logits).parameters
        known = _TAKES_LSE[cls] = "lse" in parameters
    return known


class Loss:
    """Base class of costs.

    Subclasses implement :meth:`per_sample` and :meth:`gradient`; classification costs
    also set ``fused_activation`` and implement :meth:`fused_delta` and
    :meth:`per_sample_from_logits`.
    """

    name: ClassVar[str] = "loss"
    #: name of the output activation whose Jacobian cancels against this cost's
    fused_activation: ClassVar[str | None] = None
    #: whether targets are classes (accuracy is then reported)
    is_classification: ClassVar[bool] = False
    #: whether the network's output is the pre-activation ``z`` (raw scores), the output
    #: activation being applied inside the cost (Keras's ``from_logits=True``)
    from_logits: bool = False

    def __init__(self) -> None:
        self._scratch: dict[str, np.ndarray] = {}

    def __getstate__(self) -> dict[str, Any]:
        # scratch buffers are caches: rebuilt after unpickling, never restored (a read-only
        # memory map could not be written into)
        state = dict(self.__dict__)
        state["_scratch"] = {}
        return state

    # -- targets ---------------------------------------------------------------------
    def prepare_targets(
        self, y: Any, n_outputs: int, dtype: Any, *, argument: str = "y"
    ) -> np.ndarray:
        """Validate ``y`` and return it as a ``(m, n_outputs)`` array of ``dtype``."""
        return check_targets_regression(y, n_outputs, dtype, argument=argument)

    # -- cost --------------------------------------------------------------------------
    def per_sample(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Cost of each sample, shape ``(m,)``."""
        raise NotImplementedError

    def per_sample_from_logits(
        self,
        logits: np.ndarray,
        target: np.ndarray,
        output: np.ndarray | None = None,
        lse: np.ndarray | None = None,
    ) -> np.ndarray:
        """Per-sample cost from the output pre-activation (``output = f(logits)`` and
        ``lse``, each row's ``logsumexp(logits)``, when given, may save work)."""
        raise NotImplementedError(f"{self.name} has no logit form")

    def value(
        self,
        output: np.ndarray,
        target: np.ndarray,
        *,
        logits: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        lse: np.ndarray | None = None,
    ) -> float:
        """``J = (1/m) sum_i w_i c_i``; from ``logits`` when given (fused outputs) or when
        the output is the logits (``from_logits``). ``lse``: each row's
        ``logsumexp(logits)``, when the output activation computed it."""
        if self.from_logits:
            costs = self.per_sample_from_logits(output, target)
        elif logits is None:
            costs = self.per_sample(output, target)
        elif lse is None or not _takes_lse(type(self)):
            costs = self.per_sample_from_logits(logits, target, output)
        else:
            costs = self.per_sample_from_logits(logits, target, output, lse)
        m = costs.shape[0]
        if sample_weight is None:
            return float(np.add.reduce(costs, dtype=np.float64)) / m
        return float(np.dot(costs.astype(np.float64), sample_weight) / m)

    # -- gradients ---------------------------------------------------------------------
    def gradient(
        self,
        output: np.ndarray,
        target: np.ndarray,
        *,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """``dJ/da``, shape of ``output``."""
        raise NotImplementedError

    def fused_delta(
        self,
        output: np.ndarray,
        target: np.ndarray,
        *,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """``dJ/dz = w (a - y) / m`` with respect to the output pre-activation."""
        m = output.shape[0]
        out = np.subtract(output, target, out=out)
        if sample_weight is not None:
            out *= sample_weight[:, None]
        out *= 1.0 / m
        return out

    def _buffer(self, key: str, like: np.ndarray) -> np.ndarray:
        buf = self._scratch.get(key)
        if (
            buf is None
            or buf.shape[0] < like.shape[0]
            or buf.shape[1:] != like.shape[1:]
            or (buf.dtype != like.dtype)
        ):
            buf = np.empty_like(like)
            self._scratch[key] = buf
        return buf[: like.shape[0]]

    @property
    def decision_threshold(self) -> float:
        """Where one output unit splits the two classes: 0.5 for probabilities, 0 for logits."""
        return 0.0 if self.from_logits else 0.5

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": True} if self.from_logits else {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SumOfSquares(Loss):
    """The documents' cost: ``c = sum_j (a_j - y_j)^2`` summed over outputs, averaged over
    samples (seed 000 section 3.1.1, seed 004). ``dJ/da = 2 (a - y) / m``."""

    name = "sum_of_squares"

    def per_sample(self, output, target):
        diff = np.subtract(output, target, out=self._buffer("diff", output))
        return _row_dot(diff, diff)

    def gradient(self, output, target, *, sample_weight=None, out=None):
        m = output.shape[0]
        out = np.subtract(output, target, out=out)
        if sample_weight is not None:
            out *= sample_weight[:, None]
        out *= 2.0 / m
        return out


class MeanSquaredError(SumOfSquares):
    """Keras's and PyTorch's ``mse``: ``c = (1/k) sum_j (a_j - y_j)^2``, the mean over the
    ``k`` outputs, averaged over samples. ``dJ/da = 2 (a - y) / (m k)``."""

    name = "mse"

    def per_sample(self, output, target):
        return super().per_sample(output, target) / output.shape[1]

    def gradient(self, output, target, *, sample_weight=None, out=None):
        out = super().gradient(output, target, sample_weight=sample_weight, out=out)
        out *= 1.0 / output.shape[1]
        return out


class BinaryCrossentropy(Loss):
    """Binary cross-entropy (seed 002 section 2.3), summed over independent sigmoid outputs.

    ``c = -sum_j [y_j log a_j + (1 - y_j) log(1 - a_j)]``. From logits it is
    ``sum_j [max(z_j, 0) - y_j z_j + log(1 + exp(-|z_j|))]``, exact for any ``|z|``.
    Targets: 0/1 labels ``(m,)`` for one output, integer classes ``(m,)`` for several
    outputs (one-hot encoded, as seed 002's two-neuron logistic regression), or
    ``(m, k)`` values in [0, 1].
    """

    name = "binary_crossentropy"
    fused_activation = "sigmoid"
    is_classification = True

    def __init__(self, from_logits: bool = False) -> None:
        super().__init__()
        self.from_logits = _check_from_logits(from_logits)

    def prepare_targets(self, y, n_outputs, dtype, *, argument="y"):
        return check_targets_classification(y, n_outputs, dtype, argument=argument, binary=True)

    def per_sample(self, output, target):
        a = _clip_probability(output)
        return -np.sum(target * np.log(a) + (1.0 - target) * np.log1p(-a), axis=1)

    def per_sample_from_logits(self, logits, target, output=None, lse=None):
        t = self._buffer("t", logits)
        np.abs(logits, out=t)
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)  # log(1 + exp(-|z|))
        u = self._buffer("u", logits)
        np.maximum(logits, 0, out=u)
        t += u
        np.multiply(target, logits, out=u)
        t -= u
        return np.sum(t, axis=1)

    def gradient(self, output, target, *, sample_weight=None, out=None):
        m = output.shape[0]
        if self.from_logits:  # dJ/dz = sigmoid(z) - y
            a = np.negative(output, out=self._buffer("p", output))
            np.exp(a, out=a)
            a += 1.0
            np.reciprocal(a, out=a)
            return self.fused_delta(a, target, sample_weight=sample_weight, out=out)
        a = _clip_probability(output)
        grad = (a - target) / (a * (1.0 - a))
        if sample_weight is not None:
            grad *= sample_weight[:, None]
        grad /= m
        if out is None:
            return grad
        np.copyto(out, grad, casting="same_kind")
        return out


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy (seed 002 section 3.2): ``c = -sum_j y_j log a_j``.

    From logits, ``c = logsumexp(z) - sum_j y_j z_j`` (rows of ``y`` sum to 1), computed
    with the row maximum subtracted. Targets: integer classes ``(m,)`` or one-hot rows
    ``(m, k)``.
    """

    name = "categorical_crossentropy"
    fused_activation = "softmax"
    is_classification = True

    def __init__(self, from_logits: bool = False) -> None:
        super().__init__()
        self.from_logits = _check_from_logits(from_logits)
        self._rows = RowReducer()

    def prepare_targets(self, y, n_outputs, dtype, *, argument="y"):
        return check_targets_classification(y, n_outputs, dtype, argument=argument, binary=False)

    def per_sample(self, output, target):
        return -np.sum(target * np.log(_clip_probability(output)), axis=1)

    def per_sample_from_logits(self, logits, target, output=None, lse=None):
        if lse is not None:  # the softmax's own (Softmax.log_normalizer)
            return np.subtract(lse, _row_dot(target, logits))
        rows = self._rows
        j = rows.argmax(logits)
        zmax = rows.at(logits, j, "zmax")
        if output is None:
            t = self._buffer("t", logits)
            np.subtract(logits, zmax[:, None], out=t)
            np.exp(t, out=t)
            lse = np.log(rows.sum(t))
            lse += zmax
        else:
            # logsumexp(z) = z_j - log a_j for any j; at the largest output a_j >= 1/k,
            # so its log is exact, and no second exp pass over the logits is needed.
            lse = rows.at(output, j, "amax")
            np.log(lse, out=lse)
            np.subtract(zmax, lse, out=lse)
        return np.subtract(lse, _row_dot(target, logits))

    def gradient(self, output, target, *, sample_weight=None, out=None):
        m = output.shape[0]
        if self.from_logits:  # dJ/dz = softmax(z) - y, with the row maximum subtracted
            a = self._buffer("p", output)
            np.subtract(output, output.max(axis=1, keepdims=True), out=a)
            np.exp(a, out=a)
            a /= a.sum(axis=1, keepdims=True)
            return self.fused_delta(a, target, sample_weight=sample_weight, out=out)
        grad = -target / _clip_probability(output)
        if sample_weight is not None:
            grad *= sample_weight[:, None]
        grad /= m
        if out is None:
            return grad
        np.copyto(out, grad, casting="same_kind")
        return out


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Keras's name for categorical cross-entropy on integer class labels ``(m,)``.

    The same cost as :class:`CategoricalCrossentropy` (which also takes labels).
    """

    name = "sparse_categorical_crossentropy"


def _check_from_logits(value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise LayerkitTypeError(f"from_logits must be True or False; received {value!r}")
    return bool(value)


def _clip_probability(output: np.ndarray) -> np.ndarray:
    """Probabilities clipped to ``[eps, 1 - eps]`` (the dtype's machine epsilon), as Keras
    does without logits: costs stay below ``-log(eps)`` and gradients below ``1/eps``, so
    sample weights cannot overflow them."""
    eps = np.finfo(np.result_type(output.dtype, np.float32)).eps
    return np.clip(output, eps, 1.0 - eps)


_LOSSES: dict[str, type[Loss]] = {
    "sum_of_squares": SumOfSquares,
    "sse": SumOfSquares,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "cce": CategoricalCrossentropy,
    "crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def available_losses() -> list[str]:
    """Names accepted by :func:`get_loss`."""
    return sorted(_LOSSES)


def get_loss(spec: str | Loss) -> Loss:
    """Return a loss object for a name or instance.

    Parameters
    ----------
    spec : str or Loss
        One of :func:`available_losses` or a :class:`Loss` instance (used as is).
    """
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, str) and spec.lower() in _LOSSES:
        return _LOSSES[spec.lower()]()
    raise LayerkitValueError(
        f"loss must be one of {available_losses()} or a Loss instance; received {spec!r}"
    )
