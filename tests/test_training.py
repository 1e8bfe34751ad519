"""``Network.train`` and ``evaluate``: L2 penalty, mini-batches, reproducibility,
divergence, validation split, sample and class weights, argument checking.

Mini-batch tests put a recording layer right after ``Input`` and feed inputs whose first
feature is the row index, so the rows every step sees can be read back exactly.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import layerkit as lk

# ---------------------------------------------------------------------------- helpers


class RowRecorder(lk.Layer):
    """Identity layer remembering ``x[:, 0]`` of every forward pass, by mode."""

    def __init__(self):
        super().__init__()
        self.train_batches: list[np.ndarray] = []
        self.eval_batches: list[np.ndarray] = []

    def forward(self, x, training=False):
        (self.train_batches if training else self.eval_batches).append(x[:, 0].copy())
        return x

    def backward(self, grad_out):
        return grad_out


class EpochMarks(lk.Callback):
    """Number of training batches the recorder had seen at the end of each epoch."""

    def __init__(self, recorder):
        self.recorder, self.marks = recorder, [0]

    def on_epoch_end(self, network, epoch, logs):
        self.marks.append(len(self.recorder.train_batches))

    def epochs(self):
        b = self.recorder.train_batches
        return [b[i:j] for i, j in zip(self.marks, self.marks[1:], strict=False)]


class Snapshots(lk.Callback):
    def __init__(self):
        self.weights = {}

    def on_train_begin(self, network):
        self.weights[0] = network.get_weights()

    def on_epoch_end(self, network, epoch, logs):
        self.weights[epoch] = network.get_weights()


def _indexed(n, seed=0, n_classes=2):
    """X with the row index as first feature, a random second one; labels."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.arange(n, dtype=np.float64), rng.standard_normal(n)])
    y = rng.integers(0, n_classes, n)
    return X, y


def _recording_net(seed=0, n_classes=2, dtype="float32"):
    rec = RowRecorder()
    net = lk.Network([lk.Input(2), rec, lk.Dense(n_classes, "softmax")], seed=seed, dtype=dtype)
    # the network checked each layer's output shape on a batch of zeros while building
    rec.train_batches.clear()
    rec.eval_batches.clear()
    return net, rec


