"""``gradcheck``: it passes correct models, fails wrong ones and says where, checks user
layers without registration, tells kinks from failures, replays dropout masks, checks the
penalty separately, and leaves the caller's model untouched."""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk


# ------------------------------------------------------------------ user-written layers
class SeedZeroBiasDense(lk.Dense):
    """Seed 000's bug: the bias gradient is the sum of delta over every unit and sample."""

    def backward_preactivation(self, delta):
        dx = super().backward_preactivation(delta)
        self.grads["b"][:] = delta.sum()
        return dx


class Scale(lk.Layer):
    """``y = x * s`` with a learnable ``s`` per feature: written against the Layer contract."""

    def build(self, input_shape):
        self.add_param("s", self.rng.uniform(0.5, 1.5, size=input_shape))

    def forward(self, x, training=False):
        self._x = x
        return x * self.params["s"]

    def backward(self, grad_out):
        self.grads["s"][...] = np.sum(grad_out * self._x, axis=0)
        return grad_out * self.params["s"]


class Square(lk.Layer):
    """``y = x**2``: no parameters."""

    def forward(self, x, training=False):
        self._x = x
        return x * x

    def backward(self, grad_out):
        return 2 * self._x * grad_out


class ScaleForgetsInputGradient(Scale):
    def backward(self, grad_out):
        super().backward(grad_out)
        return grad_out  # should be grad_out * s


class ScaleForgetsParamGradient(Scale):
    def backward(self, grad_out):
        return grad_out * self.params["s"]  # grads["s"] never written


class DropoutWithoutMaskInBackward(lk.Dropout):
    def backward(self, grad_out):
        return grad_out  # ignores the mask


def _data(n_in=3, m=5, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, 2, (m, n_in)), rng.integers(0, n_classes, m)


def _classifier(*hidden, n_in=3, n_out=3, dtype="float64", seed=1, penalty=0.0, last=None):
    return lk.Network(
        [lk.Input(n_in), *hidden, last or lk.Dense(n_out, "softmax")],
        dtype=dtype,
        seed=seed,
        penalty=penalty,
    )


# ------------------------------------------------------------------ passes on networks
@pytest.mark.parametrize(
    "layers, loss, targets",
    [
        (
            lambda: [lk.Dense(4, "tanh"), lk.Dense(3, "softmax")],
            "categorical_crossentropy",
            "labels",
        ),
        (lambda: [lk.Dense(4, "sigmoid"), lk.Dense(2, "sigmoid")], "binary_crossentropy", "binary"),
        (lambda: [lk.Dense(4, "elu"), lk.Dense(2)], "mse", "real"),
        (
            lambda: [lk.Dense(4, "tsin", activation_params={"A": 0.4}), lk.Dense(2, "tanh")],
            "sum_of_squares",
            "real",
        ),
        (lambda: [lk.Dense(5, "softmax"), lk.Dense(2, "sigmoid")], "mse", "real"),
    ],
)
def test_passes_on_correct_networks(layers, loss, targets):
    rng = np.random.default_rng(0)
    net = lk.Network([lk.Input(3), *layers()], loss=loss, dtype="float64", seed=3)
    X = rng.uniform(-2, 2, (5, 3))
    n_out = net.output_shape[0]
    y = {
        "labels": rng.integers(0, n_out, 5),
        "binary": rng.integers(0, 2, (5, n_out)),
        "real": rng.uniform(-1, 1, (5, n_out)),
    }[targets]
    report = lk.gradcheck(net, X, y)
    assert report.passed, str(report)
    assert report.max_error < 1e-6
    assert bool(report) is True
    assert report.explain() == ""


def test_a_float32_model_is_checked_in_float64():
    X, y = _data()
    report = lk.gradcheck(_classifier(lk.Dense(4, "tanh"), dtype="float32"), X, y)
    assert report.passed and report.max_error < 1e-6


