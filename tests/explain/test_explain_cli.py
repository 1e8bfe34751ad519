"""``layerkit explain`` on the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

import layerkit as lk
from layerkit.cli import main


def test_explain_a_small_spec_prints_the_worked_example(capsys):
    code = main(
        [
            *("explain", "--layers", "3,2,1", "--activation", "sigmoid", "--seed", "0"),
            *("--x", "0.7,0.1,0.4", "--y", "1", "--learning-rate", "0.5"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    net = lk.Network(
        [
            lk.Input(3, name="input"),
            lk.Dense(2, "sigmoid", name="dense_1"),
            lk.Dense(1, "sigmoid", name="dense_2"),
        ],
        loss="sum_of_squares",
        seed=0,
        dtype="float64",
    )
    expected = lk.explain(net, [0.7, 0.1, 0.4], [1.0], learning_rate=0.5)
    assert out == expected.to_text()
    assert "Update (gradient descent, learning rate 0.5)" in out


def test_explain_a_saved_model_as_json_in_layerkit_notation(tmp_path, capsys):
    net = lk.Network([lk.Input(2), lk.Dense(3, "tanh"), lk.Dense(2, "softmax")], seed=1)
    path = tmp_path / "model.npz"
    net.save(path)
    code = main(
        [
            *("explain", str(path), "--x", "0.5,-0.5;0.1,0.2", "--y", "1;0"),
            *("--format", "json", "--notation", "layerkit"),
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["notation"] == "layerkit" and data["n_samples"] == 2 and data["fused"]
    np.testing.assert_array_equal(data["y"], [[0.0, 1.0], [1.0, 0.0]])
    trace = lk.explain(net, [[0.5, -0.5], [0.1, 0.2]], [1, 0])
    assert data["cost"] == pytest.approx(trace.cost, rel=1e-12)


def test_explain_writes_markdown(capsys):
    assert (
        main(["explain", "--layers", "2,1", "--x", "1,0", "--y", "0", "--format", "markdown"]) == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("## Worked example") and "\\begin{bmatrix}" in out


def test_explain_writes_an_exercise_and_its_answers(capsys):
    assert main(["explain", "--exercise", "--seed", "3"]) == 0
    questions = capsys.readouterr().out
    assert main(["explain", "--exercise", "--seed", "3", "--answers"]) == 0
    answers = capsys.readouterr().out
    sheet = lk.exercise_sheet(seed=3, format="text")
    assert (questions, answers) == (sheet.questions, sheet.answers)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--layers", "3,1", "--x", "0.7,a,0.4", "--y", "1"], "--x must be comma-separated"),
        (["--layers", "3,1", "--x", "0.7,0.1", "--y", "1"], "x must have shape"),
        (["--layers", "3,1", "--y", "1"], "needs an input --x and a target --y"),
        (["--x", "0.7", "--y", "1"], "needs a model file or --layers"),
        (["--layers", "3", "--x", "0.7", "--y", "1"], "at least two positive widths"),
        (["--layers", "3,1", "--x", "1,2,3;4,5", "--y", "1"], "same number of values"),
        (["--exercise", "--format", "json"], "--exercise writes text or markdown"),
        (["missing.npz", "--x", "1", "--y", "1"], "missing.npz"),
    ],
)
def test_bad_explain_arguments_exit_2_with_a_message(argv, words, capsys):
    assert main(["explain", *argv]) == 2
    assert words in capsys.readouterr().err
