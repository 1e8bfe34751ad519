"""The benchmark suite still runs (its numbers are measured in benchmarks/, never here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_benchmark_runs_every_scenario_for_bound_numpy_and_layerkit(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--quick",
            "--threads",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    results = json.loads((tmp_path / "quick.json").read_text())
    text = json.dumps(results)
    assert "layerkit" in text and "bound" in text
    statuses = [row.get("status") for row in _rows(results)]
    assert statuses and all(s in ("ok", "skipped") for s in statuses), statuses
    assert (tmp_path / "quick.md").read_text().count("|") > 20


def _rows(node):
    """Every dict holding a peer's status, wherever the report nests it."""
    if isinstance(node, dict):
        if "status" in node and "peer" in node:
            yield node
        for value in node.values():
            yield from _rows(value)
    elif isinstance(node, list):
        for value in node:
            yield from _rows(value)


def test_round_robin_predict_mode_compares_two_checkouts_on_the_same_weights(tmp_path):
    # this checkout against itself: the same code, so the two outputs must agree and the
    # result file must hold one ratio and a time per round for each side
    out = tmp_path / "rr.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.roundrobin", "--predict", "--before", str(ROOT),
         "--rounds", "2", "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    result = json.loads(out.read_text())
    assert set(result["median_ratio"]) == {"layerkit/before"}
    assert result["median_ratio"]["layerkit/before"] > 0
    assert [len(v) for v in result["seconds"].values()] == [2, 2]


def test_round_robin_tiny_mode_trains_every_peer_each_round(tmp_path):
    out = tmp_path / "tiny.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.roundrobin", "--tiny", "--before", str(ROOT),
         "--rounds", "2", "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    result = json.loads(out.read_text())
    assert result["network"] == [64, 32, 10] and result["batch_size"] == 32
    assert set(result["median_ratio"]) == {
        "layerkit/numpy",
        "layerkit/bound",
        "layerkit/before",
        "layerkit epochs alone/numpy",
    }
    assert all(len(v) == 2 for v in result["seconds"].values())


@pytest.mark.slow
def test_benchmark_run_with_before_runs_the_other_checkout_as_its_own_peer(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--threads", "1", "--scenarios",
         "tiny", "--peers", "layerkit", "--before", str(ROOT), "--out", str(tmp_path)],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    results = json.loads((tmp_path / "quick.json").read_text())
    peers = {row["peer"]: row["status"] for row in _rows(results)}
    assert peers == {"layerkit": "ok", "before": "ok"}
    assert "layerkit (--before checkout)" in (tmp_path / "quick.md").read_text()
