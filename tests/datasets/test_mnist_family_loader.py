"""load_mnist_family: search order, file variants, checksummed downloads, and errors.

No test touches the network: downloads come from ``file://`` URLs of a temporary folder
that plays the mirror, and the user's cache, $LAYERKIT_DATA and system folders are
replaced by temporary ones.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from layerkit.datasets import (
    KMNIST_HIRAGANA,
    MNIST_FAMILY,
    ChecksumError,
    Dataset,
    DatasetNotFoundError,
    load_mnist_family,
    write_idx,
)
from layerkit.datasets import _files as files_module
from layerkit.datasets import mnist_family as mf

STEMS = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def write_fake_set(
    folder: Path, *, gz: bool = True, label: int = 0, n_train: int = 6, n_test: int = 4
):
    """Four small, valid IDX files; every label equals ``label`` to tell sets apart."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(label)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.full(n_train, label, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.full(n_test, label, dtype=np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(folder / (stem + (".gz" if gz else "")), array)
    return arrays


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Cache, $LAYERKIT_DATA and system folders all inside tmp_path; returns the root."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("LAYERKIT_DATA", raising=False)
    monkeypatch.setattr(mf, "_SYSTEM_DIRS", (tmp_path / "system",))
    return tmp_path


@pytest.fixture
def fake_mirror(isolated, monkeypatch):
    """A file:// mirror for "kmnist" holding a fake set, with its true sizes and SHA-256s."""
    mirror = isolated / "mirror"
    arrays = write_fake_set(mirror, label=3)
    remotes = {}
    for role, stem in mf._STEMS.items():
        data = (mirror / f"{stem}.gz").read_bytes()
        remotes[role] = mf._Remote(len(data), hashlib.sha256(data).hexdigest())
    spec = dataclasses.replace(
        mf._SPECS["kmnist"], mirrors=(mirror.as_uri() + "/",), remotes=remotes
    )
    monkeypatch.setitem(mf._SPECS, "kmnist", spec)
    return mirror, arrays


def cache_of(root: Path, name: str) -> Path:
    return root / "xdg-cache" / "layerkit" / name


# ---------------------------------------------------------------------------- loading
@pytest.mark.parametrize("gz", [True, False], ids=["gz", "unpacked"])
def test_loads_scaled_float32_images_and_int64_labels_from_a_given_folder(isolated, gz):
    arrays = write_fake_set(isolated / "given", gz=gz, label=7)
    data = load_mnist_family("mnist", isolated / "given", download=False)
    assert isinstance(data, Dataset) and data.name == "mnist"
    assert data.X_train.shape == (6, 784) and data.X_test.shape == (4, 784)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    expected = arrays["train-images-idx3-ubyte"].reshape(6, -1).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(data.X_train, expected)
    np.testing.assert_array_equal(data.y_test, np.full(4, 7))
    assert 0.0 <= data.X_train.min() and data.X_train.max() <= 1.0


def test_flatten_false_keeps_28_by_28_images(isolated):
    write_fake_set(isolated / "given")
    data = load_mnist_family("fashion-mnist", isolated / "given", flatten=False, download=False)
    assert data.X_train.shape == (6, 28, 28) and data.X_test.shape == (4, 28, 28)


def test_class_names_follow_each_data_set(isolated):
    write_fake_set(isolated / "given")
    names = {
        n: load_mnist_family(n, isolated / "given", download=False).class_names
        for n in MNIST_FAMILY
    }
    assert names["mnist"] == tuple("0123456789")
    assert names["fashion-mnist"] == (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )
    assert names["kmnist"] == ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
    assert KMNIST_HIRAGANA == ("お", "き", "す", "つ", "な", "は", "ま", "や", "れ", "を")


def test_name_is_case_and_separator_insensitive(isolated):
    write_fake_set(isolated / "given")
    assert (
        load_mnist_family("Fashion_MNIST", isolated / "given", download=False).name
        == "fashion-mnist"
    )


def test_unknown_name_raises_value_error_listing_the_accepted_names(isolated):
    with pytest.raises(ValueError, match="'mnist', 'fashion-mnist', 'kmnist'; got 'emnist'"):
        load_mnist_family("emnist")


