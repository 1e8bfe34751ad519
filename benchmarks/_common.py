"""Helpers shared by the orchestrator (``run.py``) and the peer processes.

Nothing here imports a peer library (torch, keras, scikit-learn): a peer process must
carry only its own library, so that its peak memory is its own.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MIB = 1 << 20
# The child prints exactly one line starting with this; library chatter on stdout is ignored.
RESULT_MARKER = "@@BENCH_RESULT@@ "
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "BLIS_NUM_THREADS",
)


@dataclass
class ModelSpec:
    """Everything a peer needs to build and train one network.

    Attributes
    ----------
    sizes : list of int
        Layer widths, input first: ``[784, 200, 30, 10]``. Hidden layers use ReLU, the
        output softmax with (mean) categorical cross-entropy.
    optimizer : {"sgd", "adam"}
    learning_rate : float
    momentum : float
        SGD only; 0 is plain SGD.
    batch_size : int
    seed : int
    dropout : float
        Fraction of units dropped after every hidden layer while training (0: none).
    lr_decay : float
        Time-based decay per epoch, ``eta_e = eta_0 / (1 + lr_decay * e)`` (0: constant).
        layerkit and PyTorch apply it; the NumPy, scikit-learn and Keras peers ignore it.
    shuffle : {"sample", "batch"}
        ``"sample"``: every epoch visits the rows in a new random order (a gather per
        batch). ``"batch"``: contiguous batches in a new random order, nothing gathered
        (layerkit's ``shuffle="batch"``); only layerkit and the hand-fused peer honour it.
    """

    sizes: list[int]
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    momentum: float = 0.0
    batch_size: int = 128
    seed: int = 0
    dropout: float = 0.0
    lr_decay: float = 0.0
    shuffle: str = "sample"

    @property
    def n_classes(self) -> int:
        return self.sizes[-1]

    @property
    def hidden(self) -> list[int]:
        return self.sizes[1:-1]


@dataclass
class Case:
    """One measured configuration of a scenario, as a peer reports it."""

    case: str
    unit: str
    samples: list[float] = field(default_factory=list)
    median: float | None = None
    min: float | None = None
    max: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def summarise(self) -> Case:
        if self.samples:
            self.median = float(statistics.median(self.samples))
            self.min = float(min(self.samples))
            self.max = float(max(self.samples))
        return self


def set_thread_env(env: dict[str, str], threads: int) -> dict[str, str]:
    """Pin every BLAS/OpenMP pool in a child's environment to ``threads``."""
    for var in THREAD_VARS:
        env[var] = str(threads)
    env.setdefault("KERAS_BACKEND", "torch")
    # Keras and torch print hints and progress on stderr/stdout otherwise.
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONHASHSEED"] = "0"
    return env


# --------------------------------------------------------------------------- memory
def _status() -> dict[str, int]:
    """``/proc/self/status`` memory fields in bytes (empty off Linux)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(("Vm", "Rss")):
                    key, _, value = line.partition(":")
                    parts = value.split()
                    if parts and parts[0].isdigit():
                        out[key] = int(parts[0]) * 1024
    except OSError:
        pass
    return out


def rss_mib() -> float:
    """Current resident set size in MiB."""
    st = _status()
    if "VmRSS" in st:
        return st["VmRSS"] / MIB
    return maxrss_mib()


def maxrss_mib() -> float:
    """Peak RSS of the whole process so far (``ru_maxrss``), in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / MIB if sys.platform == "darwin" else peak * 1024 / MIB


class MemoryWatch:
    """Peak memory of one phase (training) of the process.

    On entry the kernel's high-water mark is reset to the current RSS (Linux
    ``/proc/self/clear_refs``), so ``peak_rss`` is the peak of this phase, not of data
    loading before it. A daemon thread also samples anonymous RSS (``RssAnon``) every
    ``interval`` seconds: for a ``numpy.memmap``, pages of the file that were read count
    in RSS but are page cache the kernel can drop at will, so ``peak_anon`` is what tells
    whether the data was loaded whole. Sampling costs one small file read per interval.
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.reset_ok = False
        self.start_rss = 0.0
        self.start_anon = 0.0
        self.peak_rss = 0.0
        self.peak_anon = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        st = _status()
        if "RssAnon" in st:
            self.peak_anon = max(self.peak_anon, st["RssAnon"] / MIB)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> MemoryWatch:
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
                f.write("5")
            self.reset_ok = True
        except OSError:
            self.reset_ok = False
        st = _status()
        self.start_rss = st.get("VmRSS", 0) / MIB
        self.start_anon = st.get("RssAnon", 0) / MIB
        self.peak_anon = self.start_anon
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        st = _status()
        hwm = st.get("VmHWM", 0) / MIB
        self.peak_rss = hwm if self.reset_ok and hwm else maxrss_mib()

    def report(self) -> dict[str, float]:
        return {
            "rss_before_mib": round(self.start_rss, 1),
            "peak_rss_mib": round(self.peak_rss, 1),
            "peak_anon_mib": round(self.peak_anon, 1),
            "peak_is_phase": float(self.reset_ok),
        }


# --------------------------------------------------------------------------- data
def load_array(path: str | os.PathLike[str], rows: int | None = None) -> np.ndarray:
    """Load ``rows`` leading rows of a ``.npy`` file into fresh memory.

    Reading through a memory map and copying the rows needed means the process holds
    exactly those rows (no second full copy as ``np.load`` then slicing would make).
    """
    mm = np.load(path, mmap_mode="r")
    n = len(mm) if rows is None else min(rows, len(mm))
    out = np.empty((n, *mm.shape[1:]), dtype=mm.dtype)
    out[...] = mm[:n]
    del mm
    return out


def open_memmap(path: str | os.PathLike[str], rows: int | None = None) -> np.ndarray:
    """A read-only ``numpy.memmap`` view of a ``.npy`` file (nothing is read yet)."""
    mm = np.load(path, mmap_mode="r")
    return mm if rows is None else mm[:rows]


def standardise(X_train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Per-feature standardisation fitted on ``X_train``, float32, applied to all.

    Features constant on the training set (image borders) are centred, not scaled, so
    the test set cannot blow up through a near-zero deviation.
    """
    mean = X_train.mean(axis=0, dtype=np.float64)
    std = X_train.std(axis=0, dtype=np.float64)
    std[std < 1e-6] = 1.0
    mean32, std32 = mean.astype(np.float32), std.astype(np.float32)
    return [((x - mean32) / std32).astype(np.float32) for x in (X_train, *others)]


def accuracy(proba: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(proba, axis=1) == y))


def n_steps(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


# --------------------------------------------------------------------------- child protocol
def emit(payload: dict[str, Any]) -> None:
    """Send the child's result to the orchestrator (one marked line on stdout)."""
    sys.stdout.write(RESULT_MARKER + json.dumps(payload, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(obj: object) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)  # type: ignore[arg-type]
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def parse_result(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    return None


def stats(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "min": None, "max": None}
    return {
        "median": float(statistics.median(values)),
        "min": float(min(values)),
        "max": float(max(values)),
    }


class Clock:
    """Accumulates timed intervals, pausing around untimed work (evaluation)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        elapsed, self.t0 = now - self.t0, now
        return elapsed

    def restart(self) -> None:
        self.t0 = time.perf_counter()
