"""Costs: hand-computed values, gradients against finite differences, the logit forms
against the naive ones and at logits of magnitude 1e4, the fused output error of seed 002
(Lemmas 1 and 2), sample weights, and target validation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import special

import layerkit as lk

SSE = lk.get_loss("sum_of_squares")
MSE = lk.get_loss("mse")
BCE = lk.get_loss("binary_crossentropy")
CCE = lk.get_loss("categorical_crossentropy")


class strict:
    """Overflow, division by zero, invalid operations and warnings become errors
    (underflow to 0 of exp(-1e4) is the correctly rounded result and stays allowed)."""

    def __enter__(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("error")
        self._state = np.seterr(over="raise", divide="raise", invalid="raise")

    def __exit__(self, *exc):
        np.seterr(**self._state)
        self._warnings.__exit__(*exc)


@st.composite
def batches(draw, low=-20.0, high=20.0, min_k=1):
    m = draw(st.integers(1, 6))
    k = draw(st.integers(min_k, 5))
    z = draw(arrays(np.float64, (m, k), elements=st.floats(low, high)))
    return z


@st.composite
def one_hot_targets(draw, m, k):
    labels = draw(arrays(np.int64, (m,), elements=st.integers(0, k - 1)))
    return np.eye(k)[labels]


# ------------------------------------------------------------------ hand-computed values
def test_sum_of_squares_hand_computed_two_samples():
    a = np.array([[0.5, 0.0], [1.0, 2.0]])
    y = np.array([[1.0, 0.0], [0.0, 0.0]])
    # c_1 = 0.25, c_2 = 1 + 4 = 5; J = (0.25 + 5) / 2
    np.testing.assert_allclose(SSE.per_sample(a, y), [0.25, 5.0])
    assert SSE.value(a, y) == pytest.approx(2.625, abs=1e-15)
    # dJ/da = 2 (a - y) / m
    np.testing.assert_allclose(SSE.gradient(a, y), [[-0.5, 0.0], [1.0, 2.0]])


def test_mse_hand_computed_two_samples():
    a = np.array([[0.5, 0.0], [1.0, 2.0]])
    y = np.array([[1.0, 0.0], [0.0, 0.0]])
    # c_1 = 0.25 / 2, c_2 = 5 / 2; J = (0.125 + 2.5) / 2
    assert MSE.value(a, y) == pytest.approx(1.3125, abs=1e-15)
    np.testing.assert_allclose(MSE.gradient(a, y), [[-0.25, 0.0], [0.5, 1.0]])


def test_binary_crossentropy_hand_computed():
    a = np.array([[0.8, 0.3], [0.5, 0.9]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    c1 = -(math.log(0.8) + math.log(0.7))
    c2 = -(math.log(0.5) + math.log(0.9))
    np.testing.assert_allclose(BCE.per_sample(a, y), [c1, c2], rtol=1e-14)
    assert BCE.value(a, y) == pytest.approx((c1 + c2) / 2, rel=1e-14)
    # dJ/da = (a - y) / (a (1 - a)) / m
    np.testing.assert_allclose(
        BCE.gradient(a, y), [[-0.2 / 0.16 / 2, 0.3 / 0.21 / 2], [0.5 / 0.25 / 2, -0.1 / 0.09 / 2]]
    )


def test_categorical_crossentropy_hand_computed():
    a = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
    y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(CCE.per_sample(a, y), [-math.log(0.7), math.log(4.0)], rtol=1e-14)
    assert CCE.value(a, y) == pytest.approx((math.log(4.0) - math.log(0.7)) / 2, rel=1e-14)
    np.testing.assert_allclose(CCE.gradient(a, y), [[0, -1 / 0.7 / 2, 0], [0, 0, -1 / 0.25 / 2]])


def test_categorical_crossentropy_from_logits_hand_computed():
    # z = (0, log 2, log 5): softmax = (1, 2, 5)/8; class 2 costs log(8/5)
    z = np.array([[0.0, math.log(2.0), math.log(5.0)]])
    y = np.array([[0.0, 0.0, 1.0]])
    assert CCE.per_sample_from_logits(z, y)[0] == pytest.approx(math.log(8 / 5), rel=1e-14)


def test_binary_crossentropy_from_logits_hand_computed():
    # z = log 3: sigmoid = 3/4; target 1 costs log(4/3), target 0 costs log 4
    z = np.array([[math.log(3.0), math.log(3.0)]])
    y = np.array([[1.0, 0.0]])
    assert BCE.per_sample_from_logits(z, y)[0] == pytest.approx(
        math.log(4 / 3) + math.log(4), rel=1e-14
    )


@pytest.mark.parametrize(
    "name, cls",
    [
        ("sum_of_squares", lk.losses.SumOfSquares),
        ("sse", lk.losses.SumOfSquares),
        ("mse", lk.losses.MeanSquaredError),
        ("binary_crossentropy", lk.losses.BinaryCrossentropy),
        ("categorical_crossentropy", lk.losses.CategoricalCrossentropy),
    ],
)
def test_get_loss_resolves_names(name, cls):
    assert type(lk.get_loss(name)) is cls


def test_unknown_loss_name_lists_the_available_ones():
    with pytest.raises(ValueError) as info:
        lk.get_loss("hinge")
    for name in lk.available_losses():
        assert repr(name) in str(info.value)


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("loss", [SSE, MSE, BCE, CCE], ids=lambda x: x.name)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_gradient_matches_finite_differences_of_value(loss, data):
    z = data.draw(batches(-3, 3, min_k=2))
    m, k = z.shape
    if loss is CCE:
        a = special.softmax(z, axis=1)
        y = data.draw(one_hot_targets(m, k))
    elif loss is BCE:
        a = special.expit(z)
        y = data.draw(arrays(np.float64, (m, k), elements=st.floats(0, 1)))
    else:
        a = z
        y = data.draw(arrays(np.float64, (m, k), elements=st.floats(-2, 2)))
    grad = loss.gradient(a, y)
    h = 1e-6
    for i in range(m):
        for j in range(k):
            e = np.zeros_like(a)
            e[i, j] = h
            numeric = (loss.value(a + e, y) - loss.value(a - e, y)) / (2 * h)
            assert grad[i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_mse_and_sum_of_squares_differ_by_the_number_of_outputs():
    rng = np.random.default_rng(0)
    for k in (1, 3, 10):
        a, y = rng.normal(size=(4, k)), rng.normal(size=(4, k))
        assert SSE.value(a, y) == pytest.approx(k * MSE.value(a, y), rel=1e-14)
        np.testing.assert_allclose(SSE.gradient(a, y), k * MSE.gradient(a, y), rtol=1e-14)
        np.testing.assert_allclose(SSE.per_sample(a, y), k * MSE.per_sample(a, y), rtol=1e-14)


# ------------------------------------------------------------------ logit forms
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_categorical_from_logits_equals_naive_log_softmax(data):
    z = data.draw(batches(-20, 20, min_k=2))
    y = data.draw(one_hot_targets(*z.shape))
    naive = -np.sum(y * np.log(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)), axis=1)
    np.testing.assert_allclose(CCE.per_sample_from_logits(z, y), naive, rtol=1e-12, atol=1e-12)
    a = special.softmax(z, axis=1)
    np.testing.assert_allclose(CCE.per_sample_from_logits(z, y, a), naive, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_binary_from_logits_equals_naive_log_sigmoid(data):
    z = data.draw(batches(-20, 20))
    y = data.draw(arrays(np.float64, z.shape, elements=st.floats(0, 1)))
    # log(1 - sigmoid(z)) = log(sigmoid(-z)): no cancellation for |z| < 20
    naive = -np.sum(y * np.log(special.expit(z)) + (1 - y) * np.log(special.expit(-z)), axis=1)
    np.testing.assert_allclose(BCE.per_sample_from_logits(z, y), naive, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        BCE.per_sample(special.expit(z), y), naive, rtol=1e-6, atol=1e-9
    )  # the probability form, less exact near saturation


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_categorical_from_logits_of_magnitude_1e4_is_finite_and_exact(dtype):
    z = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    y = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=dtype)
    with strict():
        costs = CCE.per_sample_from_logits(z, y)
        costs_a = CCE.per_sample_from_logits(z, y, lk.get_activation("softmax")(z))
        value = CCE.value(lk.get_activation("softmax")(z), y, logits=z)
    # exact up to the rounding of logits of size 1e4 (an ulp of 1e4 is 1e-3 in float32)
    atol = 4 * 1e4 * np.finfo(dtype).eps
    for c in (costs, costs_a):
        assert np.isfinite(c).all()
        np.testing.assert_allclose(c, [2e4, 0.0, math.log(3.0)], rtol=1e-6, atol=atol)
    assert value == pytest.approx((2e4 + math.log(3.0)) / 3, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_from_logits_of_magnitude_1e4_is_finite_and_exact(dtype):
    z = np.array([[1e4, -1e4, 1e4, -1e4]], dtype=dtype)
    y = np.array([[0, 1, 1, 0]], dtype=dtype)
    with strict():
        costs = BCE.per_sample_from_logits(z, y)
    assert np.isfinite(costs).all()
    np.testing.assert_allclose(costs, [2e4], rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_cost_with_huge_logits_is_finite_through_the_public_api(dtype):
    net = lk.Network([lk.Input(1), lk.Dense(3, "softmax")], dtype=dtype, seed=0)
    net.set_weights([np.array([[1e4, -1e4, 0.0]]), np.zeros(3)])
    with strict():
        assert net.loss([[1.0]], [1]) == pytest.approx(2e4, rel=1e-6)
        assert net.backprop([[1.0]], [1]) == pytest.approx(2e4, rel=1e-6)
    np.testing.assert_allclose(net.layers[1].grads["b"], [1.0, -1.0, 0.0], atol=1e-6)
    net = lk.Network(
        [lk.Input(1), lk.Dense(1, "sigmoid")], loss="binary_crossentropy", dtype=dtype, seed=0
    )
    net.set_weights([np.array([[1e4]]), np.zeros(1)])
    with strict():
        assert net.loss([[-1.0]], [1]) == pytest.approx(1e4, rel=1e-6)


# ------------------------------------------------------------------ fused output error
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_fused_delta_is_a_minus_y_over_m(data):
    a = data.draw(batches(0, 1))
    y = data.draw(arrays(np.float64, a.shape, elements=st.floats(0, 1)))
    w = data.draw(arrays(np.float64, a.shape[:1], elements=st.floats(0, 3)))
    for loss in (BCE, CCE):
        np.testing.assert_allclose(loss.fused_delta(a, y), (a - y) / len(a), rtol=1e-14)
        np.testing.assert_allclose(
            loss.fused_delta(a, y, sample_weight=w), w[:, None] * (a - y) / len(a), rtol=1e-14
        )


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_softmax_backward_of_crossentropy_gradient_is_the_fused_delta_lemma_2(data):
    z = data.draw(batches(-10, 10, min_k=2))
    y = data.draw(one_hot_targets(*z.shape))
    softmax = lk.get_activation("softmax")
    a = softmax(z)
    chained = softmax.backward(z, a, CCE.gradient(a, y))
    np.testing.assert_allclose(chained, CCE.fused_delta(a, y), rtol=1e-9, atol=1e-12)
    # and both are the derivative of J(z) = CCE(softmax(z), y) computed from the logits
    _assert_is_logit_gradient(CCE, z, y, CCE.fused_delta(a, y))


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_sigmoid_backward_of_binary_crossentropy_gradient_is_the_fused_delta_lemma_1(data):
    z = data.draw(batches(-10, 10))
    y = data.draw(arrays(np.float64, z.shape, elements=st.floats(0, 1)))
    sigmoid = lk.get_activation("sigmoid")
    a = sigmoid(z)
    chained = sigmoid.backward(z, a, BCE.gradient(a, y))
    np.testing.assert_allclose(chained, BCE.fused_delta(a, y), rtol=1e-9, atol=1e-12)
    _assert_is_logit_gradient(BCE, z, y, BCE.fused_delta(a, y))


def _assert_is_logit_gradient(loss, z, y, delta):
    h = 1e-5
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            e = np.zeros_like(z)
            e[i, j] = h
            numeric = (
                loss.per_sample_from_logits(z + e, y).mean()
                - loss.per_sample_from_logits(z - e, y).mean()
            ) / (2 * h)
            assert delta[i, j] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


# ------------------------------------------------------------------ sample weights
@pytest.mark.parametrize("loss", [SSE, MSE, BCE, CCE], ids=lambda x: x.name)
def test_sample_weights_give_the_weighted_sum_over_m(loss):
    rng = np.random.default_rng(3)
    a = special.softmax(rng.normal(size=(5, 3)), axis=1)
    y = np.eye(3)[[0, 2, 1, 1, 0]]
    w = np.array([0.0, 1.0, 2.5, 0.5, 3.0])
    c = loss.per_sample(a, y)
    assert loss.value(a, y, sample_weight=w) == pytest.approx(np.sum(w * c) / 5, rel=1e-13)
    assert loss.value(a, y, sample_weight=np.ones(5)) == pytest.approx(loss.value(a, y), rel=1e-14)
    np.testing.assert_allclose(
        loss.gradient(a, y, sample_weight=w), w[:, None] * loss.gradient(a, y), rtol=1e-13
    )


def test_network_sample_weights_weight_each_sample_cost():
    rng = np.random.default_rng(0)
    net = lk.Network(
        [lk.Input(3), lk.Dense(4, "tanh"), lk.Dense(3, "softmax")], dtype="float64", seed=1
    )
    X, y = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    w = np.array([0.5, 0.0, 2.0, 1.0])
    per_sample = [net.loss(X[i : i + 1], y[i : i + 1]) for i in range(4)]
    assert net.loss(X, y, sample_weight=w) == pytest.approx(np.dot(w, per_sample) / 4, rel=1e-13)
    assert lk.gradcheck(net, X, y, sample_weight=w).passed


# ------------------------------------------------------------------ target validation
@pytest.mark.parametrize(
    "loss, y, n_outputs, fragment",
    [
        (CCE, [0, 1, 3], 3, "labels"),  # a label past the last class
        (CCE, [0, -1, 2], 3, "labels"),  # negative label
        (CCE, [0.0, 1.5, 2.0], 3, "whole"),  # non-integral label
        (CCE, [[1, 0, 0], [0.5, 0.4, 0.0]], 3, "sum to 1"),
        (CCE, [[1, 0, 0], [1, 1, 0]], 3, "sum to 1"),
        (CCE, [[1, 0, 0], [2, -1, 0]], 3, r"\[0, 1\]"),
        (CCE, [0, np.nan, 1], 3, "NaN"),
        (CCE, [[0, 1], [1, 0]], 3, "shape"),
        (BCE, [0, 1, 2], 1, r"\[0, 1\]"),
        (BCE, [0, 1, np.nan], 1, "NaN"),
        (BCE, [[0, 1.5]], 2, r"\[0, 1\]"),
        (SSE, [[0.0, np.nan]], 2, "NaN"),
        (SSE, [[0.0, np.inf]], 2, "infinity"),
        (MSE, [[0.0, 1.0, 2.0]], 2, "shape"),
    ],
)
def test_invalid_targets_are_value_errors_naming_the_argument(loss, y, n_outputs, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        loss.prepare_targets(np.array(y), n_outputs, np.float64, argument="y_test")
    assert isinstance(info.value, lk.LayerkitValueError)
    assert "y_test" in str(info.value)


def test_invalid_validation_targets_name_y_val_in_train():
    net = lk.Network([lk.Input(2), lk.Dense(3, "softmax")], dtype="float64", seed=0)
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="y_val"):
        net.train(X, [0, 1, 2, 0], X, [0, 1, 3, 0], epochs=1, verbose=0)


def test_valid_targets_are_converted_to_one_hot_rows():
    np.testing.assert_array_equal(
        CCE.prepare_targets(np.array([2, 0]), 3, np.float64), [[0, 0, 1], [1, 0, 0]]
    )
    np.testing.assert_array_equal(BCE.prepare_targets(np.array([1, 0]), 1, np.float64), [[1], [0]])
    np.testing.assert_array_equal(
        SSE.prepare_targets(np.array([0.5, 2]), 1, np.float64), [[0.5], [2]]
    )


def test_a_user_loss_with_the_three_argument_logit_form_still_trains():
    class Smoothed(lk.losses.CategoricalCrossentropy):
        def per_sample_from_logits(self, logits, target, output=None):
            smooth = 0.9 * target + 0.1 / target.shape[1]
            return super().per_sample_from_logits(logits, smooth, output)

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 5)).astype(np.float32), rng.integers(0, 3, 40)
    net = lk.Network([lk.Input(5), lk.Dense(3, "softmax")], loss=Smoothed(), seed=0)
    hist = net.train(X, y, epochs=3, verbose=0)
    assert np.all(np.isfinite(hist.train_cost))
    # and the cost is the smoothed one, not the plain cross-entropy
    plain = lk.Network([lk.Input(5), lk.Dense(3, "softmax")], seed=0)
    plain.set_weights(net.get_weights())
    assert net.loss(X, y) != pytest.approx(plain.loss(X, y), rel=1e-3)
