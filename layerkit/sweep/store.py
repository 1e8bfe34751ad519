"""The on-disk store of a sweep: one JSON line per finished task.

Only the process that runs the sweep (the client) writes, as each result arrives, so a
record is written once however many workers computed it (Dask recomputes the results of a
killed worker). Each line is flushed and synced before the next task is counted done:
after a crash the file holds every finished task, and at worst a torn last line, which
is ignored when the store is read again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._validation import LayerkitTypeError

__all__ = ["ResultStore"]


class ResultStore:
    """Append-only JSON-lines file of task records, at most one per task key.

    Parameters
    ----------
    path : str or os.PathLike
        The file (created with its folder when missing). Several sweeps may share one
        store: each task's key includes a fingerprint of its sweep.

    Examples
    --------
    >>> import tempfile, os
    >>> store = ResultStore(os.path.join(tempfile.mkdtemp(), "runs.jsonl"))
    >>> store.add({"key": "a1", "score": 0.5})
    True
    >>> store.add({"key": "a1", "score": 0.7})  # a key is stored once
    False
    >>> len(store), "a1" in store
    (1, True)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, str | os.PathLike):
            raise LayerkitTypeError(
                f"store must be a path (str or os.PathLike); received {type(path).__name__}"
            )
        self.path = Path(path)
        self._records: dict[str, dict[str, Any]] = {}
        self._torn = False
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    # A line cut short by a crash: that task simply runs again.
                    continue
                if isinstance(record, dict) and "key" in record:
                    self._records.setdefault(str(record["key"]), record)
        with open(self.path, "rb") as f:
            if f.seek(0, os.SEEK_END) > 0:
                f.seek(-1, os.SEEK_END)
                # No final newline: the next record must not be glued to the last line.
                self._torn = self._torn or f.read(1) != b"\n"

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._records.values())

    def get(self, key: str) -> dict[str, Any] | None:
        """The record of a task key, or None."""
        return self._records.get(key)

    def add(self, record: dict[str, Any]) -> bool:
        """Append ``record`` unless its ``key`` is stored already; True if it was written."""
        key = str(record["key"])
        if key in self._records:
            return False
        line = json.dumps(record, default=_jsonable) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            if self._torn:
                # Start on a fresh line after a torn one.
                f.write("\n")
                self._torn = False
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self._records[key] = record
        return True

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r}, {len(self)} records)"


def _jsonable(value: Any) -> Any:
    # NumPy scalars and arrays from a custom scoring function or a duck-typed model.
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)
