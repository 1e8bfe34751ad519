"""layerkit.export.to_onnx: ONNX Runtime's outputs equal Network.predict for every exportable
layer, activation, dtype and output/loss pairing; what cannot be exported is refused."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import layerkit as lk  # noqa: E402
from layerkit.export import DEFAULT_OPSET, MIN_OPSET, exportable_layers, to_onnx  # noqa: E402
from layerkit.losses import BinaryCrossentropy, CategoricalCrossentropy  # noqa: E402

TOLERANCE = 1e-5
DTYPES = ["float32", "float64"]
# the oldest opset written, the first with today's Softmax, the default, the newest ORT runs
OPSETS = sorted({MIN_OPSET, 13, DEFAULT_OPSET, 21})

HIDDEN = {
    "identity": lambda: lk.Dense(7, "identity"),
    "relu": lambda: lk.Dense(7, "relu"),
    "sigmoid": lambda: lk.Dense(7, "sigmoid"),
    "tanh": lambda: lk.Dense(7, "tanh"),
    "softmax": lambda: lk.Dense(7, "softmax"),
    "leaky_relu": lambda: lk.Dense(7, "leaky_relu", activation_params={"alpha": 0.2}),
    "elu": lambda: lk.Dense(7, "elu", activation_params={"alpha": 0.7}),
    "no_bias": lambda: lk.Dense(7, "tanh", use_bias=False),
    "Activation(elu)": lambda: lk.Activation("elu", alpha=1.3),
    "Activation(leaky_relu)": lambda: lk.Activation("leaky_relu", alpha=0.05),
    "Activation(relu)": lambda: lk.Activation("relu"),
    "Dropout": lambda: lk.Dropout(0.4),
}
# the output layers that go with each loss
PAIRINGS = {
    "softmax+categorical_crossentropy": (
        lambda: lk.Dense(4, "softmax"),
        "categorical_crossentropy",
    ),
    "sigmoid+binary_crossentropy": (lambda: lk.Dense(1, "sigmoid"), "binary_crossentropy"),
    "3 sigmoids+binary_crossentropy": (lambda: lk.Dense(3, "sigmoid"), "binary_crossentropy"),
    "identity+mse": (lambda: lk.Dense(2, "identity"), "mse"),
    "identity+sum_of_squares": (lambda: lk.Dense(2), "sum_of_squares"),
    "sigmoid+mse": (lambda: lk.Dense(3, "sigmoid"), "mse"),
    "tanh+sum_of_squares": (lambda: lk.Dense(3, "tanh"), "sum_of_squares"),
    "softmax+sparse_categorical_crossentropy": (
        lambda: lk.Dense(4, "softmax"),
        "sparse_categorical_crossentropy",
    ),
    "linear+categorical_crossentropy(from_logits)": (
        lambda: lk.Dense(4),
        lambda: CategoricalCrossentropy(from_logits=True),
    ),
    "linear+binary_crossentropy(from_logits)": (
        lambda: lk.Dense(1),
        lambda: BinaryCrossentropy(from_logits=True),
    ),
    "Activation(softmax)+categorical_crossentropy": (
        lambda: lk.Activation("softmax"),
        "categorical_crossentropy",
    ),
}


def _trained(layers, loss, dtype, seed=0, input_shape=(5,), epochs=2):
    """A network trained a little, so that its weights are not just the initial ones."""
    loss = loss() if callable(loss) else loss  # a loss object belongs to one network
    net = lk.Network([lk.Input(input_shape), *layers], loss, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, *input_shape))
    k = net.output_shape[0]
    if net.loss_fn.fused_activation == "softmax":
        y = rng.integers(0, k, size=64)
    elif net.loss_fn.fused_activation == "sigmoid":
        y = rng.integers(0, 2, size=(64, k)).astype(float)
    else:  # targets inside every output's range (sigmoid, tanh or linear)
        y = rng.uniform(0.1, 0.9, size=(64, k))
    net.train(X, y, epochs=epochs, batch_size=16, learning_rate=0.05, optimizer="adam", verbose=0)
    return net


def _largest_difference(
    net, opset=DEFAULT_OPSET, path=None, n=200, scale=3.0, proba=False, offset=0.0
):
    model = to_onnx(net, path, opset=opset, probabilities=proba)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(1).normal(offset, scale, size=(n, *net.input_shape))
    X = X.astype(net.dtype)
    (out,) = session.run(None, {"input": X})
    expected = net.predict_proba(X) if proba else net.predict(X)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    return float(np.max(np.abs(out - expected)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", sorted(HIDDEN))
def test_every_exportable_hidden_layer_matches_predict(hidden, dtype):
    net = _trained([lk.Dense(6, "relu"), HIDDEN[hidden](), lk.Dense(3, "softmax")], "cce", dtype)
    assert _largest_difference(net) <= TOLERANCE


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pairing", sorted(PAIRINGS))
def test_every_output_and_loss_pairing_matches_predict(pairing, dtype):
    output, loss = PAIRINGS[pairing]
    hidden = [lk.Dense(6, "tanh")] if pairing.startswith("Activation") else []
    if pairing.startswith("Activation"):
        hidden.append(lk.Dense(4))
    net = _trained([lk.Dense(8, "elu"), lk.Dropout(0.2), *hidden, output()], loss, dtype)
    assert _largest_difference(net) <= TOLERANCE


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pairing", sorted(PAIRINGS))
def test_probabilities_option_matches_predict_proba(pairing, dtype):
    output, loss = PAIRINGS[pairing]
    net = _trained([lk.Dense(8, "tanh"), output()], loss, dtype)
    assert _largest_difference(net, proba=True) <= TOLERANCE


def test_probabilities_option_adds_the_loss_activation_only_for_logits():
    logits = lk.Network([lk.Input(3), lk.Dense(4)], CategoricalCrossentropy(from_logits=True))
    ops = [node.op_type for node in to_onnx(logits, probabilities=True).graph.node]
    assert ops == ["Gemm", "Softmax"]
    binary = lk.Network([lk.Input(3), lk.Dense(1)], BinaryCrossentropy(from_logits=True))
    assert [n.op_type for n in to_onnx(binary, probabilities=True).graph.node][-1] == "Sigmoid"
    assert [n.op_type for n in to_onnx(logits).graph.node] == ["Gemm"]
    probs = lk.Network([lk.Input(3), lk.Dense(4, "softmax")])
    assert [n.op_type for n in to_onnx(probs, probabilities=True).graph.node] == ["Gemm", "Softmax"]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_opset_matches_predict(opset, dtype):
    layers = [HIDDEN[name]() for name in ("elu", "leaky_relu", "Dropout", "sigmoid", "no_bias")]
    net = _trained([*layers, lk.Dense(3, "softmax")], "cce", dtype)
    model = to_onnx(net, opset=opset)
    assert model.opset_import[0].version == opset
    assert _largest_difference(net, opset=opset) <= TOLERANCE


# BatchNormalization before and after Dense, without scale or centre, after Flatten
BATCH_NORMALIZED = {
    "BN first": lambda: [lk.BatchNormalization(momentum=0.5), lk.Dense(6, "relu")],
    "BN after Dense": lambda: [lk.Dense(6, "relu"), lk.BatchNormalization(momentum=0.6)],
    "BN no scale": lambda: [lk.Dense(6, "elu"), lk.BatchNormalization(0.5, scale=False)],
    "BN no center": lambda: [lk.Dense(6, "tanh"), lk.BatchNormalization(0.5, center=False)],
    "BN neither": lambda: [lk.BatchNormalization(0.5, 1e-2, center=False, scale=False)],
}
# (input shape, layers): images of one and of three channels, and a flat input
FLATTENED = {
    "(28, 28)": ((28, 28), lambda: [lk.Flatten(), lk.Dense(6, "relu")]),
    "(4, 4, 3)+BN": (
        (4, 4, 3),
        lambda: [lk.Flatten(), lk.BatchNormalization(momentum=0.5), lk.Dense(6, "tanh")],
    ),
    "(5,)": ((5,), lambda: [lk.Flatten(), lk.Dense(6, "relu")]),
}


def _assert_trained_away_from_the_initial_state(net):
    for layer in net.layers:
        if isinstance(layer, lk.BatchNormalization):
            assert not np.allclose(layer.state["moving_mean"], 0.0)
            assert not np.allclose(layer.state["moving_variance"], 1.0)
            if layer.scale:
                assert not np.allclose(layer.params["gamma"], 1.0)
            if layer.center:
                assert not np.allclose(layer.params["beta"], 0.0)


@pytest.mark.parametrize("opset", [MIN_OPSET, DEFAULT_OPSET])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(BATCH_NORMALIZED))
def test_batch_normalization_with_running_statistics_matches_predict(case, dtype, opset):
    net = _trained([*BATCH_NORMALIZED[case](), lk.Dense(3, "softmax")], "cce", dtype, epochs=4)
    _assert_trained_away_from_the_initial_state(net)
    assert _largest_difference(net, opset=opset) <= TOLERANCE


@pytest.mark.parametrize("opset", [MIN_OPSET, DEFAULT_OPSET])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(FLATTENED))
def test_flatten_of_image_inputs_matches_predict(case, dtype, opset):
    input_shape, layers = FLATTENED[case]
    net = _trained([*layers(), lk.Dense(3, "softmax")], "cce", dtype, input_shape=input_shape)
    _assert_trained_away_from_the_initial_state(net)
    model = to_onnx(net, opset=opset)
    (inp,) = model.graph.input
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == [
        "batch",
        *input_shape,
    ]
    assert _largest_difference(net, opset=opset) <= TOLERANCE


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_normalization_stays_exact_when_a_mean_dwarfs_its_spread(dtype):
    # x s + t, the folded form, loses ~1e-4 here in float32; predict's order does not
    net = lk.Network(
        [lk.Input(3), lk.BatchNormalization(momentum=0.0), lk.Dense(2)], "mse", seed=0, dtype=dtype
    )
    X = np.random.default_rng(0).normal(1000.0, 1.0, size=(256, 3))
    net.train(X, np.zeros((256, 2)), epochs=1, batch_size=256, learning_rate=1e-9, verbose=0)
    assert np.allclose(net.layers[1].state["moving_mean"], 1000.0, atol=0.2)
    assert _largest_difference(net, scale=1.0, offset=1000.0) <= TOLERANCE


def test_batch_normalization_and_flatten_become_these_operators():
    net = lk.Network(
        [lk.Input((2, 3)), lk.Flatten(), lk.BatchNormalization(), lk.Dense(2, "softmax")], seed=0
    )
    ops = [node.op_type for node in to_onnx(net).graph.node]
    assert ops == ["Flatten", "Sub", "Mul", "Mul", "Add", "Gemm", "Softmax"]
    assert {"BatchNormalization", "Flatten"} <= set(exportable_layers())


def test_float64_elu_and_leaky_relu_use_operators_onnxruntime_runs_in_float64():
    net = lk.Network(
        [lk.Input(3), lk.Dense(4, "elu"), lk.Dense(2, "leaky_relu")], "mse", seed=0, dtype="float64"
    )
    ops = {node.op_type for node in to_onnx(net).graph.node}
    assert "Elu" not in ops and "LeakyRelu" not in ops
    assert _largest_difference(net, scale=10.0) <= 1e-12


def test_float32_model_uses_the_native_operators():
    net = lk.Network([lk.Input(3), lk.Dense(4, "elu"), lk.Dense(2, "leaky_relu")], "mse", seed=0)
    ops = [node.op_type for node in to_onnx(net).graph.node]
    assert ops == ["Gemm", "Elu", "Gemm", "LeakyRelu"]


def test_model_written_to_path_has_named_free_batch_input_and_output(tmp_path):
    net = _trained([lk.Dense(6, "relu"), lk.Dense(3, "softmax")], "cce", "float32")
    path = tmp_path / "sub" / "model.onnx"
    to_onnx(net, path)
    model = onnx.load(str(path))
    (inp,), (out,) = model.graph.input, model.graph.output
    assert inp.name == "input" and out.name == "output"
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["batch", 5]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", 3]
    assert {p.key: p.value for p in model.metadata_props}["loss"] == "categorical_crossentropy"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"input": X})[0], net.predict(X), atol=1e-6)


def test_network_of_only_dropout_is_an_identity_model():
    net = lk.Network([lk.Input(3), lk.Dropout(0.5)], "mse", seed=0)
    assert _largest_difference(net) == 0.0


def test_custom_names_for_input_and_output():
    net = lk.Network([lk.Input(2), lk.Dense(2)], "mse", seed=0)
    model = to_onnx(net, input_name="pixels", output_name="scores")
    assert model.graph.input[0].name == "pixels" and model.graph.output[0].name == "scores"


def test_tsin_is_refused_with_its_reason(tmp_path):
    net = lk.Network([lk.Input(2), lk.Dense(3, "tsin"), lk.Dense(2, "softmax")], seed=0)
    path = tmp_path / "m.onnx"
    with pytest.raises(lk.LayerkitValueError, match=r"tsin.*implicit equation"):
        to_onnx(net, path)
    assert not path.exists()


def test_user_activation_is_refused_by_name():
    name = "cube_for_export_test"
    lk.register_activation(name, lambda z: z**3, lambda z: 3 * z**2, overwrite=True)
    net = lk.Network([lk.Input(2), lk.Dense(3, name), lk.Dense(2, "softmax")], seed=0)
    with pytest.raises(lk.LayerkitValueError, match=f"activation '{name}'"):
        to_onnx(net)


def test_unknown_layer_class_is_refused_by_name():
    class Twice(lk.Layer):
        def forward(self, x, training=False):
            return 2 * x

        def backward(self, grad_out):
            return 2 * grad_out

    net = lk.Network([lk.Input(2), Twice(name="twice"), lk.Dense(2, "softmax")], seed=0)
    with pytest.raises(lk.LayerkitValueError, match="layer 'twice' of class Twice") as info:
        to_onnx(net)
    for name in exportable_layers():
        assert name in str(info.value)


@pytest.mark.parametrize("opset", [MIN_OPSET - 1, 10_000, 17.0, True])
def test_bad_opset_is_named(opset):
    net = lk.Network([lk.Input(2), lk.Dense(2)], "mse", seed=0)
    with pytest.raises(lk.LayerkitValueError, match="opset must be an int from 11"):
        to_onnx(net, opset=opset)


def test_non_network_is_refused():
    with pytest.raises(lk.LayerkitTypeError, match="expects a layerkit Network"):
        to_onnx("model.npz")


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    net = lk.Network([lk.Input(2), lk.Dense(2)], "mse", seed=0)
    with pytest.raises(ImportError, match=r"layerkit\[onnx\]"):
        to_onnx(net)


def test_import_layerkit_does_not_import_onnx():
    code = "import sys, layerkit, layerkit.export; sys.exit('onnx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_layerkit_export_is_reachable_as_an_attribute_of_layerkit():
    assert lk.export.to_onnx is to_onnx