def test_non_string_name_and_non_bool_flags_raise_type_error(isolated):
    with pytest.raises(TypeError, match="name must be a str"):
        load_mnist_family(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="flatten must be True or False"):
        load_mnist_family("mnist", flatten="no")  # type: ignore[arg-type]


def test_a_file_given_as_path_is_refused_with_a_clear_message(isolated):
    file = isolated / "afile"
    file.write_text("x")
    with pytest.raises(ValueError, match="path must be the folder"):
        load_mnist_family("mnist", file)


# ---------------------------------------------------------------------------- search order
def test_search_order_is_path_then_env_then_cache_then_system(isolated, monkeypatch):
    write_fake_set(isolated / "given", label=1)
    write_fake_set(isolated / "env" / "kmnist", label=2)
    write_fake_set(isolated / "env", label=3)
    write_fake_set(cache_of(isolated, "kmnist"), label=4)
    write_fake_set(isolated / "system" / "kmnist", label=5)
    monkeypatch.setenv("LAYERKIT_DATA", str(isolated / "env"))

    def first_label(path=None):
        return int(load_mnist_family("kmnist", path, download=False).y_train[0])

    assert first_label(isolated / "given") == 1
    assert first_label() == 2  # $LAYERKIT_DATA/<name> before $LAYERKIT_DATA
    for stem in STEMS:
        (isolated / "env" / "kmnist" / f"{stem}.gz").unlink()
    assert first_label() == 3
    monkeypatch.delenv("LAYERKIT_DATA")
    assert first_label() == 4
    for stem in STEMS:
        (cache_of(isolated, "kmnist") / f"{stem}.gz").unlink()
    assert first_label() == 5


def test_path_subfolder_named_after_the_data_set_is_searched(isolated):
    write_fake_set(isolated / "root" / "fashion-mnist", label=6)
    assert load_mnist_family("fashion-mnist", isolated / "root", download=False).y_train[0] == 6


def test_a_folder_with_only_some_of_the_files_is_skipped(isolated):
    write_fake_set(isolated / "given", label=1)
    (isolated / "given" / "t10k-labels-idx1-ubyte.gz").unlink()
    write_fake_set(isolated / "system" / "mnist", label=5)
    assert load_mnist_family("mnist", isolated / "given", download=False).y_train[0] == 5


def test_cache_follows_xdg_cache_home_and_defaults_to_home_dot_cache(isolated, monkeypatch):
    assert mf._cache_dir("mnist") == cache_of(isolated, "mnist")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(isolated / "home"))
    assert mf._cache_dir("mnist") == isolated / "home" / ".cache" / "layerkit" / "mnist"


