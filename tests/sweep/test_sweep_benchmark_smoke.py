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
    assert "| serial (`n_jobs=1`) |" in out and "1.00x |" in out
    assert "| loky, `n_jobs=2` |" in out
    assert "| Dask `LocalCluster`, 2 worker processes |" in out
    assert "Loky and Dask gave the same scores (same thread count per worker): True." in out
