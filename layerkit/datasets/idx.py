"""Reading and writing IDX files, the format of MNIST, Fashion-MNIST and KMNIST.

An IDX file is a 4-byte magic number ``0x00 0x00 TT DD`` (``TT`` the element type, ``DD``
the number of dimensions), then ``DD`` big-endian unsigned 32-bit sizes, then the elements
in C order, big-endian. Files may be gzip-compressed; gzip is recognised by its content,
not by the file name.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from .._validation import LayerkitTypeError, LayerkitValueError
from ._files import _atomic_writer

__all__ = ["read_idx", "write_idx"]

# IDX type code -> big-endian NumPy dtype.
_CODE_TO_DTYPE: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_KIND_SIZE_TO_CODE: dict[tuple[str, int], int] = {
    (dt.kind, dt.itemsize): code for code, dt in _CODE_TO_DTYPE.items()
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, plain or gzip-compressed, into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Compression is detected from the content (gzip magic bytes), so both
        ``train-images-idx3-ubyte`` and ``train-images-idx3-ubyte.gz`` work whatever
        they are called.

    Returns
    -------
    numpy.ndarray
        A writable array in native byte order, with the shape stored in the header and
        dtype ``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or ``float64``
        (IDX type codes 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the magic number is not an IDX one, the header is cut short, the data is shorter
        or longer than the header's shape requires, or the gzip stream is corrupt. The
        message names the file.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from layerkit.datasets import read_idx, write_idx
    >>> f = os.path.join(tempfile.mkdtemp(), "a-idx2-ubyte.gz")
    >>> write_idx(f, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> read_idx(f)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    if not isinstance(path, str | os.PathLike):
        raise LayerkitTypeError(f"path must be a str or os.PathLike; received {path!r}")
    path = Path(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _read_stream(
                raw, path, available=os.fstat(raw.fileno()).st_size, compressed=False
            )
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_stream(stream, path, available=None, compressed=True)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise LayerkitValueError(
                f"{path}: corrupt or truncated gzip file ({type(exc).__name__}: {exc}); "
                "delete it and download it again"
            ) from exc


def _read_exact(stream: io.BufferedIOBase, n: int) -> bytes:
    parts = []
    while n > 0:
        part = stream.read(n)
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _read_stream(
    stream: io.BufferedIOBase, path: Path, *, available: int | None, compressed: bool
) -> np.ndarray:
    magic = _read_exact(stream, 4)
    if len(magic) < 4:
        raise LayerkitValueError(
            f"{path}: truncated IDX file: {len(magic)} bytes, shorter than the 4-byte magic number"
        )
    code, ndim = magic[2], magic[3]
    if magic[:2] != b"\0\0" or code not in _CODE_TO_DTYPE or ndim == 0:
        codes = ", ".join(f"0x{c:02X}" for c in _CODE_TO_DTYPE)
        raise LayerkitValueError(
            f"{path}: not an IDX file: bad magic number 0x{magic.hex().upper()}; expected "
            f"0x0000TTDD with type code TT one of {codes} and DD >= 1 dimensions"
        )
    dims_bytes = _read_exact(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise LayerkitValueError(
            f"{path}: truncated IDX header: magic number announces {ndim} dimensions "
            f"({4 * ndim} bytes of sizes) but only {len(dims_bytes)} bytes follow it"
        )
    shape = struct.unpack(f">{ndim}I", dims_bytes)
    dtype = _CODE_TO_DTYPE[code]
    count = int(np.prod(shape, dtype=object))
    header_bytes = 4 + 4 * ndim
    expected = header_bytes + count * dtype.itemsize
    if available is not None and expected != available:
        # Plain files: checked before allocating, so a corrupt header cannot ask for
        # terabytes. Gzip streams are checked while reading.
        raise LayerkitValueError(_size_message(path, shape, dtype, expected, available, compressed))

    try:
        array = np.empty(count, dtype=dtype)
    except MemoryError as exc:
        raise LayerkitValueError(
            f"{path}: IDX header describes shape {shape} of {dtype.name}, {expected} bytes, "
            "which cannot be allocated; the file is probably corrupt"
        ) from exc
    buffer = array.view(np.uint8).data
    filled = 0
    while filled < len(buffer):
        n = stream.readinto(buffer[filled : filled + _CHUNK])
        if not n:
            raise LayerkitValueError(
                _size_message(path, shape, dtype, expected, header_bytes + filled, compressed)
            )
        filled += n
    extra = 0
    while chunk := stream.read(_CHUNK):
        extra += len(chunk)
    if extra:
        raise LayerkitValueError(
            _size_message(path, shape, dtype, expected, expected + extra, compressed)
        )

    if dtype.itemsize > 1 and sys.byteorder == "little":
        array.byteswap(inplace=True)
        array = array.view(dtype.newbyteorder("="))
    elif dtype.itemsize > 1:
        array = array.view(dtype.newbyteorder("="))
    return array.reshape(shape)


def _size_message(
    path: Path,
    shape: tuple[int, ...],
    dtype: np.dtype,
    expected: int,
    actual: int,
    compressed: bool,
) -> str:
    what = "truncated" if actual < expected else "oversized"
    return (
        f"{path}: {what} IDX file: the header describes shape {shape} of {dtype.name}, "
        f"{expected} bytes in all, but the {'decompressed ' if compressed else ''}"
        f"file holds {actual} bytes"
    )


def write_idx(path: str | os.PathLike[str], array: ArrayLike) -> None:
    """Write an array as an IDX file, gzip-compressed if ``path`` ends in ``.gz``.

    The file is written to a temporary name in the same folder, flushed to disk and then
    renamed, so an interrupted write never leaves a partial file at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination. A name ending in ``.gz`` (any case) is gzip-compressed (level 6, no
        time stamp or file name in the gzip header, so equal arrays give equal files).
    array : array_like
        At least 1-D, every dimension below 2**32, of dtype ``uint8``, ``int8``, ``int16``,
        ``int32``, ``float32`` or ``float64``. Other dtypes are refused rather than
        silently converted: convert explicitly, e.g. ``labels.astype(np.uint8)``.

    Raises
    ------
    TypeError
        If the dtype has no IDX type code.
    ValueError
        If ``array`` is 0-D, has more than 255 dimensions, or a dimension of 2**32 or more.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from layerkit.datasets import read_idx, write_idx
    >>> f = os.path.join(tempfile.mkdtemp(), "w-idx1-double")
    >>> write_idx(f, np.array([0.5, -2.0]))
    >>> read_idx(f)
    array([ 0.5, -2. ])
    """
    arr = np.asarray(array)
    code = _KIND_SIZE_TO_CODE.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None or arr.dtype.kind == "b":
        raise LayerkitTypeError(
            "array must have dtype uint8, int8, int16, int32, float32 or float64 to be "
            f"written as IDX; got {arr.dtype}"
        )
    if not 1 <= arr.ndim <= 255:
        raise LayerkitValueError(
            f"array must have 1 to 255 dimensions to be written as IDX; got {arr.ndim}"
        )
    if max(arr.shape) >= 2**32:
        raise LayerkitValueError(
            f"array dimensions must be below 2**32 for IDX; got shape {arr.shape}"
        )
    big_endian = np.ascontiguousarray(arr, dtype=_CODE_TO_DTYPE[code])
    header = bytes((0, 0, code, arr.ndim)) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path = Path(path)
    with _atomic_writer(path) as handle:
        if path.name.lower().endswith(".gz"):
            with gzip.GzipFile(
                filename="", mode="wb", fileobj=handle, compresslevel=6, mtime=0
            ) as stream:
                stream.write(header)
                stream.write(big_endian.view(np.uint8).reshape(-1).data)
        else:
            handle.write(header)
            handle.write(big_endian.view(np.uint8).reshape(-1).data)
