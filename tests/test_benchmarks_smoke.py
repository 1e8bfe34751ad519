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
