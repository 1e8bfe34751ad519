"""The raw container of a layerkit file: an ``.npz`` archive read with bounded memory.

This module knows nothing of networks. It reads and writes a zip archive of ``.npy``
members the way :func:`numpy.savez` lays them out, and enforces the limits that make
reading a hostile file cheap:

* every member's ``.npy`` header is parsed without reading its data, so the caller can
  compare declared shapes and dtypes with what it expects *before* anything is
  allocated (:meth:`Archive.header`);
* a member is read into an array of its declared size through a reader that stops one
  byte past that size (:meth:`Archive.read_array`): a deflate bomb is refused after
  reading at most its declared size plus one byte, whatever its stream would inflate to;
* declared sizes are consistent with the file: a stored member's size equals its
  compressed size, a deflated one inflates at most :data:`MAX_DEFLATE_RATIO` times, and
  compressed sizes add up to no more than the file;
* JSON is refused above :data:`MAX_METADATA_BYTES` bytes or :data:`MAX_JSON_DEPTH`
  levels of nesting, measured before parsing (no ``RecursionError``).

Writes are atomic (:func:`atomic_write`): a temporary file in the target's folder, locked
while written, fsynced, then renamed. Temporary files left by a killed save are removed by
the next save to the same path (:func:`remove_stale_temps`).
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import math
import os
import re
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from ._validation import LayerkitValueError

try:  # POSIX advisory locks tell a live save's temporary file from a dead one
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MAX_DEFLATE_RATIO",
    "MAX_JSON_DEPTH",
    "MAX_METADATA_BYTES",
    "Archive",
    "ArrayHeader",
    "ModelFileError",
    "atomic_write",
    "content_digest",
    "os_error",
    "remove_stale_temps",
]

#: Largest metadata (JSON) member, in bytes.
MAX_METADATA_BYTES = 32 * 2**20
#: Deepest nesting of JSON arrays and objects accepted.
MAX_JSON_DEPTH = 64
#: Largest ratio of a deflated member's size to its compressed size (zlib's limit is 1032).
MAX_DEFLATE_RATIO = 1100
#: Largest ``.npy`` header, in bytes (NumPy's own default limit).
MAX_NPY_HEADER = 10_000
#: A temporary file of an earlier save is stale when unlocked and older than this (POSIX).
STALE_TEMP_SECONDS = 2.0
#: Without advisory locks (Windows), only the age tells: a live save writes continually.
STALE_TEMP_SECONDS_UNLOCKED = 60.0

_CHUNK = 1 << 20
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,  # encrypted members
    ValueError,
    OSError,
)


class ModelFileError(LayerkitValueError):
    """A model file is missing, truncated, corrupted, forged or of an unknown format.

    The message names the file and, where one is at fault, the field.
    """


def os_error(exc: OSError, operation: str, path: Path | str) -> OSError:
    """An OSError of the same kind (errno) saying what was being done, and to which path."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno is None:
        new = type(exc)(f"{operation} {str(path)!r}: {reason}")
    else:  # OSError(errno, ...) picks the subclass (PermissionError, FileNotFoundError, ...)
        new = OSError(exc.errno, f"{reason} (while {operation})", str(path))
    new.__cause__ = exc
    return new


