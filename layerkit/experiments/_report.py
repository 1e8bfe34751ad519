"""Markdown reports for the experiments: the document's findings next to ours.

A :class:`Report` collects a title, the source reference, "What the document found",
"What we found", the setup, tables and figure links, and writes them as ``report.md``
(figures are linked by file name, so the folder can be moved or published as is).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FASHION_NOTE", "QUICK_NOTE", "Report", "fmt_pct"]

FASHION_NOTE = (
    "Fashion-MNIST stands in for MNIST and KMNIST: it is the only 28x28, 10-class, 60k/10k "
    "IDX data set on this machine (Debian's `dataset-fashion-mnist`). It is harder than MNIST "
    "and, for small fully connected networks, about as hard as KMNIST, so absolute accuracies "
    "are not comparable with the document's; the comparison is of the trends."
)

QUICK_NOTE = (
    "**This is a `--quick` smoke run** (subsampled data, few epochs, a smaller grid): it "
    "checks that the experiment runs end to end. Its numbers are not results; see the full "
    "run in `docs/experiments/`."
)


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """``0.8345 -> '83.5%'``; ``None`` or NaN -> ``'n/a'``."""
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


class Report:
    """A Markdown report under construction.

    Parameters
    ----------
    title : str
        The experiment's title (the H1 heading).
    source : str
        Which document and section it reproduces, e.g. ``"seed 000, section 4.2.1"``.
    quick : bool
        Whether this is a ``--quick`` run (adds a warning banner).
    """

    def __init__(self, title: str, source: str, *, quick: bool) -> None:
        self.title = title
        self.source = source
        self.quick = quick
        self.started = time.perf_counter()
        self.document: list[str] = []
        self.ours: list[str] = []
        self.setup: list[tuple[str, str]] = []
        self.body: list[str] = []

    def found_by_document(self, *lines: str) -> None:
        """Add bullet points to "What the document found"."""
        self.document.extend(lines)

    def found_by_us(self, *lines: str) -> None:
        """Add bullet points to "What we found"."""
        self.ours.extend(lines)

    def add_setup(self, key: str, value: Any) -> None:
        """Add one ``key: value`` line to the setup."""
        self.setup.append((key, str(value)))

    def section(self, heading: str, text: str = "") -> None:
        """Start a new H2 section in the body, with optional text under it."""
        self.body.append(f"## {heading}\n")
        if text:
            self.body.append(text.strip() + "\n")

    def text(self, text: str) -> None:
        """A paragraph of the body."""
        self.body.append(text.strip() + "\n")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A Markdown table; cells are converted with ``str``."""
        lines = [
            "| " + " | ".join(str(h) for h in header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
        ]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        self.body.append("\n".join(lines) + "\n")

    def figure(self, path: Path, caption: str) -> None:
        """Link a PNG written next to the report (by file name) with a caption."""
        self.body.append(f"![{caption}]({Path(path).name})\n\n*{caption}*\n")

    def render(self) -> str:
        """The whole report as Markdown."""
        seconds = time.perf_counter() - self.started
        out = [f"# {self.title}\n", f"**Source:** {self.source}.\n"]
        if self.quick:
            out.append(f"> {QUICK_NOTE}\n")
        out.append("## What the document found\n")
        out += [f"- {line}" for line in self.document] + [""]
        out.append("## What we found\n")
        out += [f"- {line}" for line in self.ours] + [""]
        out.append("## Setup\n")
        out += [f"- **{k}:** {v}" for k, v in self.setup]
        out.append(
            f"- **Run:** {'quick' if self.quick else 'full'} run, {seconds:.0f} s wall time on "
            f"{platform.machine()} with Python {platform.python_version()}, NumPy {np.__version__}."
        )
        out.append("")
        out += self.body
        return "\n".join(out).rstrip() + "\n"

    def write(self, out_dir: Path) -> Path:
        """Write ``report.md`` into ``out_dir`` and return its path."""
        path = Path(out_dir) / "report.md"
        path.write_text(self.render(), encoding="utf-8")
        return path