# ------------------------------------------------------------------ fails on wrong layers
def test_seed000_bias_gradient_bug_fails_and_is_named():
    X, y = _data()
    net = _classifier(lk.Dense(4, "tanh"), last=SeedZeroBiasDense(3, "softmax", name="out"))
    report = lk.gradcheck(net, X, y)
    assert not report.passed and not bool(report)
    explanation = report.explain()
    assert "out.b" in explanation
    assert "out.W" not in explanation  # only the bias is wrong
    [failure] = report.failures()
    assert (failure.layer, failure.param, failure.term) == ("out", "b", "data")
    assert failure.worst_error > 1e-2
    assert "FAILED" in str(report)


def test_seed000_bias_gradient_bug_fails_in_a_hidden_layer_too():
    X, y = _data()
    net = _classifier(SeedZeroBiasDense(4, "tanh", name="hidden"))
    report = lk.gradcheck(net, X, y)
    assert not report.passed
    assert {(c.layer, c.param) for c in report.failures()} == {("hidden", "b")}


def test_directional_mode_passes_correct_and_fails_wrong_networks():
    X, y = _data()
    good = lk.gradcheck(_classifier(lk.Dense(4, "tanh")), X, y, mode="directional")
    assert good.passed and good.mode == "directional"
    assert all(c.n_checked == 1 and c.worst_index is None for c in good.checks)
    bad = lk.gradcheck(
        _classifier(lk.Dense(4, "tanh"), last=SeedZeroBiasDense(3, "softmax", name="out")),
        X,
        y,
        mode="directional",
    )
    assert not bad.passed
    assert "out.b" in bad.explain() and "out.W" not in bad.explain()


def test_dropout_whose_backward_ignores_the_mask_fails():
    X, y = _data()
    net = _classifier(lk.Dense(6, "tanh"), DropoutWithoutMaskInBackward(0.5), lk.Dense(3, "tanh"))
    assert not lk.gradcheck(net, X, y).passed


# ------------------------------------------------------------------ user layers
def test_user_layer_passes_alone_without_registration():
    X, _ = _data()
    report = lk.gradcheck(Scale(name="scale"), X)
    assert report.passed, str(report)
    assert {(c.param, c.term) for c in report.checks} == {("s", "data"), ("x", "input")}


def test_user_layer_without_parameters_passes_alone():
    X, _ = _data()
    report = lk.gradcheck(Square(), X)
    assert report.passed
    assert [(c.param, c.term) for c in report.checks] == [("x", "input")]


def test_user_layers_pass_inside_a_network():
    X, y = _data()
    net = _classifier(Scale(), lk.Dense(4, "tanh"), Square(), Scale())
    report = lk.gradcheck(net, X, y)
    assert report.passed, str(report)
    assert sum(c.param == "s" for c in report.checks) == 2


def test_lone_layer_check_catches_a_wrong_input_gradient():
    X, _ = _data()
    report = lk.gradcheck(ScaleForgetsInputGradient(name="sc"), X)
    assert not report.passed
    assert [(c.param, c.term) for c in report.failures()] == [("x", "input")]
    assert "sc.x [input]" in report.explain()


def test_lone_layer_check_catches_a_parameter_gradient_never_written():
    X, _ = _data()
    report = lk.gradcheck(ScaleForgetsParamGradient(name="sc"), X)
    assert not report.passed
    assert "sc.s" in report.explain()


def test_lone_builtin_layers_pass_including_the_input_gradient():
    X, _ = _data(n_in=4)
    for layer in (lk.Dense(3, "tanh"), lk.Dense(2, "softmax"), lk.Dropout(0.5)):
        report = lk.gradcheck(layer, X)
        assert report.passed, str(report)
        assert ("x", "input") in {(c.param, c.term) for c in report.checks}


def test_lone_check_of_a_first_layer_still_checks_its_input_gradient():
    X, _ = _data()
    net = _classifier(lk.Dense(4, "tanh"))
    first = net.layers[1]
    assert not first.needs_input_grad
    report = lk.gradcheck(first, X)
    assert report.passed and ("x", "input") in {(c.param, c.term) for c in report.checks}
    assert not first.needs_input_grad  # the caller's layer is untouched


