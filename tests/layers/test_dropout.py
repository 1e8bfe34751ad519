"""``Dropout`` (seed 000, section 5.1): the fraction dropped, inverted scaling, identity at
inference, the mask reused by backward and reproduced by a seed, and the equivalence with
the paper's convention (keep with probability p, multiply by p at test time).

Statistical tolerances are five binomial standard deviations: a correct layer fails one
of them with probability below 1e-6, and the seeds are fixed anyway.
"""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk

N_ROWS, N_UNITS = 400, 250  # 100,000 units per mask


def _dropout_net(rate, n=N_UNITS, seed=0, dtype="float64"):
    layer = lk.Dropout(rate)
    net = lk.Network([lk.Input(n), layer], loss="mse", dtype=dtype, seed=seed)
    return net, layer


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_fraction_dropped_is_the_rate(rate):
    net, _ = _dropout_net(rate)
    y = net.forward(np.ones((N_ROWS, N_UNITS)), training=True)
    n = y.size
    dropped = np.mean(y == 0)
    assert abs(dropped - rate) <= 5 * np.sqrt(rate * (1 - rate) / n)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_kept_units_are_scaled_by_one_over_keep_probability(rate):
    net, layer = _dropout_net(rate)
    assert layer.keep_probability == pytest.approx(1 - rate)
    x = np.random.default_rng(1).uniform(0.5, 2.0, (N_ROWS, N_UNITS))
    y = net.forward(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-14)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.9])
def test_inverted_dropout_preserves_the_expectation(rate):
    """E[y] = x: the mean over many draws of x * m / p is within 5 standard errors of x."""
    p = 1 - rate
    net, _ = _dropout_net(rate, n=50)
    x = np.linspace(0.5, 3.0, 50)
    draws = np.array([net.forward(np.tile(x, (200, 1)), training=True).copy() for _ in range(10)])
    draws = draws.reshape(-1, 50)  # 2,000 draws per unit
    # y = x m / p with m ~ Bernoulli(p): std(y) = x sqrt((1 - p) / p)
    standard_error = x * np.sqrt((1 - p) / p) / np.sqrt(draws.shape[0])
    assert np.all(np.abs(draws.mean(axis=0) - x) <= 5 * standard_error)
    # pooled over all units the mean ratio is within 5 standard errors of 1
    ratio = draws / x
    assert abs(ratio.mean() - 1) <= 5 * np.sqrt((1 - p) / p / ratio.size)


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.9])
def test_inference_returns_its_input_itself(rate):
    layer = lk.Dropout(rate)
    lk.Network([lk.Input(4), layer], loss="mse")
    x = np.ones((3, 4))
    assert layer.forward(x, training=False) is x
    assert layer.forward(x) is x
    assert layer.backward(x) is x  # no mask after an inference pass


def test_predict_never_drops():
    net = lk.Network(
        [lk.Input(5), lk.Dense(8, "tanh"), lk.Dropout(0.5), lk.Dense(2)], loss="mse", seed=3
    )
    x = np.random.default_rng(0).normal(size=(6, 5))
    np.testing.assert_array_equal(net.predict(x), net.predict(x))
    np.testing.assert_array_equal(net.predict(x), net.forward(x, training=False))


def test_rate_zero_is_the_identity_even_while_training():
    _, layer = _dropout_net(0.0, n=6)
    x = np.random.default_rng(0).normal(size=(3, 6))
    assert layer.forward(x, training=True) is x


@pytest.mark.parametrize("rate", [0.25, 0.6])
def test_backward_uses_the_forward_mask(rate):
    _, layer = _dropout_net(rate, n=40)
    x = np.random.default_rng(0).uniform(1, 2, (30, 40))
    y = layer.forward(x, training=True).copy()
    g = np.random.default_rng(1).normal(size=x.shape)
    dx = layer.backward(g)
    # y = x * mask/p, so dJ/dx = g * mask/p = g * y / x
    np.testing.assert_allclose(dx, g * y / x, rtol=1e-13)
    assert np.all((dx == 0) == (y == 0))


