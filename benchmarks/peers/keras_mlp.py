"""Keras 3 on the torch backend: ``Sequential``, ``compile``, ``fit`` with all epochs.

Epochs are timed by a callback from ``on_epoch_begin`` to ``on_epoch_end``, so the one-off
work ``fit`` does before the first epoch is reported as setup, not epoch time.
``predict`` is given the whole array as one batch, as the other peers get it.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from .._common import ModelSpec
from ._harness import Hook, Peer, PeerUnavailable, main


class KerasPeer(Peer):
    name = "keras"

    def setup(self, threads: int) -> None:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        try:
            import torch
        except ImportError as exc:
            raise PeerUnavailable("torch not installed (Keras runs on its torch backend)") from exc
        torch.set_num_threads(threads)
        try:
            import keras
        except ImportError as exc:
            raise PeerUnavailable("keras not installed (pip install keras)") from exc
        self.torch, self.keras = torch, keras

    def versions(self) -> dict[str, str]:
        return {
            "keras": self.keras.__version__,
            "keras_backend": self.keras.backend.backend(),
            "torch": self.torch.__version__,
        }

    def build(self, spec: ModelSpec) -> Any:
        keras = self.keras
        keras.utils.set_random_seed(spec.seed)
        layers: list[Any] = [keras.Input(shape=(spec.sizes[0],))]
        for h in spec.hidden:
            layers.append(keras.layers.Dense(h, activation="relu"))
            if spec.dropout:
                layers.append(keras.layers.Dropout(spec.dropout))
        layers.append(keras.layers.Dense(spec.n_classes, activation="softmax"))
        model = keras.Sequential(layers)
        if spec.optimizer == "adam":
            opt = keras.optimizers.Adam(learning_rate=spec.learning_rate)
        else:
            opt = keras.optimizers.SGD(learning_rate=spec.learning_rate, momentum=spec.momentum)
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        return model

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
        began = [0.0]

        class Timer(self.keras.callbacks.Callback):  # type: ignore[name-defined,misc]
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                began[0] = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                times.append(time.perf_counter() - began[0])
                if hook is not None and hook(epoch + 1, sum(times)):
                    self.model.stop_training = True

        model.fit(
            X,
            y,
            batch_size=spec.batch_size,
            epochs=epochs,
            shuffle=True,
            verbose=0,
            callbacks=[Timer()],
        )
        return times

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(X, batch_size=len(X), verbose=0))


if __name__ == "__main__":
    raise SystemExit(main(KerasPeer))