# ------------------------------------------------------------------ kinks
def _relu_net_at_a_kink():
    rng = np.random.default_rng(0)
    X, y = rng.uniform(-1, 1, (4, 2)), rng.uniform(-1, 1, (4, 1))
    net = lk.Network(
        [lk.Input(2), lk.Dense(3, "relu"), lk.Dense(1)], loss="mse", dtype="float64", seed=1
    )
    W, b, W2, b2 = net.get_weights()
    b[1] = -(X[0] @ W[:, 1])  # unit 1's pre-activation on sample 0 is (within rounding) 0
    net.set_weights([W, b, W2, b2])
    return net, X, y


def test_relu_finite_difference_across_zero_is_a_kink_not_a_failure():
    net, X, y = _relu_net_at_a_kink()
    W, b = net.get_weights()[:2]
    assert abs((X @ W + b)[0, 1]) < 1e-12
    report = lk.gradcheck(net, X, y)
    assert report.passed, str(report)
    assert report.n_kinks > 0
    bias = next(c for c in report.checks if c.param == "b" and c.layer == net.layers[1].name)
    assert bias.n_kinks >= 1
    assert "at a kink" in str(report)


def test_the_kink_is_real_a_plain_finite_difference_disagrees_there():
    net, X, y = _relu_net_at_a_kink()
    net.backprop(X, y)
    analytic = net.layers[1].grads["b"][1]
    h = 1e-4
    b = net.layers[1].params["b"]
    b[1] += h
    up = net.loss(X, y)
    b[1] -= 2 * h
    down = net.loss(X, y)
    b[1] += h
    numeric = (up - down) / (2 * h)
    assert abs(numeric - analytic) > 1e-3 * max(abs(numeric), 1e-3)


# ------------------------------------------------------------------ the caller's model
def test_callers_model_is_untouched():
    X, y = _data()
    net = _classifier(
        lk.Dense(6, "relu"), lk.Dropout(0.5), lk.Dense(4, "tanh"), dtype="float32", penalty=0.1
    )
    net.forward(X, training=True)  # some workspaces exist
    weights = net.get_weights()
    grads = [layer.grads[k].copy() for layer, k, _ in net.parameters()]
    state = net.rng.bit_generator.state
    report = lk.gradcheck(net, X, y)
    assert report.passed
    assert net.dtype == np.float32
    for before, (layer, key, after) in zip(weights, net.parameters(), strict=True):
        assert after.dtype == np.float32 and layer.grads[key].dtype == np.float32
        np.testing.assert_array_equal(after, before)
    for before, (layer, key, _) in zip(grads, net.parameters(), strict=True):
        np.testing.assert_array_equal(layer.grads[key], before)
    assert net.rng.bit_generator.state == state
    assert all(layer.rng is net.rng for layer in net.layers[1:])
    assert net.predict(X).dtype == np.float32


def test_callers_lone_layer_is_untouched_and_unbuilt_layers_stay_unbuilt():
    X, _ = _data()
    layer = Scale()
    lk.gradcheck(layer, X)
    assert not layer.built and layer.params == {}


# ------------------------------------------------------------------ dropout
def test_dropout_network_passes_in_training_mode_with_the_mask_replayed():
    X, y = _data(m=8)
    net = _classifier(lk.Dense(8, "tanh"), lk.Dropout(0.5), lk.Dense(6, "sigmoid"), lk.Dropout(0.3))
    report = lk.gradcheck(net, X, y, training=True)
    assert report.passed, str(report)
    # the mask matters: a training pass differs from inference
    assert not np.allclose(net.forward(X, training=True).copy(), net.predict(X))


def test_dropout_network_passes_in_inference_mode():
    X, y = _data()
    net = _classifier(lk.Dense(8, "tanh"), lk.Dropout(0.5))
    assert lk.gradcheck(net, X, y, training=False).passed


# ------------------------------------------------------------------ penalty
def test_penalty_is_checked_as_a_separate_term_when_positive():
    X, y = _data()
    report = lk.gradcheck(_classifier(lk.Dense(4, "tanh"), penalty=0.3), X, y)
    assert report.passed
    terms = {(c.layer, c.param, c.term) for c in report.checks}
    penalized = {(layer, param) for layer, param, term in terms if term == "penalty"}
    data = {(layer, param) for layer, param, term in terms if term == "data"}
    assert {p for _, p in penalized} == {"W"}  # biases are never penalised
    assert len(penalized) == 2
    assert penalized < data


