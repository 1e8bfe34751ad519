"""Every number of a trace against an independent computation.

Forward values are recomputed in plain NumPy from the weights; gradients, errors ``delta``
and ``dc/da`` by central finite differences of the network's objective ``net.loss``; for
random small networks of every built-in activation, every built-in loss, a penalty, and a
user-written layer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import layerkit as lk

H = 1e-6  # central differences in float64: error O(H^2) + rounding O(eps / H)


# ------------------------------------------------------------------ independent references
def reference_activation(name: str, z: np.ndarray) -> np.ndarray:
    """f(z) written from the formulas of the documents, not from layerkit."""
    if name == "identity":
        return z.copy()
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "elu":
        return np.where(z > 0, z, np.exp(z) - 1.0)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if name == "tsin":
        # solve (y - x) = sqrt2 A sin((x + y)/sqrt2), A = 0.5, by bisection on |y - x| <= sqrt2 A
        A, r2 = 0.5, math.sqrt(2.0)
        lo, hi = z - r2 * A, z + r2 * A
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            g = (mid - z) - r2 * A * np.sin((z + mid) / r2)
            lo, hi = np.where(g < 0, mid, lo), np.where(g < 0, hi, mid)
        return 0.5 * (lo + hi)
    raise AssertionError(f"no reference for {name}")


def reference_cost_terms(trace, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The per-output terms of each sample's cost, from the documents' formulas."""
    loss = trace.loss_family
    if trace.from_logits:  # the output is z: the cost applies the activation
        if loss == "binary_crossentropy":
            a = 1 / (1 + np.exp(-a))
        else:
            a = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    if loss == "sum_of_squares":
        return (a - y) ** 2
    if loss == "mse":
        return (a - y) ** 2 / a.shape[1]
    if loss == "binary_crossentropy":
        return -(y * np.log(a) + (1 - y) * np.log(1 - a))
    if loss == "categorical_crossentropy":
        return -y * np.log(a)
    raise AssertionError(f"no reference for {loss}")


def numeric_grad(net, x, y, array: np.ndarray) -> np.ndarray:
    """Central differences of ``net.loss(x, y)`` with respect to ``array`` (a parameter or
    ``x`` itself, changed in place and restored)."""
    out = np.zeros_like(array, dtype=np.float64)
    flat, grad = array.reshape(-1), out.reshape(-1)
    for k in range(flat.size):
        keep = flat[k]
        flat[k] = keep + H
        up = net.loss(x, y)
        flat[k] = keep - H
        down = net.loss(x, y)
        flat[k] = keep
        grad[k] = (up - down) / (2 * H)
    return out


