"""``layerkit._rows.RowReducer``: row maxima and sums equal NumPy's, whatever the batch."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from layerkit._rows import RowReducer

rows = st.integers(1, 40).flatmap(
    lambda m: st.integers(1, 12).flatmap(
        lambda k: arrays(np.float32, (m, k), elements=st.floats(-1e6, 1e6, width=32))
    )
)


@settings(max_examples=80, deadline=None)
@given(xs=st.lists(rows, min_size=1, max_size=4))
def test_row_max_argmax_and_sum_equal_numpy_across_changing_shapes(xs):
    reducer = RowReducer()  # one reducer: buffers grow, shrink to views, change width
    for x in xs:
        np.testing.assert_array_equal(reducer.argmax(x), x.argmax(axis=1))
        np.testing.assert_array_equal(reducer.max(x), x.max(axis=1))
        # float32 sums: the error bound scales with the sum of magnitudes (cancellation)
        bound = 1e-6 * x.shape[1] * np.abs(x).sum(axis=1, dtype=np.float64) + 1e-6
        assert np.all(np.abs(reducer.sum(x) - x.sum(axis=1, dtype=np.float64)) <= bound)


def test_nan_rows_give_nan_maxima_and_non_contiguous_rows_work():
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    x[1, 2] = np.nan
    reducer = RowReducer()
    got = reducer.max(x)
    assert got[0] == 3 and np.isnan(got[1]) and got[2] == 11
    strided = np.asfortranarray(x)
    np.testing.assert_array_equal(reducer.at(strided, np.array([0, 1, 3]), "v"), [0, 5, 11])
