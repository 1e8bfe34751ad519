"""``layerkit._blas``: gemm and axpy on NumPy's own BLAS, checked against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerkit import _blas

pytestmark = pytest.mark.skipif(not _blas.available, reason="NumPy's BLAS not identified")


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 9),
    n=st.integers(1, 9),
    k=st.integers(1, 9),
    ta=st.booleans(),
    tb=st.booleans(),
    alpha=st.floats(-2, 2),
    beta=st.floats(-2, 2),
    dtype=st.sampled_from([np.float32, np.float64]),
    pad=st.integers(0, 3),
)
def test_gemm_equals_numpy_for_every_layout(m, n, k, ta, tb, alpha, beta, dtype, pad):
    rng = np.random.default_rng(m * 100 + n * 10 + k)
    # row strides wider than the rows (slices of larger buffers), or transposed views
    a_store = rng.standard_normal((k, m + pad) if ta else (m, k + pad)).astype(dtype)
    b_store = rng.standard_normal((n, k + pad) if tb else (k, n + pad)).astype(dtype)
    a = a_store[:, :m].T if ta else a_store[:, :k]
    b = b_store[:, :k].T if tb else b_store[:, :n]
    c = rng.standard_normal((m, n)).astype(dtype)
    want = alpha * (a.astype(np.float64) @ b) + beta * c
    assert _blas.gemm(alpha, a, b, beta, c)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(c, want, rtol=tol, atol=tol * 10)


def test_gemm_refuses_what_it_cannot_pass_to_blas_and_changes_nothing():
    a = np.ones((4, 6), np.float32)
    b = np.ones((3, 5), np.float32)
    c = np.zeros((4, 5), np.float32)
    assert not _blas.gemm(1.0, a[:, ::2], b, 0.0, c)  # inner stride 2
    assert not _blas.gemm(1.0, a[:, :3], b.astype(np.float64), 0.0, c)  # mixed dtypes
    assert not _blas.gemm(1.0, a[:, :3], b, 0.0, np.zeros((5, 4), np.float32).T)  # c not C
    assert not _blas.gemm(1.0, a, b, 0.0, c)  # inner dimensions differ
    assert not _blas.gemm(1.0, a.astype(np.int64)[:, :3], b, 0.0, c)
    readonly = np.zeros((4, 5), np.float32)
    readonly.flags.writeable = False  # a read-only memmap would crash BLAS, not raise
    assert not _blas.gemm(1.0, a[:, :3], b, 0.0, readonly)
    assert not c.any() and not readonly.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_equals_numpy(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 7)).astype(dtype)
    y = rng.standard_normal((30, 7)).astype(dtype)
    want = -0.3 * x.astype(np.float64) + y
    assert _blas.axpy(-0.3, x, y)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol)
    assert not _blas.axpy(1.0, x[:, ::2], y[:, ::2])


def test_layerkit_blas_numpy_in_the_environment_turns_it_off():
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np; from layerkit import _blas; o = np.ones((2, 2)); "
        "print(_blas.available, _blas.gemm(1.0, o, o, 0.0, o.copy()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "LAYERKIT_BLAS": "numpy"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["False", "False"]
