"""``layerkit sweep SPEC.toml`` and ``layerkit experiments lr-batch-grid --jobs``."""

import json
import textwrap

import pytest

from layerkit.cli import main

SPEC = """
[data]
dataset = "moons"
n_train = 200
validation = 0.25

[model]
hidden = [6]
activation = "tanh"

[grid]
learning_rate = [0.05, 0.5]
batch_size = [16, 64]

[train]
epochs = 3

[sweep]
seeds = [0, 1]
store = "{store}"
threads_per_worker = 1
"""


def write_spec(tmp_path, text=SPEC, **fields):
    path = tmp_path / "spec.toml"
    path.write_text(textwrap.dedent(text).format(store=tmp_path / "s.jsonl", **fields))
    return path


def test_sweep_command_runs_the_spec_prints_the_best_cells_and_fills_the_store(tmp_path, capsys):
    spec = write_spec(tmp_path)
    assert main(["sweep", str(spec), "--jobs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "learning_rate" in out and "mean score" in out and "best: {" in out
    records = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert len(records) == 2 * 2 * 2 and {r["status"] for r in records} == {"ok"}
    assert {r["threads"] for r in records} == {1}
    # run again, serially: nothing new is trained and the table is the same
    first_table = out.split("best:")[0]
    assert main(["sweep", str(spec), "--no-progress"]) == 0
    assert capsys.readouterr().out.split("best:")[0] == first_table
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 8


def test_sweep_command_with_cross_validation_and_mse_targets(tmp_path, capsys):
    text = SPEC.replace(
        'activation = "tanh"', 'activation = "sigmoid"\noutput = "sigmoid"\nloss = "mse"'
    )
    text = text.replace("seeds = [0, 1]", "seeds = [0]\ncv = 3")
    spec = write_spec(tmp_path, text)
    store = tmp_path / "cv.jsonl"
    assert main(["sweep", str(spec), "--no-progress", "--store", str(store), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 + 2 + 2  # header, two cells, best, store
    records = [json.loads(line) for line in store.read_text().splitlines()]
    assert sorted({r["fold"] for r in records}) == [0, 1, 2] and len(records) == 12
    assert all(r["metrics"]["val_accuracy"] is not None for r in records)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[grid]\nlr = [1]\n[modle]\nx = 1\n", "unknown table(s) modle"),
        ("[grid]\nlr = [1]\n[sweep]\njobs = 2\n", "unknown key(s) in [sweep]: jobs"),
        ("[grid]\n", "[grid] is empty"),
        ("[grid\n", "not valid TOML"),
        ("[grid]\nwidth = [1]\n[data]\ndataset = 'moons'\n", "'width' is neither a parameter"),
        ("[grid]\nlearning_rate = [1]\n[data]\ndataset = 'cifar'\n", "dataset must be one of"),
        ("[grid]\nlearning_rate = [1]\n[model]\nbuild = 'nowhere:f'\n", "cannot be imported"),
    ],
)
def test_bad_specs_exit_with_code_2_and_name_the_problem(tmp_path, capsys, text, fragment):
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    assert main(["sweep", str(spec), "--no-progress"]) == 2
    assert fragment in capsys.readouterr().err


def test_a_missing_spec_file_exits_with_code_2(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "none.toml")]) == 2
    assert "none.toml" in capsys.readouterr().err


def test_jobs_and_scheduler_are_refused_for_experiments_that_do_not_sweep(tmp_path, capsys):
    argv = ["experiments", "dropout", "--quick", "--jobs", "2", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "apply to lr-batch-grid only" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.data
def test_lr_batch_grid_runs_on_the_sweep_and_resumes_from_its_store(tmp_path, capsys):
    from layerkit.datasets import load_mnist_family
    from layerkit.datasets.mnist_family import DatasetNotFoundError

    try:
        load_mnist_family("fashion-mnist", download=False)
    except DatasetNotFoundError:
        pytest.skip("Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)")
    argv = ["experiments", "lr-batch-grid", "--quick", "--jobs", "2", "--out", str(tmp_path)]
    assert main(argv) == 0
    store = tmp_path / "sweep.jsonl"
    records = [json.loads(line) for line in store.read_text().splitlines()]
    assert len(records) == 3 * 3 + 2 and {r["status"] for r in records} == {"ok"}
    assert len({r["worker"] for r in records}) == 2
    report = (tmp_path / "report.md").read_text()
    assert "`layerkit.sweep` on 2 worker process(es)" in report
    stamp = store.stat().st_mtime_ns
    # again with the default workers: every cell is stored, nothing trains
    assert main([*argv[:-4], "--out", str(tmp_path)]) == 0
    assert store.stat().st_mtime_ns == stamp
    assert (tmp_path / "lr_batch_grid.png").read_bytes()[:4] == b"\x89PNG"
