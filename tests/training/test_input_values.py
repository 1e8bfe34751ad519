"""train() checks X's values as its first epoch reads them, and a bad value undoes the call.

Instead of a pass over X before training, the loop checks each batch through the first
layer's ``nonfinite_witness`` during the first epoch; a non-finite value puts back
everything the call changed and raises the error an up-front check raises.
"""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk

N, D = 96, 6


def _data(bad_row=None, bad=np.nan, dtype=np.float64):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D)).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    if bad_row is not None:
        X[bad_row, 3] = bad
    return X, y


def _net(first="dense", state=False):
    layers = [lk.Input(D)]
    if first == "flatten":  # a first layer without a witness
        layers = [lk.Input((2, 3)), lk.Flatten()]
    layers.append(lk.Dense(24, "relu"))
    if state:
        layers.append(lk.BatchNormalization())
    layers += [lk.Dropout(0.2), lk.Dense(2, "softmax")]
    return lk.Network(layers, seed=1, dtype="float64")  # float64 X: checked in epoch 1


def _x_for(net, X):
    return X.reshape(len(X), 2, 3) if net.input_shape == (2, 3) else X


def _snapshot(net):
    opt = net.optimizer
    return {
        "weights": net.get_weights(),
        "grads": [layer.grads[key].copy() for layer, key, _ in net.parameters()],
        "optimizer": opt,
        "opt": None
        if opt is None
        else (opt.get_state(), opt.learning_rate, opt.initial_learning_rate),
        "history": net.history.as_dict() if net.history is not None else None,
        "rng": net.rng.bit_generator.state,
    }


def _assert_same(before, after):
    assert all(
        np.array_equal(a, b) for a, b in zip(before["weights"], after["weights"], strict=True)
    )
    assert all(np.array_equal(a, b) for a, b in zip(before["grads"], after["grads"], strict=True))
    assert after["optimizer"] is before["optimizer"]
    if before["opt"] is not None:
        (s0, *rates0), (s1, *rates1) = before["opt"], after["opt"]
        assert rates0 == rates1 and s0["iterations"] == s1["iterations"]
        for a, b in zip(s0["slots"], s1["slots"], strict=True):
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert after["history"] == before["history"]
    assert after["rng"] == before["rng"]


def _up_front(X):
    # evaluate checks X's values before anything else, with the same message
    net = lk.Network([lk.Input(X.shape[1:]), lk.Flatten(), lk.Dense(2, "softmax")], seed=0)
    net.evaluate(X, np.zeros(len(X), dtype=np.int64))


OPTIMIZERS = {
    "sgd": lambda: lk.SGD(0.1),
    "momentum": lambda: lk.SGD(0.1, momentum=0.9),
    "adam": lambda: lk.Adam(0.01),
}


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("bad_row", [0, 50, N - 1])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_a_nonfinite_value_found_in_the_first_epoch_leaves_the_trained_model_as_it_was(
    bad, bad_row, optimizer
):
    X, y = _data()
    net = _net(state=True)
    opt = OPTIMIZERS[optimizer]()
    net.train(X, y, epochs=2, batch_size=16, optimizer=opt, verbose=0)  # slots, history, rng
    before = _snapshot(net)
    X_bad, _ = _data(bad_row, bad)
    with pytest.raises(lk.LayerkitValueError) as info:
        net.train(X_bad, y, epochs=3, batch_size=16, optimizer=opt, learning_rate=0.5, verbose=0)
    with pytest.raises(lk.LayerkitValueError) as up_front:
        _up_front(X_bad)
    assert str(info.value) == str(up_front.value)
    assert str(info.value).startswith(f"X contains NaN or infinity (first at index ({bad_row}, 3)")
    _assert_same(before, _snapshot(net))
    # and the model trains on from there exactly as if the failed call had not happened
    twin = _net(state=True)
    twin_opt = OPTIMIZERS[optimizer]()
    twin.train(X, y, epochs=2, batch_size=16, optimizer=twin_opt, verbose=0)
    for model, o in ((net, opt), (twin, twin_opt)):
        model.train(X, y, epochs=1, batch_size=16, optimizer=o, verbose=0)
    assert all(
        np.array_equal(a, b) for a, b in zip(net.get_weights(), twin.get_weights(), strict=True)
    )


def test_a_fresh_network_and_optimiser_stay_fresh_after_a_refused_call():
    X_bad, y = _data(N - 1)
    net = _net()
    opt = lk.SGD(0.1, momentum=0.9)
    weights, rng = net.get_weights(), net.rng.bit_generator.state
    with pytest.raises(lk.LayerkitValueError, match=r"^X contains NaN or infinity"):
        net.train(X_bad, y, epochs=1, batch_size=8, optimizer=opt, verbose=0)
    assert net.optimizer is None and net.history is None
    assert opt.iterations == 0 and opt.slots == []
    assert net.rng.bit_generator.state == rng
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.get_weights(), strict=True))
    # the optimiser is still free to serve another network
    other = lk.Network([lk.Input(3), lk.Dense(2, "softmax")], seed=0)
    other.train(np.ones((4, 3)), [0, 1, 0, 1], epochs=1, optimizer=opt, verbose=0)


