"""The ``layerkit`` command: demo, train, evaluate, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import layerkit as lk
from layerkit.cli import main


def test_demo_trains_on_the_bundled_digits_and_prints_accuracy_and_confusion_matrix(capsys):
    assert main(["demo", "--epochs", "15"]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy ")[1].split("%")[0]) / 100
    assert accuracy > 0.9
    matrix_lines = out.split("columns: predicted)")[1].strip().splitlines()[1:]
    counts = np.array([[int(v) for v in line.split()[1:]] for line in matrix_lines])
    assert counts.shape == (10, 10)
    data = lk.datasets.load_digits()
    assert counts.sum() == len(data.y_test)
    assert np.trace(counts) / counts.sum() == pytest.approx(accuracy, abs=1e-3)


def test_train_saves_a_model_history_and_plots_that_evaluate_reads_back(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            "digits",
            "--layers",
            "32",
            "--epochs",
            "5",
            "--learning-rate",
            "0.1",
            "--batch-size",
            "32",
            "--out",
            str(out),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "test" in printed and "accuracy" in printed
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == [1, 2, 3, 4, 5]
    assert len(history["val_cost"]) == 5
    for name in ("learning_curves.png", "confusion_matrix.png", "misclassifications.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    net = lk.load(out / "model.npz")
    data = lk.datasets.load_digits()
    assert main(["evaluate", str(out / "model.npz"), "--dataset", "digits"]) == 0
    printed = capsys.readouterr().out
    _, accuracy = net.evaluate(data.X_test, data.y_test)
    assert f"test accuracy {accuracy:.2%}" in printed


def test_train_with_mse_and_early_stopping_on_a_synthetic_set(tmp_path, capsys):
    out = tmp_path / "moons"
    code = main(
        [
            "train",
            "--dataset",
            "moons",
            "--layers",
            "8",
            "--activation",
            "tanh",
            "--loss",
            "mse",
            "--optimizer",
            "adam",
            "--learning-rate",
            "0.01",
            "--epochs",
            "30",
            "--early-stopping",
            "3",
            "--out",
            str(out),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    assert (out / "decision_boundary.png").exists()
    assert lk.load(out / "model.npz").loss_fn.name == "mse"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--epochs", "-1", "--verbose", "0"], "epochs"),
        (["train", "--learning-rate", "-0.5", "--verbose", "0"], "learning_rate"),
        (["train", "--dropout", "1.5", "--verbose", "0"], "--dropout"),
        (["train", "--activation", "nope", "--verbose", "0"], "unknown activation"),
        (["evaluate", "/nonexistent/model.npz"], "no model file"),
    ],
)
def test_bad_arguments_exit_with_code_2_and_name_the_problem(argv, fragment, capsys, tmp_path):
    argv = [*argv, "--out", str(tmp_path / "x")] if argv[0] == "train" else argv
    assert main(argv) == 2
    assert fragment in capsys.readouterr().err


def test_unknown_choice_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--dataset", "imagenet"])
    assert exc.value.code == 2
    assert "imagenet" in capsys.readouterr().err


def test_python_dash_m_layerkit_runs_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "layerkit", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"layerkit {lk.__version__}"
