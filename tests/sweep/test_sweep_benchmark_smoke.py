"""benchmarks/sweep.py still runs its three engines (its numbers are measured there).

Marked slow, not distributed: it is a smoke test of the benchmark script, and `-m distributed`
stays the quick set of cluster tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.data
def test_quick_sweep_benchmark_times_serial_loky_and_dask_on_the_same_grid():
    pytest.importorskip("distributed")
    from layerkit.datasets import load_mnist_family
    from layerkit.datasets.mnist_family import DatasetNotFoundError

    try:
        load_mnist_family("fashion-mnist", download=False)
    except DatasetNotFoundError:
        pytest.skip("Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)")
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.sweep", "--quick", "--no-write"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    rows = [line for line in out.splitlines() if line.startswith("| ") and "x |" in line]
    assert [row.split(" | ")[0] for row in rows] == [
        "| serial (`n_jobs=1`; BLAS may use every core)",
        "| serial, 1 BLAS thread (`threads_per_worker=1`)",
        "| loky, `n_jobs=2` (1 BLAS thread each)",
        "| Dask `LocalCluster`, 2 worker processes (1 BLAS thread each)",
    ]
    assert rows[0].split(" | ")[3] == "1.00x" and rows[1].endswith(" | 1.00x |")
    assert "serial, loky and Dask gave bitwise the same scores: True." in out
