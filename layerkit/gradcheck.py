"""Finite-difference gradient checking for networks and single layers.

Conventions (see ``docs/custom-layers.md``):

* Everything is computed on a float64 copy of the model; the caller's model, its random
  generator and its workspaces are untouched.
* The numerical derivative is the fourth-order central difference

  .. math:: \\frac{\\partial J}{\\partial \\theta_k} \\approx
            \\frac{8[J(\\theta + h e_k) - J(\\theta - h e_k)] - [J(\\theta + 2h e_k) - J(\\theta - 2h e_k)]}{12 h}

  whose truncation error is ``O(h^4)``: with ``h = 1e-4`` it is far below the rounding
  error ``~ 1e-16 |J| / h``.
* The error of one entry is ``|analytic - numeric| / max(|analytic|, |numeric|, floor)``
  with ``floor = 1e-4 * max(1, |J|)`` by default: gradients far smaller than the rounding
  noise of ``J`` are compared in absolute terms. An entry passes when its error is at most
  ``rtol`` (default ``1e-6``).
* For a network, ``J`` is :meth:`Network.loss` in training mode with one dropout mask
  replayed for every evaluation (the generator is reset before each). The data term and
  the L2 penalty are checked separately.
* For a lone layer, ``J = sum(forward(x) * G)`` for a fixed random ``G``; the gradient
  with respect to the input ``x`` is checked too.
* A finite difference whose evaluations put some unit on different sides of a kink
  (ReLU at 0: see :meth:`Layer.kink_signature`) is reported as a kink, not a failure.
* ``mode="entries"`` checks up to ``max_entries`` entries of every parameter array (all
  of a small array; a random sample of a large one, so no array, biases included, is
  skipped); ``mode="directional"`` compares one random directional derivative per array,
  ``(J(theta + h d) - J(theta - h d)) / 2h`` against ``grad . d``, for large models.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import (
    LayerkitTypeError,
    LayerkitValueError,
    check_features,
    check_n_samples,
    check_real,
    check_sample_weight,
)
from .layers.base import Layer
from .network import Network

__all__ = ["GradcheckReport", "ParamCheck", "gradcheck"]


@dataclass
class ParamCheck:
    """The comparison for one parameter array (or the input) and one term of ``J``."""

    layer: str
    param: str
    term: str  # "data", "penalty" or "input"
    shape: tuple[int, ...]
    n_checked: int
    n_kinks: int
    worst_error: float
    worst_index: tuple[int, ...] | None
    analytic: float
    numeric: float
    passed: bool

    def describe(self) -> str:
        """One line: status, worst error, where, analytic vs numeric, counts."""
        status = "ok" if self.passed else "FAILED"
        if self.n_checked and self.n_kinks == self.n_checked:
            return (
                f"{self.layer}.{self.param} [{self.term}] {status}: all {self.n_checked} "
                "checked entries straddle a kink; nothing compared"
            )
        where = "direction" if self.worst_index is None else f"index {self.worst_index}"
        kinks = f", {self.n_kinks} at a kink" if self.n_kinks else ""
        return (
            f"{self.layer}.{self.param} [{self.term}] {status}: worst relative error "
            f"{self.worst_error:.2e} at {where} (analytic {self.analytic:.10g}, numeric "
            f"{self.numeric:.10g}); {self.n_checked} checked{kinks}"
        )


@dataclass
class GradcheckReport:
    """Result of :func:`gradcheck`: one :class:`ParamCheck` per parameter array and term."""

    checks: list[ParamCheck] = field(default_factory=list)
    rtol: float = 1e-6
    eps: float = 1e-4
    mode: str = "entries"
    cost: float = float("nan")
    #: contract violations found outside the finite differences (a backward that
    #: accumulates into its gradients instead of overwriting them)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every checked entry agrees (kinks excepted) and no problem was found."""
        return not self.problems and all(c.passed for c in self.checks)

    @property
    def max_error(self) -> float:
        """The worst relative error over all checks."""
        return max((c.worst_error for c in self.checks), default=0.0)

    @property
    def n_kinks(self) -> int:
        """Finite differences that straddled a kink (not compared)."""
        return sum(c.n_kinks for c in self.checks)

    def failures(self) -> list[ParamCheck]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def worst(self) -> dict[tuple[str, str, str], float]:
        """Worst relative error per ``(layer, param, term)``."""
        return {(c.layer, c.param, c.term): c.worst_error for c in self.checks}

    def explain(self) -> str:
        """Why the check failed (empty when it passed)."""
        return "\n".join([*self.problems, *(c.describe() for c in self.failures())])

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = (
            f"gradcheck ({self.mode}, h={self.eps:g}, rtol={self.rtol:g}): "
            f"{'PASSED' if self.passed else 'FAILED'}, worst relative error {self.max_error:.2e}"
        )
        lines = [*("  " + p for p in self.problems), *("  " + c.describe() for c in self.checks)]
        return "\n".join([head, *lines])


