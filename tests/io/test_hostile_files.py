"""Hostile model files: every class of attack of issue 12 against ``load`` and ``resume=``.

Each file is crafted by hand (``hostile.py``). A refused file must raise
``ModelFileError`` naming the file (and the field at fault), allocate little (measured
with tracemalloc, which sees NumPy's allocations), and change nothing in the process.
"""

from __future__ import annotations

import json
import pickle
import tracemalloc

import hostile as h
import numpy as np
import pytest

import layerkit as lk
import layerkit.io as lkio

MB = 2**20


class PeakMemory:
    """Peak of traced allocations (NumPy's included) inside the block, in bytes."""

    def __enter__(self):
        tracemalloc.start()
        tracemalloc.reset_peak()
        return self

    def __exit__(self, *exc):
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


@pytest.fixture
def saved(tmp_path):
    net = h.trained_net()
    return net, lk.save(net, tmp_path / "good.npz")


def refused(path, match=None, **kwargs):
    with pytest.raises(lk.ModelFileError, match=match) as info:
        lk.load(path, **kwargs)
    message = str(info.value)
    assert str(path) in message or path.name in message, message
    assert "allow_pickle" not in message and "dtype(" not in message, message
    return message


# ---------------------------------------------------------------------------- denial of service


def test_a_header_declaring_a_trillion_elements_is_refused_without_allocating(saved, tmp_path):
    _, path = saved
    members, meta = h.model_members(path)
    members["p0"] = h.npy_header((10**6, 10**6), "<f4") + bytes(80)
    members[h.META] = h.meta_member(meta)
    bad = h.write_members(tmp_path / "huge.npz", members)
    with PeakMemory() as mem:
        refused(bad, r"p0")
    assert mem.peak < 5 * MB


def test_a_forged_config_with_huge_layers_and_tiny_weights_is_refused_before_building(
    saved, tmp_path
):
    """Input(20000) -> Dense(5000) would be 400 MB of weights; the file stores (4, 5)."""
    _, path = saved

    def edit(meta, arrays):
        meta["network"]["layers"][0]["config"]["shape"] = [20000]
        meta["network"]["layers"][1]["config"]["units"] = 5000

    bad = h.rewrite(path, tmp_path / "forged.npz", edit)
    with PeakMemory() as mem:
        message = refused(bad, r"shape \(4, 5\).*expects \(20000, 5000\)")
    assert "params[0]" in message
    assert mem.peak < 5 * MB


@lk.register_layer
class HostileIdentity(lk.Layer):
    """A user layer: its arrays are known only after build, its output shape before."""

    def forward(self, x, training=False):
        return x

    def backward(self, grad_out):
        return grad_out


def test_a_forged_huge_dense_after_a_user_layer_is_refused_before_building(tmp_path):
    net = lk.Network([lk.Input(4), HostileIdentity(), lk.Dense(3, "softmax")], seed=0)
    path = lk.save(net, tmp_path / "user.npz")

    def edit(meta, arrays):
        meta["network"]["layers"][0]["config"]["shape"] = [20000]
        meta["network"]["layers"][2]["config"]["units"] = 5000

    bad = h.rewrite(path, tmp_path / "forged.npz", edit)
    with PeakMemory() as mem:
        refused(bad, r"shape \(4, 3\).*expects \(20000, 5000\)")
    assert mem.peak < 5 * MB


def test_a_network_with_a_drawn_128_bit_seed_round_trips(tmp_path):
    net = lk.Network([lk.Input(4), lk.Dense(3, "softmax")], seed=None)
    assert net.seed > 2**64
    assert lk.load(lk.save(net, tmp_path / "s.npz")).seed == net.seed


def test_a_deflate_bomb_behind_a_small_array_is_refused_before_inflating(saved, tmp_path):
    """The member's npy header declares the 80 bytes the model needs; its stream holds
    64 MB of zeros (64 KB compressed)."""
    _, path = saved
    members, _ = h.model_members(path)
    members["p0"] = h.zeros_stream(64 * MB, prefix=h.npy_header((4, 5), "<f4"))
    bad = h.write_members(tmp_path / "bomb.npz", members, deflated={"p0"})
    assert bad.stat().st_size < 2 * MB
    with PeakMemory() as mem:
        refused(bad, r"declares .*80 bytes")
    assert mem.peak < 5 * MB


