"""Row-wise reductions over short rows, into reused buffers.

A network's output has few columns (10 classes). NumPy reduces a ``(m, 10)`` array along
its rows through a loop of ``m`` calls on 10 elements: ``np.max(z, axis=1)`` takes about
three times as long as ``z.argmax(axis=1)`` followed by a gather of those elements, and
``z @ ones`` (one BLAS ``gemv``) beats ``z.sum(axis=1)``. The softmax and the
cross-entropy cost run these once per training step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RowReducer"]


class RowReducer:
    """Row maxima and sums of C-contiguous ``(m, k)`` arrays, into buffers kept between calls.

    Results are views of the reducer's buffers: valid until its next call with the same
    ``key``.
    """

    def __init__(self) -> None:
        self._shape: tuple | None = None  # (m, k, dtype) of the current views
        self._layout: tuple | None = None  # (k, dtype) of the buffers
        self._capacity = 0

    def __getstate__(self) -> dict[str, Any]:
        # The buffers are caches, rebuilt by the first call after unpickling: restored
        # ones would waste space, and from a read-only memory map (joblib, scikit-learn's
        # pickling check) they could not be written into.
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        RowReducer.__init__(self)  # empty caches, as a new reducer

    def _views(self, x: np.ndarray) -> None:
        m, k = x.shape
        if self._shape == (m, k, x.dtype):
            return
        if self._layout != (k, x.dtype) or self._capacity < m:
            # grown for a larger batch only: the last, smaller batch of an epoch reuses them
            capacity = m if self._layout != (k, x.dtype) else max(m, self._capacity)
            self._layout, self._capacity, self._dtype = (k, x.dtype), capacity, x.dtype
            self._index_buf = np.empty(capacity, dtype=np.intp)
            self._flat_buf = np.empty(capacity, dtype=np.intp)
            self._starts_buf = np.arange(capacity, dtype=np.intp) * k
            self._ones = np.ones(k, dtype=x.dtype)
            self._value_bufs: dict[str, np.ndarray] = {}
        self._index = self._index_buf[:m]
        self._flat = self._flat_buf[:m]
        self._starts = self._starts_buf[:m]
        self._m = m
        self._shape = (m, k, x.dtype)

    def _values(self, key: str) -> np.ndarray:
        buf = self._value_bufs.get(key)
        if buf is None:
            buf = self._value_bufs[key] = np.empty(self._capacity, dtype=self._dtype)
        return buf[: self._m]

    def scratch(self, key: str) -> np.ndarray:
        """A buffer of one value per row of the last array seen (valid until the reducer
        sees another batch size)."""
        return self._values(key)

    def argmax(self, x: np.ndarray) -> np.ndarray:
        """Index of each row's maximum (the first, on ties; of a NaN, if any)."""
        self._views(x)
        return x.argmax(axis=1, out=self._index)

    def at(self, x: np.ndarray, index: np.ndarray, key: str) -> np.ndarray:
        """``x[i, index[i]]`` for every row ``i``."""
        self._views(x)
        if not x.flags.c_contiguous:
            return x[np.arange(x.shape[0]), index]
        flat = np.add(self._starts, index, out=self._flat)
        return x.reshape(-1).take(flat, out=self._values(key), mode="clip")

    def max(self, x: np.ndarray) -> np.ndarray:
        """Each row's maximum (NaN where the row has one)."""
        return self.at(x, self.argmax(x), "max")

    def sum(self, x: np.ndarray) -> np.ndarray:
        """Each row's sum, as ``x @ ones``."""
        self._views(x)
        return np.matmul(x, self._ones, out=self._values("sum"))
