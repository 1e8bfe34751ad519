"""Keras's conventions on Network: fit, compile, count_params, History.history."""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    return X, y


def _net(seed=0):
    return lk.Network(
        [lk.Input(2), lk.Dense(4, "tanh"), lk.Dense(2, "softmax")], seed=seed, dtype="float64"
    )


def _same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


def _snapshot(net):
    opt = net.optimizer
    return (
        net.get_weights(),
        opt,
        None if opt is None else opt.learning_rate,
        net.history,
        net.rng.bit_generator.state,
    )


def _unchanged(net, before):
    weights, opt, rate, history, rng = before
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), weights, strict=True))
    assert net.optimizer is opt
    assert (None if opt is None else opt.learning_rate) == rate
    assert net.history is history
    assert net.rng.bit_generator.state == rng


# ---------------------------------------------------------------------------- fit


def test_fit_trains_exactly_as_train_with_the_same_arguments():
    X, y = _data()
    Xv, yv = _data(20, seed=1)
    a, b = _net(), _net()
    h_fit = a.fit(X, y, batch_size=8, epochs=3, validation_data=(Xv, yv), verbose=0)
    h_train = b.train(X, y, Xv, yv, batch_size=8, epochs=3, verbose=0)
    assert _same_weights(a, b)
    assert h_fit.train_cost == h_train.train_cost
    assert h_fit.val_cost == h_train.val_cost
    assert a.history is h_fit


def test_fit_batch_size_none_is_keras_32_not_full_batch():
    X, y = _data(n=100)
    a, b = _net(), _net()
    a.fit(X, y, epochs=1, verbose=0)
    b.train(X, y, epochs=1, batch_size=32, verbose=0)
    assert _same_weights(a, b)
    c = _net()
    c.train(X, y, epochs=1, batch_size=None, verbose=0)
    assert not _same_weights(a, c)


def test_fit_validation_data_overrides_validation_split_as_in_keras():
    X, y = _data()
    Xv, yv = _data(20, seed=1)
    a, b = _net(), _net()
    h_a = a.fit(X, y, epochs=2, validation_split=0.5, validation_data=(Xv, yv), verbose=0)
    h_b = b.fit(X, y, epochs=2, validation_data=(Xv, yv), verbose=0)
    assert h_a.val_cost == h_b.val_cost
    assert _same_weights(a, b)  # all 40 samples trained, none held out


def test_fit_validation_split_holds_out_a_fraction():
    X, y = _data()
    a, b = _net(), _net()
    h = a.fit(X, y, epochs=2, validation_split=0.25, verbose=0)
    b.train(X, y, epochs=2, validation_split=0.25, verbose=0)
    assert len(h.val_cost) == 2
    assert _same_weights(a, b)


def test_fit_accepts_a_validation_triple_without_weights_as_the_pair():
    X, y = _data()
    Xv, yv = _data(20, seed=1)
    a, b = _net(), _net()
    h_a = a.fit(X, y, epochs=2, validation_data=(Xv, yv, None), verbose=0)
    h_b = b.fit(X, y, epochs=2, validation_data=(Xv, yv), verbose=0)
    assert h_a.val_cost == h_b.val_cost
    before = _snapshot(a)
    with pytest.raises(TypeError, match="validation_data"):
        a.fit(X, y, epochs=1, validation_data=X, verbose=0)
    with pytest.raises(TypeError, match="of length 4"):
        a.fit(X, y, epochs=1, validation_data=(Xv, yv, None, None), verbose=0)
    _unchanged(a, before)


def _cross_entropies(net, X, y):
    """Per-sample cost -log p(true class), computed by hand from predict."""
    return -np.log(net.predict(X)[np.arange(len(y)), y])


def test_fit_weighted_validation_loss_is_the_weighted_mean_over_all_samples():
    # Keras's default reduction (sum_over_batch_size): sum_i w_i c_i / n_val, the formula
    # of layerkit's weighted training cost, (1/m) sum_i w_i c_i
    X, y = _data()
    Xv, yv = _data(20, seed=1)
    w = np.linspace(0.0, 3.0, len(Xv))
    a, b = _net(), _net()
    h = a.fit(X, y, batch_size=8, epochs=1, validation_data=(Xv, yv, w), verbose=0)
    h_plain = b.fit(X, y, batch_size=8, epochs=1, validation_data=(Xv, yv), verbose=0)
    assert _same_weights(a, b)  # validation weights do not touch training
    c = _cross_entropies(a, Xv, yv)
    np.testing.assert_allclose(h.history["val_loss"][0], np.sum(w * c) / len(Xv), rtol=1e-12)
    np.testing.assert_allclose(h_plain.history["val_loss"][0], np.mean(c), rtol=1e-12)
    assert abs(h.history["val_loss"][0] - h_plain.history["val_loss"][0]) > 1e-3
    assert h.history["val_loss"][0] == pytest.approx(a.evaluate(Xv, yv, sample_weight=w).cost)
    # accuracy is not weighted, as Keras's metrics=["accuracy"]
    correct = np.mean(a.predict(Xv).argmax(axis=1) == yv)
    assert h.history["val_accuracy"] == h_plain.history["val_accuracy"] == [correct]