def _data(n=40, seed=0, d=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    return X, y


def _net(seed=0, dtype="float64", penalty=0.0, d=3, hidden_penalty=None):
    return lk.Network(
        [lk.Input(d), lk.Dense(4, "tanh", penalty=hidden_penalty), lk.Dense(2, "softmax")],
        seed=seed,
        dtype=dtype,
        penalty=penalty,
    )


def _weights_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _state(net):
    opt = net.optimizer
    return {
        "weights": net.get_weights(),
        "optimizer": opt,
        "opt_state": None if opt is None else opt.get_state(),
        "opt_lr": None if opt is None else (opt.learning_rate, opt.initial_learning_rate),
        "history": net.history,
        "history_dict": None if net.history is None else net.history.as_dict(),
        "rng": net.rng.bit_generator.state,
        "penalty": net.penalty_value(),
    }


def assert_state_unchanged(net, before):
    after = _state(net)
    assert _weights_equal(after["weights"], before["weights"]), "weights changed"
    assert after["optimizer"] is before["optimizer"], "optimizer replaced"
    assert after["opt_lr"] == before["opt_lr"], "learning rate changed"
    if before["opt_state"] is not None:
        assert after["opt_state"]["iterations"] == before["opt_state"]["iterations"]
        for a, b in zip(after["opt_state"]["slots"], before["opt_state"]["slots"], strict=True):
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert after["history"] is before["history"], "history replaced"
    assert after["history_dict"] == before["history_dict"], "history changed"
    assert after["rng"] == before["rng"], "random generator advanced"
    assert after["penalty"] == before["penalty"]


def _manual_forward(net, X):
    """Independent forward pass of a Dense stack: tanh/sigmoid/identity hidden, last layer
    softmax or sigmoid."""
    a = np.asarray(X, dtype=np.float64)
    for layer in net.layers[1:]:
        z = a @ layer.params["W"].astype(np.float64) + layer.params["b"].astype(np.float64)
        kind = layer.activation.name
        if kind == "tanh":
            a = np.tanh(z)
        elif kind == "sigmoid":
            a = 1 / (1 + np.exp(-z))
        elif kind == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        else:
            a = z
    return a


def _manual_ce(net, X, y, w=None):
    a = _manual_forward(net, X)
    c = -np.log(a[np.arange(len(y)), y])
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    return float(np.sum(w * c) / len(y))


# ---------------------------------------------------------------------------- L2 penalty


@pytest.mark.parametrize("where", ["network", "layer", "both"])
def test_gradcheck_of_the_penalised_objective_passes(where):
    X, y = _data(n=12)
    kw = {
        "network": {"penalty": 0.3},
        "layer": {"hidden_penalty": 0.7},
        "both": {"penalty": 0.3, "hidden_penalty": 0.7},
    }[where]
    net = _net(**kw)
    report = lk.gradcheck(net, X, y)
    assert report.passed, report.explain()
    assert any(c.term == "penalty" for c in report.checks)


def test_penalty_is_added_to_loss_and_backprop_values():
    X, y = _data(n=15)
    lam = 0.25
    net = _net(penalty=lam)
    data = _manual_ce(net, X, y)
    l2 = sum(float(np.sum(layer.params["W"] ** 2)) for layer in net.layers[1:])
    expected = data + lam / 2 * l2  # J = data + lambda/2 sum W^2, biases excluded
    assert net.loss(X, y) == pytest.approx(expected, rel=1e-12)
    assert net.backprop(X, y) == pytest.approx(expected, rel=1e-12)
    assert net.evaluate(X, y).cost == pytest.approx(expected, rel=1e-12)
    # gradient: data gradient + lambda W for weights, nothing added to biases
    penalised = {(l.name, k): l.grads[k].copy() for l, k, _ in net.parameters()}
    net.penalty = 0.0
    assert net.backprop(X, y) == pytest.approx(data, rel=1e-12)
    for layer, key, value in net.parameters():
        extra = penalised[(layer.name, key)] - layer.grads[key]
        np.testing.assert_allclose(
            extra, lam * value if key == "W" else 0.0, rtol=1e-10, atol=1e-14
        )


def _zero_data_gradient_step(net, X, y, eta, **kw):
    """One plain-SGD step where the data term contributes nothing (all weights zero)."""
    return net.train(
        X,
        y,
        epochs=1,
        batch_size=None,
        learning_rate=eta,
        optimizer="sgd",
        sample_weight=np.zeros(len(X)),
        verbose=0,
        **kw,
    )


def _nonzero_biases(net):
    rng = np.random.default_rng(7)
    for _, key, value in net.parameters():
        if key == "b":
            value[...] = rng.standard_normal(value.shape)


def test_penalty_shrinks_weights_by_exactly_one_minus_eta_lambda_and_leaves_biases():
    X, y = _data(n=10)
    eta, lam = 0.1, 0.3
    net = _net(penalty=lam)
    _nonzero_biases(net)
    before = {(l.name, k): v.copy() for l, k, v in net.parameters()}
    _zero_data_gradient_step(net, X, y, eta)
    for layer, key, value in net.parameters():
        old = before[(layer.name, key)]
        if key == "W":
            np.testing.assert_allclose(value, old * (1 - eta * lam), rtol=1e-14, atol=0)
        else:
            assert np.array_equal(value, old), f"bias {layer.name}.{key} moved"


def test_penalty_is_not_divided_by_the_batch_size():
    # 12 samples in batches of 4: three steps, each W <- (1 - eta lambda) W
    X, y = _data(n=12)
    eta, lam = 0.1, 0.3
    net = _net(penalty=lam)
    w0 = net.layers[1].params["W"].copy()
    net.train(
        X,
        y,
        epochs=1,
        batch_size=4,
        learning_rate=eta,
        optimizer="sgd",
        sample_weight=np.zeros(12),
        verbose=0,
    )
    np.testing.assert_allclose(net.layers[1].params["W"], w0 * (1 - eta * lam) ** 3, rtol=1e-13)


def test_layer_penalty_overrides_network_and_train_penalty():
    X, y = _data(n=10)
    eta = 0.1
    # hidden layer: own penalty 0 (overrides); output layer: network's 0.3, then train's 0.5
    net = _net(penalty=0.3, hidden_penalty=0.0)
    hidden, out = net.layers[1], net.layers[2]
    wh, wo = hidden.params["W"].copy(), out.params["W"].copy()
    _zero_data_gradient_step(net, X, y, eta)
    assert np.array_equal(hidden.params["W"], wh)
    np.testing.assert_allclose(out.params["W"], wo * (1 - eta * 0.3), rtol=1e-14)
    wo = out.params["W"].copy()
    _zero_data_gradient_step(net, X, y, eta, penalty=0.5)
    assert np.array_equal(hidden.params["W"], wh)
    np.testing.assert_allclose(out.params["W"], wo * (1 - eta * 0.5), rtol=1e-14)
    # a layer's own non-zero penalty also wins over train()'s
    net2 = _net(penalty=0.0, hidden_penalty=0.2)
    w2 = net2.layers[1].params["W"].copy()
    _zero_data_gradient_step(net2, X, y, eta, penalty=0.9)
    np.testing.assert_allclose(net2.layers[1].params["W"], w2 * (1 - eta * 0.2), rtol=1e-14)


class PenaltyProbe(lk.Callback):
    def __init__(self):
        self.values = []

    def on_batch_end(self, network, batch, logs):
        self.values.append(network.penalty_value())


def _l2(net, lam_by_layer):
    return sum(
        lam / 2 * float(np.sum(layer.params["W"] ** 2))
        for layer, lam in zip(net.layers[1:], lam_by_layer, strict=True)
    )


def test_train_penalty_applies_during_that_call_only():
    X, y = _data(n=10)
    net = _net(penalty=0.1)
    probe = PenaltyProbe()
    net.train(X, y, epochs=1, batch_size=None, penalty=0.6, callbacks=[probe], verbose=0)
    # during the call: lambda = 0.6 (the probe sees the weights after the step)
    assert probe.values[-1] == pytest.approx(_l2(net, [0.6, 0.6]), rel=1e-12)
    # after it: the network's own 0.1 again
    assert net.penalty_value() == pytest.approx(_l2(net, [0.1, 0.1]), rel=1e-12)
    assert net.loss(X, y) == pytest.approx(_manual_ce(net, X, y) + _l2(net, [0.1, 0.1]), rel=1e-12)
    # also after a call that ends in an exception
    with pytest.raises(lk.DivergenceError), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        net.train(
            X,
            y,
            epochs=1,
            batch_size=2,
            penalty=0.6,
            callbacks=[BlowUp(1, 0, np.inf)],
            on_divergence="raise",
            verbose=0,
        )
    assert net.penalty_value() == pytest.approx(_l2(net, [0.1, 0.1]), rel=1e-12)


# ---------------------------------------------------------------------------- mini-batches


def _check_epoch_batches(batches, n, bs, shuffle):
    m = n if bs is None or bs >= n else bs
    sizes = [len(b) for b in batches]
    assert sizes == [m] * (n // m) + ([n % m] if n % m else []), sizes  # last batch kept
    rows = np.concatenate(batches)
    assert np.array_equal(np.sort(rows), np.arange(n)), "a sample was skipped or repeated"
    if not shuffle:
        assert np.array_equal(rows, np.arange(n))
    return rows


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [1, 3, 4, 5, 12, 20, 64, None])
def test_every_sample_is_used_exactly_once_per_epoch(batch_size, shuffle):
    n, epochs = 20, 4
    X, y = _indexed(n)
    net, rec = _recording_net()
    marks = EpochMarks(rec)
    net.train(
        X, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle, callbacks=[marks], verbose=0
    )
    orders = [_check_epoch_batches(b, n, batch_size, shuffle) for b in marks.epochs()]
    assert len(orders) == epochs
    if shuffle and batch_size is not None and batch_size < n:
        # reshuffled every epoch: no two epochs in the same order
        distinct = {tuple(o) for o in orders}
        assert len(distinct) == epochs
        assert all(not np.array_equal(o, np.arange(n)) for o in orders)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 30),
    batch_size=st.one_of(st.none(), st.integers(1, 35)),
    shuffle=st.booleans(),
    epochs=st.integers(1, 3),
    x64=st.booleans(),
)
def test_every_sample_once_per_epoch_for_random_sizes(n, batch_size, shuffle, epochs, x64):
    X, y = _indexed(n)
    if not x64:
        X = X.astype(np.float32)
    net, rec = _recording_net()
    marks = EpochMarks(rec)
    net.train(
        X, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle, callbacks=[marks], verbose=0
    )
    batches = marks.epochs()
    assert len(batches) == epochs
    for b in batches:
        _check_epoch_batches(b, n, batch_size, shuffle)


