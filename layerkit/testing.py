"""Conformance checks for layers, and the Hypothesis strategies layerkit's tests use.

:func:`check_layer` runs a layer through everything the layer contract promises (modelled
on Keras's layer test harness) and returns a :class:`LayerCheckReport`, truthy when every
check passed::

    import layerkit as lk
    from layerkit.testing import check_layer

    report = check_layer(lambda: lk.Dense(3, "tanh"), (4,))
    assert report, report.explain()

The strategies (:func:`arrays`, :func:`batch_sizes`, :func:`sample_shapes`,
:func:`activations`) need Hypothesis, a development dependency
(``pip install "layerkit[dev]"``); :func:`check_layer` uses it when it is installed and
a seeded random generator otherwise.
"""

from __future__ import annotations

import copy
import inspect
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import LayerkitTypeError, LayerkitValueError, check_positive_int, check_real
from .gradcheck import gradcheck
from .io import load, register_layer, save
from .layers import Dense, Flatten, Input, Layer
from .network import Network

__all__ = [
    "ACTIVATION_PARAMS",
    "LayerCheck",
    "LayerCheckReport",
    "activations",
    "arrays",
    "batch_sizes",
    "check_layer",
    "sample_shapes",
]


# ---------------------------------------------------------------------------- strategies
def _hypothesis() -> Any:
    try:
        import hypothesis
        from hypothesis import strategies
        from hypothesis.extra import numpy as hnp
    except ImportError as exc:
        raise ImportError(
            'layerkit.testing\'s strategies need hypothesis: pip install "layerkit[dev]"'
        ) from exc
    return hypothesis, strategies, hnp


def arrays(
    shape: int | tuple[int, ...] | Any,
    dtype: Any = "float64",
    min_value: float = -3.0,
    max_value: float = 3.0,
) -> Any:
    """Strategy for arrays of ``shape`` (a tuple or a strategy of tuples) with finite
    values in ``[min_value, max_value]`` (no NaN, infinity or subnormal numbers)."""
    _, st, hnp = _hypothesis()
    low = check_real(min_value, "min_value")
    high = check_real(max_value, "max_value", low=low)
    dtype = np.dtype(dtype)
    elements = st.floats(
        low,
        high,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
        width=8 * dtype.itemsize,
    )
    return hnp.arrays(dtype, shape, elements=elements)


def batch_sizes(min_size: int = 1, max_size: int = 8) -> Any:
    """Strategy for batch sizes ``min_size <= m <= max_size``."""
    _, st, _ = _hypothesis()
    low = check_positive_int(min_size, "min_size")
    high = check_positive_int(max_size, "max_size")
    if high < low:
        raise LayerkitValueError(
            f"max_size must be at least min_size={low}; received max_size={high}"
        )
    return st.integers(low, high)


def sample_shapes(
    min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 6
) -> Any:
    """Strategy for the shape of one sample (batch axis excluded), e.g. ``(4,)`` or
    ``(3, 2)``."""
    _, _, hnp = _hypothesis()
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


#: bounded ranges for the keyword parameters of the built-in activations
ACTIVATION_PARAMS: dict[str, dict[str, tuple[float, float]]] = {
    "identity": {},
    "sigmoid": {},
    "tanh": {},
    "relu": {},
    "leaky_relu": {"alpha": (0.0, 0.5)},
    "elu": {"alpha": (0.2, 2.0)},
    "softmax": {},
    "tsin": {"A": (0.05, 0.9)},
}


def activations() -> Any:
    """Strategy for ``(name, params)`` of a built-in activation, e.g.
    ``("leaky_relu", {"alpha": 0.3})``, usable as ``Dense(k, name, activation_params=params)``."""
    _, st, _ = _hypothesis()
    return st.sampled_from(sorted(ACTIVATION_PARAMS)).flatmap(
        lambda name: st.tuples(
            st.just(name),
            st.fixed_dictionaries(
                {key: st.floats(lo, hi) for key, (lo, hi) in ACTIVATION_PARAMS[name].items()}
            ),
        )
    )


# ---------------------------------------------------------------------------- the report
@dataclass
class LayerCheck:
    """One check of :func:`check_layer`: its name, whether it passed, and why not."""

    name: str
    passed: bool
    detail: str = ""

    def describe(self) -> str:
        status = "ok" if self.passed else "FAILED"
        detail = self.detail.replace("\n", "\n    ")  # continuation lines under the check
        return f"{self.name}: {status}" + (f": {detail}" if detail else "")