def test_a_deflate_bomb_matching_a_forged_big_config_is_refused_before_allocating(saved, tmp_path):
    """Config and header agree on a 256 MB weight matrix (Input(8192) -> Dense(8192)); the
    deflated zeros inflate to exactly that. The checksum (streamed) refuses the contents
    before any array is allocated."""
    _, path = saved
    members, meta = h.model_members(path)
    meta["network"]["layers"][0]["config"]["shape"] = [8192]
    meta["network"]["layers"][1]["config"]["units"] = 8192
    meta["network"]["layers"][2]["class"] = "Dropout"
    meta["network"]["layers"][2]["config"] = {"rate": 0.5, "name": "d"}
    meta["params"] = [{"layer": 1, "key": "W", "array": "p0"}]
    meta["optimizer"] = None
    meta["loss"] = "sum_of_squares"
    meta["network"]["loss"] = "sum_of_squares"
    members = {
        h.META: h.meta_member(meta),
        "p0": h.zeros_stream(8192 * 8192 * 4, prefix=h.npy_header((8192, 8192), "<f4")),
    }
    bad = h.write_members(tmp_path / "bigbomb.npz", members, deflated={"p0"})
    assert bad.stat().st_size < 2 * MB
    with PeakMemory() as mem:
        refused(bad, "checksum")
    assert mem.peak < 16 * MB


def test_deeply_nested_metadata_is_refused_without_recursion_error(saved, tmp_path):
    _, path = saved
    members, meta = h.model_members(path)
    text = json.dumps(meta)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    members[h.META] = h.npy_bytes(np.frombuffer(text.encode(), dtype=np.uint8))
    bad = h.write_members(tmp_path / "deep.npz", members)
    refused(bad, r"nests 100\d\d\d levels")


def test_brackets_inside_strings_do_not_count_as_nesting(saved, tmp_path):
    net, _ = saved
    net.history.message = "[" * 5_000 + '\\"{'
    lk.load(net.save(tmp_path / "brackets.npz"))


def test_a_metadata_entry_above_the_size_cap_is_refused_before_parsing(saved, tmp_path):
    _, path = saved
    members, meta = h.model_members(path)
    blob = json.dumps(meta).encode()
    size = 40 * MB
    members[h.META] = h.zeros_stream(size - len(blob), prefix=h.npy_header((size,), "u1") + blob)
    bad = h.write_members(tmp_path / "fat.npz", members, deflated={h.META})
    with PeakMemory() as mem:
        refused(bad, r"metadata declares 41943040 bytes")
    assert mem.peak < 5 * MB


def test_a_deeply_nested_npy_header_is_a_model_file_error(saved, tmp_path):
    _, path = saved
    members, _ = h.model_members(path)
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + "(" * 3000 + ")" * 3000 + "}"
    raw = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
    members["p0"] = raw
    bad = h.write_members(tmp_path / "hdr.npz", members)
    refused(bad, "p0")


@pytest.mark.parametrize(
    "descr",
    ["|O", "<c8", "<U3", "|V16", "[('a', '<f4')]"],
    ids=["object", "complex", "str", "void", "struct"],
)
def test_arrays_that_are_not_real_numbers_are_refused_from_their_header(saved, tmp_path, descr):
    _, path = saved
    members, _ = h.model_members(path)
    header = f"{{'descr': {descr if descr.startswith('[') else repr(descr)}, 'fortran_order': False, 'shape': (0,), }}"
    header = header.ljust(118) + "\n"
    members["p0"] = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
    bad = h.write_members(tmp_path / "weird.npz", members)
    refused(bad, "p0")


def test_an_archive_member_that_is_not_an_array_is_refused(saved, tmp_path):
    _, path = saved
    members, _ = h.model_members(path)
    import zipfile

    with zipfile.ZipFile(tmp_path / "extra.npz", "w") as zf:
        for name, content in members.items():
            zf.writestr(name + ".npy", content)
        zf.writestr("evil.py", b"import os")
    refused(tmp_path / "extra.npz", "unexpected archive member 'evil.py'")


def test_an_array_its_metadata_does_not_list_is_refused(saved, tmp_path):
    _, path = saved
    bad = h.rewrite(path, tmp_path / "x.npz", lambda m, a: a.__setitem__("zz", np.zeros(3)))
    refused(bad, r"does not list: \['zz'\]")


# ---------------------------------------------------------------------------- forged fields (valid checksum)

