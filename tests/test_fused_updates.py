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
        monkeypatch.setattr(_blas, "gemm", lambda *args: False)
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


def test_fused_weights_skip_their_gradient_array_and_nothing_outlives_train():
    X, y = _data()
    net = _net()
    dense = net.layers[1]
    seen = []

    class Probe(lk.Callback):
        def on_batch_end(self, network, batch, logs):
            seen.append((dict(dense._fused_updates), dense.grads["W"].copy(), network._fusing))

    net.train(X, y, epochs=1, batch_size=64, optimizer=lk.SGD(0.1), verbose=0, callbacks=[Probe()])
    fused, grad_w, fusing = seen[-1]
    assert set(fused) == {"W"} and fusing
    assert not grad_w.any(), "the fused update wrote the gradient array"
    assert net.layers[2].grads["W"].any(), "a small layer keeps the unfused path"
    assert dense._fused_updates == {} and not net._fusing and net.optimizer._fused == frozenset()
    # outside train() backprop writes every gradient
    net.backprop(X[:16], y[:16])
    assert dense.grads["W"].any()


def test_a_failing_callback_leaves_no_fused_update_installed():
    X, y = _data()
    net = _net()

    class Boom(lk.Callback):
        def on_batch_end(self, network, batch, logs):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        net.train(X, y, epochs=1, optimizer=lk.SGD(0.1), verbose=0, callbacks=[Boom()])
    assert net.layers[1]._fused_updates == {} and not net._fusing


@pytest.mark.parametrize(
    "optimizer",
    [lambda: lk.Adam(), lambda: lk.RMSProp(), lambda: lk.SGD(0.1, momentum=0.9, nesterov=True)],
)
def test_optimizers_that_need_the_gradient_are_never_fused(optimizer):
    X, y = _data()
    net = _net()
    seen = []

    class Probe(lk.Callback):
        def on_batch_end(self, network, batch, logs):
            seen.append(bool(network.layers[1]._fused_updates))

    net.train(X, y, epochs=1, optimizer=optimizer(), verbose=0, callbacks=[Probe()])
    assert not any(seen)


def test_grow_and_slash_is_never_fused():
    X, y = _data()
    net = _net()
    seen = []

    class Probe(lk.Callback):
        def on_batch_end(self, network, batch, logs):
            seen.append(bool(network.layers[1]._fused_updates))

    net.train(
        X, y, epochs=1, optimizer="sgd", schedule="grow_and_slash", verbose=0, callbacks=[Probe()]
    )
    assert not any(seen)


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