def assert_trace_matches_independent_computation(net, x, y, learning_rate=0.3):
    """The heart of the cross-check, shared by every network below."""
    weights_before = net.get_weights()
    trace = lk.explain(net, x, y, learning_rate=learning_rate)
    m = x.shape[0]

    # forward: a plain NumPy pass from the weights
    a_prev = x
    for layer, lt in zip(net.layers[1:], trace.layers, strict=True):
        np.testing.assert_allclose(lt.a_prev, a_prev, rtol=1e-12, atol=1e-12)
        if isinstance(layer, lk.Dense):
            z = a_prev @ layer.params["W"] + layer.params["b"]
            np.testing.assert_allclose(lt.z, z, rtol=1e-12, atol=1e-12)
            a = reference_activation(layer.activation.name, z)
        elif isinstance(layer, lk.Activation):
            z = a_prev
            np.testing.assert_allclose(lt.z, z, rtol=0, atol=0)
            a = reference_activation(layer.activation.name, z)
        else:
            a = layer.reference(a_prev)
        np.testing.assert_allclose(lt.a, a, rtol=1e-9, atol=1e-12)
        if lt.f_prime is not None:
            # f'(z) by central differences of the reference f (no kink is this close to z)
            name = layer.activation.name
            numeric = (reference_activation(name, z + H) - reference_activation(name, z - H)) / (
                2 * H
            )
            np.testing.assert_allclose(lt.f_prime, numeric, rtol=1e-6, atol=1e-8)
        a_prev = a
    np.testing.assert_allclose(trace.output, a_prev, rtol=1e-9, atol=1e-12)

    # the objective as training computes it, and its per-sample and per-output parts
    assert trace.cost == pytest.approx(net.loss(x, y), rel=1e-12)
    assert trace.penalty_term == pytest.approx(net.penalty_value(), rel=1e-12, abs=1e-15)
    assert trace.data_cost == pytest.approx(trace.sample_costs.mean(), rel=1e-9)
    if trace.cost_terms is not None:
        np.testing.assert_allclose(trace.cost_terms.sum(axis=1), trace.sample_costs, rtol=1e-9)
    if trace.cost_terms is not None:
        np.testing.assert_allclose(
            trace.cost_terms, reference_cost_terms(trace, a_prev, trace.y), rtol=1e-9
        )

    # dJ/dtheta by finite differences of J = net.loss
    for layer, lt in zip(net.layers[1:], trace.layers, strict=True):
        for key, value in layer.params.items():
            numeric = numeric_grad(net, x, y, value)
            np.testing.assert_allclose(lt.grads[key], numeric, rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(
                lt.updated[key], lt.params[key] - learning_rate * lt.grads[key], rtol=1e-15
            )

    # per sample: delta = dc_i/dz_i is dc_i/db (one sample), dc/da of the input by differences
    for i in range(m):
        xi, yi = x[i : i + 1].copy(), y[i : i + 1]
        for layer, lt in zip(net.layers[1:], trace.layers, strict=True):
            if lt.delta is not None and isinstance(layer, lk.Dense):
                numeric = numeric_grad(net, xi, yi, layer.params["b"])
                np.testing.assert_allclose(lt.delta[i], numeric, rtol=1e-5, atol=1e-7)
        first = trace.layers[0]
        numeric = numeric_grad(net, xi, yi, xi)
        np.testing.assert_allclose(first.dc_da_prev[i], numeric[0], rtol=1e-5, atol=1e-7)

    # the chain rule, link by link
    for lt, nxt in zip(trace.layers, trace.layers[1:], strict=False):
        np.testing.assert_allclose(lt.dc_da, nxt.dc_da_prev, rtol=1e-12)
    for lt in trace.layers:
        if lt.dense and lt.delta is not None:
            np.testing.assert_allclose(lt.dc_da_prev, lt.delta @ lt.params["W"].T, rtol=1e-9)
            np.testing.assert_allclose(lt.dJ_da_prev, lt.dc_da_prev / m, rtol=1e-12)
        if lt.f_prime is not None and lt.delta_rule in ("output", "hidden"):
            np.testing.assert_allclose(lt.delta, lt.dc_da * lt.f_prime, rtol=1e-9, atol=1e-15)

    # the network is exactly as it was
    for before, after in zip(weights_before, net.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    return trace


def _random_net(hidden: str, output: str, loss: str, seed: int, penalty: float = 0.0):
    net = lk.Network(
        [lk.Input(3), lk.Dense(4, hidden), lk.Dense(2, output)],
        loss=loss,
        penalty=penalty,
        dtype="float64",
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    net.set_weights([rng.uniform(-1, 1, w.shape) for w in net.get_weights()])
    return net, rng


@pytest.mark.parametrize("activation", lk.available_activations())
def test_every_number_matches_numpy_and_finite_differences_for_each_activation(activation):
    net, rng = _random_net(activation, "sigmoid", "sum_of_squares", seed=7)
    x = rng.uniform(-1, 1, (3, 3))
    y = rng.uniform(0, 1, (3, 2))
    trace = assert_trace_matches_independent_computation(net, x, y)
    hidden = trace.layers[0]
    assert hidden.activation.name == activation
    assert hidden.delta_rule == ("jacobian" if activation == "softmax" else "hidden")


@pytest.mark.parametrize("activation", lk.available_activations())
def test_activation_layers_are_traced_with_their_own_z_and_delta(activation):
    net = lk.Network(
        [lk.Input(3), lk.Dense(3), lk.Activation(activation), lk.Dense(2, "tanh")],
        loss="mse",
        dtype="float64",
        seed=3,
    )
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 2))
    trace = assert_trace_matches_independent_computation(net, x, y)
    act = trace.layers[1]
    np.testing.assert_array_equal(act.z, trace.layers[0].a)
    np.testing.assert_allclose(act.dc_da_prev, act.delta, rtol=1e-12)


@pytest.mark.parametrize(
    ("output", "loss", "rule"),
    [
        ("softmax", "categorical_crossentropy", "fused"),
        ("sigmoid", "binary_crossentropy", "fused"),
        ("softmax", "sum_of_squares", "jacobian"),
        ("sigmoid", "mse", "output"),
        ("identity", "sum_of_squares", "output"),
    ],
)
def test_every_loss_gives_the_objective_and_output_error_training_uses(output, loss, rule):
    net, rng = _random_net("tanh", output, loss, seed=11)
    x = rng.uniform(-1, 1, (4, 3))
    y = np.eye(2)[rng.integers(0, 2, 4)]
    trace = assert_trace_matches_independent_computation(net, x, y)
    assert trace.layers[-1].delta_rule == rule
    assert trace.fused == (rule == "fused")


def test_fused_output_error_is_a_minus_y_and_equals_the_long_chain_rule():
    # seed 002, Lemmas 1 and 2: dc/da (.) f'(z) collapses to a - y
    for output, loss in (
        ("softmax", "categorical_crossentropy"),
        ("sigmoid", "binary_crossentropy"),
    ):
        net, rng = _random_net("relu", output, loss, seed=5)
        x, y = rng.uniform(-1, 1, (3, 3)), np.eye(2)[[0, 1, 1]]
        trace = lk.explain(net, x, y)
        out = trace.layers[-1]
        np.testing.assert_allclose(out.delta, out.a - y, rtol=1e-12, atol=1e-15)
        a = out.a
        if output == "sigmoid":
            long = (-y / a + (1 - y) / (1 - a)) * a * (1 - a)
        else:
            g = -y / a
            long = a * (g - np.sum(g * a, axis=1, keepdims=True))
        np.testing.assert_allclose(out.delta, long, rtol=1e-9, atol=1e-12)


def test_penalty_adds_lambda_w_to_weight_gradients_and_its_term_to_the_cost():
    net = lk.Network(
        [lk.Input(3), lk.Dense(4, "sigmoid", penalty=0.3), lk.Dense(2, "softmax")],
        penalty=0.05,
        dtype="float64",
        seed=2,
    )
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-1, 1, (2, 3)), np.array([0, 1])
    trace = assert_trace_matches_independent_computation(net, x, y)
    first, second = trace.layers
    assert (first.penalty, second.penalty) == (0.3, 0.05)
    expected = 0.5 * 0.3 * np.sum(first.W**2) + 0.5 * 0.05 * np.sum(second.W**2)
    assert trace.penalty_term == pytest.approx(expected, rel=1e-12)
    assert trace.cost == pytest.approx(trace.data_cost + expected, rel=1e-12)
    np.testing.assert_allclose(first.penalty_gradient("W"), 0.3 * first.W)
    assert first.penalty_gradient("b") is None  # biases are not penalised


