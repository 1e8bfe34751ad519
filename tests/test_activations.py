"""Activation functions: values against formulas written here, derivatives against finite
differences, the documents' conventions at the kinks, softmax's invariances (seed 002,
Proposition 1), stability for huge inputs, TSin's implicit equation (seed 000, section
5.2) and the registry."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from scipy import optimize

import layerkit as lk
from layerkit import activations

SQRT2 = math.sqrt(2.0)


# -------------------------------------------------------------------------- references
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# name -> (keyword parameters, f, f') written from the formulas, not from layerkit
REFERENCES = {
    "identity": ({}, lambda z: z, lambda z: np.ones_like(z)),
    "sigmoid": ({}, _sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
    "tanh": ({}, np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "relu": ({}, lambda z: np.where(z > 0, z, 0.0), lambda z: (z > 0).astype(float)),
    "leaky_relu": (
        {"alpha": 0.2},
        lambda z: np.where(z > 0, z, 0.2 * z),
        lambda z: np.where(z > 0, 1.0, 0.2),
    ),
    "elu": (
        {"alpha": 1.5},
        lambda z: np.where(z > 0, z, 1.5 * (np.exp(np.minimum(z, 0)) - 1)),
        lambda z: np.where(z > 0, 1.0, 1.5 * np.exp(np.minimum(z, 0))),
    ),
}
KINKED = {"relu", "leaky_relu", "elu"}
ELEMENTWISE = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "tsin"]
ELEMENTWISE_PARAMS = {"leaky_relu": {"alpha": 0.2}, "elu": {"alpha": 1.5}, "tsin": {"A": 0.7}}

moderate = arrays(
    np.float64,
    array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5),
    elements=st.floats(-6, 6, allow_nan=False, allow_infinity=False),
)


def _away_from_kinks(z):
    """Move entries within 1e-3 of 0 to 0.5, so a finite difference does not straddle it."""
    return np.where(np.abs(z) < 1e-3, 0.5, z)


def _fd(f, z, h=1e-4):
    """Fourth-order central difference of an elementwise f."""
    return (8 * (f(z + h) - f(z - h)) - (f(z + 2 * h) - f(z - 2 * h))) / (12 * h)


@pytest.fixture
def registry(monkeypatch):
    """Register test activations in a throw-away copy of the registry."""
    monkeypatch.setattr(activations, "_REGISTRY", dict(activations._REGISTRY))


def _raising():
    """Overflow, division by zero and invalid operations become errors; warnings too.

    Underflow is left alone: exp(-1e4) rounding to 0 is the correctly rounded result.
    """
    stack = warnings.catch_warnings()
    stack.__enter__()
    warnings.simplefilter("error")
    state = np.seterr(over="raise", divide="raise", invalid="raise")
    return stack, state


class _Strict:
    def __enter__(self):
        self._stack, self._state = _raising()

    def __exit__(self, *exc):
        np.seterr(**self._state)
        self._stack.__exit__(*exc)


strict = _Strict


# -------------------------------------------------------------------------- values
@pytest.mark.parametrize("name", sorted(REFERENCES))
@settings(max_examples=25, deadline=None)
@given(z=moderate)
def test_values_match_their_formula(name, z):
    params, f, _ = REFERENCES[name]
    act = lk.get_activation(name, **params)
    np.testing.assert_allclose(act(z), f(z), rtol=1e-13, atol=1e-15)
    out = np.empty_like(z)
    assert act(z, out=out) is out
    np.testing.assert_allclose(out, f(z), rtol=1e-13, atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(z=moderate)
def test_softmax_values_match_exp_over_row_sum(z):
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(lk.get_activation("softmax")(z), expected, rtol=1e-13)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_dtype_and_shape_follow_the_input(name, dtype):
    z = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    act = lk.get_activation(name, **ELEMENTWISE_PARAMS.get(name, {}))
    a = act(z)
    assert a.shape == z.shape and a.dtype == dtype
    g = act.backward(z, a, np.ones_like(z))
    assert g.shape == z.shape and g.dtype == dtype


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_activation_accepts_a_0d_array(name):
    """An elementwise function of a scalar (0-d array) works, forward and backward."""
    act = lk.get_activation(name, **ELEMENTWISE_PARAMS.get(name, {}))
    z = np.array(-0.3)
    a = act(z)
    assert np.shape(a) == ()
    g = act.backward(z, a, np.array(1.0))
    assert np.shape(g) == ()
    np.testing.assert_allclose(g, act.derivative(np.array([-0.3]))[0], rtol=1e-12)


def test_one_activation_object_serves_batches_of_different_shapes():
    """A call on one shape must not break later calls on another (cached buffers)."""
    for name in ("relu", "leaky_relu", "elu"):
        act = lk.get_activation(name)
        for shape in [(4, 3), (2, 3), (6, 3), (5,), (2, 2, 2)]:
            z = np.linspace(-1, 1, math.prod(shape)).reshape(shape)
            np.testing.assert_array_equal(
                act.backward(z, act(z), np.ones_like(z)), act.derivative(z)
            )


# -------------------------------------------------------------------------- derivatives
@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=25, deadline=None)
@given(z=moderate)
def test_derivative_matches_finite_differences(name, z):
    act = lk.get_activation(name, **ELEMENTWISE_PARAMS.get(name, {}))
    if name in KINKED:
        z = _away_from_kinks(z)
    np.testing.assert_allclose(act.derivative(z), _fd(act, z), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(REFERENCES))
@settings(max_examples=25, deadline=None)
@given(z=moderate)
def test_derivative_matches_its_formula(name, z):
    params, _, df = REFERENCES[name]
    act = lk.get_activation(name, **params)
    np.testing.assert_allclose(act.derivative(z), df(z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=25, deadline=None)
@given(z=moderate, seed=st.integers(0, 2**16))
def test_backward_is_incoming_gradient_times_derivative(name, z, seed):
    act = lk.get_activation(name, **ELEMENTWISE_PARAMS.get(name, {}))
    grad = np.random.default_rng(seed).standard_normal(z.shape)
    a = act(z)
    expected = grad * act.derivative(z)
    np.testing.assert_allclose(act.backward(z, a, grad), expected, rtol=1e-12, atol=1e-15)
    out = np.empty_like(z)
    assert act.backward(z, a, grad, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(z=moderate, seed=st.integers(0, 2**16))
def test_softmax_backward_is_the_jacobian_vector_product(z, seed):
    softmax = lk.get_activation("softmax")
    grad = np.random.default_rng(seed).standard_normal(z.shape)
    a = softmax(z)
    got = softmax.backward(z, a, grad)
    for i in range(z.shape[0]):
        jac = np.diag(a[i]) - np.outer(a[i], a[i])  # d a_j / d z_k
        np.testing.assert_allclose(got[i], jac.T @ grad[i], rtol=1e-10, atol=1e-14)
    # and against finite differences of z -> sum(grad * softmax(z))
    h = 1e-5
    for i in range(z.shape[0]):
        for k in range(z.shape[1]):
            e = np.zeros_like(z)
            e[i, k] = h
            numeric = (np.sum(grad * softmax(z + e)) - np.sum(grad * softmax(z - e))) / (2 * h)
            assert got[i, k] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_relu_derivative_at_zero_is_zero():
    relu = lk.get_activation("relu")
    z = np.array([[-1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(relu.derivative(z), [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(relu.backward(z, relu(z), np.full_like(z, 3.0)), [[0, 0, 3.0]])


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.3])
def test_leaky_relu_derivative_at_zero_is_alpha(alpha):
    act = lk.get_activation("leaky_relu", alpha=alpha)
    z = np.array([[-1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(act.derivative(z), [[alpha, alpha, 1.0]])
    np.testing.assert_allclose(
        act.backward(z, act(z), np.full_like(z, 2.0)), [[2 * alpha] * 2 + [2]]
    )


def test_elu_derivative_at_zero_is_alpha_and_continuous_for_alpha_one():
    for alpha in (0.5, 1.0, 2.0):
        act = lk.get_activation("elu", alpha=alpha)
        assert act.derivative(np.array([[0.0]]))[0, 0] == pytest.approx(alpha)
    # alpha = 1: f' is continuous (1 from both sides) ...
    act = lk.get_activation("elu", alpha=1.0)
    left, right = act.derivative(np.array([[-1e-9, 1e-9]]))[0]
    assert left == pytest.approx(right, abs=1e-8)
    # ... but f'' jumps (alpha e^z -> 1 vs 0), which spoils a 4th-order finite difference
    # across 0, so gradcheck must treat 0 as a kink for every alpha (hypothesis found one).
    assert lk.get_activation("elu", alpha=1.0).kinks == (0.0,)
    assert lk.get_activation("elu", alpha=2.0).kinks == (0.0,)


@pytest.mark.parametrize(
    "name, params",
    [("leaky_relu", {"alpha": 1.0}), ("leaky_relu", {"alpha": -0.1}), ("elu", {"alpha": 0.0})],
)
def test_out_of_range_alpha_is_a_value_error_naming_alpha(name, params):
    with pytest.raises(ValueError, match="alpha"):
        lk.get_activation(name, **params)


# -------------------------------------------------------------------------- softmax
@settings(max_examples=40, deadline=None)
@given(
    z=arrays(
        np.float64,
        array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
    )
)
def test_softmax_rows_are_probability_vectors(z):
    with strict():
        a = lk.get_activation("softmax")(z)
    assert np.all(a >= 0) and np.all(a <= 1)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    z=arrays(np.float64, (3, 4), elements=st.floats(-10, 10)),
    shift=arrays(np.float64, (3, 1), elements=st.floats(-500, 500)),
)
def test_softmax_is_shift_invariant_seed002_proposition_1(z, shift):
    softmax = lk.get_activation("softmax")
    np.testing.assert_allclose(softmax(z + shift), softmax(z), rtol=1e-9, atol=1e-15)


def test_softmax_of_huge_logits_equals_softmax_of_shifted_logits():
    z = np.array([[1e4, 1e4 - 1.0, 1e4 - 2.0], [-1e4, -1e4 + 3.0, -1e4 + 1.0]])
    with strict():
        a = lk.get_activation("softmax")(z)
    small = z - z.max(axis=1, keepdims=True)
    np.testing.assert_allclose(a, np.exp(small) / np.exp(small).sum(1, keepdims=True), rtol=1e-12)


# -------------------------------------------------------------------------- stability
HUGE = [-1e4, -1e3, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 1e3, 1e4]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax", "elu", "tsin"])
def test_huge_inputs_give_finite_outputs_and_gradients_without_warnings(name, dtype):
    z = np.array([HUGE, HUGE[::-1]], dtype=dtype)
    act = lk.get_activation(name)
    with strict():
        a = act(z)
        g = act.backward(z, a, np.ones_like(z))
    assert a.dtype == dtype and np.isfinite(a).all() and np.isfinite(g).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_inputs_saturate_at_the_right_limits(dtype):
    z = np.array([[-1e4, 1e4]], dtype=dtype)
    with strict():
        np.testing.assert_array_equal(lk.get_activation("sigmoid")(z), [[0.0, 1.0]])
        np.testing.assert_array_equal(lk.get_activation("tanh")(z), [[-1.0, 1.0]])
        np.testing.assert_array_equal(lk.get_activation("softmax")(z), [[0.0, 1.0]])
        np.testing.assert_array_equal(lk.get_activation("elu", alpha=2.0)(z), [[-2.0, 1e4]])
        y = lk.get_activation("tsin", A=0.5)(z)
    assert np.all(np.abs(y.astype(np.float64) - z) <= SQRT2 * 0.5 + 1e4 * np.finfo(dtype).eps)


# -------------------------------------------------------------------------- TSin
tsin_A = st.floats(0.01, 0.99)
tsin_x = arrays(
    np.float64,
    array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=8),
    elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=60, deadline=None)
@given(x=tsin_x, A=tsin_A)
def test_tsin_satisfies_its_implicit_equation_to_1e_12(x, A):
    tsin = lk.get_activation("tsin", A=A)
    y = tsin(x)
    assert y.dtype == np.float64 and y.shape == x.shape
    residual = (y - x) - SQRT2 * A * np.sin((x + y) / SQRT2)
    assert np.max(np.abs(residual)) <= 1e-12
    assert np.all(np.abs(y - x) <= SQRT2 * A + 1e-12)


@settings(max_examples=40, deadline=None)
@given(x=tsin_x, A=tsin_A)
def test_tsin_derivative_matches_finite_differences_of_solve(x, A):
    tsin = lk.get_activation("tsin", A=A)
    numeric = _fd(tsin.solve, x, h=1e-5)
    np.testing.assert_allclose(tsin.derivative(x), numeric, rtol=1e-6, atol=1e-8)
    # and the closed form of seed 000: (1 + A cos u) / (1 - A cos u), u = (x + y)/sqrt2
    c = A * np.cos((x + tsin.solve(x)) / SQRT2)
    np.testing.assert_allclose(tsin.derivative(x), (1 + c) / (1 - c), rtol=1e-12)


@pytest.mark.parametrize("A", [0.05, 0.5, 0.95])
def test_tsin_agrees_with_an_independent_root_finder(A):
    tsin = lk.get_activation("tsin", A=A)
    xs = np.linspace(-7.0, 7.0, 29)
    expected = [
        optimize.brentq(
            lambda y, x=x: (y - x) - SQRT2 * A * np.sin((x + y) / SQRT2),
            x - SQRT2 * A,
            x + SQRT2 * A,
            xtol=1e-15,
            rtol=4 * np.finfo(float).eps,
        )
        for x in xs
    ]
    np.testing.assert_allclose(tsin(xs), expected, rtol=1e-13, atol=1e-13)


def test_tsin_is_increasing_and_odd():
    tsin = lk.get_activation("tsin", A=0.8)
    x = np.linspace(-20, 20, 4001)
    y = tsin(x)
    assert np.all(np.diff(y) > 0)
    np.testing.assert_allclose(tsin(-x), -y, atol=1e-13)


@pytest.mark.parametrize("A", [0.0, 1.0, -0.5, 1.5, float("nan"), float("inf")])
def test_tsin_amplitude_outside_open_unit_interval_is_a_value_error_naming_A(A):
    with pytest.raises(ValueError, match=r"\bA\b"):
        lk.get_activation("tsin", A=A)
    with pytest.raises(ValueError, match=r"\bA\b"):
        lk.Activation("tsin", A=A)
    with pytest.raises(ValueError, match=r"\bA\b"):
        lk.Dense(2, "tsin", activation_params={"A": A})


# -------------------------------------------------------------------------- registry
def test_unknown_activation_name_lists_the_available_ones():
    for make in (
        lambda: lk.get_activation("swishy"),
        lambda: lk.Dense(2, "swishy"),
        lambda: lk.Activation("swishy"),
    ):
        with pytest.raises(ValueError, match="swishy") as info:
            make()
        for name in lk.available_activations():
            assert repr(name) in str(info.value)


def test_builtin_activations_are_all_registered():
    assert set(ELEMENTWISE) | {"softmax"} <= set(lk.available_activations())


def test_unknown_keyword_parameter_names_the_accepted_ones():
    with pytest.raises(TypeError, match="A"):
        lk.get_activation("tsin", amplitude=0.5)


def _scaled_tanh(z, c=1.0):
    return c * np.tanh(z)


def _scaled_tanh_derivative(z, c=1.0):
    return c * (1 - np.tanh(z) ** 2)


def _net_with(layers, seed=0):
    return lk.Network([lk.Input(3), *layers], loss="mse", dtype="float64", seed=seed)


def test_registered_function_is_usable_by_name_from_dense_and_activation(registry):
    lk.register_activation("scaled_tanh", _scaled_tanh, _scaled_tanh_derivative)
    assert "scaled_tanh" in lk.available_activations()
    x = np.random.default_rng(0).uniform(-2, 2, (5, 3))
    y = np.random.default_rng(1).uniform(-1, 1, (5, 2))

    dense = _net_with([lk.Dense(2, "scaled_tanh", activation_params={"c": 2.5})])
    W, b = dense.get_weights()
    np.testing.assert_allclose(dense.predict(x), 2.5 * np.tanh(x @ W + b), rtol=1e-13)
    assert lk.gradcheck(dense, x, y).passed

    layer = _net_with([lk.Dense(2), lk.Activation("scaled_tanh", c=2.5)])
    layer.set_weights([W, b])
    np.testing.assert_allclose(layer.predict(x), dense.predict(x), rtol=1e-13)
    assert lk.gradcheck(layer, x, y).passed


def test_registered_class_is_usable_by_name_with_parameters(registry):
    @lk.register_activation
    class Softsign(lk.ActivationFunction):
        name = "test_softsign"

        def __init__(self, scale=1.0):
            self.scale = scale

        def __call__(self, z, out=None):
            return np.divide(self.scale * z, 1 + np.abs(z), out=out)

        def derivative(self, z, a=None):
            return self.scale / (1 + np.abs(z)) ** 2

        def get_config(self):
            return {"scale": self.scale}

    assert isinstance(Softsign, type)
    assert isinstance(lk.get_activation("test_softsign", scale=3.0), Softsign)
    x = np.random.default_rng(0).uniform(-2, 2, (4, 3))
    y = np.random.default_rng(1).uniform(-1, 1, (4, 2))
    dense = _net_with([lk.Dense(2, "test_softsign", activation_params={"scale": 3.0})])
    W, b = dense.get_weights()
    z = x @ W + b
    np.testing.assert_allclose(dense.predict(x), 3.0 * z / (1 + np.abs(z)), rtol=1e-13)
    assert lk.gradcheck(dense, x, y).passed
    layer = _net_with([lk.Dense(2), lk.Activation("test_softsign", scale=3.0)])
    layer.set_weights([W, b])
    np.testing.assert_allclose(layer.predict(x), dense.predict(x), rtol=1e-13)
    assert lk.gradcheck(layer, x, y).passed


def test_registering_a_taken_name_needs_overwrite(registry):
    with pytest.raises(ValueError, match="relu"):
        lk.register_activation("relu", _scaled_tanh, _scaled_tanh_derivative)
    lk.register_activation("my_act", _scaled_tanh, _scaled_tanh_derivative)
    with pytest.raises(ValueError, match="my_act"):
        lk.register_activation("my_act", _scaled_tanh, _scaled_tanh_derivative)
    lk.register_activation("my_act", np.sin, np.cos, overwrite=True)
    np.testing.assert_allclose(lk.get_activation("my_act")(np.array([[1.0]])), [[np.sin(1.0)]])


def test_register_function_form_needs_two_callables(registry):
    with pytest.raises(TypeError):
        lk.register_activation("half", _scaled_tanh)
