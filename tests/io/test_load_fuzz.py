"""Hypothesis fuzzing of ``load`` and ``read_checkpoint`` over mutated valid files.

Two mutators, bounded (small files, 100 examples each):

* bytes: flipped, replaced and truncated bytes anywhere in the file (no new checksum).
  ``load`` either refuses with a layerkit error or gives the identical model;
* fields: any value of the metadata replaced by an arbitrary JSON value, with the
  checksum recomputed (a forger's file). ``load`` and ``read_checkpoint`` either refuse
  with a layerkit error or succeed; a refused ``read_checkpoint`` leaves the network as
  it was.
"""

from __future__ import annotations

import copy
import json
import math

import hostile as h
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import layerkit as lk
import layerkit.io as lkio

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ALLOWED = (lk.ModelFileError, lk.LayerkitValueError, lk.LayerkitTypeError)


def _small_checkpoint(directory):
    X, y = h.data(n=12, d=3, k=2)
    net = lk.Network([lk.Input(3), lk.Dense(2, "tanh"), lk.Dense(2, "softmax")], seed=0)
    path = directory / "ck.npz"
    net.train(X, y, X, y, epochs=2, batch_size=4, verbose=0, optimizer="adam", checkpoint=path,
              early_stopping=1)  # fmt: skip
    return net, path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fuzz")
    net, path = _small_checkpoint(directory)
    return net, path, path.read_bytes(), directory


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in ("sha256",):
                yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:4]):
            yield from _paths(v, (*prefix, i))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True, width=64)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(data=st.data())
def test_load_of_a_byte_mutated_file_refuses_or_gives_the_identical_model(checkpoint, data):
    net, _, raw, directory = checkpoint
    blob = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 8), label="n_mutations")):
        i = data.draw(st.integers(0, len(blob) - 1), label="position")
        blob[i] = data.draw(st.integers(0, 255), label="byte")
    if data.draw(st.booleans(), label="truncate"):
        del blob[data.draw(st.integers(0, len(blob)), label="cut") :]
    path = directory / "bytes.npz"
    path.write_bytes(bytes(blob))
    try:
        loaded = lk.load(path)
    except ALLOWED:
        return
    for a, b in zip(loaded.get_weights(), net.get_weights(), strict=True):
        assert np.array_equal(a, b)


@FUZZ
@given(data=st.data())
def test_a_forged_field_is_refused_by_a_layerkit_error_and_changes_nothing(checkpoint, data):
    net, src, _, directory = checkpoint
    arrays, meta = h.read_raw(src)
    paths = [p for p in _paths(meta) if p]
    where = data.draw(st.sampled_from(paths), label="field")
    value = data.draw(JSON, label="value")
    forged = copy.deepcopy(meta)
    node = forged
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    try:
        json.dumps(forged, allow_nan=True)
    except (TypeError, ValueError):
        return
    path = h.write_raw(directory / "fields.npz", arrays, forged)
    try:
        lk.load(path)
    except ALLOWED:
        pass
    target = copy.deepcopy(net)
    before = h.state_of(target)
    try:
        lkio.read_checkpoint(target, path)
    except ALLOWED:
        pass
    h.assert_unchanged(target, before)


@FUZZ
@given(
    name=st.sampled_from(["p0", "p1", "o0_m", "o1_v", "b0"]),
    values=st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=64) | st.just(math.ldexp(1.0, 200)),
        min_size=1,
        max_size=3,
    ),
    dtype=st.sampled_from(["<f2", "<f4", "<f8", ">f8", "<i4"]),
)
def test_forged_array_values_and_dtypes_are_refused_or_loaded_finite(
    checkpoint, name, values, dtype
):
    net, src, _, directory = checkpoint
    arrays, meta = h.read_raw(src)
    flat = arrays[name].astype(np.float64).ravel()
    flat[: len(values)] = values[: flat.size]
    with np.errstate(all="ignore"):
        arrays[name] = flat.reshape(arrays[name].shape).astype(dtype)
    path = h.write_raw(directory / "values.npz", arrays, meta)
    target = copy.deepcopy(net)
    before = h.state_of(target)
    try:
        ck = lkio.read_checkpoint(target, path)
    except ALLOWED:
        h.assert_unchanged(target, before)
        return
    assert all(np.isfinite(w).all() and w.dtype == np.float32 for w in ck.weights)