class Scale(lk.Layer):
    """A user layer: y = x * s + t elementwise, with its own parameters."""

    def build(self, input_shape):
        self.add_param("s", self.rng.uniform(0.5, 1.5, input_shape), penalize=True)
        self.add_param("t", self.rng.uniform(-0.5, 0.5, input_shape))

    def forward(self, x, training=False):
        self._x = x
        return x * self.params["s"] + self.params["t"]

    def backward(self, grad_out):
        self.grads["s"][...] = np.sum(grad_out * self._x, axis=0)
        self.grads["t"][...] = np.sum(grad_out, axis=0)
        return grad_out * self.params["s"]

    def reference(self, x):
        return x * self.params["s"] + self.params["t"]


def test_a_user_layer_is_traced_through_the_public_contract():
    net = lk.Network(
        [lk.Input(3), Scale(), lk.Dense(3, "elu"), Scale(), lk.Dense(2, "sigmoid")],
        loss="binary_crossentropy",
        penalty=0.1,
        dtype="float64",
        seed=4,
    )
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-1, 1, (3, 3)), rng.integers(0, 2, (3, 2)).astype(float)
    trace = assert_trace_matches_independent_computation(net, x, y)
    user = trace.layers[0]
    assert user.kind == "Scale" and user.z is None and user.delta is None
    assert set(user.params) == set(user.grads) == {"s", "t"}
    assert user.penalty == 0.1 and user.penalized == ("s",)
    # the first layer's backward runs although the network never needs its dJ/dx
    assert user.dc_da_prev is not None
    assert net.layers[1].needs_input_grad is False


