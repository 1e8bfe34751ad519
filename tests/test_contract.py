"""The layer contract, as users meet it: true gradients, state, freezing, early mistakes."""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk


def _data(n=64, d=8, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, k, n)
    return X, y


def _net(width=80, d=8, k=3, seed=0, **kw):
    return lk.Network(
        [lk.Input(d), lk.Dense(width, "relu"), lk.Dense(width, "tanh"), lk.Dense(k, "softmax")],
        seed=seed,
        **kw,
    )


class Running(lk.Layer):
    """``y = x - m`` where ``m`` is a running mean of the inputs seen in training."""

    def build(self, input_shape):
        self.add_state("mean", np.zeros(input_shape))

    def forward(self, x, training=False):
        if training:
            self.state["mean"] *= 0.5
            self.state["mean"] += 0.5 * x.mean(axis=0)
        return x - self.state["mean"]

    def backward(self, grad_out):
        return grad_out


class GradientReader(lk.Callback):
    """Records, after every step, each layer's grads next to an independent backprop."""

    def __init__(self, X, y):
        self.X, self.y, self.pairs = X, y, []

    def on_batch_end(self, network, batch, logs):
        seen = [g.copy() for layer in network.layers for g in layer.grads.values()]
        self.pairs.append(seen)


# ---------------------------------------------------------------- grads are always true
@pytest.mark.parametrize(
    "optimizer", [lk.SGD(0.05), lk.SGD(0.05, momentum=0.9), lk.Adam(1e-3)], ids=str
)
def test_grads_read_by_a_callback_are_the_batch_gradient_under_every_optimizer(optimizer):
    # 160 x 160 weights: large enough for SGD to take them as products (layerkit._products)
    X, y = _data(n=16)
    net = _net(width=160, dtype="float64")
    reference = _net(width=160, dtype="float64")
    reader = GradientReader(X, y)
    before = net.get_weights()
    net.train(X, y, epochs=1, batch_size=16, shuffle=False, optimizer=optimizer,
              callbacks=[reader], verbose=0)  # fmt: skip
    reference.set_weights(before)
    reference.backprop(X, y, training=True)
    expected = [g for layer in reference.layers for g in layer.grads.values()]
    [seen] = reader.pairs
    assert len(seen) == len(expected) == 6
    for got, want in zip(seen, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- state
def test_state_is_not_a_parameter_and_is_counted_apart():
    net = lk.Network([lk.Input(4), Running(), lk.Dense(2, "softmax")], seed=0)
    assert net.n_params == 4 * 2 + 2
    assert net.n_state == 4
    assert [key for _, key, _ in net.states()] == ["mean"]
    text = net.summary(print_fn=None)
    assert "Trainable params: 10" in text and "Non-trainable params: 4" in text


def test_state_moves_only_in_training_steps_not_in_loss_backprop_or_predict():
    X, y = _data(d=4, k=2)
    net = lk.Network([lk.Input(4), Running(), lk.Dense(2, "softmax")], seed=0)
    mean = net.layers[1].state["mean"]
    net.loss(X, y, training=True)
    net.backprop(X, y, training=True)
    net.predict(X)
    lk.gradcheck(net, X[:4], y[:4])
    assert not mean.any()
    net.train(X, y, epochs=1, batch_size=8, verbose=0)
    assert mean.any()


def test_grow_and_slash_trials_leave_state_as_the_real_step_left_it():
    X, y = _data(d=4, k=2)
    net = lk.Network([lk.Input(4), Running(), lk.Dense(2, "softmax")], seed=0)
    net.train(X, y, epochs=1, batch_size=64, shuffle=False, schedule="grow_and_slash",
              learning_rate=5.0, verbose=0)  # fmt: skip
    # one real step on the whole batch: mean = 0.5 * batch mean, whatever the trials did
    np.testing.assert_allclose(net.layers[1].state["mean"], 0.5 * X.mean(axis=0), rtol=1e-6)


def test_early_stopping_restores_state_with_the_best_weights():
    X, y = _data(d=4, k=2)
    net = lk.Network([lk.Input(4), Running(), lk.Dense(2, "softmax")], seed=0)
    snapshots = {}

    class Snap(lk.Callback):
        def on_epoch_end(self, network, epoch, logs):
            snapshots[epoch] = network.get_weights()

    hist = net.train(X, y, X[:16], y[:16], epochs=12, batch_size=8, learning_rate=0.5,
                     early_stopping=lk.Patience(3), callbacks=[Snap()], verbose=0)  # fmt: skip
    assert hist.restored_epoch is not None
    for got, want in zip(net.get_weights(), snapshots[hist.restored_epoch], strict=True):
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- freezing
def test_a_frozen_layer_never_changes_and_the_others_train():
    X, y = _data()
    net = _net()
    net.layers[1].trainable = False
    frozen = [p.copy() for p in net.layers[1].params.values()]
    other = net.layers[2].params["W"].copy()
    net.train(X, y, epochs=2, batch_size=16, optimizer=lk.SGD(0.1, momentum=0.9), verbose=0)
    for got, want in zip(net.layers[1].params.values(), frozen, strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(net.layers[2].params["W"], other)
    assert net.n_trainable_params == net.n_params - (8 * 80 + 80)
    assert "frozen" in net.summary(print_fn=None)


def test_a_frozen_first_layer_is_not_even_differentiated():
    X, y = _data()
    net = _net()
    net.layers[1].trainable = False
    net.layers[1].grads["W"].fill(7.0)
    net.backprop(X, y)
    assert (net.layers[1].grads["W"] == 7.0).all()  # nothing needed it
    assert not net.layers[2].needs_input_grad  # so no dJ/dx into the frozen layer either


def test_trainable_survives_save_and_load(tmp_path):
    net = _net()
    net.layers[2].trainable = False
    loaded = lk.load(net.save(tmp_path / "m.npz"))
    assert [layer.trainable for layer in loaded.layers[1:]] == [True, False, True]


# ---------------------------------------------------------------- optimisers
def test_an_optimizer_refuses_a_second_network_until_reset():
    X, y = _data()
    opt = lk.SGD(0.1, momentum=0.9)
    _net(seed=1).train(X, y, epochs=1, optimizer=opt, verbose=0)
    other = _net(seed=2)
    before = other.get_weights()
    with pytest.raises(lk.LayerkitValueError, match=r"another network.*optimizer\.reset\(\)"):
        other.train(X, y, epochs=1, optimizer=opt, verbose=0)
    for got, want in zip(other.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)
    assert other.optimizer is None and other.history is None  # the refused call changed nothing
    opt.reset()
    other.train(X, y, epochs=1, optimizer=opt, verbose=0)
    assert opt.iterations == 2  # counted afresh: 64 samples in batches of 32


def test_a_learning_rate_set_by_a_callback_is_honoured_and_the_schedule_continues_from_it():
    X, y = _data()

    class Halve(lk.Callback):
        def on_epoch_end(self, network, epoch, logs):
            if epoch == 2:
                network.optimizer.learning_rate /= 2

    net = _net()
    hist = net.train(X, y, epochs=4, learning_rate=0.1, schedule=lk.TimeDecay(1.0),
                     callbacks=[Halve()], verbose=0)  # fmt: skip
    # eta_e = 0.1 / (1 + e): 0.1, 0.05, then halved from epoch 2's rate on: 0.0333/2, 0.025/2
    np.testing.assert_allclose(hist.learning_rate, [0.1, 0.05, 0.1 / 3 / 2, 0.025 / 2])


def test_a_schedule_sees_each_epochs_logs_with_the_validation_cost():
    X, y = _data()
    seen = []

    class Plateau(lk.schedules.Constant):
        def on_epoch_end(self, epoch, logs):
            seen.append((epoch, sorted(logs)))

    _net().train(X, y, X, y, epochs=2, schedule=Plateau(), verbose=0)
    assert [e for e, _ in seen] == [1, 2]
    assert "val_cost" in seen[0][1] and "cost" in seen[0][1]


# ---------------------------------------------------------------- losses and outputs
@pytest.mark.parametrize(
    ("loss", "activation", "k"),
    [
        (lk.losses.CategoricalCrossentropy(from_logits=True), None, 3),
        (lk.losses.BinaryCrossentropy(from_logits=True), None, 1),
    ],
)
def test_from_logits_losses_train_on_raw_scores_and_pass_gradcheck(loss, activation, k):
    X, y = _data(k=max(k, 2))
    y = y % 2 if k == 1 else y
    net = lk.Network([lk.Input(8), lk.Dense(6, "tanh"), lk.Dense(k, activation)], loss, seed=0)
    assert lk.gradcheck(net, X[:8], y[:8])
    net.train(X, y, epochs=30, batch_size=16, learning_rate=0.3, verbose=0)
    proba = net.predict_proba(X)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert net.evaluate(X, y).accuracy > 0.6


@pytest.mark.parametrize(
    ("layers", "loss", "message"),
    [
        ([lk.Dense(3, "relu", name="out")], "categorical_crossentropy", "softmax probabilities"),
        ([lk.Dense(3, name="out")], "categorical_crossentropy", "from_logits=True"),
        ([lk.Dense(1, "tanh", name="out")], "binary_crossentropy", "sigmoid probabilities"),
        (
            [lk.Dense(3, "softmax", name="out")],
            lk.losses.CategoricalCrossentropy(from_logits=True),
            "expects raw scores",
        ),
    ],
)
def test_a_cross_entropy_on_the_wrong_output_is_refused_with_what_to_do(layers, loss, message):
    with pytest.raises(lk.LayerkitValueError, match=message) as info:
        lk.Network([lk.Input(4), *layers], loss)
    assert "'out'" in str(info.value)


def test_sparse_categorical_crossentropy_is_accepted_by_name():
    X, y = _data()
    net = lk.Network([lk.Input(8), lk.Dense(3, "softmax")], "sparse_categorical_crossentropy")
    assert net.loss_fn.name == "sparse_categorical_crossentropy"
    assert net.fused_output_error
    assert np.isfinite(net.loss(X, y))


# ---------------------------------------------------------------- mistakes, caught early
class WrongDx(lk.Layer):
    def forward(self, x, training=False):
        return x

    def backward(self, grad_out):
        return grad_out[:, :-1]


class NoOutputShape(lk.Layer):
    def forward(self, x, training=False):
        return np.concatenate([x, x], axis=1)

    def backward(self, grad_out):
        return grad_out[:, : grad_out.shape[1] // 2] + grad_out[:, grad_out.shape[1] // 2 :]


class Accumulates(lk.Layer):
    def build(self, input_shape):
        self.add_param("s", np.ones(input_shape))

    def forward(self, x, training=False):
        self._x = x
        return x * self.params["s"]

    def backward(self, grad_out):
        self.grads["s"][...] += (grad_out * self._x).sum(axis=0)  # the mistake
        return grad_out * self.params["s"]


def test_a_backward_returning_the_wrong_shape_names_the_layer_and_changes_nothing():
    X, y = _data()
    net = lk.Network(
        [lk.Input(8), lk.Dense(8, "tanh"), WrongDx(name="oops"), lk.Dense(3, "softmax")], seed=0
    )
    before = net.get_weights()
    with pytest.raises(lk.LayerkitValueError, match=r"layer 'oops' \(WrongDx\).*dJ/dx of shape"):
        net.train(X, y, epochs=1, verbose=0)
    for got, want in zip(net.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_forgotten_compute_output_shape_is_caught_when_the_network_is_built():
    with pytest.raises(lk.LayerkitValueError, match=r"layer 'dup'.*compute_output_shape"):
        lk.Network([lk.Input(4), NoOutputShape(name="dup"), lk.Dense(2, "softmax")])


def test_gradcheck_catches_a_backward_that_accumulates():
    X, y = _data(n=8)
    net = lk.Network([lk.Input(8), Accumulates(name="acc"), lk.Dense(3, "softmax")], seed=0)
    net.backprop(X, y)  # the gradient array now holds a first gradient to add to
    report = lk.gradcheck(net, X, y)
    assert not report
    assert "acc" in report.explain() and "+=" in report.explain()


# ---------------------------------------------------------------- threads
def test_predict_from_several_threads_on_one_network_equals_predict_alone():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(0)
    net = _net(width=64)
    inputs = [rng.standard_normal((500 + 37 * i, 8)) for i in range(8)]
    alone = [net.predict(x, batch_size=64) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda x: net.predict(x, batch_size=64), inputs * 5))
    for got, want in zip(together, alone * 5, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("method", ["backprop", "loss", "evaluate", "forward"])
def test_no_floating_point_warning_escapes_a_public_call_on_huge_finite_input(method):
    # pyproject turns RuntimeWarning into an error: an escaping overflow warning fails here
    X = np.full((4, 8), 1e30, dtype=np.float32)
    y = np.array([0, 1, 2, 0])
    net = _net()
    if method == "forward":
        out = net.forward(X)
    else:
        out = getattr(net, method)(X, y)
    assert out is not None
