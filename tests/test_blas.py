"""``layerkit._blas``: the optimisers' one-pass updates on NumPy's own BLAS."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import layerkit as lk
from layerkit import _blas

needs_blas = pytest.mark.skipif(not _blas.available(), reason="NumPy's BLAS not identified")


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_and_axpby_agree_with_numpy_to_rounding(dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 70)).astype(dtype)
    y = rng.standard_normal((300, 70)).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    want = y + dtype(-0.3) * x
    assert _blas.axpy(-0.3, x, y)
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol)
    want = dtype(0.9) * y + dtype(0.2) * x
    assert _blas.axpby(0.2, x, 0.9, y)
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "x, y",
    [
        (np.ones((40, 50)), np.ones((50, 40)).T),  # y not C-contiguous
        (np.ones((40, 50))[:, ::2], np.ones((40, 25))),  # x strided
        (np.ones((40, 50), np.float32), np.ones((40, 50))),  # mixed dtypes
        (np.ones((40, 50)), np.ones((40, 50)).astype(np.int64)),  # not floating
    ],
)
def test_what_blas_cannot_take_is_refused_and_left_unchanged(x, y):
    before = y.copy()
    assert _blas.axpy(2.0, x, y) is False
    assert _blas.axpby(2.0, x, 0.5, y) is False
    np.testing.assert_array_equal(y, before)


def test_a_read_only_target_is_refused():
    y = np.ones(50000)
    y.flags.writeable = False
    assert _blas.axpy(1.5, np.ones(50000), y) is False


@pytest.mark.parametrize(
    "make",
    [
        lambda: lk.SGD(0.1),
        lambda: lk.SGD(0.1, momentum=0.9),
        lambda: lk.SGD(0.1, momentum=0.9, nesterov=True),
        lambda: lk.RMSProp(0.01),
        lambda: lk.Adam(0.01),
    ],
)
def test_an_update_equals_the_numpy_formula_above_and_below_the_blas_threshold(make):
    rng = np.random.default_rng(2)
    for size in (_blas.MIN_ELEMENTS * 2, 10):
        W = rng.standard_normal(size)
        g = rng.standard_normal(size)
        opt = make()
        W_hand, slots = W.copy(), {"v": np.zeros(size), "m": np.zeros(size)}
        for t in range(1, 4):
            opt.step([W], [g])
            _hand_step(opt, W_hand, g, slots, t)
        np.testing.assert_allclose(W, W_hand, rtol=1e-12, atol=1e-12)


def _hand_step(opt, W, g, s, t):
    """Step ``t`` of ``opt``'s documented formula, written with NumPy alone."""
    eta = opt.learning_rate
    if isinstance(opt, lk.SGD):
        if not opt.momentum:
            W -= eta * g
            return
        s["v"][...] = opt.momentum * s["v"] - eta * g
        W += (opt.momentum * s["v"] - eta * g) if opt.nesterov else s["v"]
    elif isinstance(opt, lk.RMSProp):
        s["v"][...] = opt.rho * s["v"] + (1 - opt.rho) * g * g
        W -= eta * g / (np.sqrt(s["v"]) + opt.epsilon)
    else:
        s["m"][...] = opt.beta_1 * s["m"] + (1 - opt.beta_1) * g
        s["v"][...] = opt.beta_2 * s["v"] + (1 - opt.beta_2) * g * g
        alpha = eta * np.sqrt(1 - opt.beta_2**t) / (1 - opt.beta_1**t)
        W -= alpha * s["m"] / (np.sqrt(s["v"]) + opt.epsilon)


def test_layerkit_blas_numpy_in_the_environment_switches_blas_off():
    code = "from layerkit import _blas; print(_blas.available())"
    env = {**os.environ, "LAYERKIT_BLAS": "numpy"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