# ---------------------------------------------------------------------------- downloads
def test_download_fetches_verified_files_into_the_cache_atomically(
    fake_mirror, isolated, monkeypatch
):
    mirror, arrays = fake_mirror
    replaced: list[tuple[str, str]] = []
    synced: list[int] = []
    real_replace, real_fsync = os.replace, os.fsync

    def spy_replace(src, dst):
        replaced.append((os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    def spy_fsync(fd):
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(files_module.os, "replace", spy_replace)
    monkeypatch.setattr(files_module.os, "fsync", spy_fsync)

    data = load_mnist_family("kmnist")

    cache = cache_of(isolated, "kmnist")
    assert sorted(os.listdir(cache)) == sorted(f"{s}.gz" for s in STEMS)  # no temporary left
    for stem in STEMS:
        assert (cache / f"{stem}.gz").read_bytes() == (mirror / f"{stem}.gz").read_bytes()
    # Every file went through a temporary file in the cache folder, then a rename.
    assert sorted(Path(dst).name for _, dst in replaced) == sorted(f"{s}.gz" for s in STEMS)
    for src, dst in replaced:
        assert Path(src).parent == Path(dst).parent == cache and Path(src).name.startswith(".")
    assert len(synced) >= 4
    np.testing.assert_array_equal(data.y_train, arrays["train-labels-idx1-ubyte"])


def test_checksum_mismatch_raises_and_leaves_nothing_in_the_cache(
    fake_mirror, isolated, monkeypatch
):
    spec = mf._SPECS["kmnist"]
    remotes = dict(spec.remotes)
    remotes["train_images"] = dataclasses.replace(remotes["train_images"], sha256="0" * 64)
    monkeypatch.setitem(mf._SPECS, "kmnist", dataclasses.replace(spec, remotes=remotes))
    with pytest.raises(
        ChecksumError,
        match=r"train-images-idx3-ubyte\.gz: checksum mismatch: expected",
    ):
        load_mnist_family("kmnist")
    cache = cache_of(isolated, "kmnist")
    assert not any(
        name.startswith("train-images") or name.endswith(".part") for name in os.listdir(cache)
    )


def test_response_larger_than_published_size_is_cut_off_and_discarded(
    fake_mirror, isolated, monkeypatch
):
    spec = mf._SPECS["kmnist"]
    remotes = dict(spec.remotes)
    remotes["test_labels"] = dataclasses.replace(remotes["test_labels"], size=10)
    monkeypatch.setitem(mf._SPECS, "kmnist", dataclasses.replace(spec, remotes=remotes))
    with pytest.raises(ChecksumError, match="larger than the published 10 bytes"):
        load_mnist_family("kmnist")
    assert "t10k-labels-idx1-ubyte.gz" not in os.listdir(cache_of(isolated, "kmnist"))
    assert not [n for n in os.listdir(cache_of(isolated, "kmnist")) if n.endswith(".part")]


def test_next_mirror_is_tried_when_the_first_is_unreachable(fake_mirror, isolated, monkeypatch):
    spec = mf._SPECS["kmnist"]
    dead = (isolated / "no-such-mirror").as_uri() + "/"
    monkeypatch.setitem(
        mf._SPECS, "kmnist", dataclasses.replace(spec, mirrors=(dead, *spec.mirrors))
    )
    assert load_mnist_family("kmnist").y_test.tolist() == [3, 3, 3, 3]


def test_only_missing_files_are_downloaded(fake_mirror, isolated, monkeypatch):
    mirror, _ = fake_mirror
    cache = cache_of(isolated, "kmnist")
    cache.mkdir(parents=True)
    for stem in STEMS[:2]:
        (cache / f"{stem}.gz").write_bytes((mirror / f"{stem}.gz").read_bytes())
    fetched: list[str] = []
    real_fetch = mf._fetch
    monkeypatch.setattr(
        mf,
        "_fetch",
        lambda url, dest, remote: (fetched.append(dest.name), real_fetch(url, dest, remote)),
    )
    load_mnist_family("kmnist")
    assert sorted(fetched) == sorted(f"{s}.gz" for s in STEMS[2:])


def test_without_network_the_error_names_the_files_the_folder_and_the_searched_folders(
    isolated, monkeypatch
):
    unreachable = (isolated / "offline").as_uri() + "/"
    spec = dataclasses.replace(mf._SPECS["mnist"], mirrors=(unreachable,))
    monkeypatch.setitem(mf._SPECS, "mnist", spec)
    monkeypatch.setenv("LAYERKIT_DATA", str(isolated / "env"))
    (isolated / "given").mkdir()  # an existing folder without the files
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist_family("mnist", isolated / "given")
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert "the download failed" in message
    for stem in STEMS:
        assert f"{stem}.gz" in message
    assert f"in {cache_of(isolated, 'mnist')}:" in message
    for folder in [
        isolated / "given",
        isolated / "given" / "mnist",
        isolated / "env" / "mnist",
        isolated / "env",
        cache_of(isolated, "mnist"),
        isolated / "system" / "mnist",
    ]:
        assert str(folder) in message
    assert not [n for n in os.listdir(cache_of(isolated, "mnist")) if n.endswith(".part")]


def test_a_path_that_does_not_exist_raises_instead_of_loading_another_copy(isolated, monkeypatch):
    # A complete copy elsewhere on the search path must not stand in for a mistyped path.
    write_fake_set(isolated / "system" / "mnist", n_train=3, n_test=2)

    def no_fetch(*args):
        raise AssertionError("a missing path must not lead to a download")

    monkeypatch.setattr(mf, "_fetch", no_fetch)
    missing = isolated / "no-such-folder"
    with pytest.raises(DatasetNotFoundError, match="does not exist") as info:
        load_mnist_family("mnist", missing)
    assert str(missing) in str(info.value)
    assert len(load_mnist_family("mnist").X_train) == 3  # the system copy is still found


def test_download_false_raises_without_trying_the_network(isolated, monkeypatch):
    def no_fetch(*args):
        raise AssertionError("_fetch must not be called when download=False")

    monkeypatch.setattr(mf, "_fetch", no_fetch)
    with pytest.raises(DatasetNotFoundError, match="download=False") as info:
        load_mnist_family("fashion-mnist", download=False)
    assert "t10k-images-idx3-ubyte.gz" in str(info.value)


def test_every_data_set_has_four_published_checksums_and_a_mirror():
    for name in MNIST_FAMILY:
        spec = mf._SPECS[name]
        assert set(spec.remotes) == set(mf._ROLES) and spec.mirrors
        for remote in spec.remotes.values():
            assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0 and remote.size > 0
        assert len(spec.class_names) == 10


# ---------------------------------------------------------------------------- validation
def test_image_and_label_counts_that_disagree_are_refused(isolated):
    write_fake_set(isolated / "given")
    write_idx(isolated / "given" / "train-labels-idx1-ubyte.gz", np.zeros(5, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"holds 6 images but .* holds 5 labels"):
        load_mnist_family("mnist", isolated / "given", download=False)


def test_labels_beyond_the_ten_classes_are_refused(isolated):
    write_fake_set(isolated / "given")
    write_idx(
        isolated / "given" / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 10], dtype=np.uint8)
    )
    with pytest.raises(ValueError, match=r"labels must lie in 0..9; found 10"):
        load_mnist_family("mnist", isolated / "given", download=False)


def test_images_of_the_wrong_dtype_are_refused(isolated):
    write_fake_set(isolated / "given")
    write_idx(
        isolated / "given" / "t10k-images-idx3-ubyte.gz", np.zeros((4, 28, 28), dtype=np.float32)
    )
    with pytest.raises(ValueError, match="expected uint8 images"):
        load_mnist_family("mnist", isolated / "given", download=False)


# ---------------------------------------------------------------------------- real files
def _require_debian_fashion_mnist():
    present = all((DEBIAN_FASHION / f"{s}.gz").is_file() for s in STEMS)
    if not present:
        reason = (
            f"Fashion-MNIST not installed in {DEBIAN_FASHION} (apt install dataset-fashion-mnist)"
        )
        if os.environ.get("LAYERKIT_REQUIRE_DATA"):
            pytest.fail(reason + " but LAYERKIT_REQUIRE_DATA is set")
        pytest.skip(reason)


@pytest.mark.data
def test_real_fashion_mnist_loads_from_the_debian_package(isolated, monkeypatch):
    _require_debian_fashion_mnist()
    monkeypatch.setattr(mf, "_SYSTEM_DIRS", (DEBIAN_FASHION.parent,))
    data = load_mnist_family("fashion-mnist", download=False)
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert float(data.X_train.min()) == 0.0 and float(data.X_train.max()) == 1.0
    np.testing.assert_array_equal(np.bincount(data.y_train), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(data.y_test), np.full(10, 1000))
    assert data.class_names[int(data.y_train[0])] == "Ankle boot"  # the well-known first label


# Debian's build strips the file name and time stamp from the gzip headers; the deflate
# streams are the published ones. These are the published headers' time stamps.
_FASHION_MTIMES = {
    "train-images-idx3-ubyte": 1504176606,
    "train-labels-idx1-ubyte": 1504176606,
    "t10k-images-idx3-ubyte": 1504176627,
    "t10k-labels-idx1-ubyte": 1504176627,
}


@pytest.mark.data
def test_fashion_mnist_checksums_match_debian_files_with_the_published_gzip_header(isolated):
    _require_debian_fashion_mnist()
    spec = mf._SPECS["fashion-mnist"]
    for role, stem in mf._STEMS.items():
        stripped = (DEBIAN_FASHION / f"{stem}.gz").read_bytes()
        assert stripped[:4] == b"\x1f\x8b\x08\x00"  # deflate, no flags: name removed
        published = (
            b"\x1f\x8b\x08\x08"  # FNAME flag set
            + struct.pack("<I", _FASHION_MTIMES[stem])
            + stripped[8:10]
            + stem.encode()
            + b"\x00"
            + stripped[10:]
        )
        assert len(published) == spec.remotes[role].size
        assert hashlib.sha256(published).hexdigest() == spec.remotes[role].sha256
        assert gzip.decompress(published) == gzip.decompress(stripped)
