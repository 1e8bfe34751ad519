"""A plain NumPy MLP, written the way a student would write it.

Shuffled minibatches gathered with fancy indexing, ReLU, softmax with cross-entropy,
then SGD (with momentum, or Adam, when a recipe asks), with a new temporary for every intermediate
result. It is the reference for "what NumPy gives you without trying": layerkit should
beat it, and the gap between it and the bound is the overhead layerkit must not have.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._common import ModelSpec
from ._harness import Hook, Peer, main


class _MLP:
    def __init__(self, spec: ModelSpec) -> None:
        rng = np.random.default_rng(spec.seed)
        self.W: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        for fan_in, fan_out in zip(spec.sizes[:-1], spec.sizes[1:], strict=True):
            # He initialisation, as for ReLU
            self.W.append(
                (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(np.float32)
            )
            self.b.append(np.zeros(fan_out, dtype=np.float32))
        self.rng = rng
        self.t = 0
        self.mW = [np.zeros_like(w) for w in self.W]
        self.vW = [np.zeros_like(w) for w in self.W]
        self.mb = [np.zeros_like(b) for b in self.b]
        self.vb = [np.zeros_like(b) for b in self.b]

    def forward(self, x: np.ndarray, dropout: float = 0.0) -> tuple[list[np.ndarray], np.ndarray]:
        activations = [x]
        self.masks = []
        for i in range(len(self.W) - 1):
            z = activations[-1] @ self.W[i] + self.b[i]
            a = np.maximum(z, 0)
            if dropout:
                # inverted dropout: scale the kept units now, nothing to do at test time
                mask = (self.rng.random(a.shape, dtype=np.float32) >= dropout) / np.float32(
                    1 - dropout
                )
                a = a * mask
                self.masks.append(mask)
            activations.append(a)
        z = activations[-1] @ self.W[-1] + self.b[-1]
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        return activations, p

    def step(self, xb: np.ndarray, yb: np.ndarray, spec: ModelSpec) -> None:
        activations, p = self.forward(xb, spec.dropout)
        m = len(xb)
        delta = p.copy()
        delta[np.arange(m), yb] -= 1
        delta /= m
        grads_W, grads_b = [], []
        for i in range(len(self.W) - 1, -1, -1):
            grads_W.append(activations[i].T @ delta)
            grads_b.append(delta.sum(axis=0))
            if i > 0:
                delta = (delta @ self.W[i].T) * (activations[i] > 0)
                if self.masks:
                    delta *= self.masks[i - 1]
        grads_W.reverse()
        grads_b.reverse()
        if spec.optimizer == "adam":
            self.adam(grads_W, grads_b, spec.learning_rate)
        elif spec.momentum:
            # mW, mb hold the velocities
            for i in range(len(self.W)):
                self.mW[i] = spec.momentum * self.mW[i] - spec.learning_rate * grads_W[i]
                self.mb[i] = spec.momentum * self.mb[i] - spec.learning_rate * grads_b[i]
                self.W[i] += self.mW[i]
                self.b[i] += self.mb[i]
        else:
            for i in range(len(self.W)):
                self.W[i] -= spec.learning_rate * grads_W[i]
                self.b[i] -= spec.learning_rate * grads_b[i]

    def adam(self, gW: list[np.ndarray], gb: list[np.ndarray], lr: float) -> None:
        b1, b2, eps = 0.9, 0.999, 1e-7
        self.t += 1
        lr_t = lr * (1 - b2**self.t) ** 0.5 / (1 - b1**self.t)
        for params, grads, ms, vs in (
            (self.W, gW, self.mW, self.vW),
            (self.b, gb, self.mb, self.vb),
        ):
            for i in range(len(params)):
                ms[i] = b1 * ms[i] + (1 - b1) * grads[i]
                vs[i] = b2 * vs[i] + (1 - b2) * grads[i] ** 2
                params[i] -= lr_t * ms[i] / (np.sqrt(vs[i]) + eps)


class NumpyPeer(Peer):
    name = "numpy"

    def build(self, spec: ModelSpec) -> _MLP:
        return _MLP(spec)

    def fit(
        self,
        model: _MLP,
        X: np.ndarray,
        y: np.ndarray,
        spec: ModelSpec,
        epochs: int,
        hook: Hook | None = None,
    ) -> list[float]:
        n, bs = len(X), spec.batch_size
        order_rng = np.random.default_rng(spec.seed)  # the same orders as the torch peer
        times: list[float] = []
        total = 0.0
        for epoch in range(1, epochs + 1):
            t = time.perf_counter()
            perm = order_rng.permutation(n)
            for start in range(0, n, bs):
                idx = perm[start : start + bs]
                model.step(X[idx], y[idx], spec)
            times.append(time.perf_counter() - t)
            total += times[-1]
            if hook is not None and hook(epoch, total):
                break
        return times

    def predict(self, model: _MLP, X: np.ndarray) -> Any:
        return model.forward(X)[1]


if __name__ == "__main__":
    raise SystemExit(main(NumpyPeer))
