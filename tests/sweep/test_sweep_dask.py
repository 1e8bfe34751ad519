"""lk.sweep on real Dask clusters: a LocalCluster of worker processes, a scheduler and a
worker started with Dask's own commands, and a worker killed in the middle of a sweep.

Select these with ``pytest -m distributed``; everything listens on 127.0.0.1 only.
"""

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import layerkit as lk
from layerkit.datasets import make_moons
from layerkit.sweep import mlp

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parents[2]
GRID = {"hidden": [[3], [6]], "learning_rate": [0.1, 0.7]}
# the built-in recipe: importable on any worker that has layerkit
BUILD = functools.partial(mlp, 2, n_outputs=2, activation="tanh")


def _numbers(record):
    """A record's history without its wall-clock times."""
    return {k: v for k, v in record["history"].items() if k != "epoch_time"}


def slow_build(seed, pause):
    time.sleep(pause)
    return BUILD(seed=seed)


def local_cluster():
    """Two worker processes of one thread; every port on 127.0.0.1, chosen by the system."""
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        env={"PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="module")
def cluster():
    with (
        local_cluster() as local,
        distributed.Client(local, set_as_default=False) as client,
    ):
        yield local, client


def test_dask_workers_give_bitwise_the_serial_and_loky_numbers_with_one_thread_each(cluster):
    _, client = cluster
    X, y = make_moons(120, seed=0)
    kw = dict(cv=2, seeds=[0, 1], epochs=3, progress=False, threads_per_worker=1)
    serial = lk.sweep(BUILD, GRID, X, y, **kw)
    loky = lk.sweep(BUILD, GRID, X, y, n_jobs=2, **kw)
    on_dask = lk.sweep(BUILD, GRID, X, y, client=client, **kw)
    assert [r["score"] for r in on_dask.records] == [r["score"] for r in serial.records]
    assert [r["score"] for r in loky.records] == [r["score"] for r in serial.records]
    assert [_numbers(r) for r in on_dask.records] == [_numbers(r) for r in serial.records]
    workers = set(client.scheduler_info()["workers"])
    assert {r["worker"] for r in on_dask.records} <= workers
    assert {r["threads"] for r in on_dask.records} == {1}


def test_dask_default_threads_share_each_hosts_cores_among_its_worker_threads(cluster):
    _, client = cluster
    X, y = make_moons(60, seed=0)
    result = lk.sweep(BUILD, {"learning_rate": [0.1]}, X, y, client=client, progress=False)
    cores = min(client.run(lambda: len(os.sched_getaffinity(0))).values())
    assert result.records[0]["threads"] == max(1, cores // 2)


def test_cross_validate_on_dask_equals_serial(cluster):
    _, client = cluster
    X, y = make_moons(90, seed=0)
    kw = dict(k=3, seed=0, epochs=2, verbose=0, threads_per_worker=1)
    serial = lk.cross_validate(BUILD, X, y, **kw)
    on_dask = lk.cross_validate(BUILD, X, y, client=client, **kw)
    assert on_dask.costs.tolist() == serial.costs.tolist()
    assert [h.train_cost for h in on_dask.histories] == [h.train_cost for h in serial.histories]


def test_a_failing_task_on_dask_is_recorded_and_the_sweep_completes(cluster):
    _, client = cluster
    X, y = make_moons(60, seed=0)
    result = lk.sweep(
        BUILD,
        {"activation": ["tanh", "no-such-activation"]},
        X,
        y,
        client=client,
        progress=False,
    )
    assert [r["status"] for r in result.records] == ["ok", "error"]
    assert "no-such-activation" in result.errors[0]["error"]


def test_a_worker_killed_mid_sweep_leaves_every_task_in_the_store_exactly_once(tmp_path):
    X, y = make_moons(80, seed=0)
    store = tmp_path / "s.jsonl"
    n_tasks = 16
    killed = {}
    with (
        local_cluster() as local,
        distributed.Client(local, set_as_default=False) as client,
    ):
        pids = client.run(os.getpid)

        def kill_one_worker_after_three_records():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if store.exists() and len(store.read_text().splitlines()) >= 3:
                    address, pid = sorted(pids.items())[0]
                    killed["stored"] = len(store.read_text().splitlines())
                    os.kill(pid, signal.SIGKILL)
                    killed["worker"] = address
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_one_worker_after_three_records)
        killer.start()
        result = lk.sweep(
            functools.partial(slow_build, pause=0.25),
            {"learning_rate": [0.1, 0.2, 0.3, 0.4]},
            X,
            y,
            cv=2,
            seeds=[0, 1],
            epochs=1,
            client=client,
            store=store,
            progress=False,
            threads_per_worker=1,
        )
        killer.join()
    assert "worker" in killed and killed["stored"] < n_tasks  # killed in the middle
    lines = store.read_text().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    assert len(keys) == n_tasks == len(set(keys))
    assert [r["key"] for r in result.records] and set(keys) == {r["key"] for r in result.records}
    assert all(r["status"] == "ok" for r in result.records)
    # every task ran to the same numbers as it does serially
    serial = lk.sweep(
        BUILD,
        {"learning_rate": [0.1, 0.2, 0.3, 0.4]},
        X,
        y,
        cv=2,
        seeds=[0, 1],
        epochs=1,
        progress=False,
        threads_per_worker=1,
    )
    assert [r["score"] for r in result.records] == [r["score"] for r in serial.records]


def _wait_for_file(path, proc, seconds):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, "the dask process exited"
        assert time.monotonic() < deadline, f"{path} did not appear in {seconds} s"
        time.sleep(0.05)
    return json.loads(path.read_text())


def test_a_sweep_sent_to_a_scheduler_address_started_with_dasks_own_commands(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    *dask,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        address = _wait_for_file(scheduler_file, procs[0], 30)["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(
            subprocess.Popen(
                [
                    *dask,
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--local-directory",
                    str(tmp_path),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        with distributed.Client(address, set_as_default=False, timeout="20s") as watcher:
            watcher.wait_for_workers(2, timeout=30)
        X, y = make_moons(100, seed=0)
        # the address itself: lk.sweep connects, runs and disconnects
        result = lk.sweep(
            BUILD,
            GRID,
            X,
            y,
            cv=2,
            epochs=2,
            client=address,
            progress=False,
            threads_per_worker=1,
            store=tmp_path / "s.jsonl",
        )
        serial = lk.sweep(BUILD, GRID, X, y, cv=2, epochs=2, progress=False, threads_per_worker=1)
        assert [r["status"] for r in result.records] == ["ok"] * 8
        assert [r["score"] for r in result.records] == [r["score"] for r in serial.records]
        assert len({r["worker"] for r in result.records}) == 2
        assert all(r["worker"].startswith("tcp://127.0.0.1:") for r in result.records)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.slow
@pytest.mark.data
def test_lr_batch_grid_experiment_runs_on_a_scheduler_address(cluster, tmp_path):
    from layerkit.cli import main
    from layerkit.datasets import load_mnist_family
    from layerkit.datasets.mnist_family import DatasetNotFoundError

    try:
        load_mnist_family("fashion-mnist", download=False)
    except DatasetNotFoundError:
        pytest.skip("Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)")
    local, client = cluster
    argv = ["experiments", "lr-batch-grid", "--quick", "--out", str(tmp_path)]
    assert main([*argv, "--scheduler", local.scheduler_address]) == 0
    records = [json.loads(line) for line in (tmp_path / "sweep.jsonl").read_text().splitlines()]
    assert len(records) == 11 and {r["status"] for r in records} == {"ok"}
    assert {r["worker"] for r in records} <= set(client.scheduler_info()["workers"])
    assert "the Dask cluster at tcp://127.0.0.1:" in (tmp_path / "report.md").read_text()
