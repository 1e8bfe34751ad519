"""scikit-learn ``MLPClassifier``: one ``partial_fit`` call per epoch.

``solver="sgd"`` with ``momentum=0`` and ``nesterovs_momentum=False`` is plain SGD;
``alpha=0`` turns off its default L2 penalty; ``shuffle=True`` reshuffles every epoch
from ``random_state``. Inputs stay float32 (scikit-learn keeps float32 for MLPs).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from .._common import ModelSpec
from ._harness import Hook, NotApplicable, Peer, PeerUnavailable, main


class SklearnPeer(Peer):
    name = "sklearn"

    def setup(self, threads: int) -> None:
        try:
            import sklearn
            from sklearn.neural_network import MLPClassifier
        except ImportError as exc:
            raise PeerUnavailable("scikit-learn not installed (pip install scikit-learn)") from exc
        self.sklearn = sklearn
        self.MLPClassifier = MLPClassifier

    def versions(self) -> dict[str, str]:
        return {"scikit-learn": self.sklearn.__version__}

    def build(self, spec: ModelSpec) -> Any:
        if spec.dropout:
            raise NotApplicable("MLPClassifier has no dropout")
        return self.MLPClassifier(
            hidden_layer_sizes=tuple(spec.hidden),
            activation="relu",
            solver="adam" if spec.optimizer == "adam" else "sgd",
            learning_rate="constant",
            learning_rate_init=spec.learning_rate,
            momentum=spec.momentum,
            nesterovs_momentum=False,
            batch_size=spec.batch_size,
            alpha=0.0,
            epsilon=1e-7,
            max_iter=1,
            shuffle=True,
            random_state=spec.seed,
        )

    def fit(
        self,
        model: Any,
        X: np.ndarray,
        y: np.ndarray,
        spec: ModelSpec,
        epochs: int,
        hook: Hook | None = None,
    ) -> list[float]:
        classes = np.arange(spec.n_classes)
        times: list[float] = []
        total = 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning after each one-epoch call
            for epoch in range(1, epochs + 1):
                t = time.perf_counter()
                model.partial_fit(X, y, classes=classes)
                times.append(time.perf_counter() - t)
                total += times[-1]
                if hook is not None and hook(epoch, total):
                    break
        return times

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        return model.predict_proba(X)


if __name__ == "__main__":
    raise SystemExit(main(SklearnPeer))