@dataclass
class LayerCheckReport:
    """Result of :func:`check_layer`; truthy when every check passed.

    ``str(report)`` lists every check; :meth:`explain` names the layer and the failed
    checks with what was expected and what came.
    """

    layer: str
    checks: list[LayerCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def failures(self) -> list[LayerCheck]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def explain(self) -> str:
        """Why the layer failed (empty when it passed)."""
        failed = self.failures()
        if not failed:
            return ""
        lines = [f"{self.layer} failed {len(failed)} of {len(self.checks)} checks:"]
        return "\n".join([*lines, *("  " + c.describe() for c in failed)])

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = f"check_layer({self.layer}): {'PASSED' if self.passed else 'FAILED'}"
        return "\n".join([head, *("  " + c.describe() for c in self.checks)])


class _CheckFailed(AssertionError):
    """A check's finding (any other exception is reported with its type)."""


# ---------------------------------------------------------------------------- check_layer
_CHECKS = (
    "construction",
    "output shape",
    "backward shapes",
    "gradcheck",
    "config round trip",
    "save/load",
    "state and freezing",
    "training vs inference",
)


def check_layer(
    layer_factory: Callable[[], Layer],
    input_shape: int | tuple[int, ...],
    *,
    batch_sizes: Sequence[int] = (1, 2, 5),
    dtypes: Sequence[str] = ("float32", "float64"),
    training: Sequence[bool] = (False, True),
    value_range: tuple[float, float] = (-2.0, 2.0),
    max_examples: int = 5,
    rtol: float = 1e-6,
    seed: int = 0,
    custom_objects: dict[str, type[Layer]] | None = None,
) -> LayerCheckReport:
    """Check that the layers ``layer_factory()`` makes honour the layer contract.

    Every check runs, in this order, each on fresh layers (a check that raises is
    reported as failed with the exception, and the others still run):

    ``construction``
        ``layer_factory()`` returns a new unbuilt :class:`~layerkit.Layer` on each call.
    ``output shape``
        For each dtype, batch size and training flag, in a network: the forward output has
        shape ``(m, *compute_output_shape(input_shape))``, the network's dtype, finite
        values, and the input is not modified.
    ``backward shapes``
        ``dJ/dx`` has the input's shape and dtype and every ``grads[k]`` its parameter's;
        ``dJ/dy`` is not modified.
    ``gradcheck``
        :func:`layerkit.gradcheck` in float64 of the lone layer (parameters and input) and
        of a small network around it (which also catches a backward that accumulates into
        ``grads`` instead of overwriting them), in every training mode, for
        ``max_examples`` cases: batch sizes from ``batch_sizes`` and inputs in
        ``value_range`` drawn by Hypothesis when it is installed, by a generator seeded
        with ``seed`` otherwise. The failing batch is shown in the report.
    ``config round trip``
        ``get_config()`` is JSON-serialisable, names every constructor argument, and
        ``from_config(get_config())`` gives back the same config (``trainable=False``
        included).
    ``save/load``
        A network holding the layer, trained one epoch, is saved with :func:`layerkit.save`
        and loaded back with equal parameters, state and predictions. The layer's class is
        registered with :func:`layerkit.register_layer` when it is not already (saving
        needs it); ``custom_objects`` is passed to :func:`layerkit.load`.
    ``state and freezing``
        With ``trainable = False``, a training epoch changes none of the layer's
        parameters; inference forwards, ``predict``, ``evaluate``, ``Network.loss``,
        ``Network.backprop`` and ``gradcheck`` leave the state (running statistics) as it
        was.
    ``training vs inference``
        Inference is deterministic and each sample's output does not depend on the rest of
        its batch.

    The layer sits in a network ``Input(input_shape)``, (``Dense`` when the input is flat,
    so that ``dJ/dx`` is used), the layer, ``Flatten()``, ``Dense(2)`` with the ``"mse"``
    loss.

    Parameters
    ----------
    layer_factory : callable
        Returns a new unbuilt layer on each call: the class itself, or e.g.
        ``lambda: MyLayer(8, alpha=0.1)``.
    input_shape : int or tuple of int
        Shape of one input sample (batch axis excluded).
    batch_sizes : sequence of int, default (1, 2, 5)
    dtypes : sequence of {"float32", "float64"}, default both
    training : sequence of bool, default (False, True)
        The forward modes checked.
    value_range : (float, float), default (-2.0, 2.0)
        Range of the input values.
    max_examples : int, default 5
        Cases per training mode in the gradient checks.
    rtol : float, default 1e-6
        Tolerance of :func:`layerkit.gradcheck`.
    seed : int, default 0
        Seeds every random draw, so a report is reproducible.
    custom_objects : dict, optional
        Passed to :func:`layerkit.load`.

    Returns
    -------
    LayerCheckReport
        Truthy when every check passed. In a test: ``assert report, report.explain()``;
        the explanation names the layer's class and each failed check.
    """
    if not callable(layer_factory):
        raise LayerkitTypeError(
            "layer_factory must be a callable returning a new layer (a Layer class, or "
            f"lambda: MyLayer(...)); received {layer_factory!r}"
        )
    shape = _check_shape(input_shape)
    sizes = tuple(check_positive_int(m, "batch_sizes") for m in batch_sizes)
    if not sizes:
        raise LayerkitValueError("batch_sizes is empty; expected positive ints such as (1, 2, 5)")
    dtypes = tuple(_check_dtype(d) for d in dtypes)
    modes = tuple(bool(t) for t in training)
    if len(value_range) != 2:
        raise LayerkitValueError(f"value_range must be (low, high); received {value_range!r}")
    low = check_real(value_range[0], "value_range[0]")
    high = check_real(value_range[1], "value_range[1]", low=low, low_inclusive=False)
    settings = _Settings(
        factory=layer_factory,
        shape=shape,
        sizes=sizes,
        dtypes=dtypes,
        modes=modes,
        low=low,
        high=high,
        max_examples=check_positive_int(max_examples, "max_examples"),
        rtol=check_real(rtol, "rtol", low=0.0, low_inclusive=False),
        seed=_check_seed(seed),
        custom_objects=dict(custom_objects or {}),
    )
    report = LayerCheckReport(layer=_label(layer_factory))
    runners = {
        "construction": _check_construction,
        "output shape": _check_output_shape,
        "backward shapes": _check_backward_shapes,
        "gradcheck": _check_gradients,
        "config round trip": _check_config,
        "save/load": _check_save_load,
        "state and freezing": _check_state_and_freezing,
        "training vs inference": _check_inference,
    }
    for name in _CHECKS:
        if name != "construction" and not report.checks[0].passed:
            report.checks.append(LayerCheck(name, False, "skipped: the layer cannot be made"))
            continue
        try:
            detail = runners[name](settings) or ""
            report.checks.append(LayerCheck(name, True, detail))
        except _CheckFailed as exc:
            report.checks.append(LayerCheck(name, False, str(exc)))
        except Exception as exc:  # a crash is a finding: report it and run the rest
            report.checks.append(LayerCheck(name, False, f"{type(exc).__name__}: {exc}"))
    return report


@dataclass
class _Settings:
    factory: Callable[[], Layer]
    shape: tuple[int, ...]
    sizes: tuple[int, ...]
    dtypes: tuple[np.dtype, ...]
    modes: tuple[bool, ...]
    low: float
    high: float
    max_examples: int
    rtol: float
    seed: int
    custom_objects: dict[str, type[Layer]]

    def layer(self) -> Layer:
        layer = self.factory()
        if not isinstance(layer, Layer):
            raise _CheckFailed(f"layer_factory() returned {type(layer).__name__}, not a Layer")
        return layer

    def network(self, layer: Layer, dtype: Any = "float64") -> Network:
        """``Input``, (``Dense`` for flat inputs), the layer, ``Flatten``, ``Dense(2)``."""
        before = [Dense(self.shape[0])] if len(self.shape) == 1 else []
        return Network(
            [Input(self.shape), *before, layer, Flatten(), Dense(2)],
            loss="mse",
            dtype=dtype,
            seed=self.seed,
        )

    def inputs(self, m: int, dtype: Any = "float64", offset: int = 0) -> np.ndarray:
        rng = np.random.default_rng([self.seed, m, offset])
        return rng.uniform(self.low, self.high, (m, *self.shape)).astype(dtype)

    def targets(self, m: int) -> np.ndarray:
        return np.random.default_rng([self.seed, m, 99]).uniform(-1, 1, (m, 2))


def _check_shape(input_shape: Any) -> tuple[int, ...]:
    dims = (input_shape,) if isinstance(input_shape, int | np.integer) else input_shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise LayerkitTypeError(
            f"input_shape must be an int or a tuple of ints; received {input_shape!r}"
        ) from None
    if not dims or any(
        isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1 for d in dims
    ):
        raise LayerkitValueError(
            f"input_shape must be positive ints, e.g. (4,) or (28, 28); received {input_shape!r}"
        )
    return tuple(int(d) for d in dims)


def _label(factory: Callable[[], Layer]) -> str:
    """The layer's class name (a factory's layers get new automatic names at each call)."""
    try:
        layer = factory()
    except Exception:
        return f"layer factory {factory!r}"
    return f"layer class {type(layer).__name__}" if isinstance(layer, Layer) else repr(factory)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise LayerkitValueError(f"seed must be a non-negative int; received seed={seed!r}")
    return int(seed)


def _check_dtype(dtype: Any) -> np.dtype:
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise LayerkitValueError(f"dtypes must hold 'float32' or 'float64'; received {dtype!r}")
    return resolved


def _where(dtype: Any, m: int, mode: bool | None = None) -> str:
    mode_text = "" if mode is None else f", training={mode}"
    return f"(dtype {np.dtype(dtype)}, batch of {m}{mode_text})"


# ---------------------------------------------------------------------------- the checks
def _check_construction(s: _Settings) -> str:
    first, second = s.layer(), s.layer()
    if first is second:
        raise _CheckFailed("layer_factory() returned the same object twice; it must make a new one")
    if first.built:
        raise _CheckFailed("layer_factory() returned a built layer; return a new, unbuilt one")
    return ""


def _layer_in_network(s: _Settings, dtype: Any) -> tuple[Layer, Network]:
    layer = s.layer()
    return layer, s.network(layer, dtype)


def _layer_input(s: _Settings, net: Network, layer: Layer, m: int, dtype: Any) -> np.ndarray:
    """A batch of what ``layer`` receives in ``net`` (the data, or the Dense's output)."""
    x = s.inputs(m, dtype)
    index = net.layers.index(layer)
    for before in net.layers[1:index]:
        x = np.array(before.forward(x, training=False))
    return x


def _check_output_shape(s: _Settings) -> str:
    for dtype in s.dtypes:
        layer, net = _layer_in_network(s, dtype)
        expected_sample = tuple(layer.compute_output_shape(layer.input_shape))
        if layer.output_shape != expected_sample:
            raise _CheckFailed(
                f"output_shape {layer.output_shape} differs from compute_output_shape"
                f"({layer.input_shape}) = {expected_sample}"
            )
        for m in s.sizes:
            for mode in s.modes:
                x = _layer_input(s, net, layer, m, dtype)
                original = x.copy()
                y = layer.forward(x, training=mode)
                where = _where(dtype, m, mode)
                if not isinstance(y, np.ndarray) or y.shape != (m, *expected_sample):
                    got = y.shape if isinstance(y, np.ndarray) else type(y).__name__
                    raise _CheckFailed(
                        f"forward returned shape {got} for an input of shape {x.shape} {where}; "
                        f"compute_output_shape says {(m, *expected_sample)}"
                    )
                if y.dtype != dtype:
                    raise _CheckFailed(
                        f"forward returned dtype {y.dtype} {where}; expected {dtype}"
                    )
                if not np.all(np.isfinite(y)):
                    raise _CheckFailed(f"forward returned NaN or infinity {where}")
                if not np.array_equal(x, original):
                    raise _CheckFailed(f"forward modified its input x in place {where}")
    return ""


def _check_backward_shapes(s: _Settings) -> str:
    for dtype in s.dtypes:
        layer, net = _layer_in_network(s, dtype)
        layer.needs_input_grad = True
        for m in s.sizes:
            for mode in s.modes:
                where = _where(dtype, m, mode)
                x = _layer_input(s, net, layer, m, dtype)
                y = layer.forward(x, training=mode)
                g = np.random.default_rng([s.seed, m]).standard_normal(y.shape).astype(dtype)
                original = g.copy()
                dx = layer.backward(g)
                if not isinstance(dx, np.ndarray) or dx.shape != x.shape:
                    got = dx.shape if isinstance(dx, np.ndarray) else type(dx).__name__
                    raise _CheckFailed(
                        f"backward returned dJ/dx of shape {got} {where}; expected {x.shape}, "
                        "the shape of the input batch"
                    )
                if dx.dtype != dtype:
                    raise _CheckFailed(f"backward returned dJ/dx of dtype {dx.dtype} {where}")
                if not np.array_equal(g, original):
                    raise _CheckFailed(f"backward modified its argument dJ/dy in place {where}")
                for key, value in layer.params.items():
                    grad = layer.grads.get(key)
                    if not isinstance(grad, np.ndarray) or grad.shape != value.shape:
                        got = grad.shape if isinstance(grad, np.ndarray) else grad
                        raise _CheckFailed(
                            f"grads[{key!r}] has shape {got} after backward {where}; expected "
                            f"{value.shape}, the shape of params[{key!r}]"
                        )
    return ""


def _gradient_cases(s: _Settings, check: Callable[[np.ndarray], None]) -> None:
    """Run ``check(x)`` on ``max_examples`` drawn batches."""
    try:
        hypothesis, st, _ = _hypothesis()
    except ImportError:
        rng = np.random.default_rng(s.seed)
        for i in range(s.max_examples):
            m = s.sizes[i % len(s.sizes)]
            check(rng.uniform(s.low, s.high, (m, *s.shape)))
        return
    shapes = st.sampled_from(s.sizes).map(lambda m: (m, *s.shape))

    @hypothesis.seed(s.seed)
    @hypothesis.settings(
        max_examples=s.max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        verbosity=hypothesis.Verbosity.quiet,
        suppress_health_check=list(hypothesis.HealthCheck),
        report_multiple_bugs=False,
        # Shrinking re-runs the gradient checks hundreds of times: seconds per failing
        # layer. The failing batch is printed in the report instead.
        phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate),
    )
    @hypothesis.given(arrays(shapes, "float64", s.low, s.high))
    def run(x: np.ndarray) -> None:
        check(x)

    run()