FORGED = {
    "slot of the wrong shape": (
        lambda m, a: a.__setitem__("o0_m", np.zeros((5, 4), np.float32)),
        r"optimizer\.slots\[0\]\.m has shape \(5, 4\)",
    ),
    "slot of an int dtype": (
        lambda m, a: a.__setitem__("o0_v", np.zeros((4, 5), np.int32)),
        r"optimizer\.slots\[0\]\.v must hold floating-point",
    ),
    "slots missing one": (
        lambda m, a: m["optimizer"]["slots"][0].pop("m"),
        r"optimizer\.slots\[0\] must hold the slots",
    ),
    "iterations a string": (
        lambda m, a: m["optimizer"].__setitem__("iterations", "many"),
        r"optimizer\.iterations must be an integer in \[0, 9007199254740992\]; the file holds 'many'",
    ),
    "iterations a float": (
        lambda m, a: m["optimizer"].__setitem__("iterations", 2.5),
        r"optimizer\.iterations",
    ),
    "iterations a bool": (
        lambda m, a: m["optimizer"].__setitem__("iterations", True),
        r"optimizer\.iterations",
    ),
    "iterations negative": (
        lambda m, a: m["optimizer"].__setitem__("iterations", -3),
        r"optimizer\.iterations",
    ),
    "negative learning rate": (
        lambda m, a: m["optimizer"].__setitem__("learning_rate", -0.1),
        r"optimizer\.learning_rate must be a finite number > 0; the file holds -0\.1",
    ),
    "NaN learning rate": (
        lambda m, a: m["optimizer"].__setitem__("learning_rate", float("nan")),
        r"optimizer\.learning_rate",
    ),
    "infinite initial learning rate": (
        lambda m, a: m["optimizer"].__setitem__("initial_learning_rate", float("inf")),
        r"optimizer\.initial_learning_rate",
    ),
    "zero learning rate in the config": (
        lambda m, a: m["optimizer"]["config"].__setitem__("learning_rate", 0),
        r"optimizer\.config\.learning_rate",
    ),
    "optimiser config key unknown": (
        lambda m, a: m["optimizer"]["config"].__setitem__("evil", 1),
        r"optimizer\.config holds 'evil'",
    ),
    "optimiser config out of range": (
        lambda m, a: m["optimizer"]["config"].__setitem__("beta_1", 7.0),
        r"optimizer\.config is refused by Adam",
    ),
    "optimiser class a module path": (
        lambda m, a: m["optimizer"].__setitem__("class", "os.system"),
        r"optimizer\.class .*'os\.system'",
    ),
    "float64 weights overflowing float32": (
        lambda m, a: a.__setitem__("p0", np.full((4, 5), 1e300)),
        r"params\[0\].*beyond the float32 range",
    ),
    "NaN weight": (
        lambda m, a: a["p1"].__setitem__(0, np.nan),
        r"params\[1\].*NaN or infinity.*allow_nonfinite=True",
    ),
    "weights of the wrong shape": (
        lambda m, a: a.__setitem__("p2", np.zeros((5, 4), np.float32)),
        r"params\[2\].*shape \(5, 4\).*expects \(5, 3\)",
    ),
    "parameter keys swapped": (
        lambda m, a: m["params"][0].__setitem__("key", "b"),
        r"params \(layer 'dense",
    ),
    "parameter of the Input layer": (
        lambda m, a: m["params"][0].__setitem__("layer", 0),
        r"Input layer",
    ),
    "layer index out of range": (
        lambda m, a: m["params"][3].__setitem__("layer", 9),
        r"params\[3\]\.layer",
    ),
    "array listed twice": (
        lambda m, a: m["params"][1].__setitem__("array", "p0"),
        r"same array",
    ),
    "history of unequal lengths": (
        lambda m, a: m["history"]["train_cost"].append(1.0),
        r"history\.train_cost holds 3 entries for 2 epochs",
    ),
    "history field unknown": (
        lambda m, a: m["history"].__setitem__("evil", 1),
        r"history holds fields History does not have",
    ),
    "history epochs not numbers": (
        lambda m, a: m["history"].__setitem__("epochs", ["a", "b"]),
        r"history\.epochs",
    ),
    "rng state garbage": (
        lambda m, a: m["rng_state"].__setitem__("state", "x"),
        r"rng_state",
    ),
    "rng of another kind": (
        lambda m, a: m["rng_state"].__setitem__("bit_generator", "MT19937"),
        r"rng_state\.bit_generator",
    ),
    "dtype float16": (
        lambda m, a: m["network"].__setitem__("dtype", "float16"),
        r"network\.dtype",
    ),
    "negative seed": (
        lambda m, a: m["network"].__setitem__("seed", -1),
        r"network\.seed",
    ),
    "NaN penalty": (
        lambda m, a: m["network"].__setitem__("penalty", float("nan")),
        r"network\.penalty",
    ),
    "no layers": (
        lambda m, a: m["network"].__setitem__("layers", []),
        r"network\.layers is empty",
    ),
    "unknown loss": (
        lambda m, a: m["network"].__setitem__("loss", "os.system"),
        r"network\.loss",
    ),
    "layer config refused by its constructor": (
        lambda m, a: m["network"]["layers"][1]["config"].__setitem__("units", -5),
        r"network\.layers\[1\]\.config is refused by Dense",
    ),
    "first layer not an Input": (
        lambda m, a: m["network"]["layers"].__setitem__(
            0, {"class": "Dropout", "config": {"rate": 0.1}}
        ),
        r"network\.layers\[0\] must be an Input layer",
    ),
    "user metadata not an object": (
        lambda m, a: m.__setitem__("metadata", [1, 2]),
        r"metadata must be a JSON object",
    ),
    "checksum missing": (
        lambda m, a: m.pop("sha256"),
        r"sha256|SHA-256",
    ),
}


