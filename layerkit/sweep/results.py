"""The outcome of a sweep: its records, a flat table, per-cell summaries and the best cell."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["SweepResult"]

_METRICS = ("train_cost", "train_accuracy", "val_cost", "val_accuracy", "epochs", "stop_reason")


class SweepResult:
    """Records of every task of one sweep, in task order (cell, fold, seed).

    Parameters
    ----------
    records : list of dict
        One record per task, as :func:`~layerkit.sweep.tasks.run_task` returns them.
    cells : list of dict
        The parameter combinations, in grid order.
    greater_is_better : bool
        Whether a higher score is better (accuracy, a custom scorer) or lower (cost).

    Attributes
    ----------
    records : list of dict
        Each has ``key, cell, params, fold, seed, status, score, metrics, history,
        seconds, host, worker, threads, finished, error``.
    cells : list of dict
    greater_is_better : bool
    """

    def __init__(
        self, records: Sequence[dict], cells: Sequence[dict], *, greater_is_better: bool
    ) -> None:
        self.records = list(records)
        self.cells = list(cells)
        self.greater_is_better = bool(greater_is_better)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def errors(self) -> list[dict]:
        """Records of the tasks that failed (their ``error`` holds the traceback)."""
        return [r for r in self.records if r["status"] != "ok"]

    def table(self) -> list[dict[str, Any]]:
        """One flat dict per task: the parameters, fold, seed, score, metrics, time, host."""
        rows = []
        for r in self.records:
            row = dict(r["params"])
            row.update(cell=r["cell"], fold=r["fold"], seed=r["seed"], status=r["status"])
            row["score"] = r["score"]
            metrics = r.get("metrics") or {}
            row.update((m, metrics.get(m)) for m in _METRICS)
            row.update(seconds=r["seconds"], host=r["host"], worker=r["worker"])
            rows.append(row)
        return rows

    def to_dataframe(self) -> Any:
        """:meth:`table` as a pandas DataFrame.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("SweepResult.to_dataframe needs pandas: pip install pandas") from exc
        return pd.DataFrame(self.table())

    def summary(self) -> list[dict[str, Any]]:
        """One dict per cell: its parameters, ``mean_score``, ``std_score``, ``n_ok``,
        ``n_errors``.

        A cell's mean is NaN when any of its tasks failed or scored NaN (a diverged
        network), so a cell is never judged on a subset of its folds.
        """
        scores: list[list[float]] = [[] for _ in self.cells]
        errors = [0] * len(self.cells)
        for r in self.records:
            if r["status"] == "ok" and r["score"] is not None:
                scores[r["cell"]].append(float(r["score"]))
            else:
                errors[r["cell"]] += 1
        rows = []
        for cell, params in enumerate(self.cells):
            values = np.asarray(scores[cell], dtype=np.float64)
            complete = len(values) > 0 and errors[cell] == 0 and bool(np.all(np.isfinite(values)))
            rows.append(
                {
                    **params,
                    "mean_score": float(values.mean()) if complete else math.nan,
                    "std_score": float(values.std()) if complete else math.nan,
                    "n_ok": len(values),
                    "n_errors": errors[cell],
                }
            )
        return rows

    def _best_cell(self) -> int | None:
        means = np.array([row["mean_score"] for row in self.summary()], dtype=np.float64)
        if not np.isfinite(means).any():
            return None
        means[~np.isfinite(means)] = -np.inf if self.greater_is_better else np.inf
        return int(np.argmax(means) if self.greater_is_better else np.argmin(means))

    @property
    def best_params(self) -> dict[str, Any] | None:
        """Parameters of the cell with the best mean score (None if no cell completed)."""
        best = self._best_cell()
        return None if best is None else dict(self.cells[best])

    @property
    def best_score(self) -> float | None:
        """The best cell's mean score over its folds and seeds."""
        best = self._best_cell()
        return None if best is None else self.summary()[best]["mean_score"]

    def __repr__(self) -> str:
        text = f"SweepResult({len(self.records)} tasks, {len(self.cells)} cells"
        if self.errors:
            text += f", {len(self.errors)} failed"
        if self.best_params is not None:
            text += f", best {self.best_params} scoring {self.best_score:.4g}"
        return text + ")"
