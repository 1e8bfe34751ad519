"""The :class:`Experiment` record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Experiment"]


@dataclass(frozen=True)
class Experiment:
    """One reproducible analysis of a source document.

    Attributes
    ----------
    name : str
        Command-line name, e.g. ``"lr-batch-grid"``.
    title : str
        Report title.
    source : str
        Which seed document and section it reproduces.
    needs_data : bool
        Whether it needs Fashion-MNIST installed.
    """

    name: str
    title: str
    source: str
    needs_data: bool
    _body: Callable[[Path, bool, int], Path] = field(repr=False)

    def run(self, out_dir: Path | str, *, quick: bool = False, seed: int = 0) -> Path:
        """Run the experiment, write ``report.md`` and its PNG figures into ``out_dir``.

        Parameters
        ----------
        out_dir : path
            Created if missing; existing files of the same names are overwritten.
        quick : bool, default False
            A smoke run of about a minute (subsampled data, fewer epochs).
        seed : int, default 0
            Seeds data subsampling, splits and network initialisation.

        Returns
        -------
        pathlib.Path
            The report's path, ``out_dir / "report.md"``.

        Raises
        ------
        ModuleNotFoundError
            If matplotlib (the ``plots`` extra) is not installed; the message says what to
            install.
        """
        from ..plots import INSTALL_HINT, matplotlib_available

        if not matplotlib_available():  # fail before minutes of training, not after
            raise ModuleNotFoundError(
                f"experiment {self.name!r} draws figures with matplotlib, the plots extra: "
                f"{INSTALL_HINT}",
                name="matplotlib",
            )
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        return self._body(out, bool(quick), int(seed))
