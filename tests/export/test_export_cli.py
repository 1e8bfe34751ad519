"""``layerkit export model.npz model.onnx``."""

from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

import layerkit as lk  # noqa: E402
from layerkit.cli import main  # noqa: E402


def test_export_writes_a_model_that_runs_like_predict(tmp_path, capsys):
    net = lk.Network([lk.Input(4), lk.Dense(5, "elu"), lk.Dense(3, "softmax")], seed=0)
    lk.save(net, tmp_path / "model.npz")
    status = main(["export", str(tmp_path / "model.npz"), str(tmp_path / "model.onnx")])
    assert status == 0
    assert "opset 17" in capsys.readouterr().out
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"input": X})[0], net.predict(X), atol=1e-6)


def test_export_takes_an_opset(tmp_path):
    onnx = pytest.importorskip("onnx")
    net = lk.Network([lk.Input(2), lk.Dense(2)], "mse", seed=0)
    lk.save(net, tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), str(tmp_path / "m.onnx"), "--opset", "13"]) == 0
    assert onnx.load(str(tmp_path / "m.onnx")).opset_import[0].version == 13


def test_export_of_a_tsin_model_fails_with_a_one_line_error(tmp_path, capsys):
    net = lk.Network([lk.Input(2), lk.Dense(2, "tsin"), lk.Dense(2, "softmax")], seed=0)
    lk.save(net, tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), str(tmp_path / "m.onnx")]) == 2
    assert "tsin" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def test_export_of_a_missing_file_fails_with_status_2(tmp_path, capsys):
    assert main(["export", str(tmp_path / "none.npz"), str(tmp_path / "m.onnx")]) == 2
    assert "none.npz" in capsys.readouterr().err


def test_export_probabilities_ends_a_logits_model_with_softmax(tmp_path):
    onnx = pytest.importorskip("onnx")
    from layerkit.losses import CategoricalCrossentropy

    net = lk.Network([lk.Input(2), lk.Dense(3)], CategoricalCrossentropy(from_logits=True))
    lk.save(net, tmp_path / "m.npz")
    out = str(tmp_path / "m.onnx")
    assert main(["export", str(tmp_path / "m.npz"), out, "--probabilities"]) == 0
    assert onnx.load(out).graph.node[-1].op_type == "Softmax"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_export_of_a_trained_flatten_and_batch_normalization_model_runs_like_predict(
    tmp_path, dtype
):
    net = lk.Network(
        [
            lk.Input((4, 4, 3)),
            lk.Flatten(),
            lk.BatchNormalization(momentum=0.5),
            lk.Dense(6, "relu"),
            lk.BatchNormalization(momentum=0.5),
            lk.Dense(3, "softmax"),
        ],
        seed=0,
        dtype=dtype,
    )
    rng = np.random.default_rng(0)
    X = rng.normal(2.0, 3.0, size=(64, 4, 4, 3))
    net.train(X, rng.integers(0, 3, 64), epochs=3, batch_size=16, optimizer="adam", verbose=0)
    lk.save(net, tmp_path / "model.npz")
    assert main(["export", str(tmp_path / "model.npz"), str(tmp_path / "model.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    X_test = rng.normal(2.0, 3.0, size=(50, 4, 4, 3)).astype(dtype)
    (out,) = session.run(None, {"input": X_test})
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out, net.predict(X_test), rtol=0, atol=1e-5)
