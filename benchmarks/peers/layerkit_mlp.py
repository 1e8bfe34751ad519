"""layerkit itself, through its public API only: ``Network``, ``train``, ``predict``."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

from .._common import ModelSpec
from ._harness import Hook, Peer, PeerUnavailable, main


class LayerkitPeer(Peer):
    name = "layerkit"

    def setup(self, threads: int) -> None:
        checkout = os.environ.get("LAYERKIT_BENCH_CHECKOUT")
        if checkout:  # benchmarks.run --before DIR: that checkout's layerkit, not this one
            sys.path.insert(0, checkout)
        try:
            import layerkit
        except ImportError as exc:
            raise PeerUnavailable(f"layerkit cannot be imported: {exc}") from exc
        self.lk = layerkit

    def versions(self) -> dict[str, str]:
        return {"layerkit": str(getattr(self.lk, "__version__", "?"))}

    def build(self, spec: ModelSpec) -> Any:
        lk = self.lk
        layers = [lk.Input(spec.sizes[0])]
        for h in spec.hidden:
            layers.append(lk.Dense(h, activation="relu"))
            if spec.dropout:
                layers.append(lk.Dropout(spec.dropout))
        layers.append(lk.Dense(spec.n_classes, activation="softmax"))
        return lk.Network(layers, loss="categorical_crossentropy", seed=spec.seed, dtype="float32")

    def _optimizer(self, spec: ModelSpec) -> Any:
        if spec.optimizer == "adam":
            return self.lk.Adam(learning_rate=spec.learning_rate)
        return self.lk.SGD(learning_rate=spec.learning_rate, momentum=spec.momentum)

    def fit(
        self,
        model: Any,
        X: np.ndarray,
        y: np.ndarray,
        spec: ModelSpec,
        epochs: int,
        hook: Hook | None = None,
    ) -> list[float]:
        times: list[float] = []
        clock = [0.0]

        class Timer(self.lk.Callback):  # type: ignore[name-defined,misc]
            # Our own clock, as for every other peer; evaluation in the hook is excluded.
            def on_train_begin(self, network: Any) -> None:
                clock[0] = time.perf_counter()

            def on_epoch_end(self, network: Any, epoch: int, logs: dict[str, float]) -> None:
                times.append(time.perf_counter() - clock[0])
                if hook is not None and hook(epoch, sum(times)):
                    network.stop_training = True
                clock[0] = time.perf_counter()

        hist = model.train(
            X,
            y,
            epochs=epochs,
            batch_size=spec.batch_size,
            optimizer=self._optimizer(spec),
            schedule=self.lk.TimeDecay(spec.lr_decay) if spec.lr_decay else None,
            shuffle="batch" if spec.shuffle == "batch" else True,
            verbose=0,
            callbacks=[Timer()],
            on_divergence="raise",
        )
        self.last_fit_extra = {"layerkit_epoch_time": list(getattr(hist, "epoch_time", []))}
        return times

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        return model.predict(X)


if __name__ == "__main__":
    raise SystemExit(main(LayerkitPeer))