def test_training_on_good_data_does_not_depend_on_when_its_values_are_checked():
    # float64 data for a float32 network is range-checked (and value-checked) up front;
    # float32 data has its values checked by the first epoch: the same casts, same steps
    X, y = _data()
    runs = []
    for data in (X, X.astype(np.float32)):
        net = lk.Network(
            [lk.Input(D), lk.Dense(24, "relu"), lk.Dropout(0.2), lk.Dense(2, "softmax")],
            seed=1,
            dtype="float32",
        )
        hist = net.train(data, y, epochs=3, batch_size=16, optimizer="adam", verbose=0)
        runs.append((net.get_weights(), hist.train_cost, net.rng.bit_generator.state))
    (w0, c0, r0), (w1, c1, r1) = runs
    assert all(np.array_equal(a, b) for a, b in zip(w0, w1, strict=True))
    assert c0 == c1 and r0 == r1


def test_a_first_layer_without_a_witness_has_x_read_whole():
    X_bad, y = _data(N - 1)
    net = _net("flatten")
    weights = net.get_weights()
    with pytest.raises(lk.LayerkitValueError, match=r"^X contains NaN or infinity \(first at "
                       r"index \(95, 1, 0\)"):  # fmt: skip
        net.train(_x_for(net, X_bad), y, epochs=1, batch_size=8, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.get_weights(), strict=True))
    assert net.history is None


def test_a_dense_first_layer_witnesses_an_infinity_where_its_weight_column_is_zero():
    X_bad, y = _data(40, np.inf)
    net = _net()
    net.layers[1].params["W"][:, 0] = 0.0  # inf * 0 is NaN: z[:, 0] still witnesses row 40
    weights = net.get_weights()
    with pytest.raises(lk.LayerkitValueError, match=r"^X contains NaN or infinity"):
        net.train(X_bad, y, epochs=2, batch_size=8, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.get_weights(), strict=True))


class _StopAt(lk.Callback):
    def __init__(self, batch, action):
        self.batch, self.action = batch, action

    def on_batch_end(self, network, batch, logs):
        if batch == self.batch:
            if self.action == "stop":
                network.stop_training = True
            elif self.action == "interrupt":
                raise KeyboardInterrupt
            else:
                raise RuntimeError("a callback failed")


@pytest.mark.parametrize("action", ["stop", "interrupt", "error"])
def test_a_first_epoch_cut_short_still_refuses_a_bad_value_it_did_not_reach(action):
    X_bad, y = _data(N - 1)
    net = _net()
    weights = net.get_weights()
    with pytest.raises(lk.LayerkitValueError, match=r"^X contains NaN or infinity") as info:
        net.train(X_bad, y, epochs=2, batch_size=8, callbacks=[_StopAt(1, action)], verbose=0)
    if action == "error":
        assert isinstance(info.value.__context__, RuntimeError)
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.get_weights(), strict=True))
    assert net.history is None


def test_epochs_zero_still_refuses_a_bad_value():
    X_bad, y = _data(3)
    with pytest.raises(lk.LayerkitValueError, match=r"^X contains NaN or infinity"):
        _net().train(X_bad, y, epochs=0, verbose=0)


def test_a_bad_value_beyond_a_diverging_batch_is_reported_as_bad_input_not_divergence():
    X_bad, y = _data(N - 1)
    X_bad[:8] *= 1e30  # the first batch overflows the cost
    net = _net()
    weights = net.get_weights()
    with pytest.raises(lk.LayerkitValueError, match=r"^X contains NaN or infinity \(first at "
                       r"index \(95, 3\)"):  # fmt: skip
        net.train(X_bad, y, epochs=2, batch_size=8, shuffle=False, on_divergence="raise", verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.get_weights(), strict=True))


def test_grow_and_slash_and_early_stopping_are_put_back_too():
    X, y = _data()
    X_bad, _ = _data(N - 1)
    schedule, stopper = lk.GrowAndSlash(), lk.callbacks.Patience(3)
    net = _net()
    net.train(X, y, X, y, epochs=2, batch_size=16, schedule=schedule, early_stopping=stopper,
              verbose=0)  # fmt: skip
    state = schedule.get_state()
    eta, trace = state["eta"], list(state["trace"])
    criterion = stopper.get_state()
    before = _snapshot(net)
    with pytest.raises(lk.LayerkitValueError, match=r"^X contains NaN or infinity"):
        net.train(X_bad, y, X, y, epochs=2, batch_size=16, schedule=schedule,
                  early_stopping=stopper, verbose=0)  # fmt: skip
    assert schedule.get_state()["eta"] == eta and schedule.get_state()["trace"] == trace
    assert stopper.get_state() == criterion
    _assert_same(before, _snapshot(net))


class _Seen(lk.Callback):
    def __init__(self):
        self.batches = 0

    def on_batch_end(self, network, batch, logs):
        self.batches += 1


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_the_check_rides_on_the_first_epoch_with_weight_gradients_as_products(momentum):
    # float32, a first layer large enough for SGD's product path (200 x 100 weights); the
    # callback shows the steps ran before the bad row of the last batch was met
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 200)).astype(np.float32)
    y = rng.integers(0, 3, 256)
    net = lk.Network([lk.Input(200), lk.Dense(100, "relu"), lk.Dense(3, "softmax")], seed=0)
    opt = lk.SGD(0.05, momentum=momentum)
    net.train(X, y, epochs=1, batch_size=32, optimizer=opt, verbose=0)
    before = _snapshot(net)
    X[250, 7] = np.nan
    seen = _Seen()
    with pytest.raises(lk.LayerkitValueError, match=r"^X contains NaN or infinity \(first at "
                       r"index \(250, 7\)"):  # fmt: skip
        net.train(X, y, epochs=2, batch_size=32, optimizer=opt, callbacks=[seen], verbose=0)
    assert seen.batches >= 1
    _assert_same(before, _snapshot(net))
