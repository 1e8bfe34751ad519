"""Optimisers: one step against formulas written here independently, descent on a small
problem, and state that persists across ``train()`` calls."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import layerkit as lk

# ---------------------------------------------------------------------------- reference updates
# Each reference keeps its own state in a dict and returns the new parameter (float64).


def ref_sgd(p, g, state, lr):
    return p - lr * g


def ref_momentum(p, g, state, lr, mu):
    v = mu * state.get("v", np.zeros_like(p)) - lr * g
    state["v"] = v
    return p + v


def ref_nesterov(p, g, state, lr, mu):
    # Keras/Sutskever form: v <- mu v - lr g; p <- p + mu v - lr g
    v = mu * state.get("v", np.zeros_like(p)) - lr * g
    state["v"] = v
    return p + mu * v - lr * g


def ref_rmsprop(p, g, state, lr, rho, eps):
    s = rho * state.get("s", np.zeros_like(p)) + (1 - rho) * g * g
    state["s"] = s
    return p - lr * g / (np.sqrt(s) + eps)


def ref_adam(p, g, state, lr, b1, b2, eps):
    t = state.get("t", 0) + 1
    m = b1 * state.get("m", np.zeros_like(p)) + (1 - b1) * g
    v = b2 * state.get("v", np.zeros_like(p)) + (1 - b2) * g * g
    state.update(t=t, m=m, v=v)
    # Kingma and Ba's bias corrections folded into the step size, epsilon outside (Keras)
    step = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
    return p - step * m / (np.sqrt(v) + eps)


CASES = {
    "sgd": (lambda: lk.SGD(0.1), lambda p, g, s: ref_sgd(p, g, s, 0.1)),
    "momentum": (
        lambda: lk.SGD(0.1, momentum=0.9),
        lambda p, g, s: ref_momentum(p, g, s, 0.1, 0.9),
    ),
    "nesterov": (
        lambda: lk.SGD(0.1, momentum=0.8, nesterov=True),
        lambda p, g, s: ref_nesterov(p, g, s, 0.1, 0.8),
    ),
    "rmsprop": (
        lambda: lk.RMSProp(0.01, rho=0.9, epsilon=1e-7),
        lambda p, g, s: ref_rmsprop(p, g, s, 0.01, 0.9, 1e-7),
    ),
    "adam": (
        lambda: lk.Adam(0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
        lambda p, g, s: ref_adam(p, g, s, 0.01, 0.9, 0.999, 1e-7),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_optimizer_steps_equal_hand_computed_updates(name):
    make, ref = CASES[name]
    opt = make()
    rng = np.random.default_rng(1)
    params = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    expected = [p.copy() for p in params]
    states = [{}, {}]
    for _ in range(4):  # several steps: the state (velocity, moments, t) carries over
        grads = [rng.standard_normal(p.shape) for p in params]
        opt.step(params, grads)
        expected = [ref(e, g, s) for e, g, s in zip(expected, grads, states, strict=True)]
        for p, e in zip(params, expected, strict=True):
            np.testing.assert_allclose(p, e, rtol=1e-14, atol=1e-15)
    assert opt.iterations == 4


def test_first_steps_by_hand_on_a_two_element_array():
    # SGD momentum 0.5, lr 0.1, g = (1, -2) twice from p = (0, 0):
    # v1 = -0.1 g = (-0.1, 0.2), p1 = (-0.1, 0.2); v2 = 0.5 v1 - 0.1 g = (-0.15, 0.3),
    # p2 = (-0.25, 0.5)
    p, g = np.zeros(2), np.array([1.0, -2.0])
    opt = lk.SGD(0.1, momentum=0.5)
    opt.step([p], [g])
    np.testing.assert_allclose(p, [-0.1, 0.2], rtol=1e-15)
    opt.step([p], [g])
    np.testing.assert_allclose(p, [-0.25, 0.5], rtol=1e-15)
    # Adam's first step is lr * sign(g) (up to epsilon): m/sqrt(v) = g/|g| at t = 1
    p = np.zeros(2)
    lk.Adam(0.01, epsilon=1e-12).step([p], [g])
    np.testing.assert_allclose(p, [-0.01, 0.01], rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    p=arrays(np.float64, (3,), elements=st.floats(-10, 10)),
    g1=arrays(np.float64, (3,), elements=st.floats(-10, 10)),
    g2=arrays(np.float64, (3,), elements=st.floats(-10, 10)),
    lr=st.floats(1e-4, 1.0),
    b1=st.floats(0.0, 0.99),
    b2=st.floats(0.5, 0.9999),
)
def test_adam_matches_reference_for_random_hyperparameters(p, g1, g2, lr, b1, b2):
    opt = lk.Adam(lr, beta_1=b1, beta_2=b2, epsilon=1e-7)
    param, expected, state = p.copy(), p.copy(), {}
    for g in (g1, g2):
        opt.step([param], [g])
        expected = ref_adam(expected, g, state, lr, b1, b2, 1e-7)
    np.testing.assert_allclose(param, expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    p=arrays(np.float64, (3,), elements=st.floats(-10, 10)),
    g1=arrays(np.float64, (3,), elements=st.floats(-10, 10)),
    g2=arrays(np.float64, (3,), elements=st.floats(-10, 10)),
    lr=st.floats(1e-4, 1.0),
    mu=st.floats(0.01, 0.99),
    rho=st.floats(0.0, 0.99),
)
def test_momentum_nesterov_rmsprop_match_reference_for_random_hyperparameters(
    p, g1, g2, lr, mu, rho
):
    pairs = [
        (lk.SGD(lr, momentum=mu), lambda e, g, s: ref_momentum(e, g, s, lr, mu)),
        (lk.SGD(lr, momentum=mu, nesterov=True), lambda e, g, s: ref_nesterov(e, g, s, lr, mu)),
        (lk.RMSProp(lr, rho=rho), lambda e, g, s: ref_rmsprop(e, g, s, lr, rho, 1e-7)),
    ]
    for opt, ref in pairs:
        param, expected, state = p.copy(), p.copy(), {}
        for g in (g1, g2):
            opt.step([param], [g])
            expected = ref(expected, g, state)
        np.testing.assert_allclose(param, expected, rtol=1e-12, atol=1e-12)


def test_float32_parameters_stay_float32_with_float32_slots():
    for make, _ in CASES.values():
        opt = make()
        p = np.ones((2, 2), dtype=np.float32)
        opt.step([p], [np.full((2, 2), 0.5, dtype=np.float32)])
        assert p.dtype == np.float32
        assert all(a.dtype == np.float32 for s in opt.slots for a in s.values())


# ---------------------------------------------------------------------------- on a network


def _problem(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(np.int64)
    return X, y


def _net(seed=0, dropout=0.0):
    layers = [lk.Input(3), lk.Dense(8, "tanh")]
    if dropout:
        layers.append(lk.Dropout(dropout))
    layers.append(lk.Dense(2, "softmax"))
    return lk.Network(layers, seed=seed, dtype="float64")


@pytest.mark.parametrize(
    "make",
    [
        lambda: lk.SGD(0.5),
        lambda: lk.SGD(0.1, momentum=0.9),
        lambda: lk.SGD(0.1, momentum=0.9, nesterov=True),
        lambda: lk.RMSProp(0.01),
        lambda: lk.Adam(0.02),
    ],
    ids=["sgd", "momentum", "nesterov", "rmsprop", "adam"],
)
def test_each_optimizer_drives_the_cost_down(make):
    X, y = _problem()
    net = _net()
    initial = net.evaluate(X, y).cost
    net.train(X, y, epochs=60, batch_size=16, optimizer=make(), verbose=0)
    final = net.evaluate(X, y).cost
    assert final < 0.5 * initial, (initial, final)


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam"])
def test_optimizer_by_name_uses_its_default_or_given_learning_rate(name):
    X, y = _problem()
    net = _net()
    net.train(X, y, epochs=1, optimizer=name, verbose=0)
    assert net.optimizer.name == name
    assert net.optimizer.learning_rate == {"sgd": 0.01, "rmsprop": 0.001, "adam": 0.001}[name]
    net2 = _net()
    net2.train(X, y, epochs=1, optimizer=name, learning_rate=0.05, verbose=0)
    assert net2.optimizer.learning_rate == 0.05


def test_training_twice_continues_with_the_same_optimizer_and_its_state():
    X, y = _problem()  # 64 samples, batches of 16: 4 steps per epoch
    net = _net()
    net.train(X, y, epochs=2, batch_size=16, optimizer="adam", learning_rate=0.01, verbose=0)
    opt = net.optimizer
    m_after_first = [s["m"].copy() for s in opt.slots]
    assert opt.iterations == 8
    net.train(X, y, epochs=3, batch_size=16, verbose=0)  # optimizer=None: continue
    assert net.optimizer is opt and opt.iterations == 20
    net.train(X, y, epochs=1, batch_size=16, optimizer="adam", verbose=0)  # same name: continue
    assert net.optimizer is opt and opt.iterations == 24
    assert not all(np.array_equal(a, s["m"]) for a, s in zip(m_after_first, opt.slots, strict=True))
    # a different optimiser (or a new instance) starts fresh
    net.train(X, y, epochs=1, batch_size=16, optimizer="sgd", verbose=0)
    assert net.optimizer is not opt and net.optimizer.iterations == 4
    fresh = lk.Adam(0.01)
    net.train(X, y, epochs=1, batch_size=16, optimizer=fresh, verbose=0)
    assert net.optimizer is fresh and fresh.iterations == 4


@pytest.mark.parametrize(("shuffle", "dropout"), [(False, 0.0), (True, 0.0), (True, 0.3)])
def test_adam_train_a_then_b_equals_train_a_plus_b_bit_for_bit(shuffle, dropout):
    # True with or without shuffling: the network's generator is consumed only by the
    # per-epoch shuffles and the dropout masks, in the same order in both runs, and each
    # epoch's order depends only on the generator's state. The optimiser keeps m, v and t
    # across calls. (It is *not* true of an epoch schedule such as TimeDecay, whose epoch
    # counter restarts with every call: see test_schedules.)
    X, y = _problem(n=50)  # 50 / 16: a smaller last batch
    one, two = _net(dropout=dropout), _net(dropout=dropout)
    kw = {"batch_size": 16, "shuffle": shuffle, "verbose": 0}
    h = one.train(X, y, epochs=5, optimizer=lk.Adam(0.01), **kw)
    h_a = two.train(X, y, epochs=2, optimizer=lk.Adam(0.01), **kw)
    h_b = two.train(X, y, epochs=3, **kw)
    for a, b in zip(one.get_weights(), two.get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert h.train_cost == h_a.train_cost + h_b.train_cost
    assert one.optimizer.iterations == two.optimizer.iterations == 20
    for s1, s2 in zip(one.optimizer.slots, two.optimizer.slots, strict=True):
        assert all(np.array_equal(s1[k], s2[k]) for k in ("m", "v"))


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: lk.SGD(0.0), "learning_rate"),
        (lambda: lk.SGD(-1.0), "learning_rate"),
        (lambda: lk.SGD(0.1, momentum=1.0), "momentum"),
        (lambda: lk.SGD(0.1, momentum=-0.1), "momentum"),
        (lambda: lk.SGD(0.1, nesterov=True), "nesterov"),
        (lambda: lk.RMSProp(rho=1.0), "rho"),
        (lambda: lk.RMSProp(epsilon=0.0), "epsilon"),
        (lambda: lk.Adam(beta_1=1.0), "beta_1"),
        (lambda: lk.Adam(beta_2=-0.5), "beta_2"),
        (lambda: lk.Adam(float("nan")), "learning_rate"),
    ],
)
def test_optimizer_arguments_are_validated(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_unknown_optimizer_is_an_error():
    X, y = _problem()
    net = _net()
    with pytest.raises(ValueError, match="optimizer"):
        net.train(X, y, optimizer="adagrad", verbose=0)
    with pytest.raises(TypeError, match="optimizer"):
        net.train(X, y, optimizer=3, verbose=0)
    assert net.optimizer is None


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "rmsprop"])
def test_snapshot_puts_an_optimiser_back_with_its_binding(name):
    make = {
        "sgd": lambda: lk.SGD(0.1),
        "momentum": lambda: lk.SGD(0.1, momentum=0.9),
        "adam": lambda: lk.Adam(0.01),
        "rmsprop": lambda: lk.RMSProp(0.01),
    }[name]
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    opt = make()
    opt.step(params, [np.ones((4, 3)), np.ones(3)])
    state, rates = opt.get_state(), (opt.learning_rate, opt.initial_learning_rate)
    restore = opt.snapshot()
    for _ in range(3):
        opt.step(params, [rng.standard_normal((4, 3)), rng.standard_normal(3)])
    opt.learning_rate = opt.initial_learning_rate = 5.0
    restore()
    after = opt.get_state()
    assert after["iterations"] == state["iterations"]
    for a, b in zip(after["slots"], state["slots"], strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert (opt.learning_rate, opt.initial_learning_rate) == rates
    # still bound to the same arrays: it steps them, and refuses others of the same shapes
    opt.check_params(params)
    with pytest.raises(lk.LayerkitValueError, match="already holds the state"):
        opt.check_params([p.copy() for p in params])


def test_snapshot_of_a_fresh_optimiser_restores_a_fresh_one():
    opt = lk.SGD(0.1, momentum=0.9)
    restore = opt.snapshot()
    params = [np.zeros((2, 2))]
    opt.step(params, [np.ones((2, 2))])
    restore()
    assert opt.iterations == 0 and opt.slots == []
    opt.check_params([np.zeros((5,))])  # free for any parameters again
