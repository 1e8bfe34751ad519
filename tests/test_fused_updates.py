"""SGD and momentum updates fused into the weight-gradient gemm (issue 4).

Inside ``train()`` the update ``W <- (1 - eta lambda) W - eta x^T delta`` (and its momentum
form) runs as one BLAS call during backward. These tests prove it is the same training as
the unfused path (gradient array, penalty term, ``Optimizer.update``) to rounding, that the
fallback inside the fused function is that path bit for bit, and that nothing of it
outlives ``train()``.
"""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk
from layerkit import _blas

pytestmark = pytest.mark.skipif(not _blas.available, reason="NumPy's BLAS not identified")


def _data(n=300, d=64, k=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, k, n)


def _net(dtype="float32", dropout=0.0, penalty=0.0):
    # 64 x 256 = 16384 weights: the smallest layer whose update is fused
    layers = [lk.Input(64), lk.Dense(256, "relu")]
    if dropout:
        layers.append(lk.Dropout(dropout))
    layers += [lk.Dense(10, "softmax")]
    return lk.Network(layers, seed=3, dtype=dtype, penalty=penalty)


def _train(optimizer, *, unfused=None, monkeypatch=None, **kw):
    X, y = _data()
    net = _net(kw.pop("dtype", "float32"), kw.pop("dropout", 0.0), kw.pop("penalty", 0.0))
    if unfused == "no-blas":
        monkeypatch.setattr(_blas, "available", False)
        monkeypatch.setattr(_blas, "_lib", None)
    elif unfused == "fallback":
        # no BLAS call succeeds, but the fused functions are installed (available is true)
        for name in ("gemm", "axpy", "axpby"):
            monkeypatch.setattr(_blas, name, lambda *args: False)
    history = net.train(X, y, epochs=3, batch_size=32, optimizer=optimizer, verbose=0, **kw)
    return net, history


