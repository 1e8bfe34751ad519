"""``Dense``: shapes, initialisers, the forward formula ``f(x W + b)``, the backward
formulas, input-width errors and the first layer's skipped input gradient."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

import layerkit as lk


def _net(layers, n_in=3, loss="mse", dtype="float64", seed=0):
    return lk.Network([lk.Input(n_in), *layers], loss=loss, dtype=dtype, seed=seed)


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize("n_in, units", [(1, 1), (3, 5), (7, 2)])
def test_weight_and_bias_shapes_are_n_in_by_units_and_units(n_in, units):
    layer = lk.Dense(units, "tanh")
    _net([layer], n_in=n_in)
    assert layer.params["W"].shape == (n_in, units)
    assert layer.params["b"].shape == (units,)
    assert layer.grads["W"].shape == (n_in, units) and layer.grads["b"].shape == (units,)
    assert layer.input_shape == (n_in,) and layer.output_shape == (units,)
    assert layer.n_params == n_in * units + units
    assert layer.penalized_params == ("W",)  # the L2 penalty never touches the bias


def test_use_bias_false_has_no_bias():
    layer = lk.Dense(4, use_bias=False)
    net = _net([layer])
    assert set(layer.params) == {"W"}
    x = np.random.default_rng(0).normal(size=(2, 3))
    np.testing.assert_allclose(net.predict(x), x @ layer.params["W"], rtol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parameters_and_outputs_use_the_network_dtype(dtype):
    layer = lk.Dense(4, "sigmoid")
    net = _net([layer], dtype=dtype)
    assert layer.params["W"].dtype == dtype and layer.params["b"].dtype == dtype
    assert net.predict(np.ones((2, 3))).dtype == dtype


@pytest.mark.parametrize("units", [0, -1])
def test_non_positive_units_is_a_value_error(units):
    with pytest.raises(ValueError, match="units"):
        lk.Dense(units)


@pytest.mark.parametrize("units", [2.5, "3", True])
def test_non_integer_units_is_a_type_error(units):
    with pytest.raises(TypeError, match="units"):
        lk.Dense(units)


# ------------------------------------------------------------------ initialisers
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu"])
def test_relu_family_defaults_to_he_normal(activation):
    n_in, units = 400, 500
    layer = lk.Dense(units, activation)
    _net([layer], n_in=n_in, seed=1)
    assert layer.kernel_initializer == "he_normal"
    W = layer.params["W"]
    # N(0, 2/fan_in): the sample std of n draws has relative std 1/sqrt(2n) ~ 0.0016
    assert W.std() == pytest.approx(np.sqrt(2 / n_in), rel=0.01)
    assert abs(W.mean()) < 5 * np.sqrt(2 / n_in) / np.sqrt(W.size)
    assert np.abs(W).max() > 3.5 * np.sqrt(2 / n_in)  # a normal, not a bounded uniform
    np.testing.assert_array_equal(layer.params["b"], 0.0)


@pytest.mark.parametrize("activation", [None, "sigmoid", "tanh", "softmax", "tsin"])
def test_other_activations_default_to_glorot_uniform(activation):
    n_in, units = 300, 200
    layer = lk.Dense(units, activation)
    _net([layer], n_in=n_in, seed=2)
    assert layer.kernel_initializer == "glorot_uniform"
    W = layer.params["W"]
    limit = np.sqrt(6 / (n_in + units))
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.999 * limit
    assert W.std() == pytest.approx(limit / np.sqrt(3), rel=0.01)
    np.testing.assert_array_equal(layer.params["b"], 0.0)


def test_uniform_initializer_is_the_documents_half_open_interval():
    layer = lk.Dense(300, "sigmoid", kernel_initializer="uniform")
    _net([layer], n_in=200, seed=3)
    W = layer.params["W"]
    assert W.min() >= -0.5 and W.max() < 0.5
    assert W.min() < -0.499 and W.max() > 0.499
    assert W.std() == pytest.approx(np.sqrt(1 / 12), rel=0.01)


def test_same_seed_gives_bit_identical_weights_and_a_different_seed_does_not():
    def weights(seed):
        return _net([lk.Dense(5, "relu"), lk.Dense(2)], seed=seed).get_weights()

    for a, b in zip(weights(7), weights(7), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(weights(7)[0], weights(8)[0])


def test_unknown_initializer_is_a_value_error_naming_the_argument():
    with pytest.raises(ValueError, match="kernel_initializer"):
        lk.Dense(3, kernel_initializer="orthogonal")
    with pytest.raises(ValueError, match="bias_initializer"):
        lk.Dense(3, bias_initializer="orthogonal")


# ------------------------------------------------------------------ input_dim
def test_input_dim_mismatch_names_both_layers():
    with pytest.raises(ValueError) as info:
        lk.Network(
            [lk.Input(4, name="pixels"), lk.Dense(3, input_dim=5, name="hidden")],
            loss="mse",
        )
    message = str(info.value)
    assert "pixels" in message and "hidden" in message
    assert "5" in message and "4" in message


def test_input_dim_mismatch_between_two_dense_layers_names_both():
    with pytest.raises(ValueError) as info:
        lk.Network(
            [lk.Input(4), lk.Dense(6, name="first"), lk.Dense(2, input_dim=3, name="second")],
            loss="mse",
        )
    assert "first" in str(info.value) and "second" in str(info.value)


def test_matching_input_dim_builds():
    layer = lk.Dense(3, input_dim=4)
    _net([layer], n_in=4)
    assert layer.params["W"].shape == (4, 3)


def test_failed_build_leaves_the_layers_unbuilt():
    ok = lk.Dense(6)
    with pytest.raises(ValueError):
        lk.Network([lk.Input(4), ok, lk.Dense(2, input_dim=3)], loss="mse")
    assert not ok.built and ok.params == {}


# ------------------------------------------------------------------ forward
REFERENCE = {
    None: lambda z: z,
    "sigmoid": special.expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "softmax": lambda z: special.softmax(z, axis=1),
}
DERIVATIVE = {
    None: lambda z: np.ones_like(z),
    "sigmoid": lambda z: special.expit(z) * (1 - special.expit(z)),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(float),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, 0.01),
    "elu": lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0))),
}


def _random_case(units=4, n_in=3, m=5, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n_in, units))
    b = rng.normal(size=units)
    x = rng.normal(size=(m, n_in))
    return W, b, x


@pytest.mark.parametrize("activation", list(REFERENCE), ids=str)
def test_forward_is_f_of_x_W_plus_b(activation):
    W, b, x = _random_case()
    layer = lk.Dense(4, activation)
    net = _net([layer])
    net.set_weights([W, b])
    np.testing.assert_allclose(net.predict(x), REFERENCE[activation](x @ W + b), rtol=1e-13)
    np.testing.assert_allclose(layer.forward(x), REFERENCE[activation](x @ W + b), rtol=1e-13)


def test_forward_with_activation_parameters():
    W, b, x = _random_case()
    layer = lk.Dense(4, "leaky_relu", activation_params={"alpha": 0.3})
    net = _net([layer])
    net.set_weights([W, b])
    z = x @ W + b
    np.testing.assert_allclose(net.predict(x), np.where(z > 0, z, 0.3 * z), rtol=1e-14)


def test_forward_does_not_modify_its_input():
    _, _, x = _random_case()
    net = _net([lk.Dense(4, "relu")])
    x_copy = x.copy()
    net.predict(x)
    net.backprop(x, np.zeros((5, 4)))
    np.testing.assert_array_equal(x, x_copy)


# ------------------------------------------------------------------ backward
@pytest.mark.parametrize("activation", list(DERIVATIVE), ids=str)
def test_backward_gradients_are_xT_delta_delta_sum_and_delta_WT(activation):
    W, b, x = _random_case(seed=1)
    g = np.random.default_rng(2).normal(size=(5, 4))
    layer = lk.Dense(4, activation)
    _net([lk.Dense(3), layer])  # second trainable layer: it must return dJ/dx
    layer.params["W"][...] = W
    layer.params["b"][...] = b
    assert layer.needs_input_grad
    layer.forward(x, training=True)
    dx = layer.backward(g)
    delta = g * DERIVATIVE[activation](x @ W + b)
    np.testing.assert_allclose(layer.grads["W"], x.T @ delta, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], delta.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(dx, delta @ W.T, rtol=1e-12)


def test_bias_gradient_is_one_value_per_unit_not_a_sum_over_units():
    """Seed 000's code sums the bias gradient over all units: its biases never learn."""
    layer = lk.Dense(3)
    _net([lk.Dense(2), layer], n_in=2)
    x = np.ones((2, 2))
    layer.forward(x)
    layer.backward(np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]))
    np.testing.assert_array_equal(layer.grads["b"], [11.0, 22.0, 33.0])


