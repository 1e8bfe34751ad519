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


def test_a_callback_with_an_unknown_convention_is_refused():
    class Odd(lk.Callback):
        convention = "torch"

    with pytest.raises(ValueError, match=r"callbacks\[0\]\.convention"):
        _net().train(*_data(), callbacks=[Odd()], verbose=0)


# ---------------------------------------------------------------------------- the name clash


def test_early_stopping_is_the_keras_callback_and_criteria_share_stopping_criterion():
    assert issubclass(lk.EarlyStopping, lk.KerasCallback)
    assert issubclass(lk.ValidationWindow, lk.StoppingCriterion)
    assert issubclass(lk.Patience, lk.StoppingCriterion)
    assert not issubclass(lk.EarlyStopping, lk.StoppingCriterion)


def test_the_early_stopping_callback_given_as_early_stopping_says_where_it_goes():
    X, y = _data()
    net = _net()
    before = _state(net)
    with pytest.raises(TypeError, match=r"callbacks=\[\.\.\.\]"):
        net.train(X, y, X, y, early_stopping=lk.EarlyStopping(), verbose=0)
    assert_state_unchanged(net, before)


# ---------------------------------------------------------------------------- Keras's callbacks


def _script_pairs(monkeypatch, costs, accuracies):
    """Every validation evaluation returns the next scripted (cost, accuracy)."""
    it = iter(list(zip(costs, accuracies, strict=True)))

    def fake(net, data):
        cost, acc = next(it)
        return float(cost), float(acc)

    monkeypatch.setattr(training.loop, "evaluate_data", fake)


def _fit_scripted(monkeypatch, costs, callbacks, accuracies=None, **kw):
    """``fit`` for ``len(costs)`` epochs, validation costs scripted; snapshots after each epoch."""
    X, y = _data()
    net = _net()
    snaps = Snapshots()
    if accuracies is None:
        _script(monkeypatch, costs)
    else:
        _script_pairs(monkeypatch, costs, accuracies)
    kw.setdefault("learning_rate", 0.5)
    hist = net.fit(
        X,
        y,
        batch_size=8,
        epochs=len(costs),
        validation_data=(X, y),
        callbacks=[snaps, *callbacks],
        verbose=0,
        **kw,
    )
    return net, hist, snaps


def keras_early_stopping_rule(
    values, *, patience, min_delta=0.0, mode="min", baseline=None, start_from_epoch=0
):
    """Keras 3's ``EarlyStopping.on_epoch_end``, transcribed: ``(stopped index or None,
    index of the weights restore_best_weights puts back or None)``; indices are 0-based."""
    better = (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)
    delta = -abs(min_delta) if mode == "min" else abs(min_delta)
    best = np.inf if mode == "min" else -np.inf
    wait, best_weights_epoch = 0, None
    for epoch, current in enumerate(values):
        if epoch < start_from_epoch:
            continue
        if best_weights_epoch is None:
            best_weights_epoch = epoch
        wait += 1
        if better(current - delta, best):
            best, best_weights_epoch = current, epoch
            if baseline is None or better(current - delta, baseline):
                wait = 0
            continue
        if wait >= patience and epoch > 0:
            return epoch, best_weights_epoch
    return None, best_weights_epoch


@settings(max_examples=40, deadline=None)
@given(
    costs=st.lists(st.integers(0, 9), min_size=1, max_size=10),
    patience=st.integers(0, 3),
    min_delta=st.sampled_from([0.0, 1.0, 2.0]),
    baseline=st.sampled_from([None, 3.0, 6.0]),
    start_from_epoch=st.integers(0, 3),
)
def test_keras_early_stopping_matches_keras_rule_and_restores_best_weights(
    costs, patience, min_delta, baseline, start_from_epoch
):
    stop, best = keras_early_stopping_rule(
        costs,
        patience=patience,
        min_delta=min_delta,
        baseline=baseline,
        start_from_epoch=start_from_epoch,
    )
    es = lk.EarlyStopping(
        patience=patience,
        min_delta=min_delta,
        baseline=baseline,
        start_from_epoch=start_from_epoch,
        restore_best_weights=True,
    )
    with pytest.MonkeyPatch.context() as mp:
        net, hist, snaps = _fit_scripted(mp, costs, [es])
    last = len(costs) if stop is None else stop + 1
    assert hist.epochs == list(range(1, last + 1))
    assert es.stopped_epoch == (stop or 0)
    assert hist.stop_reason == ("epochs" if stop is None else "callback")
    if best is None:  # every epoch was inside the warm-up: nothing to restore
        assert _weights_equal(net.get_weights(), snaps.weights[last])
    else:
        assert es.best_epoch == best
        assert _weights_equal(net.get_weights(), snaps.weights[best + 1])