@pytest.mark.parametrize("case", list(FORGED), ids=list(FORGED))
def test_forged_fields_with_a_valid_checksum_are_refused_naming_the_field(saved, tmp_path, case):
    edit, match = FORGED[case]
    _, path = saved
    fix = case != "checksum missing"
    bad = h.rewrite(path, tmp_path / "forged.npz", edit, fix_checksum=fix)
    refused(bad, match)


def test_non_finite_weights_load_with_allow_nonfinite(saved, tmp_path):
    _, path = saved
    bad = h.rewrite(path, tmp_path / "nan.npz", lambda m, a: a["p1"].__setitem__(0, np.inf))
    net = lk.load(bad, allow_nonfinite=True)
    assert np.isinf(net.get_weights()[1][0])


def test_float64_weights_within_float32_range_load_into_a_float32_model(saved, tmp_path):
    net, path = saved
    bad = h.rewrite(
        path, tmp_path / "f8.npz", lambda m, a: a.__setitem__("p0", a["p0"].astype(np.float64))
    )
    loaded = lk.load(bad)
    assert loaded.get_weights()[0].dtype == np.float32
    assert np.array_equal(loaded.get_weights()[0], net.get_weights()[0])


def test_a_changed_byte_without_a_new_checksum_is_reported_as_corruption(saved, tmp_path):
    _, path = saved
    bad = h.rewrite(
        path,
        tmp_path / "c.npz",
        lambda m, a: m["optimizer"].__setitem__("iterations", -1),
        fix_checksum=False,
    )
    refused(bad, "corrupted.*checksum")


# ---------------------------------------------------------------------------- not a layerkit file


def _not_models(tmp_path):
    files = {}
    files["text.npz"] = b"hello, I am a text file\n"
    files["pickle.npz"] = pickle.dumps({"W": [1, 2, 3]})
    buf = tmp_path / "plain.npy"
    np.save(buf, np.arange(5.0))
    files["plain.npz"] = buf.read_bytes()
    buf = tmp_path / "obj.npy"
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    files["objects.npz"] = buf.read_bytes()
    buf = tmp_path / "bare.npz"
    np.savez(buf, W=np.zeros(3))
    files["bare-npz.npz"] = buf.read_bytes()
    files["empty.npz"] = b""
    return files


