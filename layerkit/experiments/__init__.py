"""Experiments reproducing the analyses of the source documents (``layerkit experiments``).

Each experiment trains real networks, then writes a Markdown report (``report.md``) and
PNG figures into a folder: what the document found next to what we found, the setup and
the figures. ``quick=True`` makes each a smoke run of about a minute.

>>> from layerkit.experiments import EXPERIMENTS, run
>>> sorted(EXPERIMENTS)  # doctest: +NORMALIZE_WHITESPACE
['activations', 'dropout', 'early-stopping', 'errors', 'jones-200-30', 'learning-rates',
 'lr-batch-grid']
>>> report = run("early-stopping", "out/early-stopping", quick=True)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from .._validation import LayerkitValueError
from ._base import Experiment
from .activations import EXPERIMENT as _activations
from .dropout import EXPERIMENT as _dropout
from .early_stopping import EXPERIMENT as _early_stopping
from .errors import EXPERIMENT as _errors
from .jones_200_30 import EXPERIMENT as _jones
from .learning_rates import EXPERIMENT as _learning_rates
from .lr_batch_grid import EXPERIMENT as _lr_batch_grid

__all__ = ["EXPERIMENTS", "Experiment", "run"]

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        _activations,
        _learning_rates,
        _lr_batch_grid,
        _early_stopping,
        _dropout,
        _errors,
        _jones,
    )
}


def run(name: str, out_dir: Path | str, *, quick: bool = False, seed: int = 0) -> Path:
    """Run the experiment ``name`` into ``out_dir`` and return the report's path.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`EXPERIMENTS` (the message lists them).
    """
    try:
        experiment = EXPERIMENTS[name]
    except (KeyError, TypeError):
        raise LayerkitValueError(
            f"unknown experiment {name!r}; choose one of: {', '.join(EXPERIMENTS)}"
        ) from None
    return experiment.run(out_dir, quick=quick, seed=seed)