def _check_gradients(s: _Settings) -> str:
    counted = {"cases": 0}

    def check(x: np.ndarray) -> None:
        counted["cases"] += 1
        for mode in s.modes:
            where = f"(batch of {x.shape[0]}, training={mode}, x={np.array2string(x, precision=4)})"
            # The network first: it names a backward that accumulates into grads.
            net = s.network(s.layer(), "float64")
            y = s.targets(x.shape[0])
            report = gradcheck(net, x, y, training=mode, rtol=s.rtol, seed=s.seed)
            if not report:
                raise _CheckFailed(f"in a network {where}:\n{report.explain()}")
            report = gradcheck(s.layer(), x, training=mode, rtol=s.rtol, seed=s.seed)
            if not report:
                raise _CheckFailed(f"lone layer {where}:\n{report.explain()}")

    _gradient_cases(s, check)
    return f"{counted['cases']} cases run"


def _constructor_arguments(cls: type) -> list[str]:
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return []
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        name
        for name, p in list(signature.parameters.items())[1:]
        if p.kind not in skip and name != "trainable"
    ]


def _check_config(s: _Settings) -> str:
    for frozen in (False, True):
        layer, _ = _layer_in_network(s, "float64")
        if frozen:
            if not layer.params:
                continue  # freezing a layer without parameters changes nothing
            layer.trainable = False
        config = layer.get_config()
        if not isinstance(config, dict):
            raise _CheckFailed(f"get_config() returned {type(config).__name__}, not a dict")
        try:
            stored = json.loads(json.dumps(config))
        except (TypeError, ValueError) as exc:
            raise _CheckFailed(f"get_config() is not JSON-serialisable: {exc}") from None
        missing = [a for a in _constructor_arguments(type(layer)) if a not in config]
        if missing:
            raise _CheckFailed(
                f"get_config() lacks the constructor argument(s) {', '.join(map(repr, missing))}; "
                "return every argument that rebuilds the layer"
            )
        try:
            rebuilt = type(layer).from_config(copy.deepcopy(stored))
        except Exception as exc:
            raise _CheckFailed(
                f"from_config(get_config()) raised {type(exc).__name__}: {exc}"
            ) from None
        again = json.loads(json.dumps(rebuilt.get_config()))
        if again != stored:
            raise _CheckFailed(f"from_config(get_config()) gives config {again}; expected {stored}")
        if rebuilt.trainable != layer.trainable:
            raise _CheckFailed(
                f"from_config(get_config()) of a layer with trainable={layer.trainable} gives "
                f"trainable={rebuilt.trainable}"
            )
    return ""


