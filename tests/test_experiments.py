"""Smoke tests of ``layerkit.experiments``: each quick run writes a complete report.

The quick runs train real networks (about 5-15 s each on two cores); they are marked
``slow``, and those reading Fashion-MNIST also ``data``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from layerkit.experiments import EXPERIMENTS, Experiment, run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = [
    "activations",
    "learning-rates",
    "lr-batch-grid",
    "early-stopping",
    "dropout",
    "errors",
    "jones-200-30",
]


def _fashion_available() -> tuple[bool, str]:
    from layerkit.datasets import load_mnist_family
    from layerkit.datasets.mnist_family import DatasetNotFoundError

    try:
        load_mnist_family("fashion-mnist", download=False)
    except DatasetNotFoundError as exc:
        return False, f"Fashion-MNIST is not installed ({str(exc).splitlines()[0]})"
    return True, ""


def _require_data(experiment: Experiment) -> None:
    if not experiment.needs_data:
        return
    ok, reason = _fashion_available()
    if not ok:
        if os.environ.get("LAYERKIT_REQUIRE_DATA"):
            pytest.fail(reason + " but LAYERKIT_REQUIRE_DATA is set")
        pytest.skip(reason + "; install Debian's dataset-fashion-mnist")


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no '## {heading}' section"
    return match.group(1)


def test_registry_lists_the_seven_experiments() -> None:
    assert list(EXPERIMENTS) == NAMES
    for name, e in EXPERIMENTS.items():
        assert e.name == name
        assert e.title and re.search(r"seed 00\d", e.source)


def test_unknown_name_lists_the_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown experiment 'nope'.*activations.*jones-200-30"):
        run("nope", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.data) if EXPERIMENTS[n].needs_data else n for n in NAMES],
)
def test_quick_run_writes_a_complete_report(name: str, tmp_path: Path) -> None:
    import matplotlib.image

    experiment = EXPERIMENTS[name]
    _require_data(experiment)
    out = tmp_path / name
    report = run(name, out, quick=True, seed=0)
    assert report == out / "report.md" and report.is_file()
    text = report.read_text(encoding="utf-8")

    assert text.startswith(f"# {experiment.title}")
    seed_ref = re.search(r"seed 00\d", experiment.source).group(0)
    assert seed_ref in text
    assert "--quick" in text
    document = _section(text, "What the document found")
    ours = _section(text, "What we found")
    assert re.search(r"\d", document) and re.search(r"\d", ours)
    assert re.search(r"\d+(\.\d+)?%", ours), "our findings should quote accuracies"
    if experiment.needs_data:
        assert "Fashion-MNIST stands in for MNIST and KMNIST" in text

    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert figures, "the report links no figure"
    for name_png in figures:
        assert not name_png.startswith(("/", "http")), name_png
        path = out / name_png
        assert path.suffix == ".png" and path.is_file(), name_png
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
        assert float(image[..., :3].var()) > 0, f"{name_png} is blank"