OPTIMIZERS = {
    "sgd": lambda: lk.SGD(0.05),
    "momentum": lambda: lk.SGD(0.05, momentum=0.9),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("penalty", [0.0, 1e-3])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fused_training_equals_unfused_training_to_rounding(name, penalty, dtype, monkeypatch):
    fused, h_fused = _train(OPTIMIZERS[name](), penalty=penalty, dtype=dtype, dropout=0.2)
    plain, h_plain = _train(
        OPTIMIZERS[name](), unfused="no-blas", monkeypatch=monkeypatch, penalty=penalty,
        dtype=dtype, dropout=0.2,
    )  # fmt: skip
    rtol = 1e-4 if dtype == "float32" else 1e-10
    for a, b in zip(fused.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    # the reported cost includes the penalty of the fused weights, taken before their update
    np.testing.assert_allclose(h_fused.train_cost, h_plain.train_cost, rtol=rtol)
    assert penalty == 0.0 or h_fused.train_cost[0] > h_plain.train_cost[0] - 1e-3


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fallback_inside_the_fused_function_is_the_unfused_step_bit_for_bit(name, monkeypatch):
    with monkeypatch.context() as m:
        fallback, h1 = _train(OPTIMIZERS[name](), unfused="fallback", monkeypatch=m, penalty=1e-3)
    with monkeypatch.context() as m:
        plain, h2 = _train(OPTIMIZERS[name](), unfused="no-blas", monkeypatch=m, penalty=1e-3)
    for a, b in zip(fallback.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # the costs add the same terms in another order
    np.testing.assert_allclose(h1.train_cost, h2.train_cost, rtol=1e-14)


def test_fused_weights_skip_their_gradient_array_and_nothing_outlives_a_step():
    X, y = _data()
    net = _net()
    dense = net.layers[1]
    seen = []

    class Probe(lk.Callback):
        def on_batch_end(self, network, batch, logs):
            seen.append((dict(dense._fused_updates), dense.grads["W"].copy(), network._fusing))

    net.train(X, y, epochs=1, batch_size=64, optimizer=lk.SGD(0.1), verbose=0, callbacks=[Probe()])
    for fused, grad_w, fusing in seen:
        # armed only inside the step: a callback sees plain layers ...
        assert fused == {} and not fusing
        # ... and the fused update never wrote the gradient array
        assert not grad_w.any()
    assert net.layers[2].grads["W"].any(), "a small layer keeps the unfused path"
    assert dense._fused_updates == {} and not net._fusing and net.optimizer._fused == frozenset()
    net.backprop(X[:16], y[:16])
    assert dense.grads["W"].any()


def test_backprop_and_gradcheck_from_a_callback_see_plain_gradients_and_change_nothing():
    X, y = _data()
    net = _net()
    ref = _net()
    found = []

    class Monitor(lk.Callback):
        def on_batch_end(self, network, batch, logs):
            if batch != 2:
                return
            before = network.get_weights()
            network.backprop(X[:32], y[:32])
            after = network.get_weights()
            found.append(all(np.array_equal(a, b) for a, b in zip(before, after, strict=True)))
            ref.set_weights(before)
            ref.backprop(X[:32], y[:32])
            found.append(
                np.allclose(network.layers[1].grads["W"], ref.layers[1].grads["W"], rtol=1e-6)
            )

    net.train(X, y, epochs=1, optimizer=lk.SGD(0.1), verbose=0, callbacks=[Monitor()])
    assert found == [True, True]


def test_a_failing_callback_leaves_no_fused_update_installed():
    X, y = _data()
    net = _net()

    class Boom(lk.Callback):
        def on_batch_end(self, network, batch, logs):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        net.train(X, y, epochs=1, optimizer=lk.SGD(0.1), verbose=0, callbacks=[Boom()])
    assert net.layers[1]._fused_updates == {} and not net._fusing
    assert net.optimizer._fused == frozenset()


def _big_gradient_written(optimizer, **kw):
    X, y = _data()
    net = _net()
    net.layers[1].grads["W"].fill(0.0)
    net.train(X, y, epochs=1, optimizer=optimizer, verbose=0, **kw)
    return bool(net.layers[1].grads["W"].any())


def test_plain_sgd_and_momentum_are_fused():
    assert not _big_gradient_written(lk.SGD(0.1))
    assert not _big_gradient_written(lk.SGD(0.1, momentum=0.9))


@pytest.mark.parametrize(
    "optimizer",
    [lambda: lk.Adam(), lambda: lk.RMSProp(), lambda: lk.SGD(0.1, momentum=0.9, nesterov=True)],
)
def test_optimizers_that_need_the_gradient_are_never_fused(optimizer):
    assert _big_gradient_written(optimizer())


def test_grow_and_slash_is_never_fused():
    assert _big_gradient_written("sgd", schedule="grow_and_slash")


def test_resumed_fused_training_matches_uninterrupted_bit_for_bit(tmp_path):
    X, y = _data()
    whole = _net()
    whole.train(X, y, epochs=4, optimizer=lk.SGD(0.05, momentum=0.9), verbose=0)
    first = _net()
    ckpt = tmp_path / "ckpt.npz"
    first.train(X, y, epochs=2, optimizer=lk.SGD(0.05, momentum=0.9), verbose=0, checkpoint=ckpt)
    resumed = _net()
    resumed.train(X, y, epochs=4, optimizer=lk.SGD(0.05, momentum=0.9), verbose=0, resume=ckpt)
    for a, b in zip(whole.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_dense_subclass_with_its_own_backward_is_trained_unfused():
    class LoggingDense(lk.Dense):
        calls = 0

        def _backward_preactivation(self, delta):
            # writes grads itself, as a user's subclass might: never call _param_gradient
            type(self).calls += 1
            np.matmul(self._x.T, delta, out=self.grads["W"])
            np.matmul(np.ones(len(delta), delta.dtype), delta, out=self.grads["b"])
            return None

    X, y = _data()
    net = lk.Network([lk.Input(64), LoggingDense(256, "relu"), lk.Dense(10, "softmax")], seed=3)
    ref = lk.Network([lk.Input(64), lk.Dense(256, "relu"), lk.Dense(10, "softmax")], seed=3)
    before = net.layers[1].params["W"].copy()
    net.train(X, y, epochs=2, optimizer=lk.SGD(0.05), verbose=0)
    ref.train(X, y, epochs=2, optimizer=lk.SGD(0.05), verbose=0)
    assert LoggingDense.calls > 0
    assert not np.array_equal(net.layers[1].params["W"], before), "W was never updated"
    np.testing.assert_allclose(
        net.layers[1].params["W"], ref.layers[1].params["W"], rtol=1e-4, atol=1e-6
    )


def test_fused_training_with_weights_validation_and_early_stopping_equals_unfused(monkeypatch):
    X, y = _data(n=400)
    weights = np.random.default_rng(5).uniform(0.2, 2.0, len(X))

    def run():
        net = _net(penalty=1e-3)
        hist = net.train(
            X, y, epochs=6, batch_size=48, optimizer=lk.SGD(0.05, momentum=0.5),
            sample_weight=weights, class_weight={0: 2.0, 3: 0.5}, validation_split=0.25,
            early_stopping=lk.Patience(2), verbose=0,
        )  # fmt: skip
        return net, hist

    fused, h1 = run()
    monkeypatch.setattr(_blas, "available", False)
    monkeypatch.setattr(_blas, "_lib", None)
    plain, h2 = run()
    assert h1.restored_epoch == h2.restored_epoch and h1.stopped_epoch == h2.stopped_epoch
    np.testing.assert_allclose(h1.val_cost, h2.val_cost, rtol=1e-4)
    for a, b in zip(fused.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max())


def test_an_sgd_subclass_with_its_own_update_is_never_fused():
    class ClippedSGD(lk.SGD):
        def update(self, param, grad, slots, scratch):
            np.clip(grad, -1e-3, 1e-3, out=grad)  # every entry moves by at most eta * 1e-3
            super().update(param, grad, slots, scratch)

    X, y = _data()
    net = _net()
    before = net.layers[1].params["W"].copy()
    net.train(X, y, epochs=1, batch_size=300, optimizer=ClippedSGD(0.1), verbose=0)
    moved = np.abs(net.layers[1].params["W"] - before).max()
    assert moved <= 0.1 * 1e-3 + 1e-6, "the subclass's update() was bypassed"  # W: float32


def test_a_penalty_changed_by_a_callback_applies_to_fused_weights(monkeypatch):
    X, y = _data()

    class Stronger(lk.Callback):
        def on_epoch_end(self, network, epoch, logs):
            network.penalty = 0.5
            network.layers[2].penalty = 0.25

    def run():
        net = _net()
        hist = net.train(X, y, epochs=3, optimizer=lk.SGD(0.05), verbose=0, callbacks=[Stronger()])
        return net, hist

    fused, h1 = run()
    monkeypatch.setattr(_blas, "available", False)
    monkeypatch.setattr(_blas, "_lib", None)
    plain, h2 = run()
    np.testing.assert_allclose(h1.train_cost, h2.train_cost, rtol=1e-4)
    for a, b in zip(fused.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max())


@pytest.mark.parametrize("eta_lambda", [1e-5, 1e-7])
def test_float32_weight_decay_is_as_exact_as_the_unfused_step(eta_lambda, monkeypatch):
    # X = 0: the data gradient of W is exactly 0, only the decay acts; 1 - eta*lambda as a
    # float32 gemm beta would round eta*lambda to a multiple of 2^-24 (15% off at 1e-7)
    X = np.zeros((64, 64), np.float32)
    y = np.arange(64) % 10

    def shrink_error():
        net = _net()
        w0 = net.layers[1].params["W"].astype(np.float64)
        net.train(
            X, y, epochs=100, batch_size=64, shuffle=False, optimizer=lk.SGD(eta_lambda),
            penalty=1.0, verbose=0,
        )  # fmt: skip
        w = net.layers[1].params["W"].astype(np.float64)
        exact = w0 * (1 - eta_lambda) ** 100
        return np.abs(w0 - w).sum() / np.abs(w0 - exact).sum() - 1

    fused = shrink_error()
    monkeypatch.setattr(_blas, "available", False)
    monkeypatch.setattr(_blas, "_lib", None)
    plain = shrink_error()
    assert abs(fused) <= 1.5 * abs(plain) + 1e-5, (fused, plain)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_predict_refuses_non_finite_x_behind_a_dense_subclass(bad):
    class ClipDense(lk.Dense):
        def forward(self, x, training=False):
            return super().forward(np.clip(x, -5, 5), training)

    X, _ = _data(n=50)
    X[7, 3] = bad
    for first in (lk.Dense(256, "relu"), ClipDense(256, "relu")):
        net = lk.Network([lk.Input(64), first, lk.Dense(10, "softmax")], seed=0)
        with pytest.raises(lk.LayerkitValueError, match="NaN or infinity"):
            net.predict(X)


def test_predict_of_finite_but_huge_x_neither_raises_nor_warns_from_the_check():
    # every z is finite (9.6e36), but their float32 sum over 50 rows would overflow
    X = np.full((50, 64), 1e36, np.float32)
    net = lk.Network([lk.Input(64), lk.Dense(1)], loss="mse", seed=0)
    net.layers[1].params["W"][...] = 0.15
    out = net.predict(X)  # RuntimeWarnings are errors in this suite
    assert np.all(np.isfinite(out))