def test_relu_z_is_taken_before_the_activation_overwrites_it():
    # Dense applies ReLU in place (a and z share one buffer): z must still show negatives
    net = lk.Network([lk.Input(2), lk.Dense(2, "relu")], loss="sse", dtype="float64", seed=0)
    net.set_weights([np.array([[1.0, -1.0], [1.0, -1.0]]), np.array([0.0, 0.0])])
    trace = lk.explain(net, [0.5, 0.25], [0.0, 0.0])
    layer = trace.layers[0]
    np.testing.assert_array_equal(layer.z, [[0.75, -0.75]])
    np.testing.assert_array_equal(layer.a, [[0.75, 0.0]])
    np.testing.assert_array_equal(layer.f_prime, [[1.0, 0.0]])


def test_arrays_of_a_trace_are_copies_not_views_of_layer_workspaces():
    net, rng = _random_net("relu", "softmax", "categorical_crossentropy", seed=9)
    x = rng.uniform(-1, 1, (2, 3))
    trace = lk.explain(net, x, [0, 1])
    kept = [(lt.z.copy(), lt.a.copy(), lt.delta.copy()) for lt in trace.layers]
    net.predict(rng.uniform(-5, 5, (2, 3)))
    net.backprop(rng.uniform(-5, 5, (2, 3)), [1, 0])
    for lt, (z, a, delta) in zip(trace.layers, kept, strict=True):
        np.testing.assert_array_equal(lt.z, z)
        np.testing.assert_array_equal(lt.a, a)
        np.testing.assert_array_equal(lt.delta, delta)


def test_explain_leaves_gradients_and_flags_as_they_were():
    net, rng = _random_net("tanh", "softmax", "categorical_crossentropy", seed=1)
    net.backprop(rng.uniform(-1, 1, (5, 3)), [0, 1, 0, 1, 1])
    grads = [g.copy() for layer in net.layers for g in layer.grads.values()]
    flags = [layer.needs_input_grad for layer in net.layers]
    lk.explain(net, rng.uniform(-1, 1, (2, 3)), [1, 0], learning_rate=0.1)
    after = [g for layer in net.layers for g in layer.grads.values()]
    for before, now in zip(grads, after, strict=True):
        np.testing.assert_array_equal(before, now)
    assert [layer.needs_input_grad for layer in net.layers] == flags