def test_fit_zero_validation_weights_leave_those_samples_out_of_the_validation_loss():
    X, y = _data()
    Xv, yv = _data(20, seed=1)
    w = np.r_[np.ones(12), np.zeros(8)]
    flipped = yv.copy()
    flipped[12:] = 1 - flipped[12:]  # other targets, where the weight is zero
    a, b = _net(), _net()
    h_a = a.fit(X, y, epochs=3, validation_data=(Xv, yv, w), verbose=0)
    h_b = b.fit(X, y, epochs=3, validation_data=(Xv, flipped, w), verbose=0)
    assert h_a.history["val_loss"] == h_b.history["val_loss"]
    c = _cross_entropies(a, Xv[:12], yv[:12])
    np.testing.assert_allclose(h_a.history["val_loss"][-1], np.sum(c) / len(Xv), rtol=1e-12)


def test_fit_weighted_validation_loss_is_what_keras_callbacks_monitor():
    X, y = _data()
    Xv, yv = _data(20, seed=1)
    w = np.linspace(0.1, 2.0, len(Xv))
    stop = lk.EarlyStopping(monitor="val_loss", patience=10)
    h = _net().fit(X, y, epochs=4, validation_data=(Xv, yv, w), callbacks=[stop], verbose=0)
    assert stop.best == min(h.history["val_loss"])
    unweighted = _net().fit(X, y, epochs=4, validation_data=(Xv, yv), verbose=0)
    assert stop.best != min(unweighted.history["val_loss"])


@pytest.mark.parametrize(
    ("weights", "error", "match"),
    [
        (np.ones(19), ValueError, r"sample_weight_val must have shape \(20,\)"),
        (np.ones((20, 1)), ValueError, r"sample_weight_val must have shape \(20,\)"),
        (-np.ones(20), ValueError, "sample_weight_val must be >= 0"),
        (np.r_[np.ones(19), np.nan], ValueError, "sample_weight_val contains NaN"),
        (["a"] * 20, TypeError, "sample_weight_val must hold real numbers"),
    ],
)
def test_fit_bad_validation_weights_are_refused_by_name_and_change_nothing(weights, error, match):
    X, y = _data()
    Xv, yv = _data(20, seed=1)
    net = _net()
    net.fit(X, y, epochs=1, verbose=0)
    before = _snapshot(net)
    with pytest.raises(error, match=match):
        net.fit(X, y, epochs=2, validation_data=(Xv, yv, weights), verbose=0)
    _unchanged(net, before)


def test_fit_passes_weights_on():
    X, y = _data()
    weights = np.linspace(0.5, 2.0, len(X))
    a, b = _net(), _net()
    a.fit(X, y, epochs=2, sample_weight=weights, class_weight={0: 2.0, 1: 1.0}, verbose=0)
    b.train(X, y, epochs=2, sample_weight=weights, class_weight={0: 2.0, 1: 1.0}, verbose=0)
    assert _same_weights(a, b)


def test_fit_verbose_auto_shows_the_progress_bar_and_bad_verbose_is_refused(capsys):
    X, y = _data()
    net = _net()
    net.fit(X, y, epochs=1)  # verbose="auto"
    assert "epoch 1" in capsys.readouterr().err  # tqdm writes to stderr
    before = _snapshot(net)
    with pytest.raises(ValueError, match="verbose"):
        net.fit(X, y, epochs=1, verbose=3)
    _unchanged(net, before)


def test_fit_initial_epoch_numbers_epochs_from_it():
    X, y = _data()
    net = _net()
    net.fit(X, y, epochs=2, verbose=0)
    indices = []
    cb = lk.LambdaCallback(on_epoch_end=lambda epoch, logs: indices.append(epoch))

    class Plain(lk.Callback):
        def __init__(self):
            self.numbers = []

        def on_epoch_end(self, network, epoch, logs):
            self.numbers.append(epoch)

    plain = Plain()
    hist = net.fit(X, y, epochs=5, initial_epoch=2, callbacks=[cb, plain], verbose=0)
    assert hist.epochs == [3, 4, 5]
    assert indices == [2, 3, 4]  # Keras's 0-based indices
    assert plain.numbers == [3, 4, 5]
    assert hist.message == "reached epochs=5"
    assert net.history is hist


def test_fit_initial_epoch_continues_training_like_one_longer_run():
    X, y = _data()
    a, b = _net(), _net()
    a.fit(X, y, epochs=4, shuffle=False, verbose=0)
    b.fit(X, y, epochs=2, shuffle=False, verbose=0)
    b.fit(X, y, epochs=4, initial_epoch=2, shuffle=False, verbose=0)
    assert _same_weights(a, b)