def test_penalty_term_is_absent_when_zero():
    X, y = _data()
    report = lk.gradcheck(_classifier(lk.Dense(4, "tanh"), penalty=0.0), X, y)
    assert {c.term for c in report.checks} == {"data"}


def test_layer_penalty_overrides_the_network_penalty_in_the_check():
    X, y = _data()
    net = _classifier(
        lk.Dense(4, "tanh", penalty=0.5, name="own"), lk.Dense(4, "tanh", penalty=0.0)
    )
    report = lk.gradcheck(net, X, y)
    assert report.passed
    assert {c.layer for c in report.checks if c.term == "penalty"} == {"own"}


def test_penalty_gradient_is_lambda_W_on_weights_only():
    """Seed 002's code adds the penalty to the cost but not the gradient: not here."""
    X, y = _data()
    plain = _classifier(lk.Dense(4, "tanh"), penalty=0.0, seed=5)
    penalised = _classifier(lk.Dense(4, "tanh"), penalty=0.3, seed=5)
    j0, j1 = plain.backprop(X, y), penalised.backprop(X, y)
    W1, _, W2, _ = penalised.get_weights()
    assert j1 - j0 == pytest.approx(0.15 * (np.sum(W1**2) + np.sum(W2**2)), rel=1e-12)
    for (layer0, key, _), (layer1, _, value) in zip(
        plain.parameters(), penalised.parameters(), strict=True
    ):
        extra = 0.3 * value if key == "W" else 0.0
        np.testing.assert_allclose(layer1.grads[key], layer0.grads[key] + extra, rtol=1e-12)


# ------------------------------------------------------------------ coverage of the report
def test_every_parameter_array_appears_even_with_max_entries_one():
    X, y = _data()
    net = _classifier(lk.Dense(5, "tanh"), lk.Dense(4, "relu"), Scale(), penalty=0.1)
    report = lk.gradcheck(net, X, y, max_entries=1)
    data = {(c.layer, c.param) for c in report.checks if c.term == "data"}
    assert data == {(layer.name, key) for layer, key, _ in net.parameters()}
    assert all(c.n_checked == 1 for c in report.checks)
    assert any(c.param == "b" for c in report.checks)


def test_small_arrays_are_checked_entirely_and_large_ones_sampled():
    X, y = _data(n_in=6)
    net = _classifier(lk.Dense(10, "tanh"), n_in=6)
    report = lk.gradcheck(net, X, y, max_entries=20)
    checked = {(c.layer, c.param): c.n_checked for c in report.checks}
    first, last = net.layers[1].name, net.layers[2].name
    assert checked[(first, "W")] == 20  # 60 entries, 20 sampled
    assert checked[(first, "b")] == 10
    assert checked[(last, "b")] == 3


def test_sample_weights_are_part_of_the_checked_objective():
    X, y = _data()
    w = np.array([0.0, 1.0, 2.0, 0.5, 3.0])
    assert lk.gradcheck(_classifier(lk.Dense(4, "tanh")), X, y, sample_weight=w).passed


def test_report_worst_lists_every_check():
    X, y = _data()
    report = lk.gradcheck(_classifier(lk.Dense(4, "tanh")), X, y)
    assert set(report.worst()) == {(c.layer, c.param, c.term) for c in report.checks}
    assert report.max_error == max(report.worst().values())


# ------------------------------------------------------------------ argument errors
def test_argument_errors():
    X, y = _data()
    net = _classifier(lk.Dense(4, "tanh"))
    with pytest.raises(ValueError, match="y"):
        lk.gradcheck(net, X)
    with pytest.raises(ValueError, match="no y"):
        lk.gradcheck(Scale(), X, y)
    with pytest.raises(ValueError, match="mode"):
        lk.gradcheck(net, X, y, mode="all")
    with pytest.raises(ValueError, match="eps"):
        lk.gradcheck(net, X, y, eps=0)
    with pytest.raises(ValueError, match="max_entries"):
        lk.gradcheck(net, X, y, max_entries=0)
    with pytest.raises(TypeError, match="Network or Layer"):
        lk.gradcheck(object(), X, y)