def test_keras_early_stopping_without_restore_keeps_the_last_weights(monkeypatch):
    es = lk.EarlyStopping(patience=1)
    net, hist, snaps = _fit_scripted(monkeypatch, [3, 1, 2, 4, 0], [es])
    assert hist.epochs == [1, 2, 3]  # epoch index 2 (cost 2) is the first without progress
    assert es.stopped_epoch == 2 and es.best_epoch == 1
    assert _weights_equal(net.get_weights(), snaps.weights[3])


def test_keras_early_stopping_start_from_epoch_ignores_the_warm_up(monkeypatch):
    # rising costs during the warm-up (indices 0-2) would stop a patience-0 rule at once
    es = lk.EarlyStopping(patience=0, start_from_epoch=3, restore_best_weights=True)
    net, hist, snaps = _fit_scripted(monkeypatch, [1, 2, 3, 9, 8, 8.5, 7], [es])
    assert hist.epochs == [1, 2, 3, 4, 5, 6]  # stops at index 5, the first non-improvement
    assert es.best_epoch == 4
    assert _weights_equal(net.get_weights(), snaps.weights[5])


def test_keras_early_stopping_maximises_accuracy_in_auto_mode(monkeypatch):
    es = lk.EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True)
    costs = [5, 5, 5, 5, 5]
    accs = [0.5, 0.7, 0.6, 0.65, 0.9]
    net, hist, snaps = _fit_scripted(monkeypatch, costs, [es], accuracies=accs)
    assert hist.epochs == [1, 2, 3]
    assert es.best == 0.7
    assert _weights_equal(net.get_weights(), snaps.weights[2])


def test_monitor_accepts_layerkit_names_for_keras_ones(monkeypatch):
    costs = [3, 1, 2, 4, 0]
    a, b = lk.EarlyStopping(monitor="val_cost", patience=1), lk.EarlyStopping(patience=1)
    _, h_a, _ = _fit_scripted(monkeypatch, costs, [a])
    _, h_b, _ = _fit_scripted(monkeypatch, costs, [b])
    assert a.monitor == "val_loss"
    assert h_a.epochs == h_b.epochs == [1, 2, 3]


def test_monitoring_a_missing_quantity_warns_once_and_never_stops():
    X, y = _data()
    es = lk.EarlyStopping(patience=0)  # val_loss, but no validation data
    with pytest.warns(RuntimeWarning, match="val_loss") as record:
        hist = _net().fit(X, y, epochs=4, callbacks=[es], verbose=0)
    assert len([w for w in record if "val_loss" in str(w.message)]) == 1
    assert hist.epochs == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: lk.EarlyStopping(monitor="val_f1"), "monitor"),
        (lambda: lk.EarlyStopping(mode="up"), "mode"),
        (lambda: lk.EarlyStopping(patience=-1), "patience"),
        (lambda: lk.EarlyStopping(restore_best_weights=1), "restore_best_weights"),
        (lambda: lk.ModelCheckpoint("m-{epochs}.npz"), "placeholder"),
        (lambda: lk.ModelCheckpoint(3), "filepath"),
        (lambda: lk.CSVLogger("log.csv", separator=", "), "separator"),
        (lambda: lk.LearningRateScheduler(0.1), "schedule"),
        (lambda: lk.ReduceLROnPlateau(factor=1.0), "factor"),
        (lambda: lk.ReduceLROnPlateau(cooldown=-1), "cooldown"),
        (lambda: lk.LambdaCallback(on_epoch_end=3), "on_epoch_end"),
    ],
)
def test_keras_callbacks_refuse_bad_arguments_by_name(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


def test_model_checkpoint_names_files_by_epoch_and_val_loss_and_saves_the_model(
    monkeypatch, tmp_path
):
    template = str(tmp_path / "m-{epoch:02d}-{val_loss:.2f}.npz")
    cb = lk.ModelCheckpoint(template)
    _, _, snaps = _fit_scripted(monkeypatch, [3, 1, 2, 0.5], [cb])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["m-01-3.00.npz", "m-02-1.00.npz", "m-03-2.00.npz", "m-04-0.50.npz"]
    loaded = lk.load(tmp_path / "m-02-1.00.npz")
    assert _weights_equal(loaded.get_weights(), snaps.weights[2])


def test_model_checkpoint_save_best_only_saves_only_improvements(monkeypatch, tmp_path):
    named = lk.ModelCheckpoint(str(tmp_path / "m-{epoch}.npz"), save_best_only=True)
    fixed = lk.ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)
    _, _, snaps = _fit_scripted(monkeypatch, [3, 1, 2, 1, 0.5, 4], [named, fixed])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best.npz", "m-1.npz", "m-2.npz", "m-5.npz"]  # a tie is no improvement
    assert _weights_equal(lk.load(tmp_path / "best.npz").get_weights(), snaps.weights[5])
    assert named.best == 0.5