def gradcheck(
    model: Network | Layer,
    X: Any,
    y: Any = None,
    *,
    eps: float = 1e-4,
    rtol: float = 1e-6,
    floor: float | None = None,
    max_entries: int = 32,
    mode: str = "entries",
    training: bool = True,
    sample_weight: Any = None,
    seed: int = 0,
) -> GradcheckReport:
    """Compare backpropagated gradients with finite differences, in float64.

    Parameters
    ----------
    model : Network or Layer
        A network (``y`` required), or any layer, built or not (an unbuilt layer is built
        for ``X.shape[1:]``). User-written :class:`Layer` subclasses need no registration.
    X : array_like
        Inputs, batch first.
    y : array_like, optional
        Targets, for a network.
    eps : float, default 1e-4
        Step ``h`` of the finite differences.
    rtol : float, default 1e-6
        Largest accepted relative error.
    floor : float, optional
        Denominator floor of the relative error; default ``1e-4 * max(1, |J|)``.
    max_entries : int, default 32
        Entries checked per array in ``"entries"`` mode.
    mode : {"entries", "directional"}, default "entries"
    training : bool, default True
        Check the training-mode objective (dropout on, one mask replayed).
    sample_weight : array_like, optional
        Per-sample weights of the data cost (network only).
    seed : int, default 0
        Seeds the choice of entries, directions and the lone-layer projection ``G``.

    Returns
    -------
    GradcheckReport
        Truthy when passed; ``str(report)`` lists every array, ``report.explain()`` the
        failures (which parameter, which index, analytic vs numeric).
    """
    eps = check_real(eps, "eps", low=0.0, low_inclusive=False)
    rtol = check_real(rtol, "rtol", low=0.0, low_inclusive=False)
    if floor is not None:
        floor = check_real(floor, "floor", low=0.0, low_inclusive=False)
    if mode not in ("entries", "directional"):
        raise LayerkitValueError(f"mode must be 'entries' or 'directional'; received mode={mode!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise LayerkitTypeError(f"seed must be a non-negative int; received seed={seed!r}")
    if seed < 0:
        raise LayerkitValueError(f"seed must be a non-negative int; received seed={seed!r}")
    if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
        raise LayerkitValueError(f"max_entries must be a positive int; received {max_entries!r}")
    options = _Options(eps, rtol, floor, max_entries, mode, np.random.default_rng(seed))
    if isinstance(model, Network):
        if y is None:
            raise LayerkitValueError("gradcheck of a Network needs targets y")
        return _check_network(model, X, y, sample_weight, training, options)
    if isinstance(model, Layer):
        if y is not None:
            raise LayerkitValueError(
                "gradcheck of a lone layer takes no y: it checks J = sum(forward(X) * G) for a "
                "random G"
            )
        return _check_layer(model, X, training, options)
    raise LayerkitTypeError(
        f"model must be a layerkit Network or Layer; received {type(model).__name__}"
    )


@dataclass
class _Options:
    eps: float
    rtol: float
    floor: float | None
    max_entries: int
    mode: str
    rng: np.random.Generator


def _check_network(
    model: Network, X: Any, y: Any, sample_weight: Any, training: bool, opt: _Options
) -> GradcheckReport:
    net = copy.deepcopy(model)
    net.cast(np.float64)
    x = net.prepare_inputs(X)
    target = net.prepare_targets(y)
    weight = None if sample_weight is None else check_sample_weight(sample_weight, len(x))
    check_n_samples(x, target, "X", "y")
    state = net.rng.bit_generator.state
    params = list(net.parameters(trainable_only=True))

    def data_cost() -> float:
        net.rng.bit_generator.state = state
        output = net.run(x, training)
        return net.data_cost(output, target, weight)

    def signature() -> list[np.ndarray | None]:
        return [layer.kink_signature() for layer in net.layers]

    with net.state_preserved(), np.errstate(over="ignore", invalid="ignore"):
        # Analytic data gradient: backprop with the penalty switched off. The gradients
        # start as NaN, so a backward that accumulates into them (or never writes them)
        # is caught: its gradient stays NaN.
        for layer in net.layers:
            for g in layer.grads.values():
                g.fill(np.nan)
        net.rng.bit_generator.state = state
        with net.penalty_scope(enabled=False):
            cost = net.compute_gradients(x, target, weight, training=training)[0]
        data_grads = {(id(layer), key): layer.grads[key].copy() for layer, key, _ in params}
        report = GradcheckReport(rtol=opt.rtol, eps=opt.eps, mode=opt.mode, cost=cost)
        for layer, key, _ in params:
            if not np.all(np.isfinite(data_grads[(id(layer), key)])):
                report.problems.append(
                    f"layer {layer.name!r} ({type(layer).__name__}): backward left NaN in "
                    f"grads[{key!r}] where it started as NaN: it must overwrite the gradient "
                    f"(grads[{key!r}][...] = ...), not add to it (+=) or skip it"
                )
        floor = opt.floor if opt.floor is not None else 1e-4 * max(1.0, abs(cost))
        for layer, key, param in params:
            report.checks.append(
                _compare(
                    layer.name,
                    key,
                    "data",
                    param,
                    data_grads[(id(layer), key)],
                    data_cost,
                    signature,
                    floor,
                    opt,
                )
            )

        # Penalty term: lambda W against differences of (lambda/2) ||W||^2.
        penalty_floor = opt.floor if opt.floor is not None else 1e-4 * max(1.0, net.penalty_value())
        for layer, key, param in params:
            lam = net.penalty_for(layer, key)
            if not lam:
                continue
            report.checks.append(
                _compare(
                    layer.name,
                    key,
                    "penalty",
                    param,
                    lam * param,
                    net.penalty_value,
                    lambda: [],
                    penalty_floor,
                    opt,
                )
            )
    return report


def _check_layer(model: Layer, X: Any, training: bool, opt: _Options) -> GradcheckReport:
    layer = copy.deepcopy(model)
    x = np.array(
        check_features(X, model.input_shape or np.shape(X)[1:], layer=model.name), dtype=np.float64
    )
    if layer.built:
        layer.cast(np.float64)
    else:
        layer.attach(x.shape[1:], rng=np.random.default_rng(0), dtype=np.float64)
    layer.needs_input_grad = True
    state = layer.rng.bit_generator.state
    out = layer.forward(x, training=training)
    projection = opt.rng.standard_normal(out.shape)

    def objective() -> float:
        layer.rng.bit_generator.state = state
        return float(np.sum(layer.forward(x, training=training) * projection))

    def signature() -> list[np.ndarray | None]:
        return [layer.kink_signature()]

    cost = objective()
    for g in layer.grads.values():
        g.fill(np.nan)  # a backward that forgets a gradient must not pass on stale zeros
    dx = layer.backward(projection.copy())
    if dx is None:
        raise LayerkitValueError(
            f"layer {layer.name!r}: backward returned None although needs_input_grad is True"
        )
    dx = np.array(dx, dtype=np.float64)
    grads = {key: np.array(g, dtype=np.float64) for key, g in layer.grads.items()}
    report = GradcheckReport(rtol=opt.rtol, eps=opt.eps, mode=opt.mode, cost=cost)
    floor = opt.floor if opt.floor is not None else 1e-4 * max(1.0, abs(cost))
    for key, param in layer.params.items():
        report.checks.append(
            _compare(layer.name, key, "data", param, grads[key], objective, signature, floor, opt)
        )
    report.checks.append(
        _compare(layer.name, "x", "input", x, dx, objective, signature, floor, opt)
    )
    return report


def _compare(
    layer_name: str,
    key: str,
    term: str,
    param: np.ndarray,
    analytic: np.ndarray,
    objective: Callable[[], float],
    signature: Callable[[], list[np.ndarray | None]],
    floor: float,
    opt: _Options,
) -> ParamCheck:
    """Perturb ``param`` in place (restoring it) and compare with ``analytic``."""
    if analytic.shape != param.shape:
        return ParamCheck(
            layer_name,
            key,
            term,
            param.shape,
            0,
            0,
            float("inf"),
            None,
            float("nan"),
            float("nan"),
            False,
        )
    h = opt.eps
    objective()
    base_signature = signature()

    def stencil(set_offset: Callable[[float], None]) -> tuple[float, bool]:
        values = {}
        kink = False
        for step in (-2, -1, 1, 2):
            set_offset(step * h)
            values[step] = objective()
            kink = kink or not _same_signature(base_signature, signature())
        set_offset(0.0)
        numeric = (8 * (values[1] - values[-1]) - (values[2] - values[-2])) / (12 * h)
        return numeric, kink

    worst: tuple[float, Any, float, float] = (-1.0, None, float("nan"), float("nan"))
    n_checked = n_kinks = 0
    failed = False
    if opt.mode == "entries":
        flat = param.reshape(-1)
        picks = (
            np.arange(flat.size)
            if flat.size <= opt.max_entries
            else np.sort(opt.rng.choice(flat.size, opt.max_entries, replace=False))
        )
        analytic_flat = analytic.reshape(-1)
        for i in picks:
            original = float(flat[i])

            def set_entry(d: float, i: int = int(i), original: float = original) -> None:
                flat[i] = original + d

            numeric, kink = stencil(set_entry)
            a = float(analytic_flat[i])
            error = _relative_error(a, numeric, floor)
            n_checked += 1
            if kink:
                n_kinks += 1
                continue
            if error > worst[0]:
                worst = (error, np.unravel_index(int(i), param.shape), a, numeric)
            failed = failed or not error <= opt.rtol
    else:
        direction = opt.rng.standard_normal(param.shape)
        direction /= np.linalg.norm(direction)
        saved = param.copy()

        def set_direction(d: float) -> None:
            np.add(saved, d * direction, out=param)

        numeric, kink = stencil(set_direction)
        a = float(np.sum(analytic * direction))
        error = _relative_error(a, numeric, floor)
        n_checked = 1
        if kink:
            n_kinks = 1
        else:
            worst = (error, None, a, numeric)
            failed = not error <= opt.rtol
    error, index, a, numeric = worst
    index = None if index is None else tuple(int(j) for j in index)
    return ParamCheck(
        layer_name,
        key,
        term,
        tuple(param.shape),
        n_checked,
        n_kinks,
        max(error, 0.0),
        index,
        a,
        numeric,
        not failed,
    )


def _relative_error(analytic: float, numeric: float, floor: float) -> float:
    if not (np.isfinite(analytic) and np.isfinite(numeric)):
        return float("inf")
    return abs(analytic - numeric) / max(abs(analytic), abs(numeric), floor)


def _same_signature(a: list[np.ndarray | None], b: list[np.ndarray | None]) -> bool:
    return all(
        (x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))
        for x, y in zip(a, b, strict=True)
    )
