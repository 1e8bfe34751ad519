"""Callbacks and early stopping: ``train(callbacks=..., early_stopping=...)``.

Early stopping is tested against independent re-implementations of its two rules on
scripted validation costs: ``layerkit.training.evaluate_data`` is replaced by a function
that returns the next scripted cost, while the network really trains (so its weights
change every epoch and "restored the best weights" can be checked bit for bit against a
snapshot taken in ``on_epoch_end``).

Scripted costs are small integers: sums of a window are then exact, so the reference
rules and the library agree on ties without any tolerance (a tie is *not* a rise).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import layerkit as lk
import layerkit.training as training

# ---------------------------------------------------------------------------- helpers


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    return X, y


def _net(seed=0, dtype="float64"):
    return lk.Network(
        [lk.Input(2), lk.Dense(3, "tanh"), lk.Dense(2, "softmax")], seed=seed, dtype=dtype
    )


class Snapshots(lk.Callback):
    """Keeps ``net.get_weights()`` after every epoch (epoch numbers from 1)."""

    def __init__(self):
        self.weights = {}

    def on_train_begin(self, network):
        self.weights[0] = network.get_weights()

    def on_epoch_end(self, network, epoch, logs):
        self.weights[epoch] = network.get_weights()


def _script(monkeypatch, costs):
    """Make every validation evaluation return the next scripted cost."""
    it = iter(list(costs))

    def fake(net, data):
        return float(next(it)), 0.5

    monkeypatch.setattr(training.loop, "evaluate_data", fake)


def _weights_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def window_rule(costs, s):
    """Seed 002, section 3.4.4, written independently: (stop epoch or None, best epoch).

    After epoch e >= 2s, stop when mean(costs of epochs e-s+1..e) is higher than
    mean(costs of epochs e-2s+1..e-s). The best epoch is the first of lowest cost among the
    epochs trained.
    """
    stop = None
    for e in range(2 * s, len(costs) + 1):
        recent = costs[e - s : e]
        previous = costs[e - 2 * s : e - s]
        if np.mean(recent) > np.mean(previous):
            stop = e
            break
    trained = costs[: stop or len(costs)]
    return stop, int(np.argmin(trained)) + 1


def keras_patience_rule(costs, patience, min_delta):
    """Keras's ``EarlyStopping(monitor="val_loss", mode="min")`` loop, transcribed.

    Keras negates min_delta for "min" mode and tests ``current - min_delta < best``, i.e.
    ``current + |min_delta| < best``; ``wait`` is incremented first and reset on improvement.
    """
    best, wait, best_epoch = np.inf, 0, None
    for epoch, current in enumerate(costs):  # Keras epochs are 0-based
        wait += 1
        if current + min_delta < best:
            best, best_epoch, wait = current, epoch + 1, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch + 1, best_epoch
    return None, best_epoch


def _train_scripted(monkeypatch, costs, early_stopping, **kw):
    X, y = _data()
    net = _net()
    snaps = Snapshots()
    _script(monkeypatch, costs)
    hist = net.train(
        X,
        y,
        X,
        y,
        epochs=len(costs),
        batch_size=8,
        learning_rate=0.5,
        early_stopping=early_stopping,
        callbacks=[snaps],
        verbose=0,
        **kw,
    )
    return net, hist, snaps


def _check_outcome(net, hist, snaps, costs, stop, best):
    last = stop or len(costs)
    assert hist.epochs == list(range(1, last + 1))
    assert hist.val_cost == [float(c) for c in costs[:last]]
    assert hist.best_epoch == best
    assert hist.restored_epoch == best
    if stop is None:
        assert hist.stop_reason == "epochs"
        assert hist.stopped_epoch is None
    else:
        assert hist.stop_reason == "early_stopping"
        assert hist.stopped_epoch == stop
    # the weights the network ends with are exactly those it had after the best epoch
    assert _weights_equal(net.get_weights(), snaps.weights[best])
    if best != last:  # and they are not simply the last epoch's (training moved them)
        assert not _weights_equal(net.get_weights(), snaps.weights[last])


# ---------------------------------------------------------------------------- ValidationWindow


@pytest.mark.parametrize(
    ("costs", "s", "stop", "best"),
    [
        # mean(5,6)=5.5 > mean(4,3)=3.5 at epoch 4; lowest cost at epoch 2
        ([4, 3, 5, 6, 1, 1], 2, 4, 2),
        # decreasing: never stops, best is the last epoch
        ([9, 8, 7, 6, 5, 4, 3, 2], 2, None, 8),
        # a tie of the two means is not a rise: no stop at epoch 4; rise at epoch 5
        ([1, 3, 2, 2, 9, 0], 2, 5, 1),
        # s = 1: stop at the first rise
        ([5, 4, 4, 6, 0], 1, 4, 2),
        # seed 002's code compared the last s with the s + 2 before: at epoch 6 that is
        # mean(2, 2) = 2 against mean(9, 9, 1, 1) = 5, no stop; the stated rule compares
        # with mean(1, 1) = 1 and stops
        ([9, 9, 1, 1, 2, 2, 0, 0], 2, 6, 3),
    ],
)
def test_validation_window_stops_and_restores_as_seed_002_defines(
    monkeypatch, costs, s, stop, best
):
    assert window_rule(costs, s) == (stop, best)  # the table agrees with the reference
    net, hist, snaps = _train_scripted(monkeypatch, costs, s)
    _check_outcome(net, hist, snaps, costs, stop, best)


@settings(max_examples=60, deadline=None)
@given(
    s=st.integers(1, 4),
    costs=st.lists(st.integers(0, 9), min_size=1, max_size=14),
)
def test_validation_window_matches_reference_rule_on_random_sequences(s, costs):
    with pytest.MonkeyPatch.context() as mp:
        stop, best = window_rule(costs, s)
        net, hist, snaps = _train_scripted(mp, costs, s)
        _check_outcome(net, hist, snaps, costs, stop, best)


def test_validation_window_instance_equals_int_argument(monkeypatch):
    costs = [5, 4, 3, 4, 5, 6, 7, 2]
    _, h_int, _ = _train_scripted(monkeypatch, costs, 2)
    _, h_obj, _ = _train_scripted(monkeypatch, costs, lk.ValidationWindow(2))
    assert (h_int.stopped_epoch, h_int.best_epoch) == (h_obj.stopped_epoch, h_obj.best_epoch)


def test_early_stopping_restores_best_weights_when_silent_and_when_verbose(monkeypatch, capsys):
    # seed 002's code restored the best weights only when verbose
    costs = [3, 1, 2, 5, 6, 7]
    for verbose in (0, 2):
        X, y = _data()
        net, snaps = _net(), Snapshots()
        _script(monkeypatch, costs)
        hist = net.train(
            X,
            y,
            X,
            y,
            epochs=6,
            batch_size=8,
            learning_rate=0.5,
            early_stopping=2,
            callbacks=[snaps],
            verbose=verbose,
        )
        assert hist.stopped_epoch == 4 and hist.restored_epoch == 2
        assert _weights_equal(net.get_weights(), snaps.weights[2])
    assert "epoch 1/6" in capsys.readouterr().out


def test_reaching_epochs_still_restores_best_weights_and_says_so(monkeypatch):
    costs = [5, 4, 1, 3, 3, 3]  # s = 3, epoch 6: mean(3, 3, 3) = 3 < mean(5, 4, 1) = 3.33
    net, hist, snaps = _train_scripted(monkeypatch, costs, 3)
    assert hist.stop_reason == "epochs"
    assert hist.best_epoch == hist.restored_epoch == 3
    assert _weights_equal(net.get_weights(), snaps.weights[3])
    assert "epochs=6" in hist.message and "epoch 3" in hist.message
    assert "restored" in hist.message


def test_early_stopping_on_real_validation_costs_restores_lowest_val_cost_epoch():
    # no scripting: noisy labels and a large rate make the real validation cost rise
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 2))
    y = rng.integers(0, 2, 40)
    Xv = rng.standard_normal((40, 2))
    yv = rng.integers(0, 2, 40)
    net, snaps = (
        lk.Network(
            [lk.Input(2), lk.Dense(16, "tanh"), lk.Dense(2, "softmax")], seed=1, dtype="float64"
        ),
        Snapshots(),
    )
    hist = net.train(
        X,
        y,
        Xv,
        yv,
        epochs=200,
        batch_size=8,
        learning_rate=0.5,
        early_stopping=5,
        callbacks=[snaps],
        verbose=0,
    )
    stop, best = window_rule(hist.val_cost, 5)
    assert stop is not None and hist.stopped_epoch == stop
    assert hist.best_epoch == best == int(np.argmin(hist.val_cost)) + 1
    assert _weights_equal(net.get_weights(), snaps.weights[best])
    # the restored network really has the lowest validation cost seen
    assert net.evaluate(Xv, yv).cost == pytest.approx(min(hist.val_cost), rel=1e-12)


# ---------------------------------------------------------------------------- Patience


@settings(max_examples=60, deadline=None)
@given(
    patience=st.integers(1, 4),
    min_delta=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    costs=st.lists(st.integers(0, 9), min_size=1, max_size=14),
)
def test_patience_matches_keras_rule_on_random_sequences(patience, min_delta, costs):
    with pytest.MonkeyPatch.context() as mp:
        stop, best = keras_patience_rule(costs, patience, min_delta)
        net, hist, snaps = _train_scripted(mp, costs, lk.Patience(patience, min_delta))
        last = stop or len(costs)
        assert hist.epochs == list(range(1, last + 1))
        assert hist.best_epoch == hist.restored_epoch == best
        assert hist.stop_reason == ("epochs" if stop is None else "early_stopping")
        assert hist.stopped_epoch == stop
        assert _weights_equal(net.get_weights(), snaps.weights[best])


def test_patience_min_delta_keeps_first_epoch_of_a_small_improvement(monkeypatch):
    # 10 -> 9.5 is not an improvement with min_delta=1: best stays at epoch 1 (as in Keras)
    costs = [10, 9.5, 9.6, 9.7, 9.8]
    _, hist, _ = _train_scripted(monkeypatch, costs, lk.Patience(3, 1.0))
    assert hist.stopped_epoch == 4
    assert hist.best_epoch == 1


def test_early_stopping_state_is_reset_between_train_calls(monkeypatch):
    stopper = lk.Patience(2)
    costs = [1, 2, 3]
    _, h1, _ = _train_scripted(monkeypatch, costs, stopper)
    assert h1.stopped_epoch == 3
    # a new call judges only its own epochs: the old best cost of 1 is forgotten
    _, h2, _ = _train_scripted(monkeypatch, [5, 4, 3], stopper)
    assert h2.stop_reason == "epochs" and h2.best_epoch == 3


# ---------------------------------------------------------------------------- no validation data


def _state(net):
    opt = net.optimizer
    return {
        "weights": net.get_weights(),
        "optimizer": opt,
        "opt_state": None if opt is None else opt.get_state(),
        "opt_lr": None if opt is None else opt.learning_rate,
        "history": net.history,
        "history_dict": None if net.history is None else net.history.as_dict(),
        "rng": net.rng.bit_generator.state,
    }


def assert_state_unchanged(net, before):
    after = _state(net)
    assert _weights_equal(after["weights"], before["weights"])
    assert after["optimizer"] is before["optimizer"]
    assert after["opt_lr"] == before["opt_lr"]
    if before["opt_state"] is not None:
        assert after["opt_state"]["iterations"] == before["opt_state"]["iterations"]
        for s_a, s_b in zip(after["opt_state"]["slots"], before["opt_state"]["slots"], strict=True):
            assert s_a.keys() == s_b.keys()
            assert all(np.array_equal(s_a[k], s_b[k]) for k in s_a)
    assert after["history"] is before["history"]
    assert after["history_dict"] == before["history_dict"]
    assert after["rng"] == before["rng"]


@pytest.mark.parametrize("early_stopping", [3, lk.Patience(2), lk.ValidationWindow(1)])
def test_early_stopping_without_validation_data_is_an_error_and_changes_nothing(early_stopping):
    X, y = _data()
    net = _net()
    net.train(X, y, epochs=2, optimizer="adam", learning_rate=0.01, verbose=0)
    before = _state(net)
    with pytest.raises(ValueError, match="early_stopping"):
        net.train(X, y, epochs=3, early_stopping=early_stopping, verbose=0)
    assert_state_unchanged(net, before)


# ---------------------------------------------------------------------------- callbacks


class Recorder(lk.Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, network):
        self.calls.append(("begin", network))

    def on_epoch_end(self, network, epoch, logs):
        self.calls.append(("epoch", epoch, dict(logs)))

    def on_batch_end(self, network, batch, logs):
        self.calls.append(("batch", batch, dict(logs)))

    def on_train_end(self, network, history):
        self.calls.append(("end", history))


def test_callback_hooks_are_called_the_right_number_of_times_with_the_right_logs():
    X, y = _data(n=25)
    Xv, yv = _data(n=10, seed=1)
    net, rec = _net(), Recorder()
    epochs, bs = 3, 10  # batches of 10, 10, 5
    hist = net.train(
        X, y, Xv, yv, epochs=epochs, batch_size=bs, learning_rate=0.1, callbacks=[rec], verbose=0
    )
    kinds = [c[0] for c in rec.calls]
    assert kinds == ["begin"] + (["batch"] * 3 + ["epoch"]) * epochs + ["end"]
    assert rec.calls[0][1] is net
    assert rec.calls[-1][1] is hist
    batches = [c for c in rec.calls if c[0] == "batch"]
    assert [c[1] for c in batches] == [0, 1, 2] * epochs
    assert [c[2]["size"] for c in batches] == [10, 10, 5] * epochs
    assert all(set(c[2]) == {"cost", "size"} and np.isfinite(c[2]["cost"]) for c in batches)
    ends = [c for c in rec.calls if c[0] == "epoch"]
    assert [c[1] for c in ends] == [1, 2, 3]
    for i, (_, _, logs) in enumerate(ends):
        assert set(logs) == {"cost", "accuracy", "val_cost", "val_accuracy", "learning_rate"}
        assert logs["cost"] == hist.train_cost[i]
        assert logs["accuracy"] == hist.train_accuracy[i]
        assert logs["val_cost"] == hist.val_cost[i]
        assert logs["val_accuracy"] == hist.val_accuracy[i]
        assert logs["learning_rate"] == hist.learning_rate[i] == 0.1
        # the epoch's cost is the size-weighted mean of its batch costs
        costs = [c[2] for c in batches[3 * i : 3 * i + 3]]
        mean = sum(c["cost"] * c["size"] for c in costs) / 25
        assert logs["cost"] == pytest.approx(mean, rel=1e-12)


def test_epoch_logs_of_a_regression_network_have_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2))
    y = X.sum(axis=1)
    net = lk.Network([lk.Input(2), lk.Dense(1)], "mse", seed=0)
    rec = Recorder()
    hist = net.train(X, y, X, y, epochs=2, batch_size=4, callbacks=[rec], verbose=0)
    logs = [c[2] for c in rec.calls if c[0] == "epoch"]
    assert all(set(entry) == {"cost", "val_cost", "learning_rate"} for entry in logs)
    assert hist.train_accuracy == [] and hist.val_accuracy == []


class StopAt(lk.Callback):
    def __init__(self, epoch=None, batch=None):
        self.epoch, self.batch, self.current = epoch, batch, 0

    def on_epoch_end(self, network, epoch, logs):
        self.current = epoch
        if epoch == self.epoch:
            network.stop_training = True

    def on_batch_end(self, network, batch, logs):
        if self.batch is not None and (self.current + 1, batch) == self.batch:
            network.stop_training = True


def test_setting_stop_training_in_on_epoch_end_stops_after_that_epoch():
    X, y = _data()
    net = _net()
    hist = net.train(X, y, epochs=10, batch_size=8, callbacks=[StopAt(epoch=3)], verbose=0)
    assert hist.epochs == [1, 2, 3]
    assert hist.stop_reason == "callback"
    assert hist.stopped_epoch == 3
    # a later call starts again (the flag is reset)
    hist2 = net.train(X, y, epochs=2, batch_size=8, verbose=0)
    assert hist2.epochs == [1, 2] and hist2.stop_reason == "epochs"


def test_setting_stop_training_in_on_batch_end_stops_after_that_batch():
    X, y = _data(n=24)
    net, rec = _net(), Recorder()
    hist = net.train(
        X, y, epochs=10, batch_size=8, verbose=0, callbacks=[StopAt(batch=(2, 0)), rec]
    )
    assert hist.stop_reason == "callback"
    assert hist.stopped_epoch == 2
    batches = [c for c in rec.calls if c[0] == "batch"]
    assert len(batches) == 3 + 1  # epoch 1 whole, then the first batch of epoch 2


def test_partial_epoch_logs_the_mean_cost_of_the_batches_it_trained():
    # Stopped after the first of three batches, epoch 2's recorded cost must be that
    # batch's cost (the mean over the batches trained), not a third of it.
    X, y = _data(n=24)
    net, rec = _net(), Recorder()
    hist = net.train(
        X, y, epochs=10, batch_size=8, verbose=0, callbacks=[StopAt(batch=(2, 0)), rec]
    )
    batch_cost = [c for c in rec.calls if c[0] == "batch"][-1][2]["cost"]
    assert hist.train_cost[-1] == pytest.approx(batch_cost, rel=1e-12)


class InterruptAt(lk.Callback):
    def __init__(self, epoch, batch):
        self.at, self.epoch = (epoch, batch), 1
        self.ended = False

    def on_epoch_end(self, network, epoch, logs):
        self.epoch = epoch + 1

    def on_batch_end(self, network, batch, logs):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt

    def on_train_end(self, network, history):
        self.ended = True


def test_keyboard_interrupt_mid_epoch_ends_training_cleanly():
    X, y = _data(n=24)
    net = _net()
    cb = InterruptAt(epoch=3, batch=1)
    hist = net.train(X, y, epochs=10, batch_size=8, callbacks=[cb], verbose=0)
    assert hist.stop_reason == "interrupted"
    assert hist.epochs == [1, 2]  # epoch 3 was not completed
    assert cb.ended
    assert net.history is hist
    assert all(np.isfinite(w).all() for w in net.get_weights())


def test_keyboard_interrupt_with_early_stopping_restores_best_weights(monkeypatch):
    X, y = _data(n=24)
    net, snaps = _net(), Snapshots()
    _script(monkeypatch, [5, 2, 3, 3, 3, 3])  # s = 3 never fires within 3 epochs
    hist = net.train(
        X,
        y,
        X,
        y,
        epochs=6,
        batch_size=8,
        learning_rate=0.5,
        early_stopping=3,
        callbacks=[snaps, InterruptAt(epoch=4, batch=1)],
        verbose=0,
    )
    assert hist.stop_reason == "interrupted"
    assert hist.epochs == [1, 2, 3]
    assert hist.best_epoch == hist.restored_epoch == 2
    assert _weights_equal(net.get_weights(), snaps.weights[2])


def test_callbacks_must_be_a_list_of_callbacks():
    X, y = _data()
    net = _net()
    before = _state(net)
    with pytest.raises(TypeError, match="callbacks"):
        net.train(X, y, callbacks=Recorder(), verbose=0)
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        net.train(X, y, callbacks=[object()], verbose=0)
    assert_state_unchanged(net, before)
