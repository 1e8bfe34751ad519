"""IDX reading and writing: format bytes, round trips, and errors that name the file."""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layerkit.datasets import read_idx, write_idx
from layerkit.datasets._files import _atomic_writer

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def test_write_idx_produces_the_documented_header_and_big_endian_payload(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    write_idx(path, np.array([7, 0, 255], dtype=np.uint8))
    assert path.read_bytes() == b"\x00\x00\x08\x01" + struct.pack(">I", 3) + bytes([7, 0, 255])

    path = tmp_path / "m-idx2-int"
    write_idx(path, np.array([[1, -2]], dtype=np.int32))
    expected = b"\x00\x00\x0c\x02" + struct.pack(">II", 1, 2) + struct.pack(">ii", 1, -2)
    assert path.read_bytes() == expected


def test_read_idx_decodes_a_hand_written_big_endian_file(tmp_path):
    path = tmp_path / "hand-idx2-short"
    path.write_bytes(
        b"\x00\x00\x0b\x02" + struct.pack(">II", 2, 2) + struct.pack(">4h", 1, -1, 300, -300)
    )
    out = read_idx(path)
    assert out.dtype == np.int16 and out.dtype.isnative
    np.testing.assert_array_equal(out, [[1, -1], [300, -300]])


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_every_idx_dtype_round_trips_plain_and_gzipped(tmp_path, dtype, suffix):
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else np.finfo(dtype)
    array = np.array([[info.min, 0, info.max], [1, 2, 3]], dtype=dtype)
    path = tmp_path / f"a-idx2{suffix}"
    write_idx(path, array)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert out.flags.writeable
    np.testing.assert_array_equal(out, array)


@settings(max_examples=40, deadline=None)
@given(
    array=hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.int16, np.float32]),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
        elements={"allow_nan": False, "allow_infinity": False},
    ),
    gz=st.booleans(),
)
def test_round_trip_preserves_shape_dtype_and_values(tmp_path_factory, array, gz):
    path = tmp_path_factory.mktemp("idx") / ("x.gz" if gz else "x")
    write_idx(path, array)
    out = read_idx(path)
    assert out.shape == array.shape and out.dtype == array.dtype
    np.testing.assert_array_equal(out, array)


def test_compression_is_detected_from_content_not_from_the_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    gz_without_suffix = tmp_path / "packed"
    write_idx(tmp_path / "packed.gz", array)
    os.rename(tmp_path / "packed.gz", gz_without_suffix)
    plain_with_suffix = tmp_path / "plain.gz"
    write_idx(tmp_path / "plain", array)
    os.rename(tmp_path / "plain", plain_with_suffix)
    np.testing.assert_array_equal(read_idx(gz_without_suffix), array)
    np.testing.assert_array_equal(read_idx(plain_with_suffix), array)


def test_gzipped_output_is_deterministic(tmp_path):
    array = np.arange(100, dtype=np.float32)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


@pytest.mark.parametrize(
    "magic",
    [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00", b"PK\x03\x04"],
    ids=["nonzero-prefix", "unknown-type", "zero-dims", "zip-file"],
)
def test_bad_magic_number_raises_value_error_naming_the_file(tmp_path, magic):
    path = tmp_path / "bad-magic"
    path.write_bytes(magic + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match="bad magic number") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_file_shorter_than_magic_number_is_reported_as_truncated(tmp_path):
    path = tmp_path / "tiny"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="truncated") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_header_cut_inside_the_dimension_sizes_is_reported(tmp_path):
    path = tmp_path / "cut-header"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">I", 5))
    with pytest.raises(ValueError, match=r"truncated IDX header.*3 dimensions"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_data_shorter_than_header_promises_is_reported_with_sizes(tmp_path, gz):
    content = b"\x00\x00\x08\x02" + struct.pack(">II", 4, 4) + bytes(10)
    path = tmp_path / ("short.gz" if gz else "short")
    path.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(
        ValueError, match=r"truncated IDX file.*\(4, 4\).*28 bytes.*holds 22"
    ) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("gz", [False, True])
def test_trailing_bytes_after_the_data_are_reported(tmp_path, gz):
    content = b"\x00\x00\x08\x01" + struct.pack(">I", 2) + bytes(5)
    path = tmp_path / ("long.gz" if gz else "long")
    path.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(ValueError, match=r"oversized IDX file.*10 bytes.*holds 13"):
        read_idx(path)


def test_cut_off_gzip_download_raises_value_error_not_eof_error(tmp_path):
    path = tmp_path / "cut.gz"
    write_idx(path, np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


@pytest.mark.parametrize("bad", [np.arange(3, dtype=np.int64), np.array([True, False])])
def test_write_idx_refuses_dtypes_without_an_idx_code(tmp_path, bad):
    with pytest.raises(TypeError, match=f"got {bad.dtype}"):
        write_idx(tmp_path / "x", bad)
    assert not (tmp_path / "x").exists()


def test_write_idx_refuses_a_zero_dimensional_array(tmp_path):
    with pytest.raises(ValueError, match="1 to 255 dimensions to be written as IDX; got 0"):
        write_idx(tmp_path / "x", np.uint8(3))


def test_atomic_writer_leaves_target_and_folder_untouched_when_the_write_fails(tmp_path):
    target = tmp_path / "file"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), _atomic_writer(target) as handle:
        handle.write(b"partial new content")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_atomic_writer_replaces_the_target_when_the_write_succeeds(tmp_path):
    target = tmp_path / "file"
    target.write_bytes(b"old")
    with _atomic_writer(target) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["file"]
