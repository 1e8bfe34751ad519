"""What ``train()`` shows while it runs: a progress bar (``verbose=1``) or a line per epoch
(``verbose=2``).

The bar counts samples and advances during the epoch, not only at its end. It is drawn
with ``tqdm.auto``, a widget in notebooks and text in a terminal. It is told about batches
in groups (about 50 updates per epoch) and redraws at most ten times a second, so that it
costs a negligible part of an epoch even when steps take microseconds.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Progress"]

_UPDATES_PER_EPOCH = 50


class Progress:
    """Progress of one ``train()`` run of ``epochs`` epochs of ``batches`` batches."""

    def __init__(self, epochs: int, batches: int, verbose: int, last_epoch: int) -> None:
        self.epochs, self.verbose, self.last_epoch = epochs, verbose, last_epoch
        self.every = max(1, batches // _UPDATES_PER_EPOCH)
        self.pending = self.count = 0
        self.bar: Any = None
        self.total_epochs = epochs
        if verbose == 1 and epochs > 0:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=None, unit="sample", desc="epoch 1", leave=True, mininterval=0.1)

    @property
    def active(self) -> bool:
        """Whether :meth:`batch` draws anything (the loop skips the call otherwise)."""
        return self.bar is not None

    def batch(self, size: int) -> None:
        """One batch of ``size`` samples trained."""
        if self.bar is None:
            return
        self.pending += size
        self.count += 1
        if self.count % self.every == 0:
            self.bar.update(self.pending)
            self.pending = 0

    def epoch(self, epoch: int, seconds: float, logs: dict[str, float]) -> None:
        """Epoch ``epoch`` ended after ``seconds`` with ``logs``."""
        if self.bar is not None:
            if self.pending:
                self.bar.update(self.pending)
                self.pending = 0
            if self.bar.total is None:
                self.bar.total = self.bar.n * self.total_epochs  # known after one epoch
            self.bar.set_description(f"epoch {epoch}", refresh=False)
            self.bar.set_postfix(
                {k: f"{v:.4g}" for k, v in logs.items() if k != "learning_rate"}, refresh=True
            )
        elif self.verbose == 2:
            parts = " - ".join(f"{k}: {v:.4g}" for k, v in logs.items())
            print(f"epoch {epoch}/{self.last_epoch} - {seconds:.2f}s - {parts}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
