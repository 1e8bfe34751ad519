"""Optimisers: update parameters in place from their gradients.

An optimiser sees only lists of arrays (``params[i]`` and its gradient ``grads[i]``), never
layers; its state ("slots": velocities, moment estimates) is kept per position and
allocated on the first step, so a steady-state step allocates nothing.

=========  ===============================================================================
SGD        ``W <- W - eta g``
momentum   ``v <- mu v - eta g;  W <- W + v``                       (Keras's form)
Nesterov   ``v <- mu v - eta g;  W <- W + mu v - eta g``
RMSProp    ``s <- rho s + (1 - rho) g^2;  W <- W - eta g / (sqrt(s) + eps)``
Adam       ``m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;``
           ``W <- W - eta sqrt(1 - b2^t)/(1 - b1^t) m / (sqrt(v) + eps)``
=========  ===============================================================================

Subclass :class:`Optimizer` and implement :meth:`update` (one array) to write your own.

The learning rate belongs to the optimiser: ``optimizer.learning_rate`` is the rate of the
next step, whoever set it (a schedule at the start of an epoch, a callback, you).

Large arrays are updated in one pass through NumPy's own BLAS (``axpy``/``axpby``,
:mod:`layerkit._blas`), smaller ones, or all of them without that library, by NumPy: the
same arithmetic, to rounding. Gradients are never touched.

In training, a gradient may reach :meth:`Optimizer.step` as a
:class:`~layerkit._products.Product`: the factors of ``dJ/dW = x^T delta``, not yet
formed (layerkit's one fast path, :mod:`layerkit._products`). SGD applies it inside the
product, one BLAS ``gemm``; any other optimiser forms it and runs :meth:`Optimizer.update`.

An optimiser keeps state for one list of parameters: once it has stepped one network's
parameters, it refuses another's (call :meth:`Optimizer.reset` to start afresh).
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from . import _blas
from ._products import Product
from ._validation import LayerkitValueError, check_real

__all__ = ["SGD", "Adam", "Optimizer", "RMSProp", "available_optimizers", "get_optimizer"]


class Optimizer:
    """Base class.

    Parameters
    ----------
    learning_rate : float
        Step size ``eta > 0``; schedules change it between steps through this attribute.

    Attributes
    ----------
    iterations : int
        Steps taken so far (Adam's ``t``).
    """

    name: ClassVar[str] = "optimizer"
    #: slot names allocated per parameter, each an array of the parameter's shape
    slot_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, learning_rate: float = 0.01) -> None:
        self.learning_rate = check_real(
            learning_rate, "learning_rate", low=0.0, low_inclusive=False
        )
        #: the rate schedules start from (``learning_rate`` changes as they run)
        self.initial_learning_rate = self.learning_rate
        self.iterations = 0
        self.slots: list[dict[str, np.ndarray]] = []
        self._scratch: list[np.ndarray] = []
        # (shape, dtype) of each parameter of the list this optimiser steps, and the
        # arrays themselves: state belongs to one list of parameters
        self._layout: tuple[Any, ...] | None = None
        self._arrays: tuple[np.ndarray, ...] = ()

    def step(
        self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray | Product | None]
    ) -> None:
        """Update every ``params[i]`` in place from ``grads[i]``.

        ``grads[i] = None`` leaves ``params[i]`` and its slots as they are (a frozen
        layer's parameter). A ``Product`` (a gradient not yet formed) goes to
        :meth:`apply_product`, or is formed for :meth:`update` when that declines.
        """
        if not self._bound_to(params):
            self._allocate(params)
        self.iterations += 1
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            if grad is None:
                continue
            if isinstance(grad, Product):
                if self.apply_product(param, grad, self.slots[i]):
                    continue
                grad = grad.form()
            self.update(param, grad, self.slots[i], self._scratch[i])

    #: whether :meth:`apply_product` may take a gradient unformed (the training loop then
    #: lets Dense layers record ``dJ/dW`` as a product, see :mod:`layerkit._products`)
    applies_products: bool = False

    def apply_product(self, param: np.ndarray, grad: Product, slots: dict[str, np.ndarray]) -> bool:
        """Update ``param`` from the gradient ``grad.a @ grad.b`` without forming it, if
        this optimiser can; return whether it did (the default cannot)."""
        return False

    def check_params(self, params: Sequence[np.ndarray]) -> None:
        """Raise unless this optimiser may step ``params``: its state (if any) belongs to
        that list of arrays. ``train()`` calls it before anything changes."""
        layout = tuple((p.shape, p.dtype.str) for p in params)
        if self._layout is not None and (
            self._layout != layout or (params and self._arrays[0] is not params[0])
        ):
            raise LayerkitValueError(
                f"this {type(self).__name__} already holds the state (slots, iteration count) "
                "of another network's parameters; give each network its own optimiser, or "
                "call optimizer.reset() to start afresh"
            )
        if self.slots and [
            tuple((v.shape, v.dtype.str) for v in s.values()) for s in self.slots
        ] != [tuple((p.shape, p.dtype.str) for _ in self.slot_names) for p in params]:
            if self._layout is None:  # slots loaded from a file for another model
                raise LayerkitValueError(
                    f"this {type(self).__name__}'s slots do not match the network's "
                    "parameters; call optimizer.reset() to start afresh"
                )

    def _allocate(self, params: Sequence[np.ndarray]) -> None:
        """Slots and scratch arrays, once per parameter list; refuse another list."""
        self.check_params(params)
        if len(self.slots) != len(params):
            self.slots = [{name: np.zeros_like(p) for name in self.slot_names} for p in params]
        if len(self._scratch) != len(params):
            self._scratch = [np.empty_like(p) for p in params]
        self._layout = tuple((p.shape, p.dtype.str) for p in params)
        self._arrays = tuple(params)

    def _bound_to(self, params: Sequence[np.ndarray]) -> bool:
        """Whether ``params`` are the very arrays checked and allocated for (every step
        of a training loop): then nothing needs checking again."""
        arrays = self._arrays
        return len(params) == len(arrays) and all(map(operator.is_, params, arrays))

    def reset(self) -> None:
        """Forget the iteration count and slots, so the optimiser can serve another network."""
        self.iterations = 0
        self.slots = []
        self._scratch = []
        self._layout = None
        self._arrays = ()

    def update(
        self, param: np.ndarray, grad: np.ndarray, slots: dict[str, np.ndarray], scratch: np.ndarray
    ) -> None:
        """Update one array in place. ``scratch`` is a free array of the parameter's shape."""
        raise NotImplementedError

    @property
    def steps_along_gradient(self) -> bool:
        """Whether a step is ``-learning_rate * grad`` and nothing else (no state), which
        the grow-and-slash line search needs. Plain SGD only."""
        return False

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate}

    def get_state(self) -> dict[str, Any]:
        """Iteration count and copies of the slots (for checkpoints)."""
        return {
            "iterations": self.iterations,
            "slots": [{k: v.copy() for k, v in s.items()} for s in self.slots],
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state`'s output (the optimiser then binds to the first
        parameter list it steps whose shapes match the slots)."""
        self.iterations = int(state["iterations"])
        self.slots = [{k: np.array(v) for k, v in s.items()} for s in state["slots"]]
        self._scratch = []
        self._layout = None
        self._arrays = ()

    def snapshot(self) -> Callable[[], None]:
        """A function that puts this optimiser back as it is now, once: its learning rates,
        iteration count, slot values, any other attribute, and the parameters it is bound
        to.

        For callers that must leave the optimiser as they found it when they fail part-way:
        ``train()`` takes one before its first step when it checks the input's values
        during the first epoch (see :func:`layerkit.training.train`).
        """
        # The bound parameters are kept by identity, the scratch arrays are a cache;
        # everything else is copied, so that steps taken since cannot reach the copy.
        keep = {"_arrays", "_scratch"}
        saved = {k: v if k in keep else copy.deepcopy(v) for k, v in self.__dict__.items()}

        def restore() -> None:
            self.__dict__.clear()
            self.__dict__.update(saved)

        return restore

    def __getstate__(self) -> dict[str, Any]:
        # Scratch arrays are caches, rebuilt by the next step; restored ones from a
        # read-only memory map (joblib, scikit-learn's pickling check) could not be
        # written into. The binding is by identity, which unpickling cannot keep: the
        # optimiser binds again, as after set_state, to the first matching list it steps.
        state = dict(self.__dict__)
        state["_scratch"], state["_layout"], state["_arrays"] = [], None, ()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.slots = [  # updated in place by each step: must be writable
            {k: v if v.flags.writeable else np.array(v) for k, v in s.items()} for s in self.slots
        ]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Parameters
    ----------
    learning_rate : float, default 0.01
    momentum : float, default 0.0
        ``0 <= mu < 1``.
    nesterov : bool, default False
    """

    name = "sgd"

    def __init__(
        self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False
    ) -> None:
        super().__init__(learning_rate)
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0, high_inclusive=False)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0.0:
            raise LayerkitValueError("nesterov=True needs momentum > 0; received momentum=0.0")
        self.slot_names = ("velocity",) if self.momentum else ()

    def update(self, param, grad, slots, scratch):
        eta = self.learning_rate
        if not self.momentum:
            _add_scaled(param, -eta, grad, scratch)  # W <- W - eta g
            return
        v = slots["velocity"]
        _blend(v, self.momentum, grad, -eta, scratch)  # v <- mu v - eta g
        if self.nesterov:
            _add_scaled(param, -eta, grad, scratch)  # W <- W - eta g + mu v
            _add_scaled(param, self.momentum, v, scratch)
        else:
            _add_scaled(param, 1.0, v, scratch)  # W <- W + v

    def apply_product(self, param, grad, slots):
        eta, mu = self.learning_rate, self.momentum
        if self.nesterov:
            return False
        if not mu:  # W <- W - eta a b: one gemm
            return _blas.gemm(-eta, grad.a, grad.b, 1.0, param)
        v = slots["velocity"]
        if not _blas.gemm(-eta, grad.a, grad.b, mu, v):  # v <- mu v - eta a b
            return False
        param += v  # W <- W + v
        return True

    @property
    def applies_products(self) -> bool:  # type: ignore[override]
        # Nesterov's step reads the gradient twice: forming it once is cheaper
        return not self.nesterov and _blas.available()

    @property
    def steps_along_gradient(self) -> bool:
        return self.momentum == 0.0

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
        }


class RMSProp(Optimizer):
    """RMSProp (Hinton's lecture 6e).

    Parameters
    ----------
    learning_rate : float, default 0.001
    rho : float, default 0.9
    epsilon : float, default 1e-7
    """

    name = "rmsprop"
    slot_names = ("mean_square",)

    def __init__(
        self, learning_rate: float = 0.001, rho: float = 0.9, epsilon: float = 1e-7
    ) -> None:
        super().__init__(learning_rate)
        self.rho = check_real(rho, "rho", low=0.0, high=1.0, high_inclusive=False)
        self.epsilon = check_real(epsilon, "epsilon", low=0.0, low_inclusive=False)

    def update(self, param, grad, slots, scratch):
        s = slots["mean_square"]
        np.multiply(grad, grad, out=scratch)
        _blend(s, self.rho, scratch, 1.0 - self.rho, scratch)  # s <- rho s + (1 - rho) g^2
        np.sqrt(s, out=scratch)
        scratch += self.epsilon
        np.divide(grad, scratch, out=scratch)
        _add_scaled(param, -self.learning_rate, scratch, scratch)  # W <- W - eta g / (..)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), with Keras's placement of ``epsilon``.

    Parameters
    ----------
    learning_rate : float, default 0.001
    beta_1 : float, default 0.9
    beta_2 : float, default 0.999
    epsilon : float, default 1e-7
    """

    name = "adam"
    slot_names = ("m", "v")

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ) -> None:
        super().__init__(learning_rate)
        self.beta_1 = check_real(beta_1, "beta_1", low=0.0, high=1.0, high_inclusive=False)
        self.beta_2 = check_real(beta_2, "beta_2", low=0.0, high=1.0, high_inclusive=False)
        self.epsilon = check_real(epsilon, "epsilon", low=0.0, low_inclusive=False)

    def update(self, param, grad, slots, scratch):
        m, v = slots["m"], slots["v"]
        t = self.iterations
        _blend(m, self.beta_1, grad, 1.0 - self.beta_1, scratch)  # m <- b1 m + (1 - b1) g
        np.multiply(grad, grad, out=scratch)
        _blend(v, self.beta_2, scratch, 1.0 - self.beta_2, scratch)  # v <- b2 v + (1 - b2) g^2
        # a Python float: a NumPy float64 scalar would force a cast buffer of the array's size
        alpha = self.learning_rate * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        np.sqrt(v, out=scratch)
        scratch += self.epsilon
        np.divide(m, scratch, out=scratch)
        _add_scaled(param, -alpha, scratch, scratch)  # W <- W - alpha m / (sqrt(v) + eps)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


def _blend(y: np.ndarray, beta: float, x: np.ndarray, alpha: float, scratch: np.ndarray) -> None:
    """``y <- beta y + alpha x`` in place (``x`` may be ``scratch``)."""
    if y.size >= _blas.MIN_ELEMENTS and _blas.axpby(alpha, x, beta, y):
        return  # one pass on NumPy's BLAS (layerkit._blas)
    np.multiply(x, alpha, out=scratch)
    y *= beta
    y += scratch


def _add_scaled(y: np.ndarray, alpha: float, x: np.ndarray, scratch: np.ndarray) -> None:
    """``y <- y + alpha x`` in place (``x`` may be ``scratch``)."""
    if alpha == 1.0:
        y += x
        return
    if y.size >= _blas.MIN_ELEMENTS and _blas.axpy(alpha, x, y):
        return  # one pass on NumPy's BLAS (layerkit._blas)
    np.multiply(x, alpha, out=scratch)
    y += scratch


_OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam}


def available_optimizers() -> list[str]:
    """Names accepted by :func:`get_optimizer`."""
    return sorted(_OPTIMIZERS)


def get_optimizer(spec: str | Optimizer, learning_rate: float | None = None) -> Optimizer:
    """An optimiser for a name (with ``learning_rate`` if given) or an instance (as is)."""
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, str) and spec.lower() in _OPTIMIZERS:
        cls = _OPTIMIZERS[spec.lower()]
        return cls() if learning_rate is None else cls(learning_rate=learning_rate)
    raise LayerkitValueError(
        f"optimizer must be one of {available_optimizers()} or an Optimizer instance; received {spec!r}"
    )
