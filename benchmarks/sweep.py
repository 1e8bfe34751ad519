"""Seed 001's learning rate x batch size grid through ``lk.sweep``, three ways in one run.

    python -m benchmarks.sweep                  # 12 cells on 60,000 images, 3 rounds
    python -m benchmarks.sweep --quick          # a smoke run of a few seconds
    python benchmarks/sweep.py --rounds 5 --n-train 20000

The same grid (784-32-16-10 sigmoid network, mean-squared cost, one pass per cell, on
Fashion-MNIST) runs serially in this process, on two loky worker processes
(``n_jobs=2``) and on a two-worker local Dask cluster (``LocalCluster`` of processes),
round-robin: every round times each engine once, so a change in the machine's load
touches all three alike. A first, untimed round starts the loky workers and the Dask
cluster and warms the page cache. The result is the speed-up of each parallel engine
over the serial run, as the ratio of median wall times; the load average and the share
of CPU busy in other processes are recorded before and after.

Serially the one process may use every core for BLAS (threadpoolctl leaves it alone);
each worker of the parallel engines gets ``cores // 2`` BLAS threads. A fourth run,
serial with one BLAS thread, separates the gain of running two tasks at once from the
cost of a two-thread BLAS on small matrices (and on a machine whose cores are busy: a
product split over two threads waits for the slower one). Results go to
``benchmarks/results/sweep.json`` and ``sweep.md`` (``--quick``: ``sweep_quick.*``).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # run as a script: make the repository root importable so `benchmarks` is a package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.run import cpu_busy, machine_info

RESULTS = Path(__file__).resolve().parent / "results"
BATCHES = (10, 20, 40, 100)
RATES = (0.5, 2.0, 4.0)
ENGINES = ("serial", "serial_1", "loky", "dask")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--n-train", type=int, default=60_000, help="training images")
    parser.add_argument("--n-test", type=int, default=10_000, help="test images scored")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of all engines")
    parser.add_argument("--quick", action="store_true", help="3 cells, 2,000 images, 1 round")
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser.parse_args(argv)


def load(n_train: int, n_test: int) -> tuple[np.ndarray, ...]:
    import layerkit as lk

    data = lk.datasets.load_mnist_family("fashion-mnist", download=False)
    rng = np.random.default_rng(0)
    train = np.sort(rng.choice(len(data.X_train), n_train, replace=False))
    test = np.sort(rng.choice(len(data.X_test), n_test, replace=False))
    eye = np.eye(10, dtype=np.float32)
    X, y = data.X_train[train].reshape(n_train, -1), eye[data.y_train[train]]
    X_val, y_val = data.X_test[test].reshape(n_test, -1), eye[data.y_test[test]]
    return np.ascontiguousarray(X), y, np.ascontiguousarray(X_val), y_val


def main(argv: list[str] | None = None) -> int:
    import layerkit as lk
    from layerkit.sweep import mlp

    args = parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.rounds = 2_000, 500, 1
        grid = {"batch_size": [20], "learning_rate": list(RATES)}
    else:
        grid = {"batch_size": list(BATCHES), "learning_rate": list(RATES)}
    X, y, X_val, y_val = load(args.n_train, args.n_test)
    build = functools.partial(
        mlp, 784, (32, 16), 10, activation="sigmoid", output="sigmoid", loss="mse"
    )
    machine = machine_info(threads=2)
    from distributed import Client, LocalCluster

    began = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    client = Client(cluster, set_as_default=False)
    cluster_start = time.perf_counter() - began
    engines = {
        "serial": {"n_jobs": 1},
        "serial_1": {"n_jobs": 1, "threads_per_worker": 1},
        "loky": {"n_jobs": 2},
        "dask": {"client": client},
    }
    times: dict[str, list[float]] = {name: [] for name in ENGINES}
    scores: dict[str, list[float]] = {}
    try:
        for round_ in range(args.rounds + 1):
            for name in ENGINES:
                t0 = time.perf_counter()
                result = lk.sweep(
                    build,
                    grid,
                    X,
                    y,
                    X_val=X_val,
                    y_val=y_val,
                    progress=False,
                    optimizer="sgd",
                    on_divergence="stop",
                    **engines[name],
                )
                wall = time.perf_counter() - t0
                assert not result.errors, result.errors[0]["error"]
                scores[name] = [r["score"] for r in result.records]
                if round_ > 0:  # round 0 warms up
                    times[name].append(wall)
                print(f"round {round_} {name:<6} {wall:6.2f} s", flush=True)
    finally:
        client.close()
        cluster.close()
    load_after, busy_after = list(os.getloadavg()), cpu_busy()
    median = {name: statistics.median(values) for name, values in times.items()}
    report = {
        "command": "python -m benchmarks.sweep " + " ".join(argv or sys.argv[1:]),
        "grid": grid,
        "n_train": args.n_train,
        "n_test": args.n_test,
        "tasks": len(scores["serial"]),
        "rounds": args.rounds,
        "seconds": times,
        "median_seconds": median,
        "speedup_loky_2_jobs": median["serial"] / median["loky"],
        "speedup_dask_2_workers": median["serial"] / median["dask"],
        "speedup_loky_2_jobs_over_serial_1_thread": median["serial_1"] / median["loky"],
        "speedup_dask_2_workers_over_serial_1_thread": median["serial_1"] / median["dask"],
        "dask_cluster_start_seconds": cluster_start,
        "same_scores_loky_dask": scores["loky"] == scores["dask"],
        "same_scores_serial_1_loky_dask": scores["serial_1"] == scores["loky"] == scores["dask"],
        "machine": {**machine, "load_average_at_end": load_after, "cpu_busy_at_end": busy_after},
    }
    text = render(report)
    print(text)
    if not args.no_write:
        stem = "sweep_quick" if args.quick else "sweep"
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
        (RESULTS / f"{stem}.md").write_text(text)
    return 0


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    busy0, busy1 = m.get("cpu_busy_at_start"), m.get("cpu_busy_at_end")
    lines = [
        "# Sweep engines: seed 001's grid three ways",
        "",
        f"`{report['command'].strip()}`: {report['tasks']} cells (batch sizes x learning "
        f"rates {report['grid']}) of a 784-32-16-10 sigmoid/MSE network, one pass over "
        f"{report['n_train']:,} Fashion-MNIST images each, scored on {report['n_test']:,}; "
        f"{report['rounds']} timed round(s), round-robin, after one untimed warm-up round.",
        "",
        "| engine | median wall time (s) | all rounds (s) | speed-up over serial | "
        "speed-up over serial, 1 BLAS thread |",
        "|---|---|---|---|---|",
    ]
    labels = {
        "serial": "serial (`n_jobs=1`; BLAS may use every core)",
        "serial_1": "serial, 1 BLAS thread (`threads_per_worker=1`)",
        "loky": "loky, `n_jobs=2` (1 BLAS thread each)",
        "dask": "Dask `LocalCluster`, 2 worker processes (1 BLAS thread each)",
    }
    median = report["median_seconds"]
    for name in ENGINES:
        rounds = ", ".join(f"{t:.2f}" for t in report["seconds"][name])
        lines.append(
            f"| {labels[name]} | {median[name]:.2f} | {rounds} | "
            f"{median['serial'] / median[name]:.2f}x | {median['serial_1'] / median[name]:.2f}x |"
        )
    lines += [
        "",
        f"Starting the Dask cluster took {report['dask_cluster_start_seconds']:.1f} s (not "
        "in the times). With one BLAS thread per task, serial, loky and Dask gave bitwise "
        f"the same scores: {report['same_scores_serial_1_loky_dask']}.",
        "",
        "## Machine",
        "",
        f"{m['cpu']}, {m['usable_cpus']} usable CPUs, Python {m['python']}, NumPy "
        f"{m['numpy']}, commit {m['git_commit']}.",
        f"Load average at start {_loads(m['load_average_at_start'])}, at end "
        f"{_loads(m['load_average_at_end'])}; CPU busy in other processes at start "
        f"{_pct(busy0)}, at end {_pct(busy1)}.",
    ]
    if max(busy0 or 0, busy1 or 0) > 0.1:
        lines += [
            "",
            "**Busy machine:** other processes used more than 10% of the CPUs around the run; "
            "the ratios are indicative (all engines shared the load alike, round-robin).",
        ]
    return "\n".join(lines) + "\n"


def _loads(values: list[float] | None) -> str:
    return "n/a" if not values else " / ".join(f"{v:.2f}" for v in values)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


if __name__ == "__main__":
    sys.exit(main())