def test_callers_arrays_are_not_modified():
    X, y = _indexed(30)
    y2 = y.copy()
    w = np.linspace(0.5, 2, 30)
    Xv, yv = _indexed(10, seed=1)
    copies = [a.copy() for a in (X, y, w, Xv, yv)]
    net, _ = _recording_net()
    net.train(X, y, Xv, yv, epochs=3, batch_size=7, sample_weight=w, verbose=0)
    net.train(X, y2, epochs=2, batch_size=7, validation_split=0.3, class_weight={0: 2.0}, verbose=0)
    for a, c in zip((X, y, w, Xv, yv), copies, strict=True):
        assert a.dtype == c.dtype and np.array_equal(a, c)
    assert np.array_equal(y2, y)


def test_float64_inputs_train_a_float32_network_without_converting_the_callers_array():
    X, y = _data(n=30)
    X64 = X.copy()
    net64in, net32in = _net(dtype="float32"), _net(dtype="float32")
    net64in.train(X64, y, epochs=3, batch_size=8, verbose=0)
    assert X64.dtype == np.float64 and np.array_equal(X64, X)
    assert all(w.dtype == np.float32 for w in net64in.get_weights())
    # converting inside the loop is the same rounding as converting beforehand
    net32in.train(X.astype(np.float32), y, epochs=3, batch_size=8, verbose=0)
    assert _weights_equal(net64in.get_weights(), net32in.get_weights())