def test_backward_overwrites_rather_than_accumulates():
    _, _, x = _random_case(seed=3)
    g = np.random.default_rng(4).normal(size=(5, 4))
    layer = lk.Dense(4, "tanh")
    _net([lk.Dense(3), layer])
    layer.forward(x)
    layer.backward(g)
    first = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(x)
    layer.backward(g)
    for k in first:
        np.testing.assert_array_equal(layer.grads[k], first[k])


def test_backward_with_a_smaller_batch_after_a_larger_one():
    _, _, x = _random_case(m=6, seed=5)
    layer = lk.Dense(4, "sigmoid")
    _net([lk.Dense(3), layer])
    layer.forward(x)
    layer.backward(np.ones((6, 4)))
    small = x[:2]
    a = layer.forward(small)
    assert a.shape == (2, 4)
    dx = layer.backward(np.ones((2, 4)))
    assert dx.shape == (2, 3)
    z = small @ layer.params["W"] + layer.params["b"]
    delta = special.expit(z) * (1 - special.expit(z))
    np.testing.assert_allclose(layer.grads["W"], small.T @ delta, rtol=1e-12)


def test_first_trainable_layer_skips_the_input_gradient():
    first, second = lk.Dense(4, "tanh"), lk.Dense(2)
    net = _net([lk.Dropout(0.2), first, second])
    assert not net.layers[1].needs_input_grad  # before the first trainable layer
    assert not first.needs_input_grad
    assert second.needs_input_grad
    x = np.random.default_rng(0).normal(size=(3, 3))
    first.forward(x)
    assert first.backward(np.ones((3, 4))) is None
    # and its parameter gradients are still filled
    np.testing.assert_allclose(first.grads["b"], (1 - np.tanh(x @ first.params["W"]) ** 2).sum(0))


def test_network_gradients_pass_gradcheck():
    rng = np.random.default_rng(0)
    net = _net(
        [lk.Dense(5, "tanh"), lk.Dense(4, "relu"), lk.Dense(3, "softmax")],
        loss="categorical_crossentropy",
    )
    assert lk.gradcheck(net, rng.normal(size=(6, 3)), rng.integers(0, 3, 6)).passed


def test_get_config_round_trips():
    layer = lk.Dense(
        7, "leaky_relu", activation_params={"alpha": 0.2}, penalty=0.1, input_dim=3, name="d"
    )
    clone = lk.Dense.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.activation == layer.activation