def test_model_checkpoint_on_accuracy_keeps_the_most_accurate_model(monkeypatch, tmp_path):
    cb = lk.ModelCheckpoint(tmp_path / "best.npz", monitor="val_accuracy", save_best_only=True)
    costs, accs = [1, 1, 1, 1], [0.6, 0.9, 0.8, 0.7]
    _, _, snaps = _fit_scripted(monkeypatch, costs, [cb], accuracies=accs)
    assert _weights_equal(lk.load(tmp_path / "best.npz").get_weights(), snaps.weights[2])


def test_model_checkpoint_naming_a_missing_log_says_which(tmp_path):
    X, y = _data()
    cb = lk.ModelCheckpoint(str(tmp_path / "m-{val_loss:.2f}.npz"))
    with pytest.raises(ValueError, match="val_loss"):
        _net().fit(X, y, epochs=2, callbacks=[cb], verbose=0)


def _read_csv(path, separator=","):
    import csv

    with open(path, newline="") as handle:
        return list(csv.reader(handle, delimiter=separator))


def test_csv_logger_writes_one_row_per_epoch_with_keras_names(tmp_path):
    X, y = _data()
    Xv, yv = _data(n=10, seed=1)
    path = tmp_path / "log.csv"
    hist = _net().fit(
        X,
        y,
        epochs=3,
        batch_size=8,
        validation_data=(Xv, yv),
        callbacks=[lk.CSVLogger(path)],
        verbose=0,
    )
    rows = _read_csv(path)
    assert rows[0] == ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    columns = {
        "accuracy": hist.train_accuracy,
        "learning_rate": hist.learning_rate,
        "loss": hist.train_cost,
        "val_accuracy": hist.val_accuracy,
        "val_loss": hist.val_cost,
    }
    for i, row in enumerate(rows[1:]):
        for name, value in zip(rows[0][1:], row[1:], strict=True):
            assert float(value) == columns[name][i]  # written in full precision


def test_csv_logger_appends_without_a_second_header_and_honours_the_separator(tmp_path):
    X, y = _data()
    path = tmp_path / "log.csv"
    net = _net()
    net.fit(X, y, epochs=2, callbacks=[lk.CSVLogger(path, separator=";")], verbose=0)
    net.fit(
        X,
        y,
        epochs=4,
        initial_epoch=2,
        verbose=0,
        callbacks=[lk.CSVLogger(path, separator=";", append=True)],
    )
    rows = _read_csv(path, ";")
    assert rows[0] == ["epoch", "accuracy", "learning_rate", "loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2", "3"]
    # without append the file starts again
    net.fit(X, y, epochs=1, callbacks=[lk.CSVLogger(path, separator=";")], verbose=0)
    assert len(_read_csv(path, ";")) == 2


def _replay(rates, **kw):
    """A fresh network trained one epoch per rate, each call given that rate."""
    X, y = _data()
    net = _net()
    for rate in rates:
        net.train(X, y, epochs=1, batch_size=8, learning_rate=rate, shuffle=False, verbose=0, **kw)
    return net


def test_learning_rate_scheduler_sets_the_rate_each_epoch_uses():
    X, y = _data()
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return 0.4 * 0.5**epoch

    net = _net()
    hist = net.fit(
        X,
        y,
        batch_size=8,
        epochs=4,
        shuffle=False,
        learning_rate=0.4,
        verbose=0,
        callbacks=[lk.LearningRateScheduler(schedule)],
    )
    assert hist.learning_rate == [0.4, 0.2, 0.1, 0.05]
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert [lr for _, lr in seen] == [0.4, 0.4, 0.2, 0.1]  # the rate in force before each epoch
    # the optimiser really stepped with those rates: same weights as training epoch by epoch
    assert _weights_equal(net.get_weights(), _replay([0.4, 0.2, 0.1, 0.05]).get_weights())


