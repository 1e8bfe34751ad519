"""LayerkitClassifier/Regressor against scikit-learn's MLPClassifier/MLPRegressor.

Same network (one hidden layer of 100 relu units), optimiser (Adam, learning rate 1e-3),
batch size (200, MLP's default), number of epochs and no L2 penalty; the same float32
data. Tasks:

* classification: the 8x8 digits and Fashion-MNIST (accuracy on the test split);
* regression: the bottom half of each image from its top half (R^2 on the test split),
  a multi-output regression in the spirit of scikit-learn's face-completion example.

Everything runs in one process, round-robin: in every round each estimator fits once, in
alternating order, so both see the same machine load; the time ratio is taken within each
round and its median reported. BLAS runs on one thread (``threadpoolctl``) so that a
shared machine disturbs the ratios less. From the repository root::

    python -m benchmarks.sklearn_compare              # writes benchmarks/results/sklearn_compare.*
    python -m benchmarks.sklearn_compare --quick --no-write   # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import layerkit as lk

RESULTS = Path(__file__).resolve().parent / "results"
HIDDEN = (100,)
BATCH = 200
LEARNING_RATE = 1e-3


def _halves(X: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Top and bottom halves of flattened ``side x side`` images."""
    images = X.reshape(len(X), side, side)
    top, bottom = images[:, : side // 2], images[:, side // 2 :]
    return (
        np.ascontiguousarray(top.reshape(len(X), -1)),
        np.ascontiguousarray(bottom.reshape(len(X), -1)),
    )


def load_tasks(quick: bool) -> list[dict[str, Any]]:
    """The data sets and tasks, with the epochs each trains for."""
    tasks = []
    digits = lk.datasets.load_digits()
    sets = [("digits", digits, 8, 5 if quick else 100)]
    if not quick:
        fashion = lk.datasets.load_mnist_family("fashion-mnist", download=False)
        sets.append(("fashion-mnist", fashion, 28, 10))
    for name, d, side, epochs in sets:
        Xtr, Xte = d.X_train.astype(np.float32), d.X_test.astype(np.float32)
        if quick:
            Xtr, ytr = Xtr[:300], d.y_train[:300]
        else:
            ytr = d.y_train
        tasks.append(
            {
                "data": name,
                "task": "classification",
                "epochs": epochs,
                "train": (Xtr, ytr),
                "test": (Xte, d.y_test),
                "score": "accuracy",
            }
        )
        tasks.append(
            {
                "data": name,
                "task": "regression",
                "epochs": epochs,
                "train": _halves(Xtr, side),
                "test": _halves(Xte, side),
                "score": "variance-weighted R^2",
            }
        )
    return tasks


def estimators(task: dict[str, Any], seed: int) -> dict[str, Any]:
    """The two estimators of ``task``, configured alike."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from layerkit.sklearn import LayerkitClassifier, LayerkitRegressor

    epochs = task["epochs"]
    mlp_kw = {
        "hidden_layer_sizes": HIDDEN,
        "activation": "relu",
        "solver": "adam",
        "alpha": 0.0,
        "batch_size": BATCH,
        "learning_rate_init": LEARNING_RATE,
        "max_iter": epochs,
        "n_iter_no_change": epochs + 1,  # exactly `epochs` epochs, as layerkit
        "random_state": seed,
    }
    lk_kw = {
        "hidden_layer_sizes": HIDDEN,
        "activation": "relu",
        "optimizer": "adam",
        "learning_rate": LEARNING_RATE,
        "batch_size": BATCH,
        "epochs": epochs,
        "random_state": seed,
    }
    if task["task"] == "classification":
        return {
            "MLPClassifier": MLPClassifier(**mlp_kw),
            "LayerkitClassifier": LayerkitClassifier(**lk_kw),
        }
    return {"MLPRegressor": MLPRegressor(**mlp_kw), "LayerkitRegressor": LayerkitRegressor(**lk_kw)}


def _score(task: dict[str, Any], est: Any) -> float:
    """Test accuracy, or R^2 weighted by each pixel's variance (the uniform average of
    ``est.score`` would let pixels that are almost always blank dominate)."""
    from sklearn.metrics import r2_score

    X, y = task["test"]
    if task["task"] == "classification":
        return float(est.score(X, y))
    return float(r2_score(y, est.predict(X), multioutput="variance_weighted"))


def run(repeats: int, quick: bool) -> dict[str, Any]:
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    tasks = load_tasks(quick)
    load_before = os.getloadavg()
    started = time.perf_counter()
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached on purpose
        for task in tasks:
            runs: dict[str, dict[str, list[float]]] = {}
            for r in range(repeats):
                named = list(estimators(task, seed=r).items())
                if r % 2:
                    named.reverse()  # alternate who goes first
                for name, est in named:
                    began = time.perf_counter()
                    est.fit(*task["train"])
                    fit_time = time.perf_counter() - began
                    score = _score(task, est)
                    entry = runs.setdefault(name, {"fit_time": [], "score": []})
                    entry["fit_time"].append(fit_time)
                    entry["score"].append(float(score))
                    print(
                        f"{task['data']:14s} {task['task']:14s} round {r} {name:18s} "
                        f"{task['score']} {score:.4f}  fit {fit_time:.2f} s",
                        flush=True,
                    )
            mlp = next(n for n in runs if n.startswith("MLP"))
            ours = next(n for n in runs if n.startswith("Layerkit"))
            ratios = [
                a / b for a, b in zip(runs[ours]["fit_time"], runs[mlp]["fit_time"], strict=True)
            ]
            rows.append(
                {
                    "data": task["data"],
                    "task": task["task"],
                    "epochs": task["epochs"],
                    "n_train": len(task["train"][0]),
                    "n_test": len(task["test"][0]),
                    "score_name": task["score"],
                    "runs": runs,
                    "time_ratio_layerkit_over_mlp": ratios,
                }
            )
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": "python -m benchmarks.sklearn_compare"
        + (" --quick" if quick else "")
        + f" --repeats {repeats}",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "blas_threads": 1,
        },
        "versions": _versions(),
        "settings": {
            "hidden": list(HIDDEN),
            "batch_size": BATCH,
            "learning_rate": LEARNING_RATE,
            "optimizer": "adam",
            "penalty": 0.0,
            "dtype": "float32",
        },
        "repeats": repeats,
        "wall_time_s": time.perf_counter() - started,
        "rows": rows,
    }


def _versions() -> dict[str, str]:
    import scipy
    import sklearn

    return {
        "layerkit": lk.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def markdown(result: dict[str, Any]) -> str:
    """The comparison table and the conditions of the run."""
    m = result["machine"]
    lines = [
        "# LayerkitClassifier/Regressor vs MLPClassifier/MLPRegressor",
        "",
        f"Run {result['date']} with `{result['command']}` ({result['repeats']} rounds, "
        f"round-robin in one process, BLAS on 1 thread; {result['wall_time_s']:.0f} s in all).",
        f"Machine: {m['platform']}, {m['cpu_count']} cores, **shared with other developers' "
        f"work**: load average {m['load_average_before'][0]:.2f} before and "
        f"{m['load_average_after'][0]:.2f} after. Absolute times are therefore rough; the "
        "ratios, measured side by side in each round, are the figures to read.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()) + ".",
        "Both: one hidden layer of 100 relu units, Adam (learning rate 1e-3), batch 200, no "
        "L2 penalty, the same number of epochs, float32 data.",
        "",
        "| data set | task | epochs | estimator | test score (mean ± sd) | fit time, s (median) "
        "| time ratio layerkit / MLP (median, min-max) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        ratios = row["time_ratio_layerkit_over_mlp"]
        for name, run in row["runs"].items():
            scores = run["score"]
            sd = statistics.stdev(scores) if len(scores) > 1 else 0.0
            ratio = (
                f"**{statistics.median(ratios):.2f}** ({min(ratios):.2f}-{max(ratios):.2f})"
                if name.startswith("Layerkit")
                else ""
            )
            lines.append(
                f"| {row['data']} | {row['task']} ({row['score_name']}) | {row['epochs']} | "
                f"{name} | {statistics.mean(scores):.4f} ± {sd:.4f} | "
                f"{statistics.median(run['fit_time']):.2f} | {ratio} |"
            )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--quick", action="store_true", help="digits subset, 5 epochs")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    result = run(args.repeats, args.quick)
    text = markdown(result)
    print(text)
    if not args.no_write:
        stem = RESULTS / ("sklearn_compare_quick" if args.quick else "sklearn_compare")
        stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
        stem.with_suffix(".md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
