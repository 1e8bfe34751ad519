"""``layerkit._rows.RowReducer``: row maxima and sums equal NumPy's, whatever the batch."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import layerkit as lk
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


def _through_read_only_memory(obj):
    """``obj`` pickled and unpickled with every array buffer read-only, as joblib's
    ``load(mmap_mode="r")`` and scikit-learn's pickling check give them."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    return pickle.loads(data, buffers=[memoryview(b).toreadonly() for b in buffers])


def test_read_only_simulation_gives_read_only_arrays():
    assert not _through_read_only_memory(np.ones(3)).flags.writeable


def test_row_reducer_unpickled_from_read_only_memory_rebuilds_its_buffers():
    x = np.random.default_rng(0).normal(size=(64, 10))
    reducer = RowReducer()
    reducer.max(x), reducer.sum(x)  # buffers of this shape exist before pickling
    copy = _through_read_only_memory(reducer)
    np.testing.assert_array_equal(copy.max(x), x.max(axis=1))
    np.testing.assert_allclose(copy.sum(x), x.sum(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(copy.argmax(x), x.argmax(axis=1))
    # caches are not pickled: the size does not grow with the batch the reducer has seen
    assert len(pickle.dumps(copy)) == len(pickle.dumps(RowReducer()))


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return rng.normal(size=(n, 4)) + y[:, None], y


def test_softmax_network_unpickled_from_read_only_memory_predicts_and_trains():
    # softmax and cross-entropy reduce rows with RowReducer; tanh keeps no buffers
    X, y = _blobs()
    net = lk.Network([lk.Input(4), lk.Dense(8, "tanh"), lk.Dense(3, "softmax")], seed=0)
    net.train(X, y, epochs=2, optimizer="adam", verbose=0)
    expected = net.predict(X), net.evaluate(X, y)  # the row buffers now fit these X
    copy = _through_read_only_memory(net)
    np.testing.assert_array_equal(copy.predict(X), expected[0])
    assert copy.evaluate(X, y) == expected[1]
    for model in (net, copy):  # the same fresh optimiser's steps on both
        model.train(X, y, epochs=1, optimizer=lk.Adam(0.01), verbose=0)
    for a, b in zip(copy.get_weights(), net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("loss", ["binary_crossentropy", "categorical_crossentropy"])
def test_any_network_unpickled_from_read_only_memory_continues_training(loss):
    X, y = _blobs()
    out = lk.Dense(1, "sigmoid") if loss == "binary_crossentropy" else lk.Dense(3, "softmax")
    y = (y > 0).astype(float) if loss == "binary_crossentropy" else y
    net = lk.Network([lk.Input(4), lk.Dense(8, "relu"), out], loss, seed=0)
    net.train(X, y, epochs=2, optimizer="adam", verbose=0)
    expected = net.predict(X), net.evaluate(X, y)  # every buffer now fits these X
    copy = _through_read_only_memory(net)
    np.testing.assert_array_equal(copy.predict(X), expected[0])
    assert copy.evaluate(X, y) == expected[1]
    for model in (net, copy):  # each continues with its own (unpickled) optimiser
        model.train(X, y, epochs=1, verbose=0)
    for a, b in zip(copy.get_weights(), net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