@dataclass(frozen=True)
class ArrayHeader:
    """What a member's ``.npy`` header declares, read without touching its data."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int  # bytes of magic string and header before the data

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def describe(self) -> str:
        return f"shape {self.shape}, dtype {self.dtype.name}"


class Archive:
    """An open ``.npz`` file whose members are read only on request, with bounds.

    Use as a context manager. Member names are the array names (``.npy`` stripped).
    Every failure is a :class:`ModelFileError` naming the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._label = repr(str(path))
        try:
            self._handle = open(path, "rb")
        except OSError as exc:
            raise os_error(exc, "opening the model file", path) from exc
        try:
            size = os.fstat(self._handle.fileno()).st_size
            self._zip = zipfile.ZipFile(self._handle)
            self._members = self._check_members(size)
        except ModelFileError:
            self.close()
            raise
        except _READ_ERRORS as exc:
            self.close()
            raise self.error(
                "is not a layerkit model file (not a readable zip archive: truncated, "
                "corrupted or another kind of file); a layerkit model is an .npz file "
                "written by layerkit.save"
            ) from exc
        self._headers: dict[str, ArrayHeader] = {}

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        zf = getattr(self, "_zip", None)
        if zf is not None:
            zf.close()
        self._handle.close()

    def error(self, message: str, field: str | None = None) -> ModelFileError:
        where = f" (field {field})" if field else ""
        return ModelFileError(f"{self._label} {message}{where}")

    @property
    def names(self) -> list[str]:
        return list(self._members)

    def _check_members(self, file_size: int) -> dict[str, zipfile.ZipInfo]:
        members: dict[str, zipfile.ZipInfo] = {}
        compressed = 0
        for info in self._zip.infolist():
            label = f"archive member {info.filename!r}"
            if not info.filename.endswith(".npy") or info.is_dir():
                raise self.error(f"has an unexpected {label}; it is not a layerkit model file")
            if info.flag_bits & 0x1:
                raise self.error(f"has an encrypted {label}")
            if info.compress_type == zipfile.ZIP_STORED:
                if info.file_size != info.compress_size:
                    raise self.error(f"is corrupted: the sizes of {label} disagree")
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                if info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1):
                    raise self.error(
                        f"is refused: {label} would inflate {info.file_size} bytes from "
                        f"{info.compress_size} (more than {MAX_DEFLATE_RATIO} times; a "
                        "decompression bomb?)"
                    )
            else:
                raise self.error(f"uses an unsupported compression method in {label}")
            compressed += info.compress_size
            name = info.filename[: -len(".npy")]
            if name in members:
                raise self.error(f"holds {label} twice")
            members[name] = info
        if compressed > file_size:
            raise self.error("is corrupted: its members are larger than the file")
        return members

    def deflated(self, name: str) -> bool:
        """Whether member ``name`` is compressed (``numpy.savez``, and so layerkit, never
        compresses; ``numpy.savez_compressed`` does)."""
        return self._members[name].compress_type == zipfile.ZIP_DEFLATED

    def header(self, name: str, field: str | None = None) -> ArrayHeader:
        """The declared shape and dtype of member ``name`` (real-number dtypes only)."""
        cached = self._headers.get(name)
        if cached is not None:
            return cached
        info = self._members.get(name)
        if info is None:
            raise self.error(f"has no array {name!r}", field)
        try:
            with self._zip.open(info) as stream:
                version = npy_format.read_magic(stream)
                if version == (1, 0):
                    header = npy_format.read_array_header_1_0(
                        stream, max_header_size=MAX_NPY_HEADER
                    )
                elif version in ((2, 0), (3, 0)):
                    header = npy_format.read_array_header_2_0(
                        stream, max_header_size=MAX_NPY_HEADER
                    )
                else:
                    raise ValueError("unknown .npy version")
                offset = stream.tell()
        except (*_READ_ERRORS, SyntaxError, RecursionError, TypeError) as exc:
            raise self.error(f"has a corrupted header in array {name!r}", field) from exc
        shape, fortran_order, dtype = header
        if (
            fortran_order
            or dtype.hasobject
            or dtype.fields is not None
            or dtype.subdtype is not None
            or dtype.kind not in "biuf"
            or not all(isinstance(d, int) and d >= 0 for d in shape)
        ):
            raise self.error(
                f"holds array {name!r} of an unsupported layout (dtype {dtype.name}); "
                "layerkit files hold C-ordered arrays of real numbers only",
                field,
            )
        result = ArrayHeader(name, tuple(int(d) for d in shape), dtype, offset)
        if offset + result.nbytes != info.file_size:
            raise self.error(
                f"is corrupted: array {name!r} declares {result.describe()} "
                f"({result.nbytes} bytes) but its archive member holds "
                f"{info.file_size - offset} bytes",
                field,
            )
        self._headers[name] = result
        return result

    def chunks(self, name: str, field: str | None = None) -> Iterator[bytes]:
        """The data of member ``name`` in pieces, reading at most its declared size plus
        one byte: more data is refused as a decompression bomb, less as truncation."""
        head = self.header(name, field)
        try:
            with self._zip.open(self._members[name]) as stream:
                if len(stream.read(head.offset)) != head.offset:
                    raise EOFError
                left = head.nbytes
                while left:
                    chunk = stream.read(min(_CHUNK, left))
                    if not chunk:
                        raise EOFError
                    left -= len(chunk)
                    yield chunk
                # one byte past the end: more data is a bomb; none lets zipfile check the CRC
                if stream.read(1):
                    raise self.error(
                        f"is refused: array {name!r} holds more data than its header "
                        "declares (a decompression bomb?)",
                        field,
                    )
        except ModelFileError:
            raise
        except _READ_ERRORS as exc:
            raise self.error(
                f"is truncated or corrupted: array {name!r} cannot be read", field
            ) from exc

    def read_array(self, name: str, field: str | None = None) -> np.ndarray:
        """Member ``name`` as an array of its declared (already checked) shape and dtype."""
        head = self.header(name, field)
        out = np.empty(head.shape, dtype=head.dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
        done = 0
        for chunk in self.chunks(name, field):
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
        return out

    def digest(self, meta: dict[str, Any], names: list[str], key: bytes | None = None) -> str:
        """:func:`content_digest` of ``meta`` and the members ``names``, streamed from the
        file in pieces: no array is held in memory."""
        h = _hasher(meta, key)
        for name in sorted(names):
            head = self.header(name)
            h.update(f"{name}|{head.dtype.str}|{head.shape}".encode())
            for chunk in self.chunks(name):
                h.update(chunk)
        return h.hexdigest()

    def read_json(self, name: str) -> Any:
        """Member ``name``, a 1-d uint8 array of UTF-8 JSON, parsed with caps on size and depth."""
        head = self.header(name, "metadata")
        if head.dtype != np.uint8 or len(head.shape) != 1:
            raise self.error(
                f"is not a layerkit model file: its {name} entry is not UTF-8 bytes", "metadata"
            )
        if head.nbytes > MAX_METADATA_BYTES:
            raise self.error(
                f"is refused: its metadata declares {head.nbytes} bytes, more than the "
                f"{MAX_METADATA_BYTES} layerkit reads",
                "metadata",
            )
        raw = self.read_array(name, "metadata").tobytes()
        depth = json_depth(raw)
        if depth > MAX_JSON_DEPTH:
            raise self.error(
                f"is refused: its metadata nests {depth} levels deep, more than the "
                f"{MAX_JSON_DEPTH} layerkit reads",
                "metadata",
            )
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise self.error(f"is corrupted: its metadata is not valid JSON ({exc})") from exc


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


def json_depth(raw: bytes) -> int:
    """Deepest nesting of arrays and objects in JSON text, without parsing it.

    Strings are blanked first so that brackets inside them do not count. Text that is
    not valid JSON gets some number; the parser refuses it afterwards.
    """
    stripped = _JSON_STRING.sub(b'""', raw)
    deepest = level = 0
    for start in range(0, len(stripped), _CHUNK):
        steps = _OPEN[np.frombuffer(stripped, np.uint8, min(_CHUNK, len(stripped) - start), start)]
        if not steps.any():
            continue
        running = np.cumsum(steps, dtype=np.int64) + level
        deepest = max(deepest, int(running.max()))
        level = int(running[-1])
    return deepest


def content_digest(
    meta: dict[str, Any], arrays: dict[str, np.ndarray], key: bytes | None = None
) -> str:
    """SHA-256 (or HMAC-SHA256 with ``key``) of ``meta``'s JSON and every array.

    The JSON is taken with sorted keys; then, for each array in name order, its name,
    dtype, shape and bytes.
    """
    h = _hasher(meta, key)
    for name in sorted(arrays):
        value = arrays[name]
        h.update(f"{name}|{value.dtype.str}|{value.shape}".encode())
        h.update(np.ascontiguousarray(value).data)
    return h.hexdigest()


def _hasher(meta: dict[str, Any], key: bytes | None) -> Any:
    h: Any = hashlib.sha256() if key is None else hmac.new(key, digestmod=hashlib.sha256)
    h.update(json.dumps(meta, sort_keys=True).encode("utf-8"))
    return h


# ---------------------------------------------------------------------------- writing
def _temp_pattern(path: Path) -> re.Pattern[str]:
    # tempfile.mkstemp(prefix=".{name}.", suffix=".tmp"): 8 characters in between
    return re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove temporary files that earlier, killed saves to ``path`` left in its folder.

    Only names of the pattern ``.{name}.XXXXXXXX.tmp`` for this target are considered.
    One is removed when no process holds its lock (a live save holds it from creation to
    rename) and it is older than :data:`STALE_TEMP_SECONDS`, which covers the moment
    between creation and locking; without advisory locks (Windows) only files older than
    :data:`STALE_TEMP_SECONDS_UNLOCKED` are removed. Returns the paths removed.
    """
    pattern = _temp_pattern(path)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    limit = STALE_TEMP_SECONDS if fcntl is not None else STALE_TEMP_SECONDS_UNLOCKED
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < limit:
                continue
            if fcntl is None:
                os.unlink(entry.path)
            else:
                fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                try:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except OSError:
                        continue  # a live save holds it
                    # unlinked while we hold the lock: no save can be writing it
                    os.unlink(entry.path)
                finally:
                    os.close(fd)
        except OSError:
            continue  # gone already (renamed by its save), or not ours to remove
        removed.append(Path(entry.path))
    return removed


def _locked_temp(path: Path) -> tuple[int, str]:
    """A new temporary file next to ``path``, open and locked (POSIX), still in place.

    Between its creation and its lock, another save's cleaner could take it for the
    leftover of a killed save (it is unlocked) and remove it. A cleaner removes only
    while holding the lock, so once we hold it and the name still leads to our file,
    nobody else will remove it; otherwise a fresh one is made.
    """
    for _ in range(100):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        if fcntl is None:
            return fd, tmp
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until the rename: tells cleaners it is live
            if os.path.samestat(os.stat(tmp), os.fstat(fd)):
                return fd, tmp
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            Path(tmp).unlink(missing_ok=True)
            raise
        os.close(fd)  # removed under us by a cleaner: try another name
    raise OSError(errno.EAGAIN, "temporary files keep being removed by other processes")


def atomic_write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an ``.npz`` at ``path``: locked temporary file, fsync, rename.

    The folder is created when missing. Stale temporary files of earlier saves to the same
    path are removed first. An ``OSError`` is re-raised with the path and the operation.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, "creating the folder of the model file", path.parent) from exc
    if path.is_dir():
        raise os_error(
            IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)),
            "saving the model: the path is a folder",
            path,
        )
    remove_stale_temps(path)
    try:
        fd, tmp = _locked_temp(path)
    except OSError as exc:
        raise os_error(exc, "creating a temporary file next to the model file", path) from exc
    operation = "writing the model file"
    try:
        # mkstemp makes the file 0600: give it the mode the user's umask asks for
        umask = os.umask(0o22)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            operation = "flushing the model file to disk"
            os.fsync(handle.fileno())
            operation = "renaming the temporary file onto the model file"
            os.replace(tmp, path)  # while locked: a cleaner never sees it unlocked
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise os_error(exc, operation, path) from exc
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
