"""Learning-rate schemes.

A schedule sets the optimiser's learning rate at the start of every epoch from the initial
rate ``eta_0`` (``train(learning_rate=...)``) and the epoch number ``e`` (0 for the first):

===============  ==========================================  =========================
schedule         eta for epoch ``e``                         composes with
===============  ==========================================  =========================
``Constant``     ``eta_0``                                   every optimiser
``TimeDecay``    ``eta_0 / (1 + decay * e)`` (seed 000)       every optimiser
``StepDecay``    ``eta_0 * factor ** floor(e / every)``       every optimiser
``GrowAndSlash`` per step, seed 002's Algorithm 1 (below)     plain ``SGD`` (no momentum)
===============  ==========================================  =========================

**Grow and slash** (seed 002, Algorithm 1) adapts ``eta`` at every step ``k`` of gradient
descent on the current batch::

    while J(theta + eta_k * dtheta) > J(theta):   eta_k <- eta_k / beta
    eta_{k+1} <- alpha * eta_k

with ``dtheta = -grad J(theta)``, ``alpha > 1`` and ``beta > 1`` (1.1 and 2 work well). A step is
accepted only when it does not raise the batch cost (the penalty included, one dropout
mask for both evaluations). It needs the step to be a fixed direction scaled by ``eta``,
which is true of plain SGD only: momentum, RMSProp and Adam change their state with every
step, so ``train`` refuses the combination.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ._validation import LayerkitValueError, check_positive_int, check_real

__all__ = ["Constant", "GrowAndSlash", "Schedule", "StepDecay", "TimeDecay", "get_schedule"]


class Schedule:
    """Base class: ``rate(initial, epoch)`` returns the learning rate for an epoch.

    The rate belongs to the optimiser: at the start of every epoch the training loop sets
    ``optimizer.learning_rate`` from :meth:`rate`. When something else changed the rate
    since (a callback such as ``ReduceLROnPlateau``, or your own code), the schedule
    continues from the changed value: later rates are the formula's, scaled by the change.
    After every epoch :meth:`on_epoch_end` sees that epoch's logs (training and validation
    cost, accuracy), so a schedule may also react to them.
    """

    name = "schedule"
    #: whether the schedule searches the rate at every step (:class:`GrowAndSlash`); the
    #: optimiser must then step along the gradient (plain SGD)
    line_search: ClassVar[bool] = False

    def rate(self, initial: float, epoch: int) -> float:
        """The learning rate for ``epoch`` (0 for the first) from the initial rate."""
        raise NotImplementedError

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Called after every epoch (numbered from 1) with its logs; the default does nothing."""

    def get_config(self) -> dict[str, Any]:
        return {}

    def get_state(self) -> dict[str, Any]:
        """Progress of a stateful schedule (JSON-serialisable), for checkpoints."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state`'s output."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """The same rate every epoch."""

    name = "constant"

    def rate(self, initial: float, epoch: int) -> float:
        return initial


class TimeDecay(Schedule):
    """``eta_0 / (1 + decay * epoch)``.

    Parameters
    ----------
    decay : float, default 0.01
        ``decay >= 0``.
    """

    name = "time_decay"

    def __init__(self, decay: float = 0.01) -> None:
        self.decay = check_real(decay, "decay", low=0.0)

    def rate(self, initial: float, epoch: int) -> float:
        return initial / (1.0 + self.decay * epoch)

    def get_config(self):
        return {"decay": self.decay}


class StepDecay(Schedule):
    """``eta_0 * factor ** floor(epoch / every)``.

    Parameters
    ----------
    factor : float, default 0.5
        ``0 < factor <= 1``.
    every : int, default 10
        Epochs between drops.
    """

    name = "step_decay"

    def __init__(self, factor: float = 0.5, every: int = 10) -> None:
        self.factor = check_real(factor, "factor", low=0.0, high=1.0, low_inclusive=False)
        self.every = check_positive_int(every, "every")

    def rate(self, initial: float, epoch: int) -> float:
        return initial * self.factor ** (epoch // self.every)

    def get_config(self):
        return {"factor": self.factor, "every": self.every}


class GrowAndSlash(Schedule):
    """Seed 002's Algorithm 1: grow ``eta`` by ``alpha`` after each accepted step, divide
    it by ``beta`` while a step would raise the batch cost.

    Parameters
    ----------
    alpha : float, default 1.1
        Growth factor, ``> 1``.
    beta : float, default 2.0
        Slash factor, ``> 1``.
    max_slashes : int, default 60
        A step still raising the cost after this many slashes (a zero or non-finite
        gradient) is skipped and ``eta`` kept as it was before it.
    trace_limit : int or None, default 10000
        How many of the latest steps :attr:`trace` keeps (0: none; ``None``: all, which
        grows without bound in a long run).

    Attributes
    ----------
    eta : float or None
        The current rate (``None`` until training starts from ``learning_rate``).
    trace : list of dict
        One record per step, the latest ``trace_limit`` of them: ``eta_tried`` (first
        trial), ``slashes``, ``eta_used`` (the accepted rate, or ``None`` if skipped),
        ``cost_before``, ``cost_after``.
    """

    name = "grow_and_slash"
    line_search = True

    def __init__(
        self,
        alpha: float = 1.1,
        beta: float = 2.0,
        max_slashes: int = 60,
        trace_limit: int | None = 10_000,
    ) -> None:
        self.alpha = check_real(alpha, "alpha", low=1.0, low_inclusive=False)
        self.beta = check_real(beta, "beta", low=1.0, low_inclusive=False)
        self.max_slashes = check_positive_int(max_slashes, "max_slashes")
        self.trace_limit = check_positive_int(
            trace_limit, "trace_limit", minimum=0, allow_none=True
        )
        self.eta: float | None = None
        self.trace: list[dict[str, Any]] = []

    def _record(self, record: dict[str, Any]) -> None:
        if self.trace_limit == 0:
            return
        self.trace.append(record)
        if self.trace_limit is not None and len(self.trace) > self.trace_limit:
            del self.trace[: -self.trace_limit]  # bounded memory in long runs

    def rate(self, initial: float, epoch: int) -> float:
        if self.eta is None:
            self.eta = initial
        return self.eta

    def search(self, cost_before: float, try_step: Any, eta: float | None = None) -> float | None:
        """Run one step of the algorithm, starting from ``eta`` (default: :attr:`eta`).

        ``try_step(eta)`` applies ``theta - eta * grad`` and returns the new batch cost;
        the caller restores ``theta`` before the next try. Returns the accepted ``eta``
        (the step with it is the one left applied by the caller) or ``None``; the rate for
        the next step is then :attr:`eta`.
        """
        eta = self.eta if eta is None else eta
        tried = eta
        for slashes in range(self.max_slashes + 1):
            cost_after = try_step(eta)
            # `not <=` treats a NaN cost as a rise.
            if cost_after <= cost_before:
                self._record(
                    {
                        "eta_tried": tried,
                        "slashes": slashes,
                        "eta_used": eta,
                        "cost_before": cost_before,
                        "cost_after": cost_after,
                    }
                )
                self.eta = self.alpha * eta
                return eta
            eta = eta / self.beta
        self._record(
            {
                "eta_tried": tried,
                "slashes": self.max_slashes,
                "eta_used": None,
                "cost_before": cost_before,
                "cost_after": math.nan,
            }
        )
        return None

    def get_config(self):
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "max_slashes": self.max_slashes,
            "trace_limit": self.trace_limit,
        }

    def get_state(self):
        return {"eta": self.eta, "trace": self.trace}

    def set_state(self, state):
        self.eta = state["eta"]
        trace = list(state["trace"])
        limit = self.trace_limit
        self.trace = trace if limit is None else trace[len(trace) - limit :] if limit else []

    @property
    def record_trace(self) -> bool:
        """Whether :attr:`trace` records steps (``False`` is ``trace_limit=0``)."""
        return self.trace_limit != 0

    @record_trace.setter
    def record_trace(self, value: bool) -> None:
        if not value:
            self.trace_limit = 0
        elif self.trace_limit == 0:
            self.trace_limit = 10_000


_SCHEDULES = {
    "constant": Constant,
    "time_decay": TimeDecay,
    "step_decay": StepDecay,
    "grow_and_slash": GrowAndSlash,
}


def get_schedule(spec: str | Schedule | None) -> Schedule:
    """A schedule for a name, an instance (as is) or ``None`` (constant)."""
    if spec is None:
        return Constant()
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, str) and spec.lower() in _SCHEDULES:
        return _SCHEDULES[spec.lower()]()
    raise LayerkitValueError(
        f"schedule must be one of {sorted(_SCHEDULES)} or a Schedule instance; received {spec!r}"
    )
