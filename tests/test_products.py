"""Weight gradients kept as products (layerkit._products): whoever reads grads gets dJ/dW.

In training with SGD, a large Dense weight gradient is recorded as the factors of
``x^T delta`` and applied by the optimiser in one gemm. These tests hold the promise that
it changes nothing anyone can see: the dict reads, the training result, the gradients a
callback or the caller reads, and the buffers a forward pass reuses.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import layerkit as lk
from layerkit import _blas
from layerkit._products import Gradients

needs_blas = pytest.mark.skipif(not _blas.available(), reason="NumPy's BLAS not usable here")


def _product_case(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((48, 200))
    b = rng.standard_normal((48, 100))
    grads = Gradients(W=np.zeros((200, 100)), b=np.zeros(100))
    return grads, a, b


# ---------------------------------------------------------------- the dict
def test_an_unarmed_product_is_formed_at_once():
    grads, a, b = _product_case()
    grads.set_product("W", a.T, b)
    assert not grads.pending
    np.testing.assert_array_equal(dict.__getitem__(grads, "W"), a.T @ b)


def test_every_read_of_a_pending_product_sees_the_gradient():
    _, a, b = _product_case()
    want = a.T @ b
    readers = {
        "getitem": lambda g: g["W"],
        "get": lambda g: g.get("W"),
        "values": lambda g: next(iter(g.values())),
        "items": lambda g: dict(g.items())["W"],
        "dict": lambda g: dict(g)["W"],
        "unpack": lambda g: {**g}["W"],
        "copy": lambda g: g.copy()["W"],
        "deepcopy": lambda g: copy.deepcopy(g)["W"],
        "pickle": lambda g: pickle.loads(pickle.dumps(g))["W"],
        "pop": lambda g: g.pop("W"),
    }
    for name, read in readers.items():
        grads, _, _ = _product_case()
        grads.arm(True)
        grads.set_product("W", a.T, b)
        assert grads.pending, name
        # the dict's shape is that of a formed one while pending
        assert len(grads) == 2 and "W" in grads and list(grads) == ["W", "b"], name
        np.testing.assert_allclose(read(grads), want, rtol=1e-12, err_msg=name)


def test_a_pending_product_keeps_the_keys_order_and_a_write_replaces_it():
    grads, a, b = _product_case()
    grads.arm(True)
    grads.set_product("W", a.T, b)
    grads.discard()
    assert list(grads) == ["W", "b"] and not grads.pending
    grads.set_product("W", a.T, b)
    grads["W"] = np.ones((200, 100))
    assert not grads.pending and grads["W"].sum() == 200 * 100


def test_disarming_forms_what_is_pending_and_small_arrays_are_never_deferred():
    grads, a, b = _product_case()
    grads["small"] = np.zeros((4, 3))
    grads.arm(True)
    grads.set_product("small", a[:, :4].T, b[:, :3])
    assert "small" not in grads.pending
    grads.set_product("W", a.T, b)
    grads.arm(False)
    assert not grads.pending and not grads.armed
    np.testing.assert_allclose(dict.__getitem__(grads, "W"), a.T @ b, rtol=1e-12)


# ---------------------------------------------------------------- the optimiser
@needs_blas
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_applies_a_product_as_it_applies_the_formed_gradient(momentum, dtype):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((64, 300)).astype(dtype)
    b = rng.standard_normal((64, 120)).astype(dtype)
    W0 = rng.standard_normal((300, 120)).astype(dtype)
    fused, plain = lk.SGD(0.05, momentum=momentum), lk.SGD(0.05, momentum=momentum)
    assert fused.applies_products
    grads = Gradients(W=np.zeros_like(W0))
    grads.arm(True)
    W1, W2 = W0.copy(), W0.copy()
    for _ in range(3):
        grads.set_product("W", a.T, b)
        fused.step([W1], [grads.gradient("W")])
        plain.step([W2], [a.T @ b])
        # the product, applied, is still the gradient to anyone who reads it
        np.testing.assert_allclose(grads["W"], a.T @ b, rtol=1e-5 if dtype == np.float32 else 1e-12)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(W1, W2, rtol=tol, atol=tol)


def test_optimisers_that_cannot_apply_a_product_get_it_formed():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((32, 200)), rng.standard_normal((32, 100))
    for opt in (lk.Adam(0.01), lk.RMSProp(0.01), lk.SGD(0.01, momentum=0.9, nesterov=True)):
        assert not opt.applies_products
        grads = Gradients(W=np.zeros((200, 100)))
        grads.arm(True)
        grads.set_product("W", a.T, b)
        W1, W2 = np.zeros((200, 100)), np.zeros((200, 100))
        twin = copy.deepcopy(opt)
        opt.step([W1], [grads.gradient("W")])
        twin.step([W2], [a.T @ b])
        np.testing.assert_array_equal(W1, W2)


# ---------------------------------------------------------------- in train()
def _wide(seed=0, dtype="float64", **kw):
    return lk.Network(
        [lk.Input(64), lk.Dense(256, "relu"), lk.Dense(128, "relu"), lk.Dense(4, "softmax")],
        seed=seed,
        dtype=dtype,
        **kw,
    )


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 64)), rng.integers(0, 4, n)


class SGDFormed(lk.SGD):
    """SGD that never takes products: every gradient formed, as without the fast path."""

    applies_products = False  # type: ignore[assignment]


@needs_blas
@pytest.mark.parametrize("penalty", [0.0, 1e-3])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_training_with_products_matches_training_on_formed_gradients(momentum, penalty):
    X, y = _data()
    a, b = _wide(penalty=penalty), _wide(penalty=penalty)
    a.train(X, y, epochs=3, batch_size=32, optimizer=lk.SGD(0.05, momentum=momentum), verbose=0)
    b.train(X, y, epochs=3, batch_size=32, optimizer=SGDFormed(0.05, momentum=momentum), verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-10, atol=1e-12)
    for la, lb in zip(a.layers, b.layers, strict=True):
        for key in la.grads:
            np.testing.assert_allclose(la.grads[key], lb.grads[key], rtol=1e-10, atol=1e-12)


class PredictsThenReads(lk.Callback):
    """Runs a forward pass of the batch's size (which reuses the layers' buffers), then
    reads the gradients, at every step."""

    def __init__(self, X):
        self.X, self.seen = X, []

    def on_batch_end(self, network, batch, logs):
        network.predict(self.X[: logs["size"]])
        self.seen.append([g.copy() for layer in network.layers for g in layer.grads.values()])


@needs_blas
def test_a_forward_pass_between_a_step_and_a_read_leaves_the_gradient_true():
    X, y = _data(n=32)
    net, reference = _wide(), _wide()
    before = net.get_weights()
    reader = PredictsThenReads(X)
    net.train(X, y, epochs=1, batch_size=32, shuffle=False, optimizer=lk.SGD(0.1),
              callbacks=[reader], verbose=0)  # fmt: skip
    reference.set_weights(before)
    reference.backprop(X, y, training=True)
    want = [g for layer in reference.layers for g in layer.grads.values()]
    [seen] = reader.seen
    for got, expected in zip(seen, want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    # and after train() returns, the last step's gradient is still what grads holds
    for got, expected in zip(
        [g for layer in net.layers for g in layer.grads.values()], want, strict=True
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


class FreezeFirst(lk.Callback):
    def on_batch_end(self, network, batch, logs):
        if batch == 0:
            network.layers[1].trainable = False
            self.grad = network.layers[1].grads["W"].copy()
            self.weights = network.layers[1].params["W"].copy()


@needs_blas
def test_a_layer_frozen_mid_epoch_keeps_its_weights_and_its_last_gradient():
    X, y = _data(n=96)
    net = _wide()
    freeze = FreezeFirst()
    net.train(X, y, epochs=1, batch_size=32, shuffle=False, optimizer=lk.SGD(0.1),
              callbacks=[freeze], verbose=0)  # fmt: skip
    np.testing.assert_array_equal(net.layers[1].params["W"], freeze.weights)
    np.testing.assert_array_equal(net.layers[1].grads["W"], freeze.grad)