@pytest.mark.parametrize("shuffle", [True, False])
def test_memmap_inputs_train_like_in_memory_arrays(tmp_path, shuffle):
    X, y = _data(n=37)
    for dtype in (np.float32, np.float64):
        path = tmp_path / f"X_{np.dtype(dtype).name}.dat"
        mm = np.memmap(path, dtype=dtype, mode="w+", shape=X.shape)
        mm[:] = X
        mm.flush()
        del mm
        X_mm = np.memmap(path, dtype=dtype, mode="r", shape=X.shape)
        a, b = _net(dtype="float32"), _net(dtype="float32")
        ha = a.train(X_mm, y, X_mm, y, epochs=3, batch_size=8, shuffle=shuffle, verbose=0)
        hb = b.train(
            np.array(X_mm), y, np.array(X_mm), y, epochs=3, batch_size=8, shuffle=shuffle, verbose=0
        )
        assert _weights_equal(a.get_weights(), b.get_weights())
        assert ha.train_cost == hb.train_cost and ha.val_cost == hb.val_cost
        assert np.array_equal(np.asarray(X_mm), X.astype(dtype))


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("x_dtype", [np.float64, np.float32])
def test_training_never_copies_the_data_set(shuffle, x_dtype):
    # seed 002's code copied the data set for every batch; converting X to the network's
    # dtype up front would copy it once. Batches are gathered into a reused buffer, so the
    # peak of traced memory stays far below one float32 copy of X (n * d * 4 bytes); the
    # targets, (n, 2) float32, and labels, (n,) int64, are the only per-sample arrays.
    n, d = 100_000, 32
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d)).astype(x_dtype)
    y = rng.integers(0, 2, n)
    net = lk.Network([lk.Input(d), lk.Dense(4, "tanh"), lk.Dense(2, "softmax")], seed=0)
    tracemalloc.start()
    try:
        net.train(X, y, epochs=1, batch_size=512, shuffle=shuffle, verbose=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_float32_copy = n * d * 4
    assert peak < one_float32_copy / 2, (peak, one_float32_copy)


def test_epochs_zero_trains_nothing():
    X, y = _data()
    net = _net()
    w = net.get_weights()
    hist = net.train(X, y, epochs=0, verbose=0)
    assert len(hist) == 0 and hist.stop_reason == "epochs"
    assert _weights_equal(net.get_weights(), w)


# ---------------------------------------------------------------------------- reproducibility


def _run(seed, X, y, Xv, yv, **kw):
    net = lk.Network(
        [lk.Input(3), lk.Dense(8, "relu"), lk.Dropout(0.3), lk.Dense(2, "softmax")], seed=seed
    )
    hist = net.train(
        X, y, Xv, yv, epochs=4, batch_size=7, optimizer="adam", learning_rate=0.01, verbose=0, **kw
    )
    return net, hist


def test_same_seed_same_data_gives_bit_identical_history_and_weights():
    X, y = _data(n=40)
    Xv, yv = _data(n=15, seed=1)
    a, ha = _run(3, X, y, Xv, yv)
    b, hb = _run(3, X, y, Xv, yv)
    assert _weights_equal(a.get_weights(), b.get_weights())
    assert ha.train_cost == hb.train_cost and ha.val_cost == hb.val_cost
    assert ha.train_accuracy == hb.train_accuracy
    # with a validation split too (drawn from the same generator)
    c, hc = _run(5, X, y, None, None, validation_split=0.25)
    d, hd = _run(5, X, y, None, None, validation_split=0.25)
    assert _weights_equal(c.get_weights(), d.get_weights()) and hc.val_cost == hd.val_cost


def test_different_seeds_give_different_training():
    X, y = _data(n=40)
    Xv, yv = _data(n=15, seed=1)
    a, ha = _run(3, X, y, Xv, yv)
    b, hb = _run(4, X, y, Xv, yv)
    assert not _weights_equal(a.get_weights(), b.get_weights())
    assert ha.train_cost != hb.train_cost


# ---------------------------------------------------------------------------- divergence


class BlowUp(lk.Callback):
    """Sets the weights to ``value`` after batch ``batch`` of epoch ``epoch``: with 1e200
    the next forward pass overflows and the training cost becomes infinite."""

    def __init__(self, epoch, batch, value=1e200):
        self.at, self.epoch, self.value = (epoch, batch), 1, value
        self.fired, self.batches_after = False, 0

    def on_epoch_end(self, network, epoch, logs):
        self.epoch = epoch + 1

    def on_batch_end(self, network, batch, logs):
        if self.fired:
            self.batches_after += 1
        if (self.epoch, batch) == self.at:
            self.fired = True
            for _, _, value in network.parameters():
                value[...] = self.value


def _regression(n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, X @ np.array([1.0, -1.0, 2.0])


def _linear(dtype="float64"):
    return lk.Network([lk.Input(3), lk.Dense(4, "tanh"), lk.Dense(1)], "mse", seed=0, dtype=dtype)


def test_divergence_emits_no_runtime_warning():
    # The loop detects a non-finite cost itself and reports it once (DivergenceWarning);
    # the overflow on the way there must not leak out as NumPy RuntimeWarnings (which
    # this project's test configuration turns into errors).
    X, y = _regression()
    net = _linear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hist = net.train(X, y, epochs=50, batch_size=8, learning_rate=1e6, verbose=0)
    assert hist.stop_reason == "diverged"
    kinds = [w.category.__name__ for w in caught]
    assert kinds == ["DivergenceWarning"], kinds


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_huge_learning_rate_stops_at_once_and_restores_finite_weights(dtype):
    X, y = _regression()
    net = _linear(dtype)
    snaps = Snapshots()
    initial = net.get_weights()
    with pytest.warns(lk.DivergenceWarning, match="non-finite"):
        hist = net.train(
            X, y, epochs=50, batch_size=8, learning_rate=1e6, callbacks=[snaps], verbose=0
        )
    assert hist.stop_reason == "diverged"
    assert hist.stopped_epoch is not None and hist.stopped_epoch < 50
    assert len(hist.epochs) == hist.stopped_epoch - 1  # the diverged epoch is not recorded
    weights = net.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    # the last state known good: the diverged epoch's start, or the one before it when the
    # epoch's first batch already had a non-finite cost (its starting weights are bad)
    assert hist.restored_epoch in (hist.stopped_epoch - 1, hist.stopped_epoch - 2)
    expected = snaps.weights[hist.restored_epoch] if hist.restored_epoch else initial
    assert _weights_equal(weights, expected)
    assert np.isfinite(net.evaluate(X, y).cost)
    assert net.history is hist


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_warning_points_at_the_callers_line():
    # warnings.warn(stacklevel=...) should name the line that called net.train(), not a
    # line inside layerkit
    X, y = _regression()
    net = _linear()
    with pytest.warns(lk.DivergenceWarning) as record:
        net.train(X, y, epochs=5, batch_size=8, callbacks=[BlowUp(1, 0)], verbose=0)
    assert [w.filename for w in record if w.category is lk.DivergenceWarning] == [__file__]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_mid_training_restores_the_weights_from_the_epoch_start():
    X, y = _regression()
    net, snaps, blow = _linear(), Snapshots(), BlowUp(epoch=3, batch=1)
    hist = net.train(
        X,
        y,
        epochs=10,
        batch_size=8,
        learning_rate=0.01,
        on_divergence="stop",
        callbacks=[snaps, blow],
        verbose=0,
    )
    assert hist.stop_reason == "diverged" and hist.stopped_epoch == 3
    assert blow.batches_after == 0  # stopped at once: batch 3 of epoch 3 was the last
    assert "batch 3" in hist.message
    assert hist.restored_epoch == 2 and hist.epochs == [1, 2]
    assert _weights_equal(net.get_weights(), snaps.weights[2])
    assert "epoch 3" in hist.message


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_with_early_stopping_restores_the_best_weights(monkeypatch):
    import layerkit.training as training

    costs = iter([3.0, 1.0, 2.0, 2.5])
    monkeypatch.setattr(training.loop, "evaluate_data", lambda net, data: (next(costs), None))
    X, y = _regression()
    net, snaps = _linear(), Snapshots()
    hist = net.train(
        X,
        y,
        X,
        y,
        epochs=10,
        batch_size=8,
        learning_rate=0.01,
        early_stopping=lk.Patience(5),
        on_divergence="stop",
        callbacks=[snaps, BlowUp(epoch=4, batch=0)],
        verbose=0,
    )
    assert hist.stop_reason == "diverged"
    assert hist.best_epoch == hist.restored_epoch == 2
    assert _weights_equal(net.get_weights(), snaps.weights[2])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_on_divergence_raise_raises_divergence_error_after_restoring():
    X, y = _regression()
    net, snaps = _linear(), Snapshots()
    with pytest.raises(lk.DivergenceError, match="non-finite"):
        net.train(
            X,
            y,
            epochs=10,
            batch_size=8,
            learning_rate=0.01,
            on_divergence="raise",
            callbacks=[snaps, BlowUp(epoch=2, batch=0)],
            verbose=0,
        )
    assert issubclass(lk.DivergenceError, FloatingPointError)
    assert _weights_equal(net.get_weights(), snaps.weights[1])
    assert net.history.stop_reason == "diverged"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_on_divergence_stop_is_silent():
    X, y = _regression()
    net = _linear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        hist = net.train(
            X, y, epochs=10, batch_size=8, learning_rate=1e6, on_divergence="stop", verbose=0
        )
    assert hist.stop_reason == "diverged"
    assert not [w for w in caught if issubclass(w.category, lk.DivergenceWarning)]


# ---------------------------------------------------------------------------- validation_split


def _split_rows(rec):
    train_rows = np.unique(np.concatenate(rec.train_batches)).astype(np.int64)
    val_rows = np.unique(np.concatenate(rec.eval_batches)).astype(np.int64)
    return train_rows, val_rows


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.8])
def test_validation_split_is_stratified_disjoint_and_complete(fraction):
    n = 90
    X, _ = _indexed(n)
    y = np.repeat([0, 1, 2], [50, 30, 10])
    net, rec = _recording_net(n_classes=3)
    net.train(X, y, epochs=1, batch_size=16, validation_split=fraction, verbose=0)
    train_rows, val_rows = _split_rows(rec)
    assert np.intersect1d(train_rows, val_rows).size == 0
    assert np.array_equal(np.union1d(train_rows, val_rows), np.arange(n))
    for c, count in enumerate([50, 30, 10]):
        n_val_c = np.count_nonzero(y[val_rows] == c)
        assert abs(n_val_c - fraction * count) <= 1, (c, n_val_c, fraction * count)


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(st.integers(0, 3), min_size=4, max_size=60),
    fraction=st.floats(0.05, 0.95),
)
def test_validation_split_stratified_for_random_labels(labels, fraction):
    y = np.array(labels)
    n = len(y)
    X, _ = _indexed(n)
    net, rec = _recording_net(n_classes=4)
    before = _state(net)
    n_val = round(fraction * n)
    if not 1 <= n_val < n:  # the documented refusal: no sample for one of the two sets
        with pytest.raises(ValueError, match="validation_split"):
            net.train(X, y, epochs=1, batch_size=8, validation_split=fraction, verbose=0)
        assert_state_unchanged(net, before)
        return
    net.train(X, y, epochs=1, batch_size=8, validation_split=fraction, verbose=0)
    train_rows, val_rows = _split_rows(rec)
    assert np.intersect1d(train_rows, val_rows).size == 0
    assert np.array_equal(np.union1d(train_rows, val_rows), np.arange(n))
    for c in range(4):
        count = np.count_nonzero(y == c)
        assert abs(np.count_nonzero(y[val_rows] == c) - fraction * count) <= 1


