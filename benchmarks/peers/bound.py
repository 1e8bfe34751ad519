"""The lower bound: only the matrix products of each SGD step, on preallocated arrays.

Per batch of ``m`` rows and layer ``l`` (``A_0`` is the batch, a slice of ``X``):

* forward ``A_l = A_{l-1} @ W_l``;
* backward ``dW_l = A_{l-1}.T @ dZ_l`` for every layer, and ``dZ_{l-1} = dZ_l @ W_l.T``
  for every layer but the first (nobody needs the gradient of the input).

No bias, activation, loss, update, shuffling or gather: every result goes into a buffer
allocated once (``np.matmul(..., out=)``), so what is timed is BLAS and the few Python
calls that start it. A framework cannot train the same network faster with NumPy.
"""

from __future__ import annotations

import time

import numpy as np

from .._common import ModelSpec
from ._harness import Hook, Peer, main


class _Bound:
    def __init__(self, spec: ModelSpec) -> None:
        rng = np.random.default_rng(spec.seed)
        self.W = [
            (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32)
            for a, b in zip(spec.sizes[:-1], spec.sizes[1:], strict=True)
        ]
        self._fwd: dict[int, list[np.ndarray]] = {}


class BoundPeer(Peer):
    name = "bound"
    is_bound = True

    def build(self, spec: ModelSpec) -> _Bound:
        return _Bound(spec)

    def fit(
        self,
        model: _Bound,
        X: np.ndarray,
        y: np.ndarray,
        spec: ModelSpec,
        epochs: int,
        hook: Hook | None = None,
    ) -> list[float]:
        W, m, n = model.W, spec.batch_size, len(X)
        widths = spec.sizes[1:]
        A = [np.empty((m, w), dtype=np.float32) for w in widths]
        dZ = [np.empty((m, w), dtype=np.float32) for w in widths]
        dW = [np.empty_like(w) for w in W]
        # The output error is never computed, only fed back: any finite values will do.
        dZ[-1][...] = np.random.default_rng(spec.seed).standard_normal(dZ[-1].shape) * 0.01
        last = len(W) - 1
        matmul = np.matmul
        times: list[float] = []
        total = 0.0
        for epoch in range(1, epochs + 1):
            t = time.perf_counter()
            for start in range(0, n, m):
                xb = X[start : start + m]
                k = len(xb)
                a = xb
                for l in range(last + 1):
                    a = matmul(a, W[l], out=A[l][:k])
                for l in range(last, -1, -1):
                    inp = xb if l == 0 else A[l - 1][:k]
                    matmul(inp.T, dZ[l][:k], out=dW[l])
                    if l:
                        matmul(dZ[l][:k], W[l].T, out=dZ[l - 1][:k])
            times.append(time.perf_counter() - t)
            total += times[-1]
            if hook is not None and hook(epoch, total):
                break
        return times

    def predict(self, model: _Bound, X: np.ndarray) -> np.ndarray:
        bufs = model._fwd.get(len(X))
        if bufs is None:
            # allocated on the first call only: repeated calls time the products alone
            bufs = model._fwd[len(X)] = [
                np.empty((len(X), w.shape[1]), dtype=np.float32) for w in model.W
            ]
        a = X
        for w, out in zip(model.W, bufs, strict=True):
            a = np.matmul(a, w, out=out)
        return a


if __name__ == "__main__":
    raise SystemExit(main(BoundPeer))
