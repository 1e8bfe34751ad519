"""The renderers of a trace: text, Markdown with LaTeX, HTML and JSON, in both notations."""

from __future__ import annotations

import json

import numpy as np
import pytest

import layerkit as lk


def _net(penalty=0.0, output="sigmoid", loss="sum_of_squares"):
    net = lk.Network(
        [lk.Input(3), lk.Dense(2, "relu"), lk.Dense(2, output)],
        loss=loss,
        penalty=penalty,
        dtype="float64",
        seed=0,
    )
    net.set_weights(
        [
            np.array([[0.6, -0.3], [1.2, 0.4], [-0.2, 0.9]]),
            np.array([-0.5, 0.1]),
            np.array([[0.7, -1.1], [0.2, 0.5]]),
            np.array([0.05, -0.3]),
        ]
    )
    return net


def _fmt(value: float) -> str:
    text = f"{value:.4f}"
    return text[1:] if text == "-0.0000" else text


def test_text_shows_every_number_of_the_trace():
    trace = lk.explain(_net(penalty=0.1), [0.7, 0.1, 0.4], [1.0, 0.0], learning_rate=0.5)
    text = trace.to_text()
    for layer in trace.layers:
        arrays = [layer.z, layer.a, layer.f_prime, layer.dc_da, layer.delta, layer.dc_da_prev]
        arrays += list(layer.params.values()) + list(layer.grads.values())
        arrays += list(layer.updated.values())
        for array in arrays:
            for value in np.ravel(array):
                assert _fmt(value) in text, (layer.name, value)
    assert _fmt(trace.cost) in text and _fmt(trace.penalty_term) in text


def test_documents_notation_writes_columns_and_one_row_of_w_per_unit():
    trace = lk.explain(_net(), [0.7, 0.1, 0.4], [1.0, 0.0])
    text = trace.to_text()
    assert "z(2) = W(2) a(1) + b(2)" in text
    assert "δ(2) = W(3)ᵀ δ(3) ⊙ f'(z(2))" in text
    assert "∂J/∂W(3) = δ(3) a(2)ᵀ" in text
    data = trace.to_dict()
    np.testing.assert_array_equal(data["layers"][0]["params"]["W"], trace.layers[0].W.T)
    assert np.shape(data["layers"][0]["params"]["W"]) == (2, 3)  # one row per unit
    assert data["x"] == [0.7, 0.1, 0.4]  # one sample: a column, listed flat


def test_layerkit_notation_writes_one_sample_per_row():
    trace = lk.explain(_net(), [[0.7, 0.1, 0.4], [0.2, 0.3, 0.5]], [[1.0, 0.0], [0.0, 1.0]])
    text = trace.to_text(notation="layerkit")
    assert "z(2) = a(1) W(2) + b(2)" in text
    assert "δ(2) = δ(3) W(3)ᵀ ⊙ f'(z(2))" in text
    assert "∂J/∂W(3) = (1/m) a(2)ᵀ δ(3)" in text
    data = trace.to_dict(notation="layerkit")
    np.testing.assert_array_equal(data["layers"][0]["params"]["W"], trace.layers[0].W)
    np.testing.assert_array_equal(data["layers"][1]["delta"], trace.layers[1].delta)
    docs = trace.to_dict(notation="documents")
    np.testing.assert_array_equal(docs["layers"][1]["delta"], trace.layers[1].delta.T)


def test_json_holds_every_number_at_full_precision():
    trace = lk.explain(_net(penalty=0.2), [0.7, 0.1, 0.4], [1.0, 0.0], learning_rate=0.1)
    data = json.loads(trace.to_json(notation="layerkit"))
    assert data["cost"] == trace.cost and data["penalty_term"] == trace.penalty_term
    for layer, shown in zip(trace.layers, data["layers"], strict=True):
        for key in ("z", "a", "delta", "dc_da", "dc_da_prev", "f_prime"):
            np.testing.assert_array_equal(np.reshape(shown[key], (1, -1)), getattr(layer, key))
        for key in layer.params:
            np.testing.assert_array_equal(shown["grads"][key], layer.grads[key])
            np.testing.assert_array_equal(shown["updated"][key], layer.updated[key])
        assert shown["penalty"] == 0.2 and shown["delta_rule"] in ("output", "hidden")


def test_markdown_writes_latex_equations_with_the_numbers():
    trace = lk.explain(_net(penalty=0.1), [0.7, 0.1, 0.4], [1.0, 0.0], learning_rate=0.5)
    md = trace.to_markdown()
    assert md.startswith("## Worked example")
    assert "$$\n\\delta^{(3)} = \\frac{\\partial c}{\\partial a^{(3)}} \\odot f'(z^{(3)})" in md
    assert "(W^{(3)})^\\top" in md and "\\begin{bmatrix}" in md
    assert "\\lambda^{(2)} = 0.1000" in md
    assert "J = c + \\sum_l" in md and _fmt(trace.cost) in md
    assert md.count("$$") % 2 == 0
    assert trace._repr_markdown_() == md
    assert trace.to_markdown(title="Seed 004").startswith("## Seed 004\n")