@pytest.mark.parametrize(
    ("counts", "fraction"),
    [([2, 2], 0.25), ([10, 10], 0.05), ([5, 5, 5], 0.1), ([1, 1, 1, 1], 0.3), ([7, 3], 0.15)],
)
def test_validation_split_has_the_requested_size_when_class_shares_round_down(counts, fraction):
    # round(fraction * n) validation samples, each class within one of its share: the
    # split must not refuse (or shrink) because every class's share rounds to zero
    y = np.repeat(np.arange(len(counts)), counts)
    n = len(y)
    X, _ = _indexed(n)
    net, rec = _recording_net(n_classes=4)
    net.train(X, y, epochs=1, batch_size=8, validation_split=fraction, verbose=0)
    train_rows, val_rows = _split_rows(rec)
    assert len(val_rows) == round(fraction * n)
    assert len(train_rows) == n - round(fraction * n)
    for c, count in enumerate(counts):
        assert abs(np.count_nonzero(y[val_rows] == c) - fraction * count) <= 1


def test_validation_split_is_deterministic_per_seed():
    X, y = _indexed(60)

    def split(seed):
        net, rec = _recording_net(seed=seed)
        net.train(X, y, epochs=1, batch_size=16, validation_split=0.3, verbose=0)
        return _split_rows(rec)[1]

    assert np.array_equal(split(1), split(1))
    assert not np.array_equal(split(1), split(2))


