"""NumPy's own BLAS, for the optimisers' one-pass updates (its only user is
:mod:`layerkit.optimizers`).

An update ``W <- W - eta g`` takes NumPy two passes over memory (``eta g`` into a scratch
array, then the sum), on one core. BLAS ``axpy`` (``y <- alpha x + y``) and ``axpby``
(``y <- alpha x + beta y``) do it in one pass, on NumPy's BLAS threads. When the gradient
is a product ``a @ b`` not yet formed (:mod:`layerkit._products`), ``gemm``
(``C <- alpha a b + beta C``) applies it in the product itself: ``W <- W - eta x^T delta``
with ``alpha = -eta`` and ``beta = 1``, and the gradient array is neither written nor read.

The functions call the BLAS that NumPy itself loaded, through :mod:`ctypes`: the same
library and thread pool as ``np.matmul``. (SciPy's wheels bundle a second OpenBLAS: calling
it brings a second pool of threads competing for the cores, and an epoch then takes ten
times as long on two cores.) The library is used only where it is identified with
certainty (the ``scipy-openblas`` build of NumPy's wheels, whose symbol names carry their
integer width) and passes a self-test against NumPy; elsewhere, or with
``LAYERKIT_BLAS=numpy`` in the environment, every function returns ``False`` and the
optimiser uses NumPy. The library is looked up on the first call, not at import.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Callable

import numpy as np

__all__ = ["MIN_ELEMENTS", "available", "axpby", "axpy", "gemm"]

#: below this many elements a ctypes call (a few microseconds) costs more than the NumPy
#: pass it saves: callers keep to NumPy for small arrays
MIN_ELEMENTS = 1 << 14

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
            self.gemm[np.dtype(dtype)] = g
            a = getattr(lib, f"{prefix}{letter}axpy{suffix}")
            a.restype = None
            a.argtypes = [integer, real, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
            ab = getattr(lib, f"{prefix}{letter}axpby{suffix}")
            ab.restype = None
            ab.argtypes = [integer, real, ctypes.c_void_p, integer, real, ctypes.c_void_p, integer]
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

    ``a`` and ``b`` are 2-D, rows or columns contiguous (a transposed view is fine), of
    ``c``'s dtype; ``c`` is C-contiguous, writeable, and overlaps neither.
    """
    lib = _library()
    if lib is None:
        return False
    fn = lib.gemm.get(c.dtype)
    flags = c.flags
    if (
        fn is None
        or a.ndim != 2
        or b.ndim != 2
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
    if np.may_share_memory(c, a) or np.may_share_memory(c, b):
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
    lib = _library()
    if lib is None or y.dtype not in lib.axpy or not _vectors(x, y) or y.size > lib.max_int:
        return False
    lib.axpy[y.dtype](y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    return True


def axpby(alpha: float, x: np.ndarray, beta: float, y: np.ndarray) -> bool:
    """``y <- alpha x + beta y`` in place (one pass) for contiguous arrays of one shape."""
    lib = _library()
    if lib is None or y.dtype not in lib.axpby or not _vectors(x, y) or y.size > lib.max_int:
        return False
    lib.axpby[y.dtype](y.size, alpha, x.ctypes.data, 1, beta, y.ctypes.data, 1)
    return True


def _self_test(lib: _Library) -> bool:
    """Every function and both dtypes against NumPy: a library we misread is never used."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        tol = 1e-5 if dtype == np.float32 else 1e-12
        a = rng.standard_normal((5, 3)).astype(dtype)
        b = rng.standard_normal((5, 4)).astype(dtype)
        c = rng.standard_normal((3, 4)).astype(dtype)
        want = np.add(np.multiply(np.matmul(a.T, b), -0.5), np.multiply(c, 0.25))
        lib.gemm[c.dtype](_ROW_MAJOR, _TRANS, _NO_TRANS, 3, 4, 5, -0.5, a.ctypes.data, 3,
                          b.ctypes.data, 4, 0.25, c.ctypes.data, 4)  # fmt: skip
        if not np.allclose(c, want, rtol=tol, atol=tol):
            return False
        x: np.ndarray = rng.standard_normal(11).astype(dtype)
        y: np.ndarray = rng.standard_normal(11).astype(dtype)
        want = np.add(np.multiply(x, 2.0), y)
        lib.axpy[y.dtype](y.size, 2.0, x.ctypes.data, 1, y.ctypes.data, 1)
        if not np.allclose(y, want, rtol=tol, atol=tol):
            return False
        want = np.add(np.multiply(x, -0.5), np.multiply(y, 0.75))
        lib.axpby[y.dtype](y.size, -0.5, x.ctypes.data, 1, 0.75, y.ctypes.data, 1)
        if not np.allclose(y, want, rtol=tol, atol=tol):
            return False
    return True


_state: list[_Library | None] = []


def _library() -> _Library | None:
    """NumPy's BLAS, found and self-tested on the first call; ``None`` if not usable."""
    if not _state:
        try:
            lib = _open()
            _state.append(lib if lib is not None and _self_test(lib) else None)
        except Exception:  # any surprise in finding the library: NumPy only
            _state.append(None)
    return _state[0]


def available() -> bool:
    """Whether :func:`gemm`, :func:`axpy` and :func:`axpby` run (otherwise they return
    ``False``)."""
    return _library() is not None