def test_fit_initial_epoch_renumbers_a_stop_and_its_message():
    X, y = _data()

    class StopAt(lk.KerasCallback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 6:
                self.model.stop_training = True

    hist = _net().fit(X, y, epochs=10, initial_epoch=5, callbacks=[StopAt()], verbose=0)
    assert hist.epochs == [6, 7]
    assert hist.stopped_epoch == 7
    assert hist.message == "stopped after epoch 7 (callback)"


def test_fit_initial_epoch_equal_to_epochs_trains_nothing_and_beyond_is_refused():
    X, y = _data()
    net = _net()
    before = net.get_weights()
    hist = net.fit(X, y, epochs=3, initial_epoch=3, verbose=0)
    assert hist.epochs == []
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), before, strict=True))
    snap = _snapshot(net)
    with pytest.raises(ValueError, match="initial_epoch"):
        net.fit(X, y, epochs=3, initial_epoch=4, verbose=0)
    with pytest.raises(TypeError, match="initial_epoch"):
        net.fit(X, y, epochs=3, initial_epoch=1.5, verbose=0)
    _unchanged(net, snap)


def test_fit_checks_its_callbacks_before_changing_anything():
    X, y = _data()
    net = _net()
    net.fit(X, y, epochs=1, optimizer="adam", verbose=0)
    before = _snapshot(net)
    with pytest.raises(TypeError, match=r"callbacks\[1\]"):
        net.fit(X, y, epochs=2, initial_epoch=1, callbacks=[lk.TerminateOnNaN(), 3], verbose=0)
    with pytest.raises(TypeError, match="callbacks"):
        net.fit(X, y, epochs=2, callbacks=lk.TerminateOnNaN(), verbose=0)
    _unchanged(net, before)


def test_fit_takes_optimizer_and_learning_rate():
    X, y = _data()
    net = _net()
    hist = net.fit(X, y, epochs=2, optimizer="adam", learning_rate=0.02, verbose=0)
    assert net.optimizer.name == "adam"
    assert hist.learning_rate == [0.02, 0.02]


# ---------------------------------------------------------------------------- compile


def test_compile_sets_the_optimizer_fit_uses():
    X, y = _data()
    a, b = _net(), _net()
    a.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert a.optimizer.name == "adam" and a.optimizer.learning_rate == 0.001
    a.fit(X, y, epochs=2, verbose=0)
    b.train(X, y, epochs=2, optimizer="adam", verbose=0)
    assert _same_weights(a, b)


def test_compile_takes_an_instance_or_a_rate_and_defaults_to_rmsprop():
    net = _net()
    net.compile()
    assert net.optimizer.name == "rmsprop"
    opt = lk.SGD(momentum=0.9)
    net.compile(optimizer=opt)
    assert net.optimizer is opt
    net.compile(optimizer="sgd", learning_rate=0.3)
    assert net.optimizer.learning_rate == net.optimizer.initial_learning_rate == 0.3


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"loss": "mse"}, ValueError, "loss is chosen when it is built"),
        ({"metrics": ["mae"]}, ValueError, "metrics"),
        ({"optimizer": "lbfgs"}, ValueError, "optimizer"),
        ({"optimizer": 3}, TypeError, "optimizer"),
        ({"learning_rate": -1.0}, ValueError, "learning_rate"),
    ],
)
def test_compile_refuses_what_it_cannot_honour_and_changes_nothing(kwargs, error, match):
    net = _net()
    net.compile(optimizer="adam")
    before = _snapshot(net)
    with pytest.raises(error, match=match):
        net.compile(**kwargs)
    _unchanged(net, before)


# ---------------------------------------------------------------------------- count_params


def test_count_params_counts_every_scalar_of_the_model():
    net = lk.Network([lk.Input(3), lk.Dense(5, "relu"), lk.Dense(2, "softmax")], seed=0)
    assert net.count_params() == (3 * 5 + 5) + (5 * 2 + 2)
    net.layers[1].trainable = False  # frozen parameters still count, as in Keras
    assert net.count_params() == sum(w.size for w in net.get_weights())


# ---------------------------------------------------------------------------- History.history


def test_history_dict_has_keras_keys_and_the_recorded_values():
    X, y = _data()
    hist = _net().fit(X, y, epochs=3, validation_data=(X, y), verbose=0)
    d = hist.history
    assert list(d) == ["loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"]
    assert d["loss"] == hist.train_cost and d["val_loss"] == hist.val_cost
    assert d["accuracy"] == hist.train_accuracy and d["val_accuracy"] == hist.val_accuracy
    assert d["learning_rate"] == hist.learning_rate
    d["loss"].append(99.0)  # a new dict of new lists: the history is untouched
    assert hist.train_cost == hist.history["loss"] and len(hist.train_cost) == 3


def test_history_dict_leaves_out_what_was_not_logged():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2))
    net = lk.Network([lk.Input(2), lk.Dense(1)], "mse", seed=0)
    hist = net.fit(X, X.sum(axis=1), epochs=2, verbose=0)
    assert list(hist.history) == ["loss", "learning_rate"]


def test_history_dict_is_derived_so_saved_files_keep_their_format(tmp_path):
    X, y = _data()
    net = _net()
    hist = net.fit(X, y, epochs=2, validation_split=0.25, verbose=0)
    assert "history" not in hist.as_dict()
    assert lk.History.from_dict(hist.as_dict()).history == hist.history
    loaded = lk.load(net.save(tmp_path / "m.npz"))
    assert loaded.history.history == hist.history
