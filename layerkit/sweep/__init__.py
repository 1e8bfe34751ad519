"""Hyper-parameter sweeps on every core and on a Dask cluster.

>>> import layerkit as lk
>>> result = lk.sweep(build, {"learning_rate": [0.1, 1.0]}, X, y, cv=5, n_jobs=2,
...                   store="runs/lr.jsonl")  # doctest: +SKIP
>>> result.best_params  # doctest: +SKIP
{'learning_rate': 0.1}

``lk.sweep`` is :func:`layerkit.sweep.engine.sweep`; the rest of the package is
:class:`SweepResult`, :class:`ResultStore`, :func:`expand_grid` and the ready-made
recipe :func:`mlp`. Only NumPy and the standard library are imported here: joblib,
threadpoolctl and dask load when a sweep runs on them.
"""

from .engine import sweep
from .models import mlp
from .results import SweepResult
from .store import ResultStore
from .tasks import Task, expand_grid

__all__ = ["ResultStore", "SweepResult", "Task", "expand_grid", "mlp", "sweep"]
