"""The ``layerkit`` command: demo, train, evaluate, experiments, and its errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import layerkit as lk
from layerkit import cli
from layerkit.cli import main, print_confusion, stop_message

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, cwd: Path | None = None, prelude: str = "") -> subprocess.CompletedProcess:
    """``python -m layerkit ARGS`` (after ``prelude``) in a fresh interpreter."""
    code = prelude + "\nimport sys\nfrom layerkit.cli import main\nsys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LAYERKIT_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, env=env
    )


def _accuracy(text: str, label: str) -> float:
    return float(re.search(rf"{label}.*?accuracy (\d+\.\d+)%", text).group(1)) / 100


def _matrix(text: str) -> np.ndarray:
    lines = text.split("columns: predicted class)")[1].strip().splitlines()[1:]
    rows = [line for line in lines if re.match(r"^\d", line)]
    # the counts are the last k fields of each row, whatever the class names
    k = len(rows)
    return np.array([[int(v) for v in line.split()[-k:]] for line in rows])


# ---------------------------------------------------------------------------- demo
def test_demo_trains_on_the_bundled_digits_and_prints_accuracy_and_confusion_matrix(capsys):
    assert main(["demo", "--epochs", "15"]) == 0
    out = capsys.readouterr().out
    accuracy = _accuracy(out, "test")
    assert accuracy > 0.9
    counts = _matrix(out)
    assert counts.shape == (10, 10)
    assert counts.sum() == len(lk.datasets.load_digits().y_test)
    assert np.trace(counts) / counts.sum() == pytest.approx(accuracy, abs=1e-3)


def test_demo_with_zero_epochs_says_no_epoch_ran(capsys):
    assert main(["demo", "--epochs", "0"]) == 0
    out = capsys.readouterr().out
    stopped = out.split("stopped: ")[1]
    assert stopped.startswith("no epoch was run")
    assert "None" not in stopped


# ---------------------------------------------------------------------------- train, evaluate
def test_train_with_no_flags_reaches_95_percent_on_digits(tmp_path, capsys):
    # --out keeps the run out of the working folder; --verbose only changes what is printed
    assert main(["train", "--out", str(tmp_path / "run"), "--verbose", "0"]) == 0
    assert _accuracy(capsys.readouterr().out, "test ") >= 0.95


def test_train_saves_model_history_and_plots_that_evaluate_reads_back_without_flags(
    tmp_path, capsys
):
    out = tmp_path / "run"
    argv = ["train", "--layers", "32", "--epochs", "5", "--out", str(out), "--verbose", "0"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "stopped: ran all 5 epochs" in printed
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == [1, 2, 3, 4, 5]
    assert len(history["val_cost"]) == 5
    for name in ("learning_curves.png", "confusion_matrix.png", "misclassifications.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    net = lk.load(out / "model.npz")
    assert net.metadata["dataset"]["name"] == "digits"
    assert net.metadata["command"] == "layerkit " + " ".join(argv)
    assert main(["evaluate", str(out / "model.npz")]) == 0  # no --dataset: it is recorded
    printed = capsys.readouterr().out
    data = lk.datasets.load_digits()
    _, accuracy = net.evaluate(data.X_test, data.y_test)
    assert f"accuracy {accuracy:.2%}" in printed
    assert printed.startswith("digits test split")


def test_the_scaler_is_recorded_and_evaluate_applies_it(tmp_path, capsys):
    out = tmp_path / "scaled"
    argv = ["train", "--scale", "standard", "--epochs", "3", "--out", str(out), "--verbose", "0"]
    assert main(argv) == 0
    trained_line = [ln for ln in capsys.readouterr().out.splitlines() if "test " in ln][-1]
    record = lk.load(out / "model.npz").metadata["preprocessing"]
    assert record["config"]["class"] == "StandardScaler"
    data = lk.datasets.load_digits()
    np.testing.assert_allclose(record["state"]["mean_"], data.X_train.mean(axis=0), atol=1e-6)
    assert main(["evaluate", str(out / "model.npz")]) == 0
    evaluated = capsys.readouterr().out
    # the same test accuracy as train printed: the same scaling was applied
    assert f"accuracy {_accuracy(trained_line, 'test'):.2%}" in evaluated


def test_train_with_mse_and_early_stopping_on_a_synthetic_set(tmp_path, capsys):
    out = tmp_path / "moons"
    argv = ["train", "--dataset", "moons", "--layers", "8", "--activation", "tanh"]
    argv += ["--loss", "mse", "--optimizer", "adam", "--learning-rate", "0.01", "--epochs", "30"]
    argv += ["--early-stopping", "3", "--out", str(out), "--verbose", "0"]
    assert main(argv) == 0
    assert "stopped: " in capsys.readouterr().out
    assert (out / "decision_boundary.png").exists()
    net = lk.load(out / "model.npz")
    assert net.loss_fn.name == "mse"
    assert main(["evaluate", str(out / "model.npz")]) == 0
    assert capsys.readouterr().out.startswith("moons test split")


@pytest.mark.data
def test_a_fashion_mnist_model_is_evaluated_with_no_dataset_flag(tmp_path, capsys):
    try:
        lk.datasets.load_mnist_family("fashion-mnist", download=False)
    except FileNotFoundError as exc:
        if os.environ.get("LAYERKIT_REQUIRE_DATA"):
            pytest.fail(f"Fashion-MNIST is not installed but LAYERKIT_REQUIRE_DATA is set: {exc}")
        pytest.skip("Fashion-MNIST is not installed (apt install dataset-fashion-mnist)")
    out = tmp_path / "fashion"
    argv = ["train", "--dataset", "fashion-mnist", "--layers", "16", "--epochs", "1"]
    assert main([*argv, "--out", str(out), "--verbose", "0"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.npz")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("fashion-mnist test split")
    assert "9 Ankle boot" in printed
    assert _matrix(printed).sum() == 10_000


def test_files_are_written_with_the_users_umask(tmp_path, capsys):
    previous = os.umask(0o027)
    try:
        assert main(["train", "--epochs", "1", "--out", str(tmp_path / "r"), "--verbose", "0"]) == 0
    finally:
        os.umask(previous)
    for name in ("model.npz", "history.json", "learning_curves.png"):
        assert (tmp_path / "r" / name).stat().st_mode & 0o777 == 0o640, name


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--epochs", "-1"], "--epochs must be >= 0"),
        (["--learning-rate", "-0.5"], "--learning-rate must be > 0"),
        (["--learning-rate", "nan"], "--learning-rate must be > 0"),
        (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
        (["--activation", "nope"], "unknown activation 'nope'"),
        (["--loss", "nope"], "unknown loss 'nope'"),
        (["--layers", "2x"], "--layers must be comma-separated"),
        (
            ["--momentum", "0.9", "--optimizer", "adam"],
            "--momentum applies only to --optimizer sgd",
        ),
        (["--momentum", "1.0"], "--momentum must be in [0, 1)"),
        (["--dataset", "fashion-mnist", "--data-path", "/nonexistent"], "no such folder"),
        (["--data-path", "/tmp"], "--data-path applies to fashion-mnist"),
        (["--early-stopping", "3", "--validation-split", "0"], "needs validation data"),
        (["--loss", "binary_crossentropy"], "needs a two-class dataset"),
    ],
)
def test_bad_flags_exit_2_with_one_line_before_any_training(
    argv, fragment, tmp_path, capsys, monkeypatch
):
    def no_training(*args, **kwargs):
        raise AssertionError("training started despite a bad flag")

    monkeypatch.setattr(lk.Network, "train", no_training)
    out = tmp_path / "never"
    assert main(["train", *argv, "--out", str(out), "--verbose", "0"]) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert err.count("\n") == 1 and err.startswith("layerkit train: error: ")
    assert not out.exists()


def test_out_naming_a_file_or_a_finished_run_is_refused_before_training(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    assert main(["train", "--out", str(afile)]) == 2
    assert "is an existing file" in capsys.readouterr().err
    assert main(["train", "--out", str(afile / "sub")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert afile.read_text() == "keep me"
    run = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(run), "--verbose", "0"]) == 0
    before = (run / "model.npz").read_bytes()
    assert main(["train", "--epochs", "2", "--out", str(run), "--verbose", "0"]) == 2
    assert "already holds a model.npz" in capsys.readouterr().err
    assert (run / "model.npz").read_bytes() == before
    argv = ["train", "--epochs", "2", "--out", str(run), "--overwrite", "--verbose", "0"]
    assert main(argv) == 0


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for default in ("(default: digits)", "(default: 30)", "(default: 64)", "(default: sgd)"):
        assert default in text
    assert "0.05 for sgd" in text and "(default: None)" not in text


def test_unknown_choice_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--dataset", "imagenet"])
    assert exc.value.code == 2
    assert "imagenet" in capsys.readouterr().err


def test_library_errors_exit_2_in_one_line_and_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_text("not a model")
    for target in (str(bad), str(tmp_path / "missing.npz")):
        result = _run("evaluate", target)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("layerkit evaluate: error: ")
    result = _run("--debug", "evaluate", str(bad))
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    result = _run("evaluate", str(bad), "--debug")  # after the subcommand too
    assert "Traceback (most recent call last)" in result.stderr


def test_a_reader_that_closes_the_pipe_early_gets_no_error_message():
    # `layerkit demo | head -0`: the reader is gone (closed before the command even
    # started writing), which is no error to report
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-m', 'layerkit', 'demo', '--epochs', '1'],"
        " stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
        "p.stdout.close()\n"
        "err = p.stderr.read().decode()\n"
        "print(p.wait(), 'Traceback' in err, 'error' in err, 'Exception ignored' in err)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.split() == ["141", "False", "False", "False"]


def test_python_dash_m_layerkit_runs_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "layerkit", "--version"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.strip() == f"layerkit {lk.__version__}"


# ---------------------------------------------------------------------------- subcommands
def test_a_subcommand_registers_with_one_line_and_its_errors_are_mapped(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "fh_plugin_cli.py").write_text(
        textwrap.dedent(
            """
            import layerkit as lk
            from layerkit.cli import HelpFormatter

            def add_parser(subparsers):
                p = subparsers.add_parser("hello", help="say hello", formatter_class=HelpFormatter)
                p.add_argument("--fail", default="no", help="how to fail")

            def run(args):
                if args.fail == "value":
                    raise lk.LayerkitValueError("bad --fail value\\non two lines")
                if args.fail == "bug":
                    raise KeyError("a bug keeps its traceback")
                print("hello")
                return 0
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "SUBCOMMANDS", ("fh_plugin_cli",))
    assert main(["hello"]) == 0
    assert capsys.readouterr().out == "hello\n"
    assert main(["hello", "--fail", "value"]) == 2
    assert capsys.readouterr().err == "layerkit hello: error: bad --fail value on two lines\n"
    with pytest.raises(KeyError):
        main(["hello", "--fail", "bug"])
    with pytest.raises(SystemExit):
        main(["hello", "--help"])
    assert "(default: no)" in capsys.readouterr().out