def test_html_escapes_text_and_keeps_equations_for_mathjax():
    trace = lk.explain(_net(), [0.7, 0.1, 0.4], [1.0, 0.0])
    page = trace._repr_html_()
    assert page.startswith('<div class="layerkit-trace">') and page.rstrip().endswith("</div>")
    assert "<h2>Worked example" in page
    assert "[z^{(2)} &gt; 0]" in page  # relu's derivative, escaped inside the equation
    assert "$$\\delta^{(2)}" in page


def test_precision_sets_the_decimals_and_can_be_overridden():
    net = lk.Network([lk.Input(1), lk.Dense(1, "sigmoid")], loss="sse", dtype="float64", seed=0)
    net.set_weights([[[0.15]], [0.38]])
    trace = lk.explain(net, [0.8], [1.0], precision=2)
    assert "a(2) = sigmoid(z(2)) = [ 0.62 ]" in trace.to_text()
    assert "a(2) = sigmoid(z(2)) = [ 0.622459 ]" in trace.to_text(precision=6)
    assert str(trace) == trace.to_text()
    assert repr(trace) == "Trace(1 layers, m=1, loss='sum_of_squares', cost=0.14)"


def test_fused_and_jacobian_output_errors_are_named():
    fused = lk.explain(_net(output="softmax", loss="categorical_crossentropy"), [0.7, 0.1, 0.4], 0)
    assert "Fused output error: softmax output with categorical cross-entropy" in fused.to_text()
    jac = lk.explain(_net(output="softmax"), [0.7, 0.1, 0.4], [1.0, 0.0])
    assert "its Jacobian is not diagonal" in jac.to_text()
    assert "δ(3) = a(3) ⊙ (g - a(3)ᵀ g), g = ∂c/∂a(3)" in jac.to_text()
    out = jac.layers[-1]
    dot = float(out.a[0] @ out.dc_da[0])
    line = next(s for s in jac.to_text().splitlines() if "g = ∂c/∂a(3)" in s)
    shown = f"({dot:.4f})" if dot < 0 else f"{dot:.4f}"
    assert f" ⊙ ([ {out.dc_da[0, 0]:.4f} ] - {shown}) = [ {out.delta[0, 0]:.4f} ]" in line


def test_a_batch_lists_each_sample_cost_and_the_average():
    trace = lk.explain(_net(), [[0.7, 0.1, 0.4], [0.2, 0.3, 0.5]], [[1.0, 0.0], [0.0, 1.0]])
    text = trace.to_text()
    costs = " ".join(_fmt(c) for c in trace.sample_costs)
    assert f"c_i = [ {costs.replace(' ', '  ')} ]" in text
    assert f"J = (1/m) Σ_i c_i = {_fmt(trace.cost)}" in text


def test_user_layers_show_their_parameters_by_name():
    class Shift(lk.Layer):
        def build(self, input_shape):
            self.add_param("t", np.full(input_shape, 0.25))

        def forward(self, x, training=False):
            return x + self.params["t"]

        def backward(self, grad_out):
            self.grads["t"][...] = grad_out.sum(axis=0)
            return grad_out

    net = lk.Network([lk.Input(2), Shift(), lk.Dense(1, "sigmoid")], loss="sse", dtype="float64")
    text = lk.explain(net, [0.5, 0.5], [1.0]).to_text()
    assert "t(2) = [ 0.2500 ]" in text
    assert "a(2) = Shift(a(1))" in text
    assert "∂J/∂t(2) = [" in text
    md = lk.explain(net, [0.5, 0.5], [1.0]).to_markdown()
    assert "\\frac{\\partial J}{\\partial t^{(2)}}" in md


def test_renderers_refuse_an_unknown_notation():
    trace = lk.explain(_net(), [0.7, 0.1, 0.4], [1.0, 0.0])
    with pytest.raises(lk.LayerkitValueError, match="notation"):
        trace.to_text(notation="columns")
    with pytest.raises(lk.LayerkitValueError, match="precision"):
        trace.to_markdown(precision=20)


def test_sections_pick_parts_of_every_rendering():
    trace = lk.explain(_net(), [0.7, 0.1, 0.4], [1.0, 0.0], learning_rate=0.1)
    cost = trace.to_text(sections="cost")
    assert cost.startswith("Cost\n----\n") and "Forward pass" not in cost
    assert "Backward pass" not in cost and "Worked example" not in cost
    both = trace.to_text(sections=("forward", "update"))
    assert "Forward pass" in both and "Update (gradient descent" in both and "Cost" not in both
    md = trace.to_markdown(sections="backward")
    assert md.startswith("### Backward pass") and "Forward pass" not in md
    assert "<h3>Given</h3>" in trace.to_html(sections=["given"])
    with pytest.raises(lk.LayerkitValueError, match="sections"):
        trace.to_text(sections="answers")