def test_same_network_seed_gives_the_same_mask_bit_for_bit():
    x = np.ones((64, 100))
    a, _ = _dropout_net(0.5, n=100, seed=11, dtype="float32")
    b, _ = _dropout_net(0.5, n=100, seed=11, dtype="float32")
    for _ in range(3):  # successive masks too
        np.testing.assert_array_equal(a.forward(x, training=True), b.forward(x, training=True))


def test_different_seed_gives_a_different_mask():
    x = np.ones((64, 100))
    a, _ = _dropout_net(0.5, n=100, seed=11)
    b, _ = _dropout_net(0.5, n=100, seed=12)
    assert not np.array_equal(a.forward(x, training=True), b.forward(x, training=True))


def test_successive_training_passes_draw_new_masks():
    net, _ = _dropout_net(0.5, n=100)
    x = np.ones((64, 100))
    first = net.forward(x, training=True).copy()
    assert not np.array_equal(first, net.forward(x, training=True))


def test_paper_convention_and_inverted_dropout_are_equivalent():
    """Seed 000: train with x * m (keep with p), test with p * x. Inverted dropout: train
    with x * m / p, test with x. With the next layer's weights scaled by 1/p in the paper's
    network, the two networks compute identical pre-activations in both modes; and each
    convention's training-time expectation equals its own test-time output."""
    rate = 0.4
    p = 1 - rate
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(6, 3)), rng.normal(size=3)
    net = lk.Network(
        [lk.Input(6), lk.Dropout(rate), lk.Dense(3)], loss="mse", dtype="float64", seed=5
    )
    net.set_weights([W, b])
    x = rng.uniform(0.5, 1.5, (2000, 6))

    ours = net.layers[1].forward(x, training=True).copy()  # x * m / p
    m = ours != 0  # the keep decisions, m ~ Bernoulli(p)
    np.testing.assert_allclose(ours, x * m / p, rtol=1e-14)
    paper = x * m  # the paper's training activations for the same mask
    # training: paper's (x m) (W / p) + b equals ours (x m / p) W + b
    np.testing.assert_allclose(
        paper @ (W / p) + b, net.layers[2].forward(ours), rtol=1e-12, atol=1e-12
    )
    # test time: paper's (p x) (W / p) + b equals our inference output x W + b
    np.testing.assert_allclose((p * x) @ (W / p) + b, net.predict(x), rtol=1e-12, atol=1e-12)

    # expectations: the paper's training mean is its test activation p x; ours is x;
    # they differ by the factor p, element for element
    se = np.sqrt(p * (1 - p)) * x.max() / np.sqrt(len(x))  # std error of a mean of x m
    assert np.all(np.abs(paper.mean(axis=0) - p * x.mean(axis=0)) <= 5 * se)
    assert np.all(np.abs(ours.mean(axis=0) - x.mean(axis=0)) <= 5 * se / p)
    np.testing.assert_allclose(ours.mean(axis=0) * p, paper.mean(axis=0), rtol=1e-12)
    # and the whole network's training output averages to its inference output
    train_out = net.forward(x, training=True).copy()
    se_out = np.abs(W).sum(axis=0) * x.max() * np.sqrt((1 - p) / p) / np.sqrt(len(x))
    assert np.all(np.abs(train_out.mean(axis=0) - net.predict(x).mean(axis=0)) <= 5 * se_out)


@pytest.mark.parametrize("rate", [1.0, 1.5, -0.1, float("nan")])
def test_rate_outside_zero_one_is_a_value_error_naming_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        lk.Dropout(rate)


@pytest.mark.parametrize("rate", ["0.5", None, True])
def test_non_numeric_rate_is_a_type_error(rate):
    with pytest.raises(TypeError, match="rate"):
        lk.Dropout(rate)


def test_dropout_network_passes_gradcheck_in_training_mode():
    rng = np.random.default_rng(0)
    net = lk.Network(
        [lk.Input(4), lk.Dense(8, "tanh"), lk.Dropout(0.5), lk.Dense(3, "softmax")], seed=2
    )
    assert lk.gradcheck(net, rng.normal(size=(5, 4)), rng.integers(0, 3, 5)).passed


def test_get_config_round_trips():
    layer = lk.Dropout(0.3, name="drop")
    assert lk.Dropout.from_config(layer.get_config()).get_config() == {"rate": 0.3, "name": "drop"}