def _train_one_epoch(s: _Settings, net: Network) -> None:
    m = max(s.sizes) * 2
    net.train(s.inputs(m, offset=1), s.targets(m), epochs=1, batch_size=max(s.sizes), verbose=0)


def _check_save_load(s: _Settings) -> str:
    layer, net = _layer_in_network(s, "float64")
    cls = type(layer)
    custom = {cls.__name__: cls, **s.custom_objects}
    register_layer(cls)  # idempotent for a class already registered
    _train_one_epoch(s, net)
    with tempfile.TemporaryDirectory() as folder:
        loaded = load(save(net, Path(folder) / "model"), custom_objects=custom)
    twin = loaded.layers[net.layers.index(layer)]
    if type(twin) is not cls or twin.get_config() != layer.get_config():
        raise _CheckFailed(
            f"the loaded layer is {type(twin).__name__} with config {twin.get_config()}; "
            f"expected {cls.__name__} with {layer.get_config()}"
        )
    for kind, ours, theirs in (
        ("parameter", layer.params, twin.params),
        ("state", layer.state, twin.state),
    ):
        if sorted(ours) != sorted(theirs):
            raise _CheckFailed(f"loaded {kind} arrays {sorted(theirs)}; expected {sorted(ours)}")
        for key in ours:
            if not np.array_equal(ours[key], theirs[key]):
                raise _CheckFailed(f"{kind} {key!r} differs after save and load")
    x = s.inputs(max(s.sizes), offset=2)
    if not np.array_equal(net.predict(x), loaded.predict(x)):
        raise _CheckFailed("the loaded network predicts differently")
    return ""


