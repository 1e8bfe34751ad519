"""lk.sweep in this process and on loky worker processes: tasks, results, the store,
restarts, failures and determinism across backends."""

import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import layerkit as lk
from layerkit.datasets import make_moons
from layerkit.sweep import expand_grid

ROOT = Path(__file__).resolve().parents[2]
BUILT: list[dict] = []


def build(hidden, seed):
    BUILT.append({"hidden": hidden, "seed": seed})
    return lk.Network([lk.Input(2), lk.Dense(hidden, "tanh"), lk.Dense(2, "softmax")], seed=seed)


def build_failing_at_3(hidden, seed):
    if hidden == 3:
        raise RuntimeError("no network with 3 hidden units today")
    return build(hidden, seed)


@pytest.fixture
def moons():
    BUILT.clear()
    return make_moons(120, seed=0)


def test_every_cell_fold_and_seed_is_one_task_in_task_order(moons):
    X, y = moons
    result = lk.sweep(
        build,
        {"hidden": [2, 4], "learning_rate": [0.1, 0.5]},
        X,
        y,
        cv=3,
        seeds=[0, 1],
        epochs=2,
        progress=False,
    )
    assert len(result) == 2 * 2 * 3 * 2
    got = [(r["cell"], r["fold"], r["seed"]) for r in result.records]
    assert got == [(c, f, s) for c in range(4) for f in range(3) for s in (0, 1)]
    assert len({r["key"] for r in result.records}) == len(result)
    assert all(r["status"] == "ok" for r in result.records)
    # hidden went to build, learning_rate to train (it is in the history)
    assert sorted({(b["hidden"], b["seed"]) for b in BUILT}) == [(2, 0), (2, 1), (4, 0), (4, 1)]
    for r in result.records:
        assert r["history"]["learning_rate"] == [r["params"]["learning_rate"]] * 2
        assert r["metrics"]["val_accuracy"] == r["score"]
        assert r["host"] and r["seconds"] > 0


def test_each_fold_task_is_scored_on_its_own_held_out_part(moons):
    X, y = moons
    folds = list(lk.kfold_indices(y, 3, seed=5))
    result = lk.sweep(build, {"hidden": [4]}, X, y, cv=folds, epochs=3, progress=False)
    for fold, record in enumerate(result.records):
        net = build(4, 0)
        train_idx, val_idx = folds[fold]
        net.train(X[train_idx], y[train_idx], X[val_idx], y[val_idx], epochs=3, verbose=0)
        assert record["metrics"]["val_cost"] == float(net.evaluate(X[val_idx], y[val_idx]).cost)


def test_summary_best_params_table_and_dataframe_agree(moons):
    X, y = moons
    X_val, y_val = make_moons(60, seed=1)
    result = lk.sweep(
        build,
        {"hidden": [2, 8], "learning_rate": [0.01, 1.0]},
        X,
        y,
        X_val=X_val,
        y_val=y_val,
        seeds=[0, 1],
        epochs=10,
        progress=False,
    )
    summary = result.summary()
    means = [np.mean([r["score"] for r in result.records if r["cell"] == c]) for c in range(4)]
    assert [row["mean_score"] for row in summary] == pytest.approx(means)
    best = int(np.argmax(means))
    assert result.best_params == result.cells[best]
    assert result.best_score == pytest.approx(means[best])
    rows = result.table()
    assert rows[0]["hidden"] == 2 and rows[0]["fold"] == 0 and "val_cost" in rows[0]
    pd = pytest.importorskip("pandas")
    frame = result.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 8
    assert frame.groupby("cell")["score"].mean().tolist() == pytest.approx(means)


