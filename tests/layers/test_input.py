"""``Input``: the declared sample shape, its validation, and the checks of ``X`` against it."""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk


@pytest.mark.parametrize(
    "shape, expected",
    [(784, (784,)), ((28, 28), (28, 28)), ([3], (3,)), (np.int64(5), (5,)), ((1,), (1,))],
)
def test_shape_is_stored_as_a_tuple_of_ints(shape, expected):
    layer = lk.Input(shape)
    assert layer.shape == expected
    assert layer.input_shape == layer.output_shape == expected
    assert all(type(d) is int for d in layer.shape)
    assert layer.built and layer.params == {}


@pytest.mark.parametrize("shape", [0, -3, (), (3, 0), (2, -1), [4, 0], "a", (2.0,), (3, True)])
def test_non_positive_or_non_integer_dimensions_are_value_errors(shape):
    with pytest.raises(ValueError, match="shape"):
        lk.Input(shape)


@pytest.mark.parametrize("shape", [True, 2.5, None])
def test_non_integer_shape_is_a_type_error(shape):
    with pytest.raises(TypeError, match="shape"):
        lk.Input(shape)


def test_forward_and_backward_are_the_identity():
    layer = lk.Input(3)
    x = np.ones((2, 3))
    assert layer.forward(x) is x
    assert layer.backward(x) is x


def test_network_must_start_with_an_input():
    with pytest.raises(ValueError, match="Input"):
        lk.Network([lk.Dense(3)], loss="mse")
    with pytest.raises(ValueError, match="Input"):
        lk.Network([lk.Input(2), lk.Dense(3), lk.Input(3)], loss="mse")
    with pytest.raises(ValueError, match="Input"):
        lk.Network([lk.Input(2)], loss="mse")


@pytest.mark.parametrize("X", [np.zeros((4, 5)), np.zeros((4, 3, 1)), np.zeros(4)])
def test_inputs_of_the_wrong_shape_are_value_errors_naming_the_input_layer(X):
    net = lk.Network([lk.Input(4, name="features"), lk.Dense(2)], loss="mse")
    for call in (net.predict, net.forward, lambda X: net.loss(X, np.zeros((len(X), 2)))):
        with pytest.raises(ValueError, match="features") as info:
            call(X)
        assert isinstance(info.value, lk.LayerkitValueError)
        assert "(n_samples, 4)" in str(info.value)


def test_a_single_sample_gets_a_hint():
    net = lk.Network([lk.Input(4), lk.Dense(2)], loss="mse")
    with pytest.raises(ValueError, match="single sample"):
        net.predict(np.zeros(4))


def test_dense_after_a_multidimensional_input_asks_for_flat_samples():
    with pytest.raises(ValueError, match="flat"):
        lk.Network([lk.Input((2, 3)), lk.Dense(4)], loss="mse")


def test_non_finite_inputs_are_value_errors():
    net = lk.Network([lk.Input(2), lk.Dense(1)], loss="mse")
    with pytest.raises(ValueError, match="NaN"):
        net.predict(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.loss(np.array([[0.0, np.inf]]), np.zeros((1, 1)))


def test_non_numeric_inputs_are_type_errors():
    net = lk.Network([lk.Input(2), lk.Dense(1)], loss="mse")
    with pytest.raises(TypeError, match="X"):
        net.predict(np.array([["a", "b"]]))


def test_get_config_round_trips():
    layer = lk.Input((28, 28), name="image")
    clone = lk.Input.from_config(layer.get_config())
    assert clone.shape == (28, 28) and clone.name == "image"