@pytest.mark.parametrize(
    "name", ["text.npz", "pickle.npz", "plain.npz", "objects.npz", "bare-npz.npz", "empty.npz"]
)
def test_a_file_that_is_not_a_layerkit_model_says_so_without_pickle_advice(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(_not_models(tmp_path)[name])
    message = refused(path, "not a layerkit model file")
    assert "pickle" not in message.replace(str(path), "").lower()


# ---------------------------------------------------------------------------- signatures


def test_a_signed_file_round_trips_with_its_key(saved, tmp_path):
    net, _ = saved
    path = lk.save(net, tmp_path / "signed.npz", key=b"s3cret")
    loaded = lk.load(path, key=b"s3cret")
    assert all(
        np.array_equal(a, b) for a, b in zip(net.get_weights(), loaded.get_weights(), strict=True)
    )
    assert lk.load(lk.save(net, tmp_path / "s2.npz", key="text key"), key="text key")


def test_signature_mismatches_are_clear_errors(saved, tmp_path):
    net, plain = saved
    signed = lk.save(net, tmp_path / "signed.npz", key=b"right")
    refused(signed, r"is signed \(HMAC-SHA256\); load it with key=")
    refused(signed, "signature check: the key is wrong", key=b"wrong")
    refused(plain, "is not signed, but a key was given", key=b"right")


def test_a_signed_file_whose_checksum_was_recomputed_after_forging_fails_the_signature(
    saved, tmp_path
):
    net, _ = saved
    signed = lk.save(net, tmp_path / "signed.npz", key=b"k")
    forged = h.rewrite(
        signed,
        tmp_path / "forged.npz",
        lambda m, a: m["optimizer"].__setitem__("learning_rate", 5.0),
    )
    with pytest.raises(lk.ModelFileError, match="signature check"):
        lk.load(forged, key=b"k")


def test_a_key_of_the_wrong_type_is_a_type_error(saved, tmp_path):
    net, path = saved
    with pytest.raises(lk.LayerkitTypeError, match="key must be"):
        lk.save(net, tmp_path / "x.npz", key=123)
    with pytest.raises(lk.LayerkitTypeError, match="key must be"):
        lk.load(path, key=b"")


# ---------------------------------------------------------------------------- resume with hostile checkpoints

X, Y = h.data()


def _checkpoint(tmp_path):
    net = h.trained_net()
    ck = tmp_path / "ck.npz"
    net.train(X, Y, X, Y, epochs=2, batch_size=8, verbose=0, checkpoint=ck, early_stopping=2)
    return ck


RESUME = {
    "epoch a string": lambda m, a: m["training"].__setitem__("epoch", "two"),
    "epoch negative": lambda m, a: m["training"].__setitem__("epoch", -1),
    "stopper naming a method": lambda m, a: m["training"]["stopper"].__setitem__("update", 1),
    "stopper dunder": lambda m, a: m["training"]["stopper"].__setitem__("__class__", "x"),
    "stopper best_cost NaN": lambda m, a: m["training"]["stopper"].__setitem__(
        "best_cost", float("nan")
    ),
    "best weights of the wrong count": lambda m, a: m["training"]["best"].pop(),
    "best weights of the wrong shape": lambda m, a: a.__setitem__("b0", np.zeros((2, 2))),
    "best weights missing": lambda m, a: a.pop("b1"),
    "schedule eta negative": lambda m, a: m["training"].__setitem__(
        "schedule", {"eta": -1.0, "trace": []}
    ),
    "training not an object": lambda m, a: m.__setitem__("training", [1]),
    "slot of the wrong shape": lambda m, a: a.__setitem__("o0_m", np.zeros((3, 3))),
    "iterations a string": lambda m, a: m["optimizer"].__setitem__("iterations", "x"),
    "negative learning rate": lambda m, a: m["optimizer"].__setitem__("learning_rate", -1.0),
    "bad history": lambda m, a: m["history"].__setitem__("epochs", "x"),
    "bad rng state": lambda m, a: m.__setitem__("rng_state", {"bit_generator": "PCG64"}),
    "NaN weights": lambda m, a: a["p0"].__setitem__((0, 0), np.nan),
}


@pytest.mark.parametrize("case", list(RESUME), ids=list(RESUME))
def test_resume_from_a_malformed_checkpoint_changes_nothing(tmp_path, case):
    ck = _checkpoint(tmp_path)
    bad = h.rewrite(ck, tmp_path / "bad.npz", RESUME[case])
    net = h.trained_net(seed=5)
    before = h.state_of(net)
    with pytest.raises((lk.LayerkitValueError, lk.LayerkitTypeError)) as info:
        net.train(X, Y, X, Y, epochs=4, batch_size=8, verbose=0, resume=bad, early_stopping=2)
    assert "bad.npz" in str(info.value)
    h.assert_unchanged(net, before)
    with pytest.raises(lk.ModelFileError):
        lkio.read_checkpoint(net, bad)
    h.assert_unchanged(net, before)