def test_scoring_by_cost_picks_the_lowest_and_a_callable_the_highest(moons):
    X, y = moons
    grid = {"learning_rate": [0.001, 0.5]}
    by_cost = lk.sweep(
        functools.partial(build, 4), grid, X, y, scoring="cost", epochs=5, progress=False
    )
    costs = [r["metrics"]["val_cost"] for r in by_cost.records]
    assert [r["score"] for r in by_cost.records] == costs
    assert by_cost.best_params == expand_grid(grid)[int(np.argmin(costs))]

    def negative_cost(net, X, y):
        return -float(net.evaluate(X, y).cost)

    custom = lk.sweep(
        functools.partial(build, 4), grid, X, y, scoring=negative_cost, epochs=5, progress=False
    )
    assert [r["score"] for r in custom.records] == pytest.approx([-c for c in costs])
    assert custom.best_params == by_cost.best_params


def test_a_failing_task_is_recorded_with_its_traceback_and_the_sweep_goes_on(moons, tmp_path):
    X, y = moons
    result = lk.sweep(
        build_failing_at_3,
        {"hidden": [2, 3, 4]},
        X,
        y,
        cv=2,
        epochs=2,
        progress=False,
        store=tmp_path / "s.jsonl",
    )
    assert [r["status"] for r in result.records] == ["ok", "ok", "error", "error", "ok", "ok"]
    assert "no network with 3 hidden units today" in result.errors[0]["error"]
    assert "Traceback" in result.errors[0]["error"]
    assert np.isnan(result.summary()[1]["mean_score"])
    assert result.best_params in ({"hidden": 2}, {"hidden": 4})
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 6


def test_a_sweep_run_again_on_its_store_skips_the_finished_tasks(moons, tmp_path):
    X, y = moons
    store = tmp_path / "s.jsonl"
    first = lk.sweep(build, {"hidden": [2, 4]}, X, y, cv=2, epochs=2, progress=False, store=store)
    BUILT.clear()
    # one more cell: only its two folds train; the grid order changed too
    second = lk.sweep(
        build, {"hidden": [8, 4, 2]}, X, y, cv=2, epochs=2, progress=False, store=store
    )
    assert BUILT == [{"hidden": 8, "seed": 0}] * 2
    assert [r["cell"] for r in second.records] == [0, 0, 1, 1, 2, 2]
    by_key = {r["key"]: r["score"] for r in first.records}
    assert all(by_key[r["key"]] == r["score"] for r in second.records[2:])
    keys = [json.loads(line)["key"] for line in store.read_text().splitlines()]
    assert len(keys) == 6 == len(set(keys))


def test_a_different_setting_is_a_different_task_in_the_same_store(moons, tmp_path):
    X, y = moons
    store = tmp_path / "s.jsonl"
    lk.sweep(build, {"hidden": [2]}, X, y, epochs=1, progress=False, store=store)
    BUILT.clear()
    lk.sweep(build, {"hidden": [2]}, X, y, epochs=2, progress=False, store=store)
    assert len(BUILT) == 1  # epochs changed: not the stored task
    lk.sweep(build, {"hidden": [2]}, X[:-1], y[:-1], epochs=2, progress=False, store=store)
    assert len(BUILT) == 2  # the data changed


KILLED_SCRIPT = """
import sys, time
import layerkit as lk
from layerkit.datasets import make_moons
from layerkit.sweep import ResultStore

def build(hidden, seed):
    time.sleep(0.15)
    return lk.Network([lk.Input(2), lk.Dense(hidden, "tanh"), lk.Dense(2, "softmax")], seed=seed)

if __name__ == "__main__":
    X, y = make_moons(100, seed=0)
    before = len(ResultStore(sys.argv[1]))
    result = lk.sweep(build, {"hidden": [2, 3, 4, 5]}, X, y, cv=2, seeds=[0, 1], epochs=1,
                      progress=False, store=sys.argv[1])
    print(before, len(result))
"""


