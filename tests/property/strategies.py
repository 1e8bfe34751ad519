"""Hypothesis strategies for small random networks and their data (float64).

``network_specs()`` draws a plain dict (printed by Hypothesis when a test fails) and
``build(spec)`` turns it into ``(network, X, y, sample_weight)``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import layerkit as lk
from layerkit.testing import activations, arrays

LOSSES = ("mse", "sum_of_squares", "binary_crossentropy", "categorical_crossentropy")


@st.composite
def network_specs(draw, *, dropout=None):
    """A random network: input width 1-6, batch 1-8, 1-3 hidden layers of width 1-6."""
    loss = draw(st.sampled_from(LOSSES))
    depth = draw(st.integers(1, 3))
    hidden = [
        {
            "units": draw(st.integers(1, 6)),
            "activation": draw(activations()),
            "separate": draw(st.booleans()),  # Dense + Activation layer instead
        }
        for _ in range(depth)
    ]
    if loss == "categorical_crossentropy":
        output = {"units": draw(st.integers(2, 4)), "activation": ("softmax", {})}
    elif loss == "binary_crossentropy":
        output = {"units": draw(st.integers(1, 3)), "activation": ("sigmoid", {})}
    else:
        output = {"units": draw(st.integers(1, 4)), "activation": draw(activations())}
    output["separate"] = draw(st.booleans())
    use_dropout = draw(st.booleans()) if dropout is None else dropout
    return {
        "n_in": draw(st.integers(1, 6)),
        "m": draw(st.integers(1, 8)),
        "hidden": hidden,
        "output": output,
        "loss": loss,
        "penalty": draw(st.one_of(st.just(0.0), st.floats(1e-4, 1.0))),
        "dropout": (
            {"rate": draw(st.floats(0.1, 0.6)), "after": draw(st.integers(0, depth - 1))}
            if use_dropout
            else None
        ),
        "weighted": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


def _dense(spec):
    name, params = spec["activation"]
    if spec["separate"]:
        return [lk.Dense(spec["units"]), lk.Activation(name, **params)]
    return [lk.Dense(spec["units"], name, activation_params=params)]


def build(spec):
    """``(network, X, y, sample_weight)`` for a spec from :func:`network_specs`."""
    layers = [lk.Input(spec["n_in"])]
    for i, layer in enumerate(spec["hidden"]):
        layers += _dense(layer)
        if spec["dropout"] and spec["dropout"]["after"] == i:
            layers.append(lk.Dropout(spec["dropout"]["rate"]))
    layers += _dense(spec["output"])
    net = lk.Network(
        layers, loss=spec["loss"], penalty=spec["penalty"], seed=spec["seed"], dtype="float64"
    )
    rng = np.random.default_rng(spec["seed"])
    m, k = spec["m"], spec["output"]["units"]
    X = rng.uniform(-3, 3, (m, spec["n_in"]))
    if spec["loss"] == "categorical_crossentropy":
        y = rng.integers(0, k, m)
    elif spec["loss"] == "binary_crossentropy":
        y = rng.integers(0, 2, (m, k)).astype(float)
    else:
        y = rng.uniform(-2, 2, (m, k))
    weight = rng.uniform(0, 2, m) if spec["weighted"] else None
    return net, X, y, weight


def inputs(n_in, m):
    """Inputs drawn by Hypothesis itself (so it can shrink them), in [-3, 3]."""
    return arrays((m, n_in), "float64", -3.0, 3.0)