def test_validation_split_for_regression_is_a_random_split_of_the_right_size():
    n = 40
    X, _ = _indexed(n)
    y = np.random.default_rng(0).standard_normal(n)
    rec = RowRecorder()
    net = lk.Network([lk.Input(2), rec, lk.Dense(1)], "mse", seed=0)
    rec.train_batches.clear()  # the build's shape check ran the layer on zeros
    rec.eval_batches.clear()
    net.train(X, y, epochs=1, batch_size=8, validation_split=0.25, verbose=0)
    train_rows, val_rows = _split_rows(rec)
    assert len(val_rows) == 10 and len(train_rows) == 30
    assert np.intersect1d(train_rows, val_rows).size == 0


def test_validation_split_with_x_val_is_an_error():
    X, y = _data()
    net = _net()
    before = _state(net)
    with pytest.raises(ValueError, match="validation_split"):
        net.train(X, y, X, y, validation_split=0.2, verbose=0)
    assert_state_unchanged(net, before)


@pytest.mark.parametrize("fraction", [0.01, 0.99])
def test_validation_split_leaving_a_set_empty_is_an_error_and_changes_nothing(fraction):
    X, y = _indexed(20)
    net, _ = _recording_net()
    before = _state(net)
    with pytest.raises(ValueError, match="validation_split"):
        net.train(X, y, validation_split=fraction, verbose=0)
    assert_state_unchanged(net, before)


# ---------------------------------------------------------------------------- sample / class weights


def test_sample_weighted_cost_is_the_mean_of_weighted_per_sample_costs():
    X, y = _data(n=20)
    w = np.random.default_rng(1).uniform(0, 3, 20)
    net = _net()
    per_sample = np.array([net.loss(X[i : i + 1], y[i : i + 1]) for i in range(20)])
    expected = float(np.sum(w * per_sample) / 20)  # J = (1/m) sum w_i c_i
    assert net.evaluate(X, y, sample_weight=w).cost == pytest.approx(expected, rel=1e-12)
    assert net.loss(X, y, sample_weight=w) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(_manual_ce(net, X, y, w), rel=1e-12)
    # and the first full-batch epoch reports it (measured before the step)
    hist = net.train(X, y, epochs=1, batch_size=None, sample_weight=w, verbose=0)
    assert hist.train_cost[0] == pytest.approx(expected, rel=1e-12)


def test_zero_weight_samples_do_not_affect_gradients():
    X, y = _data(n=20)
    w = np.ones(20)
    w[::3] = 0.0
    X2, y2 = X.copy(), y.copy()
    X2[::3] = 50 * np.random.default_rng(2).standard_normal(X2[::3].shape)
    y2[::3] = 1 - y2[::3]
    a, b = _net(), _net()
    a.backprop(X, y, sample_weight=w)
    b.backprop(X2, y2, sample_weight=w)
    for (la, ka, _), (lb, kb, _) in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(la.grads[ka], lb.grads[kb], rtol=1e-12, atol=1e-15)
    # and training on either data set ends at the same weights
    a, b = _net(), _net()
    a.train(X, y, epochs=3, batch_size=6, sample_weight=w, verbose=0)
    b.train(X2, y2, epochs=3, batch_size=6, sample_weight=w, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-15)


def test_class_weight_equals_the_equivalent_sample_weight():
    X, y = _data(n=30)
    cw = {0: 2.5, 1: 0.4}
    a, b = _net(), _net()
    ha = a.train(X, y, epochs=3, batch_size=8, class_weight=cw, verbose=0)
    hb = b.train(X, y, epochs=3, batch_size=8, sample_weight=np.where(y == 0, 2.5, 0.4), verbose=0)
    assert _weights_equal(a.get_weights(), b.get_weights())
    assert ha.train_cost == hb.train_cost
    # both together multiply
    c, d = _net(), _net()
    w = np.linspace(0.1, 1, 30)
    c.train(X, y, epochs=2, batch_size=8, class_weight=cw, sample_weight=w, verbose=0)
    d.train(X, y, epochs=2, batch_size=8, sample_weight=w * np.where(y == 0, 2.5, 0.4), verbose=0)
    assert _weights_equal(c.get_weights(), d.get_weights())


# ---------------------------------------------------------------------------- bad arguments

X_BAD, Y_BAD = _data(n=20)
X_NAN = X_BAD.copy()
X_NAN[3, 1] = np.nan

