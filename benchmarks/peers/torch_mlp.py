"""PyTorch eager: ``nn.Sequential``, ``CrossEntropyLoss``, ``optim.SGD``/``Adam``.

No DataLoader: each batch is gathered by index from one float32 tensor that shares the
NumPy array's memory (``torch.from_numpy``), in the same orders as the NumPy peer.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from .._common import ModelSpec
from ._harness import Hook, Peer, PeerUnavailable, main


class TorchPeer(Peer):
    name = "torch"

    def setup(self, threads: int) -> None:
        try:
            import torch
        except ImportError as exc:
            raise PeerUnavailable("torch not installed (pip install torch)") from exc
        torch.set_num_threads(threads)
        self.torch = torch

    def versions(self) -> dict[str, str]:
        torch = self.torch
        return {
            "torch": torch.__version__,
            "torch_threads": str(torch.get_num_threads()),
            "torch_blas": "mkl" if torch.backends.mkl.is_available() else "other",
        }

    def build(self, spec: ModelSpec) -> Any:
        nn = self.torch.nn
        self.torch.manual_seed(spec.seed)
        layers: list[Any] = []
        for a, b in zip(spec.sizes[:-2], spec.sizes[1:-1], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()]
            if spec.dropout:
                layers.append(nn.Dropout(spec.dropout))
        # softmax is inside CrossEntropyLoss; predict applies it
        layers.append(nn.Linear(spec.sizes[-2], spec.sizes[-1]))
        return nn.Sequential(*layers)

    def fit(
        self,
        model: Any,
        X: np.ndarray,
        y: np.ndarray,
        spec: ModelSpec,
        epochs: int,
        hook: Hook | None = None,
    ) -> list[float]:
        torch = self.torch
        with warnings.catch_warnings():
            # a read-only memmap: torch warns that writing through the tensor is undefined
            warnings.simplefilter("ignore", UserWarning)
            Xt = torch.from_numpy(X)
        yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
        if spec.optimizer == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=spec.learning_rate, eps=1e-7)
        else:
            opt = torch.optim.SGD(model.parameters(), lr=spec.learning_rate, momentum=spec.momentum)
        loss_fn = torch.nn.CrossEntropyLoss()
        model.train()
        n, bs = len(X), spec.batch_size
        order_rng = np.random.default_rng(spec.seed)
        times: list[float] = []
        total = 0.0
        for epoch in range(1, epochs + 1):
            t = time.perf_counter()
            for group in opt.param_groups:  # eta_0 / (1 + decay * e), as layerkit's TimeDecay
                group["lr"] = spec.learning_rate / (1.0 + spec.lr_decay * (epoch - 1))
            perm = torch.from_numpy(order_rng.permutation(n))
            for start in range(0, n, bs):
                idx = perm[start : start + bs]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
            times.append(time.perf_counter() - t)
            total += times[-1]
            if hook is not None and hook(epoch, total):
                break
        return times

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        torch = self.torch
        model.eval()
        with torch.inference_mode():
            out = torch.softmax(model(torch.from_numpy(X)), dim=1).numpy()
        model.train()
        return out


if __name__ == "__main__":
    raise SystemExit(main(TorchPeer))