def test_a_killed_sweep_restarts_and_every_task_lands_in_the_store_exactly_once(tmp_path):
    script, store = tmp_path / "run.py", tmp_path / "s.jsonl"
    script.write_text(textwrap.dedent(KILLED_SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), str(store)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not (store.exists() and len(store.read_text().splitlines()) >= 3):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stored_at_kill = len(store.read_text().splitlines())
    assert 3 <= stored_at_kill < 16
    out = subprocess.run(
        [sys.executable, str(script), str(store)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert out == [str(stored_at_kill), "16"]
    records = [json.loads(line) for line in store.read_text().splitlines()]
    assert len(records) == 16 == len({r["key"] for r in records})
    assert all(r["status"] == "ok" for r in records)


def test_loky_workers_give_bitwise_the_serial_numbers_with_the_same_thread_count(moons):
    X, y = moons
    grid = {"hidden": [3, 6], "learning_rate": [0.1, 0.7]}
    kw = dict(cv=2, seeds=[0, 1], epochs=3, progress=False, threads_per_worker=1)
    serial = lk.sweep(build, grid, X, y, **kw)
    loky = lk.sweep(build, grid, X, y, n_jobs=2, **kw)
    assert [r["score"] for r in loky.records] == [r["score"] for r in serial.records]
    assert [r["history"]["train_cost"] for r in loky.records] == [
        r["history"]["train_cost"] for r in serial.records
    ]
    assert {r["threads"] for r in loky.records} == {1}
    assert len({r["worker"] for r in loky.records} - {r["worker"] for r in serial.records}) >= 1


def test_large_arrays_reach_loky_workers_through_a_shared_file_with_the_same_results():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6000, 64)).astype(np.float32)  # 1.5 MB: shared as a file
    y = (X[:, 0] > 0).astype(np.int64)
    build_wide = functools.partial(_wide, 64)
    kw = dict(epochs=1, progress=False, threads_per_worker=1, batch_size=256)
    serial = lk.sweep(build_wide, {"learning_rate": [0.1, 0.2]}, X, y, **kw)
    loky = lk.sweep(build_wide, {"learning_rate": [0.1, 0.2]}, X, y, n_jobs=2, **kw)
    assert [r["score"] for r in loky.records] == [r["score"] for r in serial.records]


def _wide(n_in, seed):
    return lk.Network([lk.Input(n_in), lk.Dense(8, "relu"), lk.Dense(2, "softmax")], seed=seed)


def test_a_lambda_build_runs_on_loky_workers(moons):
    X, y = moons
    result = lk.sweep(
        lambda seed: lk.Network([lk.Input(2), lk.Dense(2, "softmax")], seed=seed),
        {"learning_rate": [0.1, 0.5]},
        X,
        y,
        n_jobs=2,
        epochs=1,
        progress=False,
    )
    assert [r["status"] for r in result.records] == ["ok", "ok"]


def test_an_unpicklable_build_is_refused_before_any_worker_starts(moons):
    X, y = moons
    lock = threading.Lock()

    def build_with_lock(seed):
        with lock:
            return build(2, seed)

    with pytest.raises(lk.LayerkitTypeError, match="build must be picklable"):
        lk.sweep(build_with_lock, {"learning_rate": [0.1, 0.2]}, X, y, n_jobs=2, progress=False)
    # in this process it needs no pickling
    result = lk.sweep(build_with_lock, {"learning_rate": [0.1]}, X, y, progress=False)
    assert result.records[0]["status"] == "ok"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"grid": {"widht": [2]}}, lk.LayerkitValueError, "'widht' is neither a parameter"),
        ({"grid": {"seed": [2]}}, lk.LayerkitValueError, "seeds=\\[...\\]"),
        ({"cv": 2, "X_val": "same"}, lk.LayerkitValueError, "either cv="),
        ({"X_val": "short y_val"}, lk.LayerkitValueError, "^X_val and y_val must have the same"),
        ({"y": "short"}, lk.LayerkitValueError, "^X and y must have the same number of samples"),
        ({"n_jobs": 0}, lk.LayerkitValueError, "n_jobs must be >= 1"),
        ({"backend": "threads"}, lk.LayerkitValueError, "backend must be 'loky' or 'dask'"),
        ({"client": "tcp://x:1", "backend": "loky"}, lk.LayerkitValueError, "client= is for"),
        ({"scoring": "f1"}, lk.LayerkitValueError, "scoring must be"),
        ({"threads_per_worker": 0}, lk.LayerkitValueError, "threads_per_worker"),
        ({"seeds": [0, 0]}, lk.LayerkitValueError, "distinct"),
        ({"epoch": 3}, lk.LayerkitValueError, "unknown train\\(\\) arguments epoch"),
        ({"grid": {"hidden": [2, 2]}}, lk.LayerkitValueError, "twice"),
        ({"build": 3}, lk.LayerkitTypeError, "build must be a callable"),
    ],
)
def test_bad_arguments_are_refused_with_a_message_naming_them(moons, kwargs, error, message):
    X, y = moons
    args = {"build": build, "grid": {"hidden": [2]}, **kwargs}
    if args.get("X_val") == "same":
        args["X_val"], args["y_val"] = X, y
    elif args.get("X_val") == "short y_val":
        args["X_val"], args["y_val"] = X, y[:-1]
    if args.pop("y", None) == "short":
        y = y[:-1]
    with pytest.raises(error, match=message):
        lk.sweep(args.pop("build"), args.pop("grid"), X, y, progress=False, **args)
    assert BUILT == []


