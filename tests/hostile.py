"""Helpers that build hostile model files by hand (shared by the hostile-file tests).

The checksum is recomputed from the documented format (see ``layerkit.io``): SHA-256 of
the metadata JSON with ``sha256`` (and ``hmac_sha256``) empty and sorted keys, then for
each array in name order its ``name|dtype|shape`` and its bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib

import numpy as np

import layerkit as lk

META = "__layerkit__"


def data(n=30, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, k, n)


def trained_net(optimizer="adam", dtype="float32", seed=1):
    X, y = data()
    net = lk.Network(
        [lk.Input(4), lk.Dense(5, "tanh"), lk.Dense(3, "softmax")], seed=seed, dtype=dtype
    )
    net.train(X, y, epochs=2, batch_size=8, optimizer=optimizer, verbose=0)
    return net


def read_raw(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(arrays.pop(META).tobytes().decode("utf-8"))
    return arrays, meta


def checksum(meta, arrays):
    blank = dict(meta, sha256="")
    if "hmac_sha256" in blank:
        blank["hmac_sha256"] = ""
    h = hashlib.sha256(json.dumps(blank, sort_keys=True).encode("utf-8"))
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{value.dtype.str}|{value.shape}".encode())
        h.update(value.tobytes())
    return h.hexdigest()


def write_raw(path, arrays, meta, *, fix_checksum=True):
    if fix_checksum:
        meta["sha256"] = checksum(meta, arrays)
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, **{META: blob}, **arrays)
    return path


def rewrite(src, dst, edit, *, fix_checksum=True):
    """Copy a saved file, editing ``(meta, arrays)`` in place, with a valid checksum."""
    arrays, meta = read_raw(src)
    edit(meta, arrays)
    return write_raw(dst, arrays, meta, fix_checksum=fix_checksum)


def npy_header(shape, dtype) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf,
        {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False,
            "shape": tuple(shape),
        },
    )
    return buf.getvalue()


def npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def write_members(path, members, deflated=()):
    """A zip of ``{member name: bytes or iterable of byte chunks}``; the names in
    ``deflated`` are compressed (streamed, so a huge member never sits in memory)."""
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        for name, content in members.items():
            method = zipfile.ZIP_DEFLATED if name in deflated else zipfile.ZIP_STORED
            info = zipfile.ZipInfo(name + ".npy")
            info.compress_type = method
            with zf.open(info, "w", force_zip64=True) as out:
                for chunk in [content] if isinstance(content, bytes) else content:
                    out.write(chunk)
    return path


def zeros_stream(n_bytes, prefix=b"", chunk=1 << 20):
    yield prefix
    zero = bytes(chunk)
    while n_bytes > 0:
        yield zero[: min(chunk, n_bytes)]
        n_bytes -= chunk


def deflate_ratio_of_zeros() -> float:
    raw = bytes(1 << 20)
    return len(raw) / len(zlib.compress(raw, 9))


def model_members(path):
    """The members of a saved file as ``{name: npy bytes}`` plus its parsed metadata."""
    arrays, meta = read_raw(path)
    members = {name: npy_bytes(a) for name, a in arrays.items()}
    members[META] = meta_member(meta)
    return members, meta


def meta_member(meta) -> bytes:
    return npy_bytes(np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8))


def state_of(net):
    """Everything a refused load or resume must leave as it was."""
    opt = net.optimizer
    return {
        "weights": [w.copy() for w in net.get_weights()],
        "rng": json.dumps(net.rng.bit_generator.state),
        "optimizer": None
        if opt is None
        else (
            type(opt).__name__,
            opt.learning_rate,
            opt.iterations,
            [{k: v.copy() for k, v in s.items()} for s in opt.slots],
        ),
        "history": None if net.history is None else json.dumps(net.history.as_dict()),
    }


def assert_unchanged(net, before):
    after = state_of(net)
    assert len(after["weights"]) == len(before["weights"])
    for a, b in zip(after["weights"], before["weights"], strict=True):
        assert np.array_equal(a, b)
    assert after["rng"] == before["rng"]
    assert after["history"] == before["history"]
    if before["optimizer"] is None:
        assert after["optimizer"] is None
    else:
        name, rate, iterations, slots = before["optimizer"]
        assert after["optimizer"][:3] == (name, rate, iterations)
        for sa, sb in zip(after["optimizer"][3], slots, strict=True):
            assert sa.keys() == sb.keys()
            assert all(np.array_equal(sa[k], sb[k]) for k in sa)
