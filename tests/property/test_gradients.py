"""Property: backpropagation agrees with finite differences for every random small network
(any built-in activations, the four losses, L2 penalty, dropout, sample weights), and
for every lone built-in layer including its input gradient."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import activations, build, inputs, network_specs

import layerkit as lk


def _describe(report):
    return f"{report}\n{report.explain()}"


@settings(max_examples=150, deadline=None)
@given(spec=network_specs())
def test_backprop_matches_finite_differences_on_random_networks(spec):
    net, X, y, weight = build(spec)
    report = lk.gradcheck(net, X, y, sample_weight=weight)
    assert report.passed, _describe(report)
    assert report.max_error < 1e-6, _describe(report)
    # every array is reported, and the penalty exactly when there is one
    data = {(c.layer, c.param) for c in report.checks if c.term == "data"}
    assert data == {(layer.name, key) for layer, key, _ in net.parameters()}
    assert any(c.term == "penalty" for c in report.checks) == (spec["penalty"] > 0)


@settings(max_examples=20, deadline=None)
@given(spec=network_specs(dropout=True), data=st.data())
def test_backprop_matches_finite_differences_on_drawn_inputs_with_dropout(spec, data):
    net, _, y, weight = build(spec)
    X = data.draw(inputs(spec["n_in"], spec["m"]), label="X")
    report = lk.gradcheck(
        net,
        X,
        y,
        sample_weight=weight,
        mode=data.draw(st.sampled_from(["entries", "directional"]), label="mode"),
    )
    assert report.passed, _describe(report)
    assert report.max_error < 1e-6, _describe(report)


@settings(max_examples=40, deadline=None)
@given(
    activation=activations(),
    units=st.integers(1, 6),
    n_in=st.integers(1, 6),
    m=st.integers(1, 8),
    separate=st.booleans(),
    data=st.data(),
)
def test_lone_layers_match_finite_differences_including_the_input(
    activation, units, n_in, m, separate, data
):
    name, params = activation
    X = data.draw(inputs(n_in, m), label="X")
    layer = (
        lk.Activation(name, **params)
        if separate
        else lk.Dense(units, name, activation_params=params)
    )
    report = lk.gradcheck(layer, X)
    assert report.passed, _describe(report)
    assert report.max_error < 1e-6
    assert ("x", "input") in {(c.param, c.term) for c in report.checks}


@settings(max_examples=15, deadline=None)
@given(rate=st.floats(0.0, 0.9), n_in=st.integers(1, 6), m=st.integers(1, 8), data=st.data())
def test_lone_dropout_matches_finite_differences(rate, n_in, m, data):
    X = data.draw(inputs(n_in, m), label="X")
    report = lk.gradcheck(lk.Dropout(rate), X)
    assert report.passed, _describe(report)
    assert np.isfinite(report.max_error)
