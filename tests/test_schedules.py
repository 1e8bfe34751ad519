"""Learning-rate schedules: TimeDecay, StepDecay and seed 002's grow and slash (Algorithm 1).

Grow and slash is checked on convex problems (logistic regression, linear least squares),
where a small enough step along the negative gradient always lowers the cost, through the
schedule's own trace and independently through ``Network.loss`` after every step.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import layerkit as lk

# ---------------------------------------------------------------------------- data


def _binary(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = (X[:, 0] - X[:, 1] + 0.8 * rng.standard_normal(n) > 0).astype(np.int64)
    return X, y


def _regression(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(n)
    return X, y


def _logistic(seed=0):
    return lk.Network(
        [lk.Input(2), lk.Dense(1, "sigmoid")], "binary_crossentropy", seed=seed, dtype="float64"
    )


def _linear(seed=0):
    return lk.Network([lk.Input(3), lk.Dense(1)], "mse", seed=seed, dtype="float64")


class CostAfterStep(lk.Callback):
    """Full-data objective after every step, computed by ``Network.loss``."""

    def __init__(self, X, y):
        self.X, self.y, self.costs = X, y, []

    def on_train_begin(self, network):
        self.costs.append(network.loss(self.X, self.y))

    def on_batch_end(self, network, batch, logs):
        self.costs.append(network.loss(self.X, self.y))


def _check_trace(trace, alpha, beta, eta1):
    assert trace, "no step recorded"
    assert trace[0]["eta_tried"] == eta1
    for k, rec in enumerate(trace):
        assert rec["eta_used"] is not None, f"step {k} was skipped on a convex problem"
        # an accepted step does not raise the batch cost
        assert rec["cost_after"] <= rec["cost_before"], (k, rec)
        # slashes: eta_used = eta_tried / beta**slashes
        np.testing.assert_allclose(
            rec["eta_used"], rec["eta_tried"] / beta ** rec["slashes"], rtol=1e-14, atol=0
        )
        if k:
            # growth: the next first try is alpha times the last accepted rate
            np.testing.assert_allclose(
                rec["eta_tried"], alpha * trace[k - 1]["eta_used"], rtol=1e-14, atol=0
            )


# ---------------------------------------------------------------------------- grow and slash


def test_grow_and_slash_full_batch_logistic_regression_follows_algorithm_1():
    X, y = _binary()
    net = _logistic()
    sched = lk.GrowAndSlash(alpha=1.1, beta=2.0)
    probe = CostAfterStep(X, y)
    eta1 = 200.0  # far too large: the first steps must be slashed
    hist = net.train(
        X,
        y,
        epochs=40,
        batch_size=None,
        learning_rate=eta1,
        schedule=sched,
        shuffle=False,
        callbacks=[probe],
        verbose=0,
    )
    trace = sched.trace
    assert len(trace) == 40  # one step per epoch
    _check_trace(trace, 1.1, 2.0, eta1)
    assert trace[0]["slashes"] > 0
    assert any(t["slashes"] == 0 for t in trace)  # and it grew again afterwards
    # independent check, full batch: the objective never rises from step to step ...
    costs = probe.costs
    assert all(b <= a for a, b in itertools.pairwise(costs))
    assert costs[-1] < 0.8 * costs[0]
    # ... the accepted step is the one left applied (J after = the next step's J before)
    for k, rec in enumerate(trace):
        assert rec["cost_before"] == pytest.approx(costs[k], rel=1e-12)
        assert rec["cost_after"] == pytest.approx(costs[k + 1], rel=1e-12)
    # the recorded rate is the rate at the end of the epoch: the next one to try
    for e in range(40):
        assert hist.learning_rate[e] == pytest.approx(1.1 * trace[e]["eta_used"], rel=1e-14)
    assert net.optimizer.iterations == 40


@pytest.mark.parametrize(("alpha", "beta"), [(1.1, 2.0), (1.5, 3.0), (1.01, 1.3)])
def test_grow_and_slash_minibatch_linear_regression_accepts_only_descent_steps(alpha, beta):
    X, y = _regression()
    net = _linear()
    sched = lk.GrowAndSlash(alpha, beta)
    hist = net.train(X, y, epochs=15, batch_size=8, learning_rate=5.0, schedule=sched, verbose=0)
    assert len(sched.trace) == 15 * 7  # ceil(50 / 8) steps per epoch
    _check_trace(sched.trace, alpha, beta, 5.0)
    assert sum(t["slashes"] for t in sched.trace) > 0
    assert hist.train_cost[-1] < 0.1 * hist.train_cost[0]


def test_grow_and_slash_counts_the_penalty_in_the_cost_it_protects():
    X, y = _binary()
    net = _logistic()
    sched = lk.GrowAndSlash()
    net.train(
        X,
        y,
        epochs=10,
        batch_size=None,
        learning_rate=50.0,
        schedule=sched,
        penalty=0.5,
        shuffle=False,
        verbose=0,
    )
    _check_trace(sched.trace, 1.1, 2.0, 50.0)
    # cost_before is the penalised objective at the weights before the step
    net2 = _logistic()
    penalised = net2.loss(X, y) + 0.5 * 0.5 * float(np.sum(net2.layers[1].params["W"] ** 2))
    assert sched.trace[0]["cost_before"] == pytest.approx(penalised, rel=1e-12)


def test_grow_and_slash_by_name_grows_the_rate_on_an_easy_problem():
    X, y = _binary()
    net = _logistic()
    hist = net.train(
        X,
        y,
        epochs=5,
        batch_size=None,
        learning_rate=0.01,
        schedule="grow_and_slash",
        shuffle=False,
        verbose=0,
    )
    # a tiny rate is always accepted: it grows by alpha = 1.1 per step
    np.testing.assert_allclose(
        hist.learning_rate, [0.01 * 1.1 ** (e + 1) for e in range(5)], rtol=1e-12
    )


@pytest.mark.parametrize(
    "optimizer",
    [
        lk.Adam(0.01),
        lk.SGD(0.1, momentum=0.9),
        lk.SGD(0.1, momentum=0.5, nesterov=True),
        lk.RMSProp(0.01),
        "adam",
        "rmsprop",
    ],
    ids=["adam", "momentum", "nesterov", "rmsprop", "adam-name", "rmsprop-name"],
)
def test_grow_and_slash_with_a_stateful_optimizer_raises_and_changes_nothing(optimizer):
    X, y = _binary()
    net = _logistic()
    net.train(X, y, epochs=1, verbose=0)
    weights, opt, hist = net.get_weights(), net.optimizer, net.history
    rng = net.rng.bit_generator.state
    with pytest.raises(ValueError, match="grow_and_slash"):
        net.train(X, y, epochs=2, optimizer=optimizer, schedule=lk.GrowAndSlash(), verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), weights, strict=True))
    assert net.optimizer is opt and net.history is hist
    assert net.rng.bit_generator.state == rng


def test_grow_and_slash_parameters_are_validated():
    for kwargs in ({"alpha": 1.0}, {"alpha": 0.5}, {"beta": 1.0}, {"beta": -2.0}):
        name = next(iter(kwargs))
        with pytest.raises(ValueError, match=name):
            lk.GrowAndSlash(**kwargs)


# ---------------------------------------------------------------------------- epoch schedules


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_time_decay_rates_per_epoch_match_formula(optimizer):
    X, y = _regression()
    net = _linear()
    hist = net.train(
        X,
        y,
        epochs=6,
        batch_size=16,
        learning_rate=0.05,
        optimizer=optimizer,
        schedule=lk.TimeDecay(decay=0.5),
        verbose=0,
    )
    expected = [0.05 / (1 + 0.5 * e) for e in range(6)]  # seed 000: eta_0 / (1 + d e)
    np.testing.assert_allclose(hist.learning_rate, expected, rtol=1e-15)


def test_time_decay_by_name_uses_default_decay():
    X, y = _regression()
    hist = _linear().train(X, y, epochs=4, learning_rate=0.02, schedule="time_decay", verbose=0)
    np.testing.assert_allclose(
        hist.learning_rate, [0.02 / (1 + 0.01 * e) for e in range(4)], rtol=1e-15
    )


@pytest.mark.parametrize(("factor", "every"), [(0.5, 2), (0.1, 3), (1.0, 1)])
def test_step_decay_rates_per_epoch_match_formula(factor, every):
    X, y = _regression()
    hist = _linear().train(
        X,
        y,
        epochs=7,
        batch_size=16,
        learning_rate=0.04,
        schedule=lk.StepDecay(factor=factor, every=every),
        verbose=0,
    )
    expected = [0.04 * factor ** (e // every) for e in range(7)]
    np.testing.assert_allclose(hist.learning_rate, expected, rtol=1e-15)


def test_step_decay_rate_is_the_one_the_steps_use():
    # full batch, plain SGD: each epoch is one step W <- W - eta_e * grad(W)
    X, y = _regression()
    net = _linear()
    sched = lk.StepDecay(factor=0.5, every=2)
    # one run of 5 epochs, checking every step against the formula
    rec = []

    class Grab(lk.Callback):
        def on_train_begin(self, network):
            rec.append(network.get_weights())

        def on_epoch_end(self, network, epoch, logs):
            rec.append(network.get_weights())

    net.train(
        X,
        y,
        epochs=5,
        batch_size=None,
        learning_rate=0.1,
        schedule=sched,
        shuffle=False,
        callbacks=[Grab()],
        verbose=0,
    )
    check = _linear()
    for e in range(5):
        check.set_weights(rec[e])
        grads = _full_grads(check, X, y)
        eta = 0.1 * 0.5 ** (e // 2)
        for w0, g, w1 in zip(rec[e], grads, rec[e + 1], strict=True):
            np.testing.assert_allclose(w1, w0 - eta * g, rtol=1e-13, atol=1e-15)


def _full_grads(net, X, y):
    net.backprop(X, y)
    return [layer.grads[key].copy() for layer, key, _ in net.parameters()]


def test_schedule_restarts_with_each_train_call():
    # the epoch counter of a schedule is per call: a second call starts at eta_0 again
    X, y = _regression()
    net = _linear()
    sched = lk.TimeDecay(1.0)
    h1 = net.train(X, y, epochs=3, learning_rate=0.1, schedule=sched, verbose=0)
    h2 = net.train(X, y, epochs=2, learning_rate=0.1, schedule=sched, verbose=0)
    assert h1.learning_rate[0] == h2.learning_rate[0] == 0.1


@pytest.mark.parametrize(
    ("cls", "kwargs", "name"),
    [
        (lk.TimeDecay, {"decay": -1.0}, "decay"),
        (lk.StepDecay, {"factor": 0.0}, "factor"),
        (lk.StepDecay, {"factor": 1.5}, "factor"),
        (lk.StepDecay, {"every": 0}, "every"),
    ],
)
def test_schedule_parameters_are_validated(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


def test_unknown_schedule_name_is_an_error():
    X, y = _regression()
    with pytest.raises(ValueError, match="schedule"):
        _linear().train(X, y, schedule="cosine", verbose=0)


@settings(max_examples=100, deadline=None)
@given(
    alpha=st.floats(1.01, 3.0),
    beta=st.floats(1.1, 10.0),
    eta=st.floats(1e-3, 1e3),
    r=st.floats(1e-2, 1e2),
)
def test_grow_and_slash_search_slashes_until_the_cost_does_not_rise(alpha, beta, eta, r):
    # J(eta) = eta (eta - r): below J(0) = 0 exactly for 0 <= eta <= r
    sched = lk.GrowAndSlash(alpha, beta)
    sched.rate(eta, 0)
    tried = []

    def try_step(e):
        tried.append(e)
        return e * (e - r)

    used = sched.search(0.0, try_step)
    expected, k = eta, 0
    while expected * (expected - r) > 0:
        expected, k = expected / beta, k + 1
    if k <= sched.max_slashes:
        assert used == expected
        assert len(tried) == k + 1
        assert sched.eta == alpha * expected
        assert sched.trace[-1]["slashes"] == k
    else:  # gave up: the step is skipped and eta kept for the next one
        assert used is None
        assert len(tried) == sched.max_slashes + 1
        assert sched.eta == eta
        assert sched.trace[-1]["eta_used"] is None


def test_grow_and_slash_trace_keeps_only_the_latest_trace_limit_steps():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    y = (X[:, 0] > 0).astype(int)

    def run(limit):
        sched = lk.GrowAndSlash(trace_limit=limit)
        net = lk.Network([lk.Input(3), lk.Dense(1, "sigmoid")], loss="binary_crossentropy", seed=0)
        net.train(X, y, epochs=5, batch_size=8, learning_rate=0.5, schedule=sched, verbose=0)
        return sched, net

    full, net_full = run(None)
    capped, net_capped = run(7)
    off, net_off = run(0)
    assert len(full.trace) == 40
    assert capped.trace == full.trace[-7:]  # the latest steps, in order
    assert off.trace == []
    # the trace only records: training is the same whatever it keeps
    for a, b, c in zip(
        net_full.get_weights(), net_capped.get_weights(), net_off.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    with pytest.raises(lk.LayerkitValueError, match="trace_limit"):
        lk.GrowAndSlash(trace_limit=-1)
