"""The ``Activation`` layer computes exactly what ``Dense(activation=...)`` computes, forward
and backward, including as a fused softmax or sigmoid output."""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk

CASES = [
    ("identity", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {"alpha": 0.2}),
    ("elu", {"alpha": 0.7}),
    ("softmax", {}),
    ("tsin", {"A": 0.6}),
]


def _pair(hidden, params, output, loss):
    """The same model twice: activations inside Dense, and as separate Activation layers."""
    fused = lk.Network(
        [
            lk.Input(3),
            lk.Dense(5, hidden, activation_params=params),
            lk.Dense(4, output),
        ],
        loss=loss,
        dtype="float64",
        seed=0,
    )
    split = lk.Network(
        [
            lk.Input(3),
            lk.Dense(5),
            lk.Activation(hidden, **params),
            lk.Dense(4),
            lk.Activation(output),
        ],
        loss=loss,
        dtype="float64",
        seed=1,
    )
    split.set_weights(fused.get_weights())
    return fused, split


def _data(loss, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (6, 3))
    if loss == "categorical_crossentropy":
        return X, rng.integers(0, 4, 6)
    if loss == "binary_crossentropy":
        return X, rng.integers(0, 2, (6, 4))
    return X, rng.uniform(-1, 1, (6, 4))


@pytest.mark.parametrize(
    "output, loss",
    [
        ("softmax", "categorical_crossentropy"),  # fused a - y through the Activation layer
        ("sigmoid", "binary_crossentropy"),
        ("tanh", "mse"),
        ("softmax", "sum_of_squares"),  # softmax's Jacobian product, not fused
    ],
)
@pytest.mark.parametrize("hidden, params", CASES, ids=[c[0] for c in CASES])
def test_activation_layer_equals_dense_activation(hidden, params, output, loss):
    fused, split = _pair(hidden, params, output, loss)
    X, y = _data(loss)
    np.testing.assert_allclose(split.predict(X), fused.predict(X), rtol=1e-13, atol=1e-15)
    cost_fused = fused.backprop(X, y)
    cost_split = split.backprop(X, y)
    assert cost_split == pytest.approx(cost_fused, rel=1e-13)
    grads_fused = [g for layer in fused.layers for g in layer.grads.values()]
    grads_split = [g for layer in split.layers for g in layer.grads.values()]
    assert len(grads_fused) == len(grads_split) == 4
    for a, b in zip(grads_split, grads_fused, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("hidden, params", CASES, ids=[c[0] for c in CASES])
def test_lone_activation_layer_passes_gradcheck_including_its_input(hidden, params):
    x = np.random.default_rng(0).uniform(-2, 2, (4, 5))
    x[np.abs(x) < 1e-2] = 0.5  # keep finite differences off the kinks
    report = lk.gradcheck(lk.Activation(hidden, **params), x)
    assert report.passed, report.explain()
    assert [(c.param, c.term) for c in report.checks] == [("x", "input")]


def test_activation_layer_has_no_parameters_and_keeps_the_shape():
    layer = lk.Activation("tanh")
    net = lk.Network([lk.Input(4), lk.Dense(3), layer], loss="mse")
    assert layer.params == {} and layer.n_params == 0
    assert layer.output_shape == (3,)
    assert net.n_params == 4 * 3 + 3


def test_activation_layer_accepts_an_instance():
    act = lk.get_activation("leaky_relu", alpha=0.3)
    layer = lk.Activation(act)
    assert layer.activation is act
    with pytest.raises(TypeError):
        lk.Activation(act, alpha=0.1)


def test_activation_layer_config_round_trips_with_parameters():
    layer = lk.Activation("tsin", A=0.25, name="t")
    clone = lk.Activation.from_config(layer.get_config())
    assert clone.activation == layer.activation
    assert clone.activation.A == 0.25 and clone.name == "t"