def _snapshot(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in arrays.items()}


def _changed(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> list[str]:
    return [k for k in before if not np.array_equal(before[k], after[k])]


def _check_state_and_freezing(s: _Settings) -> str:
    layer, net = _layer_in_network(s, "float64")
    if not layer.params:
        notes = ["no parameters to freeze"]
    else:
        frozen = s.layer()
        frozen.trainable = False
        frozen_net = s.network(frozen, "float64")
        before = _snapshot(frozen.params)
        _train_one_epoch(s, frozen_net)
        moved = _changed(before, frozen.params)
        if moved:
            raise _CheckFailed(
                f"with trainable=False a training epoch changed the parameter(s) {moved}"
            )
        notes = []
    # Give the state values a real step would give, then check that nothing else moves them.
    _train_one_epoch(s, net)
    m = max(s.sizes)
    x, y = s.inputs(m, offset=3), s.targets(m)
    before = _snapshot(layer.state)
    actions: list[tuple[str, Callable[[], Any]]] = [
        ("forward(training=False)", lambda: net.forward(x, training=False)),
        ("predict", lambda: net.predict(x)),
        ("evaluate", lambda: net.evaluate(x, y)),
        ("loss(training=True)", lambda: net.loss(x, y, training=True)),
        ("backprop(training=True)", lambda: net.backprop(x, y, training=True)),
        ("gradcheck", lambda: gradcheck(net, x, y, max_entries=2)),
    ]
    for name, action in actions:
        action()
        moved = _changed(before, layer.state)
        if moved:
            raise _CheckFailed(f"{name} changed the state {moved}; only training steps may")
    if not layer.state:
        notes.append("no state")
    return "; ".join(notes)


def _check_inference(s: _Settings) -> str:
    _, net = _layer_in_network(s, "float64")
    _train_one_epoch(s, net)
    m = max(max(s.sizes), 2)
    x = s.inputs(m, offset=4)
    first = net.forward(x, training=False).copy()
    if not np.array_equal(first, net.forward(x, training=False)):
        raise _CheckFailed("two inference forwards of one batch differ")
    alone = np.concatenate([net.predict(x[i : i + 1]) for i in range(m)])
    if not np.allclose(alone, first, rtol=1e-10, atol=1e-12):
        raise _CheckFailed(
            "an inference output depends on the other samples of its batch (run one at a "
            "time, the samples give other outputs): inference must treat samples independently"
        )
    return ""
