"""The worked numbers of the source documents (``/work/shared/SEEDS.md``), as lk.explain
shows them: in the trace, to the precision the documents print, and in its rendering."""

from __future__ import annotations

import numpy as np
import pytest

import layerkit as lk


def _net(n_in, units, activation, W_doc, b, loss="sum_of_squares"):
    """A one-layer network from the documents' W (one row per unit): layerkit's W is W_doc.T."""
    net = lk.Network(
        [lk.Input(n_in), lk.Dense(units, activation)], loss=loss, dtype="float64", seed=0
    )
    net.set_weights([np.asarray(W_doc, dtype=float).T, np.asarray(b, dtype=float)])
    return net


# ------------------------------------------------------------------------------ seed 003
W_003 = [[-1.48, -2.49, 2.72, 3.46], [-1.81, 2.84, -0.438, -4.80]]
A_003 = [0.978, 0.322, 0.315, 0.201]
B_003 = [0.884, -0.226]


def test_seed003_layer_has_preactivations_0_18704_and_minus_2_18447_and_outputs_0_547_0_101():
    trace = lk.explain(_net(4, 2, "sigmoid", W_003, B_003), A_003, [1.0, 1.0], precision=5)
    layer = trace.layers[0]
    # -1.48*0.978 - 2.49*0.322 + 2.72*0.315 + 3.46*0.201 + 0.884 = 0.18704
    assert np.round(layer.z[0], 5).tolist() == [0.18704, -2.18447]
    assert np.round(layer.a[0], 3).tolist() == [0.547, 0.101]
    text = trace.to_text()
    assert "[  0.18704 ]" in text and "[ -2.18447 ]" in text
    # the essay's dot products before the bias: -0.69696 and -1.95847
    assert np.round(layer.z[0] - B_003, 5).tolist() == [-0.69696, -1.95847]


def _seed003_unit(learning_rate=0.05):
    # one sigmoid unit: incoming activation 0.8, weight 0.15, pre-activation 0.5 (bias 0.38)
    net = _net(1, 1, "sigmoid", [[0.15]], [0.5 - 0.15 * 0.8])
    return lk.explain(net, [0.8], [1.0], learning_rate=learning_rate)


def test_seed003_chain_rule_is_minus_0_755_times_0_235_times_0_8_is_minus_0_142():
    layer = _seed003_unit().layers[0]
    assert round(float(layer.z[0, 0]), 4) == 0.5
    assert round(float(layer.a[0, 0]), 4) == 0.6225
    assert round(float(layer.dc_da[0, 0]), 3) == -0.755  # 2 (0.6225 - 1)
    assert round(float(layer.f_prime[0, 0]), 3) == 0.235  # e^-0.5 / (1 + e^-0.5)^2
    assert round(float(layer.dJ_dW[0, 0]), 3) == -0.142


def test_seed003_updated_weight_is_0_1571_not_the_printed_0_1271():
    trace = _seed003_unit()
    new = float(trace.layers[0].updated["W"][0, 0])
    assert round(new, 4) == 0.1571  # 0.15 - 0.05 * (-0.142): the essay prints 0.1271
    text = trace.to_text()
    assert "[ 0.1500 ] - 0.0500 [ -0.1420 ] = [ 0.1571 ]" in text
    assert "0.1271" not in text


# ------------------------------------------------------------------------------ seed 004
def test_seed004_neuron_is_sigmoid_of_minus_0_04_about_0_490():
    trace = lk.explain(_net(3, 1, "sigmoid", [[0.6, 1.2, -0.2]], [-0.5]), [0.7, 0.1, 0.4], [1.0])
    layer = trace.layers[0]
    assert round(float(layer.z[0, 0]), 4) == -0.04
    assert round(float(layer.a[0, 0]), 3) == 0.490
    assert (
        "z(2)_1 = 0.6000 · 0.7000 + 1.2000 · 0.1000 + (-0.2000) · 0.4000 + (-0.5000) = -0.0400"
        in trace.to_text()
    )


def _outputs_net(outputs):
    """A network whose output is ``outputs`` exactly: identity weights, no bias."""
    k = len(outputs)
    return _net(k, k, None, np.eye(k), np.zeros(k)), np.asarray(outputs, dtype=float)


def test_seed004_sum_of_squares_error_is_0_49_plus_0_25_plus_0_36_plus_0_01_is_1_11():
    net, x = _outputs_net([0.3, 0.5, 0.6, 0.1])
    trace = lk.explain(net, x, [1.0, 0.0, 0.0, 0.0], precision=2)
    np.testing.assert_allclose(trace.cost_terms[0], [0.49, 0.25, 0.36, 0.01], rtol=1e-12)
    assert round(trace.cost, 2) == 1.11
    assert "= 0.49 + 0.25 + 0.36 + 0.01 = 1.11" in trace.to_text()


# ------------------------------------------------------------------------------ seed 000
def test_seed000_cost_of_the_digit_4_output_is_1_18():
    net, x = _outputs_net([0.1, 0.2, 0.4, 0.1, 0.8, 0.6, 0.2, 0, 0.6, 0.4])
    trace = lk.explain(net, x, np.eye(10)[4], precision=2)
    assert round(trace.cost, 2) == 1.18
    assert trace.cost == pytest.approx(1.18, abs=1e-12)
    text = trace.to_text()
    assert "(0.80 - 1.00)²" in text and "J = c = 1.18" in text


# ------------------------------------------------------------------------------ seed 002
@pytest.mark.parametrize(
    ("activation", "loss", "lemma"),
    [
        ("sigmoid", "binary_crossentropy", "Lemma 1"),
        ("softmax", "categorical_crossentropy", "Lemma 2"),
    ],
)
def test_seed002_output_error_is_a_minus_y_for_the_fused_pairings(activation, loss, lemma):
    net = _net(3, 2, activation, [[0.6, 1.2, -0.2], [-0.3, 0.4, 0.9]], [-0.5, 0.1], loss=loss)
    trace = lk.explain(net, [0.7, 0.1, 0.4], [0.0, 1.0])
    out = trace.layers[0]
    assert out.delta_rule == "fused"
    np.testing.assert_allclose(out.delta, out.a - [[0.0, 1.0]], rtol=1e-12)
    assert f"(seed 002, {lemma})" in trace.to_text()
    assert "δ(2) = a(2) - y" in trace.to_text()