# ---------------------------------------------------------------------------- --import
_LAYER_MODULE = """
import numpy as np
import layerkit as lk

@lk.register_layer
class Scale(lk.Layer):
    def build(self, input_shape):
        self.add_param("s", np.ones(input_shape))

    def forward(self, x, training=False):
        self._x = x
        return x * self.params["s"]

    def backward(self, grad_out):
        self.grads["s"][...] = (grad_out * self._x).sum(axis=0)
        return grad_out * self.params["s"]
"""


def test_import_registers_user_layers_for_evaluate(tmp_path):
    (tmp_path / "my_layers.py").write_text(_LAYER_MODULE)
    save = """
import sys; sys.path.insert(0, '.')
import layerkit as lk, my_layers
d = lk.datasets.load_digits()
net = lk.Network([lk.Input(64), my_layers.Scale(), lk.Dense(10, 'softmax')], seed=0)
net.train(d.X_train, d.y_train, epochs=2, verbose=0)
net.metadata = {'dataset': {'name': 'digits'}}
net.save('model.npz')
"""
    subprocess.run(
        [sys.executable, "-c", save],
        cwd=tmp_path,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    without = _run("evaluate", "model.npz", cwd=tmp_path)
    assert without.returncode == 2
    assert "--import MODULE" in without.stderr and without.stderr.count("\n") == 1
    by_name = _run("evaluate", "model.npz", "--import", "my_layers", cwd=tmp_path)
    assert by_name.returncode == 0, by_name.stderr
    assert "digits test split" in by_name.stdout
    # a path to the file, from another working folder
    by_path = _run(
        "evaluate", str(tmp_path / "model.npz"), "--import", str(tmp_path / "my_layers.py")
    )
    assert by_path.returncode == 0, by_path.stderr
    missing = _run("evaluate", "model.npz", "--import", "no_such_module", cwd=tmp_path)
    assert missing.returncode == 2 and "no module named 'no_such_module'" in missing.stderr


# ---------------------------------------------------------------------------- no matplotlib
_NO_MATPLOTLIB = """
import importlib.abc, sys

class _Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Blocked())
"""


def test_without_matplotlib_experiments_still_list_and_running_one_names_the_extra(tmp_path):
    listing = _run("experiments", prelude=_NO_MATPLOTLIB)
    assert listing.returncode == 0, listing.stderr
    from layerkit.experiments import EXPERIMENTS

    for name in EXPERIMENTS:
        assert name in listing.stdout
    assert 'pip install "layerkit[plots]"' in listing.stdout
    running = _run("experiments", "errors", "--out", str(tmp_path / "e"), prelude=_NO_MATPLOTLIB)
    assert running.returncode == 2
    assert 'pip install "layerkit[plots]"' in running.stderr
    assert running.stderr.count("\n") == 1 and not (tmp_path / "e").exists()


def test_without_matplotlib_train_saves_the_model_and_says_which_extra_adds_figures(tmp_path):
    out = tmp_path / "r"
    result = _run(
        "train", "--epochs", "1", "--out", str(out), "--verbose", "0", prelude=_NO_MATPLOTLIB
    )
    assert result.returncode == 0, result.stderr
    assert (
        'figures skipped: they need matplotlib, the plots extra: pip install "layerkit[plots]"'
        in result.stdout
    )
    assert (out / "model.npz").exists() and not list(out.glob("*.png"))


# ---------------------------------------------------------------------------- output
def test_confusion_matrix_stays_aligned_for_long_class_names(capsys):
    names = ["T-shirt/top", "Trouser", "A very long class name indeed", "x"]
    y_true = np.array([0, 1, 2, 3, 2, 2])
    y_pred = np.array([0, 1, 2, 3, 0, 1])
    print_confusion(y_true, y_pred, names)
    lines = capsys.readouterr().out.strip().splitlines()
    header, rows = lines[1], lines[2:]
    assert header.split() == ["0", "1", "2", "3"]
    assert [row.split()[1] for row in rows] == ["T-shirt/top", "Trouser", "A", "x"]
    assert len({len(line) for line in [header, *rows]}) == 1  # one column grid
    for name, row in zip(names, rows, strict=True):
        assert name in row  # full names, never cut
    np.testing.assert_array_equal(
        _matrix("columns: predicted class)\n" + "\n".join(lines[1:])),
        lk.confusion_matrix(y_true, y_pred, n_classes=4),
    )


class _StopAfter(lk.Callback):
    def __init__(self, epoch, exc=None):
        self.epoch, self.exc = epoch, exc

    def on_epoch_end(self, network, epoch, logs):
        if epoch == self.epoch:
            if self.exc is not None:
                raise self.exc
            network.stop_training = True


def _history(*, diverge=False, **train_kwargs):
    data = lk.datasets.load_digits()
    kwargs = {"epochs": 4, "verbose": 0, "validation_split": 0.2, **train_kwargs}
    if diverge:  # a linear regression on large inputs with a huge step: the cost overflows
        net = lk.Network([lk.Input(64), lk.Dense(1, "identity")], loss="mse", seed=0)
        y = data.y_train.astype(float)
        return net.train(data.X_train * 100, y, learning_rate=10.0, **kwargs)
    net = lk.Network([lk.Input(64), lk.Dense(16, "relu"), lk.Dense(10, "softmax")], seed=0)
    return net.train(data.X_train, data.y_train, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "ran all 4 epochs; the model holds the weights of the last epoch"),
        ({"epochs": 0}, "no epoch was run (epochs=0)"),
        ({"callbacks": [_StopAfter(2)]}, "a callback stopped training after epoch 2"),
        ({"callbacks": [_StopAfter(2, KeyboardInterrupt())]}, "interrupted (Ctrl-C)"),
        ({"early_stopping": lk.Patience(1), "epochs": 60, "learning_rate": 2.0}, "early stopping"),
        ({"diverge": True}, "diverged in epoch 1: the training cost became non-finite"),
    ],
)
def test_every_way_a_run_ends_has_a_stop_message(kwargs, expected):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = _history(**kwargs)
    message = stop_message(history, kwargs.get("epochs", 4))
    assert expected in message
    assert "None" not in message
