"""``BatchNormalization``: Keras's equations checked against an independent NumPy
computation, the running statistics (updated by training steps only, used by inference,
untouched by ``loss``/``backprop``/``gradcheck``/grow-and-slash's trial steps, restored by
early stopping, saved and loaded), freezing, and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk

EPS = 1e-3


def _lone(n_features=4, **kw):
    """A built float64 layer whose backward returns dJ/dx."""
    layer = lk.BatchNormalization(**kw)
    lk.Network([lk.Input(n_features), layer], loss="mse", dtype="float64")
    layer.needs_input_grad = True
    return layer


def _reference_backward(x, g, gamma, eps):
    """Batch-norm backward by the staged chain rule (through var, then mu), not the
    closed form the layer uses."""
    m = x.shape[0]
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    d_x_hat = g * gamma
    d_var = np.sum(d_x_hat * (x - mu), axis=0) * -0.5 * (var + eps) ** -1.5
    d_mu = np.sum(-d_x_hat / np.sqrt(var + eps), axis=0) + d_var * np.mean(-2 * (x - mu), axis=0)
    dx = d_x_hat / np.sqrt(var + eps) + d_var * 2 * (x - mu) / m + d_mu / m
    return dx, np.sum(g * x_hat, axis=0), np.sum(g, axis=0)


@pytest.fixture
def batch():
    rng = np.random.default_rng(3)
    return rng.normal(2.0, 3.0, (9, 4)), rng.normal(size=(9, 4))


def test_training_forward_normalises_with_biased_batch_statistics(batch):
    x, _ = batch
    layer = _lone()
    gamma, beta = np.array([1.0, 2.0, 0.5, -1.0]), np.array([0.0, 1.0, -2.0, 0.25])
    layer.params["gamma"][...] = gamma
    layer.params["beta"][...] = beta
    expected = gamma * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=0) + EPS) + beta
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12)


def test_training_forward_moves_running_statistics_by_momentum(batch):
    x, _ = batch
    layer = _lone(momentum=0.9)
    layer.state["moving_mean"][...] = 1.0
    layer.state["moving_variance"][...] = 2.0
    layer.forward(x, training=True)
    np.testing.assert_allclose(layer.state["moving_mean"], 0.9 * 1.0 + 0.1 * x.mean(0))
    np.testing.assert_allclose(layer.state["moving_variance"], 0.9 * 2.0 + 0.1 * x.var(0))


def test_inference_forward_uses_running_statistics_and_leaves_them(batch):
    x, _ = batch
    layer = _lone()
    mean, variance = np.array([1.0, -1.0, 0.0, 2.0]), np.array([4.0, 0.25, 1.0, 9.0])
    layer.state["moving_mean"][...] = mean
    layer.state["moving_variance"][...] = variance
    layer.params["gamma"][...] = 3.0
    y = layer.forward(x, training=False)
    np.testing.assert_allclose(y, 3.0 * (x - mean) / np.sqrt(variance + EPS))
    np.testing.assert_array_equal(layer.state["moving_mean"], mean)
    np.testing.assert_array_equal(layer.state["moving_variance"], variance)


def test_training_backward_matches_the_staged_chain_rule(batch):
    x, g = batch
    layer = _lone()
    gamma = np.array([1.5, -0.5, 2.0, 0.1])
    layer.params["gamma"][...] = gamma
    layer.forward(x, training=True)
    dx = layer.backward(g)
    ref_dx, ref_dgamma, ref_dbeta = _reference_backward(x, g, gamma, EPS)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer.grads["gamma"], ref_dgamma, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], ref_dbeta, rtol=1e-12)


def test_inference_backward_is_the_affine_gradient(batch):
    x, g = batch
    layer = _lone()
    layer.state["moving_variance"][...] = 4.0
    layer.params["gamma"][...] = 2.0
    layer.forward(x, training=False)
    np.testing.assert_allclose(layer.backward(g), g * 2.0 / np.sqrt(4.0 + EPS))
    np.testing.assert_allclose(layer.grads["gamma"], np.sum(g * x / np.sqrt(4.0 + EPS), axis=0))


@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False)])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_of_the_lone_layer(batch, center, scale, training):
    x, _ = batch
    layer = lk.BatchNormalization(momentum=0.5, center=center, scale=scale)
    assert sorted(lk.BatchNormalization(center=center, scale=scale).get_config()) == sorted(
        layer.get_config()
    )
    report = lk.gradcheck(layer, x, training=training)
    assert report, report.explain()


def test_center_and_scale_false_create_no_parameters():
    layer = _lone(center=False, scale=False)
    assert layer.params == {}
    assert sorted(layer.state) == ["moving_mean", "moving_variance"]


def _net(seed=0, momentum=0.9, **kw):
    return lk.Network(
        [lk.Input(3), lk.BatchNormalization(momentum=momentum, **kw), lk.Dense(2, "softmax")],
        seed=seed,
        dtype="float64",
    )


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal([5.0, -2.0, 0.0], [2.0, 0.5, 3.0], (n, 3))
    return X, (X[:, 0] + X[:, 2] > 5).astype(int)


def test_state_is_counted_apart_from_parameters():
    net = _net()
    assert net.layers[1].n_params == 6 and net.layers[1].n_state == 6
    assert net.n_trainable_params == 6 + 8
    assert "Non-trainable params: 6" in net.summary(print_fn=None)


@pytest.mark.parametrize("schedule", ["constant", "grow_and_slash"])
def test_only_real_training_steps_move_the_running_statistics(schedule):
    # Full batches and the layer right after the input: every real step sees the same
    # batch statistics, so after E steps mu_bar = (1 - p^E) mean(X). A trial forward of
    # the line search, or an evaluation, that moved the statistics would break this.
    X, y = _data()
    net, p, epochs = _net(momentum=0.8), 0.8, 5
    net.train(X, y, X[:10], y[:10], epochs=epochs, batch_size=None, schedule=schedule, verbose=0)
    state = net.layers[1].state
    np.testing.assert_allclose(state["moving_mean"], (1 - p**epochs) * X.mean(0), rtol=1e-12)
    np.testing.assert_allclose(
        state["moving_variance"], p**epochs + (1 - p**epochs) * X.var(0), rtol=1e-12
    )


def test_loss_backprop_and_gradcheck_leave_the_running_statistics():
    X, y = _data()
    net = _net()
    net.train(X, y, epochs=2, batch_size=8, verbose=0)
    before = [s.copy() for _, _, s in net.states()]
    net.loss(X, y, training=True)
    net.backprop(X, y, training=True)
    assert lk.gradcheck(net, X[:6], y[:6])
    net.predict(X)
    net.evaluate(X, y)
    for (_, _, after), old in zip(net.states(), before, strict=True):
        np.testing.assert_array_equal(after, old)


def test_inference_uses_running_statistics_after_training():
    X, y = _data()
    net = _net()
    net.train(X, y, epochs=3, batch_size=8, verbose=0)
    bn = net.layers[1]
    expected_hidden = (X - bn.state["moving_mean"]) / np.sqrt(bn.state["moving_variance"] + EPS)
    expected_hidden = expected_hidden * bn.params["gamma"] + bn.params["beta"]
    z = expected_hidden @ net.layers[2].params["W"] + net.layers[2].params["b"]
    expected = np.exp(z - z.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-10)
    # One sample or many: inference does not depend on the batch.
    np.testing.assert_allclose(net.predict(X[:1]), net.predict(X)[:1], rtol=1e-12)


class _ScriptedStop(lk.StoppingCriterion):
    """Epoch 2 is the best; stop after epoch 4."""

    def update(self, epoch, val_cost):
        if epoch == 2:
            self.best_epoch, self.best_cost = epoch, val_cost
        return epoch == 2, epoch >= 4


class _RecordStates(lk.Callback):
    def __init__(self):
        self.states = {}

    def on_epoch_end(self, network, epoch, logs):
        self.states[epoch] = [s.copy() for _, _, s in network.states()]


def test_early_stopping_restores_the_best_epochs_running_statistics():
    X, y = _data()
    net, record = _net(), _RecordStates()
    stopper = _ScriptedStop()
    stopper.reset()
    history = net.train(
        X, y, X, y, epochs=10, batch_size=8, early_stopping=stopper, callbacks=[record], verbose=0
    )
    assert history.restored_epoch == 2
    assert len(record.states) == 4
    final = [s for _, _, s in net.states()]
    for now, best, last in zip(final, record.states[2], record.states[4], strict=True):
        np.testing.assert_array_equal(now, best)
        assert not np.array_equal(now, last)


def test_save_and_load_keep_the_running_statistics(tmp_path):
    X, y = _data()
    net = _net()
    net.train(X, y, epochs=3, batch_size=8, verbose=0)
    loaded = lk.load(lk.save(net, tmp_path / "bn"))
    assert isinstance(loaded.layers[1], lk.BatchNormalization)
    assert loaded.layers[1].get_config() == net.layers[1].get_config()
    for (_, key, a), (_, _, b) in zip(net.states(), loaded.states(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=key)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


def test_frozen_layer_keeps_parameters_and_statistics_and_runs_in_inference():
    X, y = _data()
    net = _net(trainable=False)
    bn = net.layers[1]
    bn.state["moving_mean"][...] = X.mean(0)
    bn.state["moving_variance"][...] = X.var(0)
    before = [v.copy() for v in (*bn.params.values(), *bn.state.values())]
    dense_before = net.layers[2].params["W"].copy()
    net.train(X, y, epochs=2, batch_size=8, verbose=0)
    for now, old in zip((*bn.params.values(), *bn.state.values()), before, strict=True):
        np.testing.assert_array_equal(now, old)
    assert not np.array_equal(net.layers[2].params["W"], dense_before)
    assert lk.BatchNormalization.from_config(bn.get_config()).trainable is False


def test_network_with_batch_normalization_learns():
    X, y = _data(n=200)
    net = lk.Network(
        [lk.Input(3), lk.Dense(8, "relu"), lk.BatchNormalization(), lk.Dense(2, "softmax")],
        seed=0,
    )
    net.train(X, y, epochs=30, batch_size=16, learning_rate=0.1, verbose=0)
    assert net.evaluate(X, y).accuracy > 0.9


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"momentum": 1.5}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"center": "yes"}, "center"),
        ({"scale": 1}, "scale"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, match):
    with pytest.raises((lk.LayerkitValueError, lk.LayerkitTypeError), match=match):
        lk.BatchNormalization(**kwargs)


def test_image_inputs_are_refused_with_advice_to_flatten():
    with pytest.raises(lk.LayerkitValueError, match="Flatten"):
        lk.Network([lk.Input((2, 3)), lk.BatchNormalization()], loss="mse")
