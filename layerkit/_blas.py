"""BLAS calls with the scale factors that ``np.matmul`` hides.

BLAS computes ``C <- alpha op(A) op(B) + beta C`` (gemm) and ``y <- alpha x + y`` (axpy);
NumPy exposes only ``C = A @ B``. The scale factors let a training step fuse its SGD update
into the weight-gradient product:

.. math:: W \\leftarrow W - \\eta\\, x^T \\delta

is one gemm with ``alpha = -eta`` and ``beta = 1`` (an L2 decay ``W <- W - eta lambda W``
is one axpy before it), instead of a product into a gradient array and two more passes
over ``W``, single-threaded, to apply it.

The functions call the BLAS that NumPy itself loaded, through :mod:`ctypes`: the same
library and thread pool as ``np.matmul``. (SciPy's wheels bundle a second OpenBLAS: calling
it would bring a second pool of threads competing for the cores, and its kernels are a
different build.) The library is used only where it is identified with certainty (the
``scipy-openblas`` build of NumPy's wheels, whose symbol names carry their integer width)
and passes a self-test against ``np.matmul``; elsewhere, or with ``LAYERKIT_BLAS=numpy``
in the environment, :data:`available` is false and every function returns ``False``, so
that callers fall back to NumPy.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Callable

import numpy as np

__all__ = ["MIN_ELEMENTS", "available", "axpby", "axpy", "gemm"]

#: below this many output elements a ctypes call (a few microseconds) costs more than the
#: NumPy pass it saves: callers keep to NumPy for small arrays
MIN_ELEMENTS = 1 << 12

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

# (prefix, suffix, integer type) of the CBLAS symbols of the builds we recognise. The
# suffix ``64_`` marks the 64-bit-integer interface, so the integer width is never guessed.
_SYMBOLS = (
    ("scipy_cblas_", "64_", ctypes.c_int64),  # NumPy's PyPI wheels (scipy-openblas64)
    ("cblas_", "64_", ctypes.c_int64),  # OpenBLAS built with a 64_ symbol suffix
    ("scipy_cblas_", "", ctypes.c_int32),  # scipy-openblas32
)


class _Library:
    def __init__(self, lib: ctypes.CDLL, prefix: str, suffix: str, integer: type) -> None:
        self.gemm: dict[np.dtype, Callable] = {}
        self.axpy: dict[np.dtype, Callable] = {}
        self.axpby: dict[np.dtype, Callable] = {}
        # ctypes would silently wrap a larger size into a wrong 32-bit argument
        self.max_int = 2**31 - 1 if integer is ctypes.c_int32 else 2**63 - 1
        for dtype, letter, real in (
            (np.float32, "s", ctypes.c_float),
            (np.float64, "d", ctypes.c_double),
        ):
            g = getattr(lib, f"{prefix}{letter}gemm{suffix}")
            g.restype = None
            g.argtypes = [integer, integer, integer, integer, integer, integer, real,
                          ctypes.c_void_p, integer, ctypes.c_void_p, integer, real,
                          ctypes.c_void_p, integer]  # fmt: skip
            a = getattr(lib, f"{prefix}{letter}axpy{suffix}")
            a.restype = None
            a.argtypes = [integer, real, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
            ab = getattr(lib, f"{prefix}{letter}axpby{suffix}")
            ab.restype = None
            ab.argtypes = [integer, real, ctypes.c_void_p, integer, real, ctypes.c_void_p, integer]
            self.gemm[np.dtype(dtype)] = g
            self.axpy[np.dtype(dtype)] = a
            self.axpby[np.dtype(dtype)] = ab


def _numpy_blas_files() -> list[str]:
    """Shared libraries bundled with NumPy that look like its BLAS (Linux and macOS wheels)."""
    root = os.path.dirname(os.path.abspath(np.__file__))
    patterns = [
        os.path.join(root + ".libs", "*openblas*"),  # Linux wheels: site-packages/numpy.libs
        os.path.join(root, ".dylibs", "*openblas*"),  # macOS wheels
    ]
    return sorted(f for p in patterns for f in glob.glob(p))


def _open() -> _Library | None:
    if os.environ.get("LAYERKIT_BLAS", "").lower() == "numpy":
        return None
    try:
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:
        return None
    if "openblas" not in str(config.get("name", "")).lower():
        return None
    for path in _numpy_blas_files():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, integer in _SYMBOLS:
            if all(
                hasattr(lib, f"{prefix}{name}{suffix}")
                for name in ("sgemm", "dgemm", "saxpy", "daxpy", "saxpby", "daxpby")
            ):
                return _Library(lib, prefix, suffix, integer)
    return None


def _layout(a: np.ndarray) -> tuple[int, int] | None:
    """``(transpose flag, leading dimension)`` of a 2-D operand for row-major BLAS."""
    item = a.itemsize
    s0, s1 = a.strides
    rows, cols = a.shape
    if s1 == item and s0 % item == 0 and s0 // item >= max(cols, 1):
        return _NO_TRANS, s0 // item
    if s0 == item and s1 % item == 0 and s1 // item >= max(rows, 1):
        return _TRANS, s1 // item  # a.T is row-contiguous: pass it, transposed
    return None


def gemm(alpha: float, a: np.ndarray, b: np.ndarray, beta: float, c: np.ndarray) -> bool:
    """``c <- alpha a @ b + beta c`` in place; ``False`` (nothing done) if BLAS cannot.

    ``a`` and ``b`` are 2-D and may be transposed views; all three share ``c``'s dtype
    (float32 or float64); ``c`` is C-contiguous, writeable and overlaps neither operand.
    The checks are few because this runs in every training step.
    """
    lib = _lib
    if lib is None:
        return False
    fn = lib.gemm.get(c.dtype)
    flags = c.flags
    if (
        fn is None
        or a.dtype != c.dtype
        or b.dtype != c.dtype
        or not flags.c_contiguous
        or not flags.writeable
    ):
        return False
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or c.shape != (m, n) or not (m and n and k):
        return False
    la, lb = _layout(a), _layout(b)
    if la is None or lb is None or max(m * k, k * n, m * n, la[1], lb[1]) > lib.max_int:
        return False
    fn(_ROW_MAJOR, la[0], lb[0], m, n, k, alpha, a.ctypes.data, la[1], b.ctypes.data, lb[1],
       beta, c.ctypes.data, n)  # fmt: skip
    return True


def _vectors(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether ``x`` and ``y`` can go to a level-1 BLAS call as they are."""
    return (
        x.dtype == y.dtype
        and x.shape == y.shape
        and x.flags.c_contiguous
        and y.flags.c_contiguous
        and y.flags.writeable
        and x.size > 0
    )


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
    """``y <- alpha x + y`` in place for contiguous arrays of one shape and dtype."""
    lib = _lib
    if lib is None or y.dtype not in lib.axpy or not _vectors(x, y) or y.size > lib.max_int:
        return False
    lib.axpy[y.dtype](y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    return True


def axpby(alpha: float, x: np.ndarray, beta: float, y: np.ndarray) -> bool:
    """``y <- alpha x + beta y`` in place (one pass) for contiguous arrays of one shape."""
    lib = _lib
    if lib is None or y.dtype not in lib.axpby or not _vectors(x, y) or y.size > lib.max_int:
        return False
    lib.axpby[y.dtype](y.size, alpha, x.ctypes.data, 1, beta, y.ctypes.data, 1)
    return True


def _self_test() -> bool:
    """Every layout and both dtypes against NumPy: a library we misread is never used."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        tol = 1e-4 if dtype == np.float32 else 1e-12
        for ta in (False, True):
            for tb in (False, True):
                a = rng.standard_normal((7, 5) if ta else (5, 7)).astype(dtype)
                b = rng.standard_normal((3, 7) if tb else (7, 3)).astype(dtype)
                a, b = (a.T if ta else a), (b.T if tb else b)
                c = rng.standard_normal((5, 3)).astype(dtype)
                want = -0.5 * (a @ b) + 0.25 * c
                if not gemm(-0.5, a, b, 0.25, c) or not np.allclose(c, want, rtol=tol, atol=tol):
                    return False
        x = rng.standard_normal(11).astype(dtype)
        y = rng.standard_normal(11).astype(dtype)
        want = 2.0 * x + y
        if not axpy(2.0, x, y) or not np.allclose(y, want, rtol=tol, atol=tol):
            return False
        want = -0.5 * x + 0.75 * y
        if not axpby(-0.5, x, 0.75, y) or not np.allclose(y, want, rtol=tol, atol=tol):
            return False
    return True


try:
    _lib: _Library | None = _open()
except Exception:  # any surprise in finding the library: NumPy only
    _lib = None
if _lib is not None and not _self_test():
    _lib = None

#: whether :func:`gemm`, :func:`axpy` and :func:`axpby` run (otherwise they return ``False``)
available: bool = _lib is not None