def test_update_is_the_step_that_plain_sgd_training_takes():
    net, rng = _random_net("sigmoid", "sigmoid", "sum_of_squares", seed=6, penalty=0.01)
    x, y = rng.uniform(-1, 1, (4, 3)), rng.uniform(0, 1, (4, 2))
    trace = lk.explain(net, x, y, learning_rate=0.2)
    net.train(
        x, y, optimizer="sgd", learning_rate=0.2, batch_size=4, epochs=1, shuffle=False, verbose=0
    )
    expected = [lt.updated[k] for lt in trace.layers for k in lt.params]
    for want, got in zip(expected, net.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_dropout_is_the_identity_in_a_trace():
    net = lk.Network(
        [lk.Input(3), lk.Dense(3, "relu"), lk.Dropout(0.5), lk.Dense(2, "softmax")],
        dtype="float64",
        seed=0,
    )
    trace = lk.explain(net, [0.1, 0.2, 0.3], 1)
    drop = trace.layers[1]
    np.testing.assert_array_equal(drop.a, drop.a_prev)
    np.testing.assert_array_equal(drop.dc_da_prev, drop.dc_da)


def test_a_float32_network_is_traced_in_float32_close_to_float64():
    net32 = lk.Network([lk.Input(3), lk.Dense(2, "tanh"), lk.Dense(2, "softmax")], seed=0)
    net64 = lk.Network(
        [lk.Input(3), lk.Dense(2, "tanh"), lk.Dense(2, "softmax")], seed=0, dtype="float64"
    )
    net64.set_weights(net32.get_weights())
    t32 = lk.explain(net32, [0.7, 0.1, 0.4], 1)
    t64 = lk.explain(net64, [0.7, 0.1, 0.4], 1)
    assert t32.layers[0].z.dtype == np.float32
    for a, b in zip(t32.layers, t64.layers, strict=True):
        np.testing.assert_allclose(a.grads["W"], b.grads["W"], rtol=1e-4, atol=1e-6)
    assert t32.cost == pytest.approx(t64.cost, rel=1e-5)


def test_one_sample_may_be_given_unbatched_with_a_class_label():
    net, _ = _random_net("relu", "softmax", "categorical_crossentropy", seed=0)
    single = lk.explain(net, [0.7, 0.1, 0.4], 1)
    batched = lk.explain(net, [[0.7, 0.1, 0.4]], [[0.0, 1.0]])
    assert single.n_samples == 1
    np.testing.assert_array_equal(single.y, [[0.0, 1.0]])
    assert single.cost == batched.cost


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"net": "not a network"}, lk.LayerkitTypeError, "net must be a layerkit Network"),
        ({"notation": "maths"}, lk.LayerkitValueError, "notation"),
        ({"precision": -1}, lk.LayerkitValueError, "precision"),
        ({"precision": 13}, lk.LayerkitValueError, "precision"),
        ({"learning_rate": 0.0}, lk.LayerkitValueError, "learning_rate"),
        ({"learning_rate": "fast"}, lk.LayerkitTypeError, "learning_rate"),
        ({"x": [0.1, 0.2]}, lk.LayerkitValueError, "x must have shape"),
        ({"x": np.zeros((33, 3)), "y": np.zeros(33, int)}, lk.LayerkitValueError, "at most 32"),
        ({"y": [0, 1, 1]}, lk.LayerkitValueError, "y"),
        ({"x": [0.1, np.nan, 0.3]}, lk.LayerkitValueError, "NaN"),
    ],
)
def test_bad_arguments_are_refused_by_name_and_leave_the_network_unchanged(kwargs, error, words):
    net, _ = _random_net("relu", "softmax", "categorical_crossentropy", seed=0)
    before = net.get_weights()
    call = {"net": net, "x": [0.7, 0.1, 0.4], "y": 1, **kwargs}
    with pytest.raises(error, match=words):
        lk.explain(call.pop("net"), call.pop("x"), call.pop("y"), **call)
    for a, b in zip(before, net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_layer_lookup_uses_the_documents_numbering():
    net, _ = _random_net("relu", "softmax", "categorical_crossentropy", seed=0)
    trace = lk.explain(net, [0.7, 0.1, 0.4], 1)
    assert trace.layer(2) is trace.layers[0] and trace.layer(3) is trace.layers[1]
    with pytest.raises(lk.LayerkitValueError, match=r"\[2, 3\]"):
        trace.layer(1)


_OUTPUTS = [
    ("sigmoid", "sum_of_squares"),
    ("identity", "mse"),
    ("sigmoid", "binary_crossentropy"),
    ("softmax", "categorical_crossentropy"),
    ("softmax", "sum_of_squares"),
]


@settings(max_examples=25, deadline=None)
@given(
    widths=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    hidden=st.sampled_from(lk.available_activations()),
    output=st.sampled_from(_OUTPUTS),
    m=st.integers(1, 3),
    penalty=st.sampled_from([0.0, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_random_small_networks_match_numpy_and_finite_differences(
    widths, hidden, output, m, penalty, seed
):
    activation, loss = output
    n_out = 2 if activation == "softmax" else widths[-1]
    layers = [lk.Input(widths[0])]
    layers += [lk.Dense(w, hidden) for w in widths[1:]]
    layers.append(lk.Dense(n_out, activation))
    net = lk.Network(layers, loss=loss, penalty=penalty, dtype="float64", seed=seed)
    rng = np.random.default_rng(seed)
    net.set_weights([rng.uniform(-1, 1, w.shape) for w in net.get_weights()])
    x = rng.uniform(-1, 1, (m, widths[0]))
    if loss == "categorical_crossentropy":
        y = np.eye(n_out)[rng.integers(0, n_out, m)]
    else:
        y = rng.uniform(0, 1, (m, n_out))
    assert_trace_matches_independent_computation(net, x, y)


class Quartic(lk.Loss):
    """A user's cost: c = sum_j (a_j - y_j)^4."""

    name = "quartic"

    def per_sample(self, output, target):
        return np.sum((output - target) ** 4, axis=1)

    def gradient(self, output, target, *, sample_weight=None, out=None):
        grad = 4 * (output - target) ** 3 / output.shape[0]
        if out is None:
            return grad
        out[...] = grad
        return out


def test_a_user_loss_is_traced_without_per_output_terms():
    net = lk.Network([lk.Input(2), lk.Dense(2, "tanh")], loss=Quartic(), dtype="float64", seed=0)
    x, y = np.array([[0.5, 0.1], [0.2, -0.3]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    trace = lk.explain(net, x, y)
    assert trace.cost_terms is None and trace.loss == "quartic"
    np.testing.assert_allclose(trace.sample_costs, np.sum((trace.output - y) ** 4, axis=1))
    layer = trace.layers[0]
    np.testing.assert_allclose(layer.dc_da, 4 * (layer.a - y) ** 3, rtol=1e-12)
    numeric = numeric_grad(net, x, y, net.layers[1].params["W"])
    np.testing.assert_allclose(layer.grads["W"], numeric, rtol=1e-5, atol=1e-7)
    assert "c = quartic(a(2), y)" in trace.to_text()


def test_logit_losses_and_their_aliases_give_the_objective_training_uses():
    for loss, activation, n_out in (
        (lk.losses.CategoricalCrossentropy(from_logits=True), None, 3),
        (lk.losses.BinaryCrossentropy(from_logits=True), None, 2),
        ("sparse_categorical_crossentropy", "softmax", 3),
    ):
        net = lk.Network(
            [lk.Input(3), lk.Dense(3, "elu"), lk.Dense(n_out, activation)],
            loss=loss,
            dtype="float64",
            seed=12,
        )
        rng = np.random.default_rng(12)
        x = rng.uniform(-1, 1, (2, 3))
        y = np.eye(n_out)[[0, 1]]
        trace = assert_trace_matches_independent_computation(net, x, y)
        family = "binary_crossentropy" if n_out == 2 else "categorical_crossentropy"
        assert trace.loss_family == family
        if trace.from_logits:
            z = trace.output
            p = 1 / (1 + np.exp(-z)) if n_out == 2 else np.exp(z) / np.exp(z).sum(1, keepdims=True)
            np.testing.assert_allclose(trace.layers[-1].delta, p - y, rtol=1e-9, atol=1e-12)


def test_a_frozen_layer_shows_no_gradient_and_is_not_updated():
    net = lk.Network(
        [lk.Input(3), lk.Dense(3, "tanh", trainable=False), lk.Dense(2, "sigmoid")],
        loss="sum_of_squares",
        dtype="float64",
        seed=0,
    )
    x, y = np.array([[0.2, -0.4, 0.6]]), np.array([[1.0, 0.0]])
    trace = lk.explain(net, x, y, learning_rate=0.5)
    frozen, last = trace.layers
    assert not frozen.trainable and frozen.grads == {}
    for key, value in frozen.params.items():
        np.testing.assert_array_equal(frozen.updated[key], value)
    # its error is still traced: the chain rule runs through it to the input
    numeric = numeric_grad(net, x.copy(), y, net.layers[1].params["b"])
    np.testing.assert_allclose(frozen.delta[0], numeric, rtol=1e-5, atol=1e-7)
    net.train(x, y, optimizer="sgd", learning_rate=0.5, batch_size=1, epochs=1, verbose=0)
    np.testing.assert_allclose(net.layers[2].params["W"], last.updated["W"], rtol=1e-12)
    np.testing.assert_array_equal(net.layers[1].params["W"], frozen.params["W"])
    text = trace.to_text()
    assert "Frozen (trainable=False)" in text and "Layer 2 (dense_" in text


def test_an_overflowing_network_is_traced_with_infinities_and_no_warning():
    # pytest turns every RuntimeWarning into an error (pyproject.toml)
    net = lk.Network([lk.Input(2), lk.Dense(2, "relu"), lk.Dense(2, "softmax")], seed=0)
    net.set_weights([np.full((2, 2), 3e38), np.zeros(2), np.full((2, 2), 3e38), np.zeros(2)])
    trace = lk.explain(net, [1.0, 1.0], 0, learning_rate=0.1)
    assert np.isinf(trace.layers[0].z).all()
    assert "inf" in trace.to_text() and "inf" in trace.to_markdown()
    net = lk.Network([lk.Input(2), lk.Dense(2, "softmax")], loss="sse", seed=0)
    net.set_weights([np.full((2, 2), 3e38), np.zeros(2)])
    assert "nan" in lk.explain(net, [1.0, 0.5], [1.0, 0.0]).to_text()  # softmax of inf