def test_learning_rate_scheduler_takes_a_one_argument_schedule_and_initial_epoch():
    X, y = _data()
    hist = _net().fit(
        X,
        y,
        epochs=5,
        initial_epoch=3,
        verbose=0,
        callbacks=[lk.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))],
    )
    assert hist.epochs == [4, 5]
    assert hist.learning_rate == pytest.approx([0.04, 0.05], rel=1e-15)


def test_learning_rate_scheduler_refuses_a_bad_rate_by_name():
    X, y = _data()
    with pytest.raises(ValueError, match="learning rate"):
        _net().fit(X, y, epochs=2, verbose=0, callbacks=[lk.LearningRateScheduler(lambda e: -1.0)])


def keras_plateau_rule(values, lr, *, factor, patience, min_delta, cooldown, min_lr):
    """Keras 3's ``ReduceLROnPlateau`` (mode "min"), transcribed: the rate of each epoch."""
    rates, best, wait, cool = [], np.inf, 0, 0
    for current in values:
        rates.append(lr)
        if cool > 0:
            cool -= 1
            wait = 0
        if current < best - min_delta:
            best, wait = current, 0
        elif not cool > 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                cool, wait = cooldown, 0
    return rates


@settings(max_examples=40, deadline=None)
@given(
    costs=st.lists(st.integers(0, 9), min_size=1, max_size=12),
    patience=st.integers(0, 3),
    cooldown=st.integers(0, 2),
    min_delta=st.sampled_from([0.0, 1.0]),
    min_lr=st.sampled_from([0.0, 0.1]),
)
def test_reduce_lr_on_plateau_matches_keras_rule(costs, patience, cooldown, min_delta, min_lr):
    cb = lk.ReduceLROnPlateau(
        factor=0.5, patience=patience, cooldown=cooldown, min_delta=min_delta, min_lr=min_lr
    )
    expected = keras_plateau_rule(
        costs,
        0.8,
        factor=0.5,
        patience=patience,
        min_delta=min_delta,
        cooldown=cooldown,
        min_lr=min_lr,
    )
    with pytest.MonkeyPatch.context() as mp:
        _, hist, _ = _fit_scripted(mp, costs, [cb], learning_rate=0.8)
    assert hist.learning_rate == pytest.approx(expected, rel=1e-12)


def test_reduce_lr_on_plateau_changes_the_rate_the_next_epoch_uses(monkeypatch):
    cb = lk.ReduceLROnPlateau(factor=0.1, patience=1, min_delta=0.0)
    X, y = _data()
    _script(monkeypatch, [3, 2, 2, 1])
    net = _net()
    hist = net.fit(
        X,
        y,
        batch_size=8,
        epochs=4,
        validation_data=(X, y),
        shuffle=False,
        learning_rate=0.5,
        callbacks=[cb],
        verbose=0,
    )
    # no progress at epoch index 2: reduced after it, used from the fourth epoch
    assert hist.learning_rate == pytest.approx([0.5, 0.5, 0.5, 0.05], rel=1e-12)
    assert _weights_equal(net.get_weights(), _replay(hist.learning_rate).get_weights())


def test_a_schedule_continues_from_a_rate_reduced_on_plateau(monkeypatch):
    cb = lk.ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.0)
    X, y = _data()
    _script(monkeypatch, [3, 3, 2, 1])
    hist = _net().train(
        X,
        y,
        X,
        y,
        epochs=4,
        batch_size=8,
        learning_rate=0.8,
        schedule=lk.TimeDecay(1.0),
        callbacks=[cb],
        verbose=0,
    )
    # time decay: 0.8 / (1 + e); halved after epoch 2, the formula continues from there
    assert hist.learning_rate == pytest.approx([0.8, 0.4, 0.5 * 0.8 / 3, 0.5 * 0.8 / 4])


def test_terminate_on_nan_stops_on_a_non_finite_validation_loss(monkeypatch):
    _, hist, _ = _fit_scripted(monkeypatch, [1, 2, float("nan"), 3, 4], [lk.TerminateOnNaN()])
    assert hist.epochs == [1, 2, 3]
    assert hist.stop_reason == "callback"