def test_several_seeds_need_a_build_that_takes_a_seed(moons):
    X, y = moons
    with pytest.raises(lk.LayerkitValueError, match="no 'seed' parameter"):
        lk.sweep(lambda: build(2, 0), {"learning_rate": [0.1]}, X, y, seeds=[0, 1])


def test_dask_backend_without_a_client_says_what_it_needs(moons):
    X, y = moons
    with pytest.raises(lk.LayerkitValueError, match="needs client="):
        lk.sweep(build, {"hidden": [2]}, X, y, backend="dask", progress=False)


def test_importing_layerkit_loads_neither_joblib_nor_dask_nor_threadpoolctl():
    code = (
        "import sys, layerkit; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'dask', 'distributed', 'joblib', 'threadpoolctl', 'pandas'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "[]"


def test_a_memmapped_training_set_is_mapped_by_the_workers_with_the_same_results(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5000, 64)).astype(np.float32)  # 1.3 MB
    np.save(tmp_path / "X.npy", X)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    y = (X[:, 1] > 0).astype(np.int64)
    kw = dict(epochs=1, progress=False, threads_per_worker=1, batch_size=256)
    build_wide = functools.partial(_wide, 64)
    in_memory = lk.sweep(build_wide, {"learning_rate": [0.1, 0.2]}, X, y, **kw)
    mapped = lk.sweep(build_wide, {"learning_rate": [0.1, 0.2]}, X_map, y, n_jobs=2, **kw)
    assert [r["score"] for r in mapped.records] == [r["score"] for r in in_memory.records]


def test_recipes_that_differ_only_in_their_partial_arguments_are_different_tasks(tmp_path):
    X, y = make_moons(60, seed=0)
    store = tmp_path / "s.jsonl"
    narrow = lk.sweep(
        functools.partial(build, 2), {"learning_rate": [0.1]}, X, y, store=store, progress=False
    )
    wide = lk.sweep(
        functools.partial(build, 8), {"learning_rate": [0.1]}, X, y, store=store, progress=False
    )
    assert narrow.records[0]["key"] != wide.records[0]["key"]
    assert len(store.read_text().splitlines()) == 2


def test_an_unpicklable_scorer_or_train_argument_is_refused_for_worker_processes(moons):
    X, y = moons
    lock = threading.Lock()

    def score_with_lock(net, X, y):
        with lock:
            return 0.0

    class LockedCallback(lk.Callback):
        def __init__(self):
            self.lock = threading.Lock()

    grid = {"learning_rate": [0.1, 0.2]}
    with pytest.raises(lk.LayerkitTypeError, match="scoring must be picklable"):
        lk.sweep(build, {**grid, "hidden": [2]}, X, y, n_jobs=2, scoring=score_with_lock)
    with pytest.raises(lk.LayerkitTypeError, match="the train arguments must be picklable"):
        lk.sweep(build, {**grid, "hidden": [2]}, X, y, n_jobs=2, callbacks=[LockedCallback()])
    assert BUILT == []