BAD = [
    ({"epochs": -1}, ValueError, "epochs"),
    ({"epochs": 2.5}, TypeError, "epochs"),
    ({"epochs": True}, TypeError, "epochs"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": -4}, ValueError, "batch_size"),
    ({"batch_size": 4.0}, TypeError, "batch_size"),
    ({"learning_rate": -1}, ValueError, "learning_rate"),
    ({"learning_rate": 0.0}, ValueError, "learning_rate"),
    ({"learning_rate": float("nan")}, ValueError, "learning_rate"),
    ({"learning_rate": float("inf")}, ValueError, "learning_rate"),
    ({"learning_rate": "fast"}, TypeError, "learning_rate"),
    ({"penalty": -1}, ValueError, "penalty"),
    ({"penalty": float("nan")}, ValueError, "penalty"),
    ({"early_stopping": 0, "X_val": X_BAD, "y_val": Y_BAD}, ValueError, "early_stopping"),
    ({"early_stopping": -2, "X_val": X_BAD, "y_val": Y_BAD}, ValueError, "early_stopping"),
    ({"early_stopping": 2.5, "X_val": X_BAD, "y_val": Y_BAD}, TypeError, "early_stopping"),
    ({"validation_split": 1.5}, ValueError, "validation_split"),
    ({"validation_split": 0.0}, ValueError, "validation_split"),
    ({"validation_split": 1.0}, ValueError, "validation_split"),
    ({"validation_split": -0.2}, ValueError, "validation_split"),
    ({"validation_split": float("nan")}, ValueError, "validation_split"),
    ({"X": X_BAD[:-1]}, ValueError, r"^X and y must have the same number of samples"),
    ({"y": np.where(Y_BAD == 1, 5, 0)}, ValueError, r"^y class labels"),
    ({"y": -Y_BAD}, ValueError, r"^y class labels"),
    ({"y": Y_BAD + 0.5}, ValueError, r"^y class labels"),
    ({"X": X_NAN}, ValueError, r"^X contains NaN"),
    ({"X": X_BAD[:, :2]}, ValueError, r"^X must have shape"),
    ({"X_val": X_NAN, "y_val": Y_BAD}, ValueError, r"^X_val contains NaN"),
    ({"X_val": X_BAD}, ValueError, "y_val"),
    ({"X_val": X_BAD[:5], "y_val": Y_BAD}, ValueError, r"^X_val and y_val must have"),
    ({"y_val": Y_BAD + 7, "X_val": X_BAD}, ValueError, r"^y_val class labels"),
    ({"sample_weight": -np.ones(20)}, ValueError, "sample_weight"),
    ({"sample_weight": np.ones(19)}, ValueError, "sample_weight"),
    ({"sample_weight": np.full(20, np.nan)}, ValueError, "sample_weight"),
    ({"class_weight": {2: 1.0}}, ValueError, "class_weight"),
    ({"class_weight": {0: -1.0}}, ValueError, "class_weight"),
    ({"class_weight": [1.0, 2.0]}, TypeError, "class_weight"),
    ({"verbose": 3}, ValueError, "verbose"),
    ({"on_divergence": "explode"}, ValueError, "on_divergence"),
    ({"optimizer": "adagrad"}, ValueError, "optimizer"),
    ({"schedule": "cosine"}, ValueError, "schedule"),
    ({"callbacks": [1]}, TypeError, "callbacks"),
    ({"checkpoint_every": 0}, ValueError, "checkpoint_every"),
    ({"schedule": "grow_and_slash", "optimizer": "adam"}, ValueError, "grow_and_slash"),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    BAD,
    ids=[f"{i}-{next(iter(k))}" for i, (k, _, _) in enumerate(BAD)],
)
def test_bad_train_arguments_raise_naming_the_argument_and_change_nothing(kwargs, error, name):
    net = _net(penalty=0.01)
    X, y = X_BAD.copy(), Y_BAD.copy()
    net.train(
        X, y, X, y, epochs=2, batch_size=8, optimizer="adam", learning_rate=0.01, verbose=0
    )  # an optimiser with state, and a history
    before = _state(net)
    args = {"X": X, "y": y, "epochs": 3, "batch_size": 8, "verbose": 0, **kwargs}
    with pytest.raises(error, match=name) as info:
        net.train(**args)
    assert isinstance(info.value, lk.LayerkitValueError | lk.LayerkitTypeError)
    assert_state_unchanged(net, before)


def test_bad_arguments_leave_a_fresh_network_without_optimizer_or_history():
    net = _net()
    before = _state(net)
    with pytest.raises(ValueError, match="batch_size"):
        net.train(X_BAD, Y_BAD, batch_size=0, optimizer="adam", verbose=0)
    assert net.optimizer is None and net.history is None
    assert_state_unchanged(net, before)


# ---------------------------------------------------------------------------- evaluate / predict


def test_evaluate_matches_loss_and_accuracy_of_predict_classes():
    X, y = _data(n=50)
    net = _net(penalty=0.05)
    net.train(X, y, epochs=3, batch_size=10, verbose=0)
    result = net.evaluate(X, y)
    assert isinstance(result, lk.Evaluation)
    cost, accuracy = result
    assert cost == pytest.approx(net.loss(X, y), rel=1e-12)
    assert accuracy == np.mean(net.predict_classes(X) == y)
    # one-hot targets give the same
    assert net.evaluate(X, np.eye(2)[y]) == pytest.approx(result, rel=1e-12)
    # predict_classes is the argmax of predict
    assert np.array_equal(net.predict_classes(X), np.argmax(net.predict(X), axis=1))


def test_evaluate_single_sigmoid_unit_and_regression():
    X, y = _data(n=40)
    net = lk.Network(
        [lk.Input(3), lk.Dense(1, "sigmoid")], "binary_crossentropy", seed=0, dtype="float64"
    )
    p = net.predict(X)[:, 0]
    classes = net.predict_classes(X)
    assert np.array_equal(classes, (p > 0.5).astype(np.int64))
    cost, accuracy = net.evaluate(X, y)
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert cost == pytest.approx(bce, rel=1e-10)
    assert accuracy == np.mean(classes == y)
    Xr, yr = _regression()
    reg = _linear()
    cost, accuracy = reg.evaluate(Xr, yr)
    assert accuracy is None
    assert cost == pytest.approx(np.mean((reg.predict(Xr)[:, 0] - yr) ** 2), rel=1e-12)


def test_last_validation_cost_equals_evaluate_after_training():
    X, y = _data(n=40)
    Xv, yv = _data(n=15, seed=1)
    net = _net(penalty=0.01)
    hist = net.train(X, y, Xv, yv, epochs=3, batch_size=8, verbose=0)
    cost, acc = net.evaluate(Xv, yv)
    assert hist.val_cost[-1] == pytest.approx(cost, rel=1e-12)
    assert hist.val_accuracy[-1] == acc


@pytest.mark.parametrize("batch_size", [1, 3, 5, 7, 20])
def test_batch_shuffle_keeps_blocks_contiguous_and_shuffles_their_order(batch_size):
    n, epochs = 20, 5
    X, y = _indexed(n)
    net, rec = _recording_net()
    marks = EpochMarks(rec)
    net.train(X, y, epochs=epochs, batch_size=batch_size, shuffle="batch", callbacks=[marks],
              verbose=0)  # fmt: skip
    blocks = [np.arange(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    orders = []
    for epoch in marks.epochs():
        rows = np.concatenate(epoch)
        assert np.array_equal(np.sort(rows), np.arange(n)), "a sample was skipped or repeated"
        # every batch is one of the contiguous blocks, each block once
        starts = [int(b[0]) for b in epoch]
        for b in epoch:
            assert any(len(b) == len(k) and np.array_equal(b, k) for k in blocks)
        assert sorted(starts) == list(range(0, n, batch_size))
        orders.append(tuple(starts))
    if n // batch_size > 3:
        assert len(set(orders)) > 1, "the block order never changed"
    # reproducible from the seed
    net2, rec2 = _recording_net()
    marks2 = EpochMarks(rec2)
    net2.train(X, y, epochs=epochs, batch_size=batch_size, shuffle="batch", callbacks=[marks2],
               verbose=0)  # fmt: skip
    assert [tuple(int(b[0]) for b in e) for e in marks2.epochs()] == orders


def test_batch_shuffle_of_a_memmap_equals_the_in_memory_array(tmp_path):
    X, y = _data(n=97, d=3)
    X = X.astype(np.float32)
    path = tmp_path / "X.dat"
    X.tofile(path)
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    a, b = _net(dtype="float32"), _net(dtype="float32")
    a.train(X, y, epochs=3, batch_size=10, shuffle="batch", verbose=0)
    b.train(mm, y, epochs=3, batch_size=10, shuffle="batch", verbose=0)
    assert _weights_equal(a.get_weights(), b.get_weights())


def test_batch_shuffle_with_a_validation_split_uses_runs_of_the_training_rows():
    n = 30
    X, y = _indexed(n)
    net, rec = _recording_net()
    marks = EpochMarks(rec)
    net.train(X, y, epochs=2, batch_size=4, shuffle="batch", validation_split=0.2,
              callbacks=[marks], verbose=0)  # fmt: skip
    for epoch in marks.epochs():
        rows = np.concatenate(epoch)
        assert len(rows) == n - 6 and len(set(rows.tolist())) == len(rows)
        train_rows = np.sort(rows)
        for batch in epoch:  # consecutive entries of the sorted training rows
            i = int(np.searchsorted(train_rows, batch[0]))
            assert np.array_equal(batch, train_rows[i : i + len(batch)])


@pytest.mark.parametrize("bad", ["rows", "Batch", 2, None, [True]])
def test_shuffle_accepts_only_true_false_or_batch(bad):
    X, y = _data(n=20)
    net = _net()
    before = net.get_weights()
    with pytest.raises(lk.LayerkitValueError, match="shuffle"):
        net.train(X, y, epochs=1, shuffle=bad, verbose=0)
    assert _weights_equal(net.get_weights(), before)


def test_batch_shuffle_gathers_nothing_the_batches_are_views_of_x():
    X, y = _data(n=50)
    X = X.astype(np.float32)
    seen = []

    class Probe(lk.Layer):
        def forward(self, x, training=False):
            if training:
                seen.append(np.shares_memory(x, X))
            return x

        def backward(self, grad_out):
            return grad_out

    for shuffle, views in (("batch", True), (True, False)):
        seen.clear()
        net = lk.Network([lk.Input(3), Probe(), lk.Dense(2, "softmax")], seed=0)
        net.train(X, y, epochs=2, batch_size=8, shuffle=shuffle, verbose=0)
        assert seen and all(v == views for v in seen)


def test_validation_weights_without_validation_data_are_refused_and_change_nothing():
    from layerkit.training import train

    X, y = _regression()
    net = _linear()
    before = net.get_weights()
    with pytest.raises(lk.LayerkitValueError, match="sample_weight_val weights X_val and y_val"):
        train(net, X, y, sample_weight_val=np.ones(len(X)), verbose=0)
    with pytest.raises(lk.LayerkitValueError, match="held-out rows keep their sample_weight"):
        train(net, X, y, sample_weight_val=np.ones(3), validation_split=0.25, verbose=0)
    assert _weights_equal(net.get_weights(), before) and net.history is None


def test_weighted_validation_cost_is_evaluate_with_the_same_weights():
    from layerkit.training import train

    X, y = _regression()
    Xv, yv = X[:10], y[:10]
    w = np.linspace(0.0, 2.0, 10)
    hist = train(_linear(), X, y, Xv, yv, sample_weight_val=w, epochs=1, verbose=0)
    net = _linear()
    net.train(X, y, epochs=1, verbose=0)
    assert hist.val_cost[-1] == pytest.approx(net.evaluate(Xv, yv, sample_weight=w).cost)
    assert hist.val_cost[-1] != pytest.approx(net.evaluate(Xv, yv).cost)