def test_terminate_on_nan_stops_on_a_non_finite_batch_loss():
    net = _net()
    cb = lk.TerminateOnNaN()
    cb.set_model(net)
    cb.on_batch_end(0, {"loss": 1.0, "size": 8})
    assert not net.stop_training
    cb.on_batch_end(1, {"loss": float("inf"), "size": 8})
    assert net.stop_training


# ---------------------------------------------------------------------------- the Keras interface


def test_lambda_callback_gets_keras_hooks_indices_and_names():
    X, y = _data(n=24)
    Xv, yv = _data(n=10, seed=1)
    calls = []
    cb = lk.LambdaCallback(
        on_train_begin=lambda logs: calls.append(("begin", logs)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_batch_end=lambda batch, logs: calls.append(("batch", batch, dict(logs))),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch", epoch, dict(logs))),
        on_train_end=lambda logs: calls.append(("end", dict(logs))),
    )
    hist = _net().fit(
        X, y, batch_size=8, epochs=2, validation_data=(Xv, yv), callbacks=[cb], verbose=0
    )
    kinds = [c[0] for c in calls]
    assert kinds == ["begin"] + (["epoch_begin"] + ["batch"] * 3 + ["epoch"]) * 2 + ["end"]
    assert calls[0] == ("begin", None)
    assert [c[1] for c in calls if c[0] == "epoch_begin"] == [0, 1]
    ends = [c for c in calls if c[0] == "epoch"]
    assert [c[1] for c in ends] == [0, 1]
    for i, (_, _, logs) in enumerate(ends):
        assert logs == {
            "loss": hist.train_cost[i],
            "accuracy": hist.train_accuracy[i],
            "val_loss": hist.val_cost[i],
            "val_accuracy": hist.val_accuracy[i],
            "learning_rate": hist.learning_rate[i],
        }
    assert calls[-1][1] == ends[-1][2]  # on_train_end gets the last epoch's logs
    # a batch's loss is the mean over the epoch's batches so far, as Keras reports it
    batches = [c for c in calls if c[0] == "batch"]
    assert batches[2][2]["loss"] == pytest.approx(hist.train_cost[0], rel=1e-12)
    assert batches[5][2]["loss"] == pytest.approx(hist.train_cost[1], rel=1e-12)
    assert [b[2]["size"] for b in batches] == [8, 8, 8] * 2


class StopWithModel(lk.KerasCallback):
    def __init__(self, at):
        self.at = at
        self.models = []

    def on_epoch_end(self, epoch, logs=None):
        self.models.append(self.model)
        logs["seen_by"] = "first"  # later Keras-style callbacks see it
        if epoch == self.at:
            self.model.stop_training = True


def test_a_keras_callback_reaches_the_network_as_self_model_and_shares_logs():
    X, y = _data()
    net = _net()
    first = StopWithModel(at=1)
    seen_keras, seen_layerkit = [], []
    later = lk.LambdaCallback(on_epoch_end=lambda e, logs: seen_keras.append(dict(logs)))

    class Plain(lk.Callback):
        def on_epoch_end(self, network, epoch, logs):
            seen_layerkit.append(dict(logs))

    hist = net.fit(X, y, epochs=5, callbacks=[first, Plain(), later], verbose=0)
    assert hist.epochs == [1, 2] and hist.stop_reason == "callback"
    assert all(m is net for m in first.models)
    assert all(logs["seen_by"] == "first" for logs in seen_keras)
    assert all("seen_by" not in logs and "cost" in logs for logs in seen_layerkit)


def test_both_conventions_work_in_train_too_and_are_called_in_order():
    X, y = _data()
    order = []

    class Plain(lk.Callback):
        def on_epoch_begin(self, network, epoch):
            order.append(("layerkit begin", epoch))

        def on_epoch_end(self, network, epoch, logs):
            order.append(("layerkit", epoch))

    keras = lk.LambdaCallback(on_epoch_end=lambda epoch, logs: order.append(("keras", epoch)))
    _net().train(X, y, epochs=2, callbacks=[keras, Plain()], verbose=0)
    assert order == [
        ("layerkit begin", 1),
        ("keras", 0),
        ("layerkit", 1),
        ("layerkit begin", 2),
        ("keras", 1),
        ("layerkit", 2),
    ]
