"""The fastest training step we know how to write in NumPy, without a framework.

Every operation layerkit's step performs, written out flat for one ReLU/softmax MLP and
plain SGD (with optional momentum): batches gathered by index into a buffer, the bias as
gemm's starting value and ReLU in place, the softmax's row maximum by ``argmax`` and a
gather, the cross-entropy cost and accuracy of every batch (layerkit reports both), the
fused output error, and the SGD update inside the weight-gradient gemm
(``layerkit._blas``, NumPy's own BLAS; plain NumPy products if it is unavailable).

It answers two questions the other peers cannot: how much of layerkit's time is the
framework (its layers, network and training loop) rather than NumPy, and how close to
the matrix-products bound a NumPy step can get at all. No dropout, no Adam: the quality
recipe is not run on it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._common import ModelSpec
from ._harness import Hook, NotApplicable, Peer, main

try:
    from layerkit import _blas
except ImportError:  # pragma: no cover - layerkit is the repository itself
    _blas = None
if not hasattr(_blas, "gemm"):  # layerkit's BLAS module now offers axpy/axpby only
    _blas = None


_MIN = _blas.MIN_ELEMENTS if _blas is not None else 0


def _gemm(alpha: float, a: np.ndarray, b: np.ndarray, beta: float, c: np.ndarray) -> None:
    """``c <- alpha a b + beta c``: one BLAS call for large ``c``, NumPy for small ones."""
    if _blas is not None and c.size >= _MIN and _blas.gemm(alpha, a, b, beta, c):
        return
    product = a @ b
    if beta == 0.0:
        np.multiply(product, alpha, out=c)
        return
    if beta != 1.0:
        c *= beta
    if alpha != 1.0:
        product *= alpha
    c += product


class _Net:
    def __init__(self, spec: ModelSpec) -> None:
        rng = np.random.default_rng(spec.seed)
        pairs = list(zip(spec.sizes[:-1], spec.sizes[1:], strict=True))
        self.W = [(rng.standard_normal(p) * np.sqrt(2 / p[0])).astype(np.float32) for p in pairs]
        self.b = [np.zeros(p[1], dtype=np.float32) for p in pairs]
        self.vW = [np.zeros_like(w) for w in self.W]
        self.vb = [np.zeros_like(b) for b in self.b]
        self.rng = rng
        self.m = 0
        self._cache: dict[int, dict[str, Any]] = {}

    def buffers(self, m: int, d: int, k: int) -> None:
        """Make the buffers for batches of ``m`` rows current (allocated once per size)."""
        if self.m != m:
            if m not in self._cache:
                self._cache[m] = self._allocate(m, d, k)
            self.__dict__.update(self._cache[m])
            self.m = m

    def _allocate(self, m: int, d: int, k: int) -> dict[str, Any]:
        widths = [w.shape[1] for w in self.W]
        return {
            "Z": [np.empty((m, w), np.float32) for w in widths],  # z, then a (ReLU in place)
            "A": np.empty((m, k), np.float32),  # softmax output
            "D": [np.empty((m, w), np.float32) for w in widths],  # dJ/dz
            "DX": [np.empty((m, w), np.float32) for w in widths],  # dJ/da of the layer below
            "mask": [np.empty((m, w), bool) for w in widths],
            "gb": [np.empty_like(b) for b in self.b],
            "sb": [np.empty_like(b) for b in self.b],
            "ones": np.ones(m, np.float32),
            "ones_k": np.ones(k, np.float32),
            "starts": np.arange(m, dtype=np.intp) * k,
            "j": np.empty(m, np.intp),
            "flat": np.empty(m, np.intp),
            "zmax": np.empty(m, np.float32),
            "total": np.empty(m, np.float32),
            "xb": np.empty((m, d), np.float32),
            "tb": np.empty((m, k), np.float32),
            "lb": np.empty(m, np.int64),
        }

    def forward(self, x: np.ndarray, Z: list[np.ndarray], A: np.ndarray) -> np.ndarray:
        last = len(self.W) - 1
        a = x
        for i, (w, b) in enumerate(zip(self.W, self.b, strict=True)):
            z = Z[i]
            np.copyto(z, b)
            _gemm(1.0, a, w, 1.0, z)
            if i < last:
                np.maximum(z, 0.0, out=z)
            a = z
        return self.softmax(a, A)

    def softmax(self, z: np.ndarray, out: np.ndarray) -> np.ndarray:
        m = len(z)
        j, flat, zmax, total = self.j[:m], self.flat[:m], self.zmax[:m], self.total[:m]
        z.argmax(axis=1, out=j)
        np.add(self.starts[:m], j, out=flat)
        z.reshape(-1).take(flat, out=zmax, mode="clip")
        np.subtract(z, zmax[:, None], out=out)
        np.exp(out, out=out)
        np.matmul(out, self.ones_k, out=total)
        out /= total[:, None]
        return out

    def step(self, x, t, labels, spec: ModelSpec) -> tuple[float, int]:
        m, last = len(x), len(self.W) - 1
        Z = [z[:m] for z in self.Z]
        a = self.forward(x, Z, self.A[:m])
        z = Z[last]
        # cost (logsumexp from the softmax's own max and sums) and accuracy, as layerkit
        cost = np.log(self.total[:m])
        cost += self.zmax[:m]
        cost -= np.einsum("ij,ij->i", t, z)
        total = float(cost.sum(dtype=np.float64))
        correct = int(np.count_nonzero(self.j[:m] == labels))
        delta = np.subtract(a, t, out=self.D[last][:m])
        delta *= 1.0 / m
        lr, mu = spec.learning_rate, spec.momentum
        for i in range(last, -1, -1):
            inp = x if i == 0 else Z[i - 1]
            if i:
                g = np.matmul(delta, self.W[i].T, out=self.DX[i - 1][:m])
            np.matmul(self.ones[:m], delta, out=self.gb[i])
            if mu:
                _gemm(-lr, inp.T, delta, mu, self.vW[i])
                self.W[i] += self.vW[i]
                self.vb[i] *= mu
                np.multiply(self.gb[i], lr, out=self.sb[i])
                self.vb[i] -= self.sb[i]
                self.b[i] += self.vb[i]
            else:
                _gemm(-lr, inp.T, delta, 1.0, self.W[i])
                np.multiply(self.gb[i], lr, out=self.sb[i])
                self.b[i] -= self.sb[i]
            if i:
                mask = np.greater(Z[i - 1], 0, out=self.mask[i - 1][:m])
                delta = np.multiply(g, mask, out=self.D[i - 1][:m])
        return total, correct


def _gather(model: _Net, X, T, labels, idx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = len(idx)
    xb = X.take(idx, axis=0, out=model.xb[:m], mode="clip")
    tb = T.take(idx, axis=0, out=model.tb[:m], mode="clip")
    return xb, tb, labels.take(idx, out=model.lb[:m], mode="clip")


class FusedPeer(Peer):
    name = "fused"

    def versions(self) -> dict[str, str]:
        return {"fused_blas": "numpy's own (layerkit._blas)" if _blas is not None else "numpy"}

    def build(self, spec: ModelSpec) -> _Net:
        if spec.dropout or spec.optimizer != "sgd":
            raise NotApplicable("implements plain SGD and momentum, without dropout, only")
        return _Net(spec)

    def fit(
        self,
        model: _Net,
        X: np.ndarray,
        y: np.ndarray,
        spec: ModelSpec,
        epochs: int,
        hook: Hook | None = None,
    ) -> list[float]:
        n, bs, k = len(X), spec.batch_size, model.W[-1].shape[1]
        model.buffers(min(bs, n), X.shape[1], k)
        T = np.eye(k, dtype=np.float32)[y]
        labels = np.asarray(y, dtype=np.int64)
        times: list[float] = []
        total_time = 0.0
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            if spec.shuffle == "batch":  # contiguous batches in a random order: no gather
                starts = model.rng.permutation(range(0, n, bs))
                batches = ((X[s : s + bs], T[s : s + bs], labels[s : s + bs]) for s in starts)
            else:
                order = model.rng.permutation(n)
                batches = (_gather(model, X, T, labels, order[s : s + bs]) for s in range(0, n, bs))
            cost = correct = 0.0  # the batch cost and accuracy, as layerkit's history keeps
            for xb, tb, lb in batches:
                c, r = model.step(xb, tb, lb, spec)
                cost += c
                correct += r
            times.append(time.perf_counter() - t0)
            total_time += times[-1]
            if hook is not None and hook(epoch, total_time):
                break
        return times

    def predict(self, model: _Net, X: np.ndarray) -> Any:
        model.buffers(len(X), X.shape[1], model.W[-1].shape[1])  # reused by later calls
        return model.forward(X, model.Z, model.A).copy()


if __name__ == "__main__":
    raise SystemExit(main(FusedPeer))
