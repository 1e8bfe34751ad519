"""MNIST, Fashion-MNIST and Kuzushiji-MNIST: one loader for the three IDX data sets.

All three have the same layout: 60,000 training and 10,000 test greyscale images of
28x28 pixels in 10 classes, stored as four IDX files (see :mod:`layerkit.datasets.idx`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import LayerkitTypeError, LayerkitValueError
from ._base import Dataset, _check_bool
from ._files import _atomic_writer
from .idx import read_idx

__all__ = [
    "KMNIST_HIRAGANA",
    "MNIST_FAMILY",
    "ChecksumError",
    "DatasetNotFoundError",
    "load_mnist_family",
]

# Roles of the four files, in the order they are listed to users.
_ROLES = ("train_images", "train_labels", "test_images", "test_labels")
_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: The ten KMNIST classes as the hiragana they stand for; ``class_names`` holds their
#: romanisations (plain ASCII, which every terminal and plotting font can show).
KMNIST_HIRAGANA: tuple[str, ...] = ("お", "き", "す", "つ", "な", "は", "ま", "や", "れ", "を")


class DatasetNotFoundError(FileNotFoundError):
    """The data set's files are in none of the searched folders and were not downloaded."""


class ChecksumError(OSError):
    """A downloaded file's SHA-256 does not match the published value; nothing was kept."""


@dataclass(frozen=True)
class _Remote:
    """The published ``.gz`` file: its size in bytes and SHA-256."""

    size: int
    sha256: str


@dataclass(frozen=True)
class _Spec:
    title: str
    mirrors: tuple[str, ...]
    remotes: dict[str, _Remote]  # role -> published file
    class_names: tuple[str, ...]
    description: str


# SHA-256 values and sizes are those published in tensorflow_datasets'
# url_checksums/{mnist,fashion_mnist,kmnist}.txt. For Fashion-MNIST they were also checked
# against Debian's dataset-fashion-mnist files: those hold the same deflate streams with
# the gzip header's file name and time stamp stripped by Debian's build; restoring the
# header reproduces these SHA-256 values and the MD5s the Fashion-MNIST project publishes.
_SPECS: dict[str, _Spec] = {
    "mnist": _Spec(
        title="MNIST",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        remotes={
            "train_images": _Remote(
                9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
            ),
            "train_labels": _Remote(
                28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
            ),
            "test_images": _Remote(
                1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
            ),
            "test_labels": _Remote(
                4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
            ),
        },
        class_names=tuple(str(d) for d in range(10)),
        description=(
            "MNIST handwritten digits (Y. LeCun, C. Cortes, C. J. C. Burges): 60,000 training "
            "and 10,000 test 28x28 greyscale images of the digits 0-9, the official split."
        ),
    ),
    "fashion-mnist": _Spec(
        title="Fashion-MNIST",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        remotes={
            "train_images": _Remote(
                26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
            ),
            "train_labels": _Remote(
                29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
            ),
            "test_images": _Remote(
                4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
            ),
            "test_labels": _Remote(
                5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
            ),
        },
        class_names=(
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
        ),
        description=(
            "Fashion-MNIST (H. Xiao, K. Rasul, R. Vollgraf, Zalando Research, 2017; MIT "
            "licence): 60,000 training and 10,000 test 28x28 greyscale images of 10 kinds of "
            "clothing, the official split. arXiv:1708.07747."
        ),
    ),
    "kmnist": _Spec(
        title="Kuzushiji-MNIST",
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        remotes={
            "train_images": _Remote(
                18165135, "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4"
            ),
            "train_labels": _Remote(
                29497, "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17"
            ),
            "test_images": _Remote(
                3041136, "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5"
            ),
            "test_labels": _Remote(
                5120, "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"
            ),
        },
        class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        description=(
            "Kuzushiji-MNIST (T. Clanuwat et al., 'Deep Learning for Classical Japanese "
            "Literature', 2018, arXiv:1812.01718; CC BY-SA 4.0, ROIS-DS Center for Open Data "
            "in the Humanities): 60,000 training and 10,000 test 28x28 greyscale images of "
            "ten cursive hiragana, お き す つ な は ま や れ を (class_names gives their "
            "romanisations), the official split."
        ),
    ),
}

#: Names accepted by :func:`load_mnist_family`.
MNIST_FAMILY: tuple[str, ...] = tuple(_SPECS)

# Folders where operating-system packages install the files, e.g. Debian's
# dataset-fashion-mnist puts them in /usr/share/datasets/fashion-mnist/.
_SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets"), Path("/usr/local/share/datasets"))

_TIMEOUT_SECONDS = 30.0
_DOWNLOAD_CHUNK = 1 << 20


def load_mnist_family(
    name: str,
    path: str | os.PathLike[str] | None = None,
    *,
    flatten: bool = True,
    download: bool = True,
) -> Dataset:
    """Load MNIST, Fashion-MNIST or Kuzushiji-MNIST with its official train/test split.

    The four files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each gzipped, ``.gz``, or
    unpacked) are looked for, all four in one folder, in this order:

    1. ``path`` and ``path/<name>``, when ``path`` is given;
    2. ``$LAYERKIT_DATA/<name>`` and ``$LAYERKIT_DATA``, when that variable is set;
    3. the cache, ``$XDG_CACHE_HOME/layerkit/<name>`` (``~/.cache/layerkit/<name>`` when
       ``XDG_CACHE_HOME`` is unset);
    4. ``/usr/share/datasets/<name>`` and ``/usr/local/share/datasets/<name>``, where
       operating-system packages install them (Debian: ``apt install
       dataset-fashion-mnist``).

    If no folder has all four and ``download`` is true, the missing ``.gz`` files are
    downloaded from the data set's public mirror into the cache folder. Each download is
    checked against its published size and SHA-256 and written atomically (temporary
    file in the cache folder, fsync, rename), so the cache never holds a partial or
    corrupt file.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist", "kmnist"}
        The data set; case and ``_`` versus ``-`` do not matter.
    path : str or os.PathLike, optional
        A folder to search first; it must exist (a missing folder raises rather than
        falling back on another copy). Default None.
    flatten : bool, default True
        Return images as rows of 784 values (True) or as ``(n, 28, 28)`` arrays (False).
    download : bool, default True
        Whether to download missing files.

    Returns
    -------
    Dataset
        ``X_train`` (60000, 784) and ``X_test`` (10000, 784) float32 in [0, 1] (pixel /
        255), ``y_train`` and ``y_test`` int64 in 0..9, and ``class_names``: the digits
        ``"0"``..``"9"`` for MNIST; ``"T-shirt/top"``, ``"Trouser"``, ``"Pullover"``,
        ``"Dress"``, ``"Coat"``, ``"Sandal"``, ``"Shirt"``, ``"Sneaker"``, ``"Bag"``,
        ``"Ankle boot"`` for Fashion-MNIST; the romanised hiragana ``"o"``, ``"ki"``,
        ``"su"``, ``"tsu"``, ``"na"``, ``"ha"``, ``"ma"``, ``"ya"``, ``"re"``, ``"wo"`` for
        KMNIST (the characters themselves are :data:`KMNIST_HIRAGANA`).

    Raises
    ------
    ValueError
        If ``name`` is not one of the three, or a file is not valid IDX or does not hold
        28x28 uint8 images and matching labels.
    TypeError
        If ``flatten`` or ``download`` is not a bool.
    DatasetNotFoundError
        A :class:`FileNotFoundError`: ``path`` does not exist, or the files are nowhere
        and could not be (or were not to be) downloaded. The message lists the files, the folder to put them in, where to
        download them from, and every folder searched.
    ChecksumError
        A download did not match its published SHA-256 (on every mirror); the bad file is
        not kept.

    Examples
    --------
    >>> from layerkit.datasets import load_mnist_family
    >>> data = load_mnist_family("fashion-mnist")  # doctest: +SKIP
    >>> data.X_train.shape, data.class_names[9]  # doctest: +SKIP
    ((60000, 784), 'Ankle boot')
    """
    key = _normalise_name(name)
    flatten = _check_bool(flatten, "flatten")
    download = _check_bool(download, "download")
    spec = _SPECS[key]

    searched = _candidate_dirs(key, path)
    folder = next((d for d in searched if _find_files(d) is not None), None)
    if folder is None:
        cache = _cache_dir(key)
        if not download:
            raise DatasetNotFoundError(
                _not_found_message(key, spec, cache, searched, "download=False was given")
            )
        _download_missing(key, spec, cache, searched)
        folder = cache
    files = _find_files(folder)
    assert files is not None  # found above, or just downloaded
    return _load_folder(key, spec, files, flatten)


def _normalise_name(name: object) -> str:
    if not isinstance(name, str):
        raise LayerkitTypeError(
            f"name must be a str, one of {', '.join(map(repr, MNIST_FAMILY))}; "
            f"got {name!r} ({type(name).__name__})"
        )
    key = name.strip().lower().replace("_", "-")
    if key not in _SPECS:
        raise LayerkitValueError(
            f"name must be one of {', '.join(map(repr, MNIST_FAMILY))}; got {name!r}"
        )
    return key


def _cache_dir(key: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "layerkit" / key


def _candidate_dirs(key: str, path: str | os.PathLike[str] | None) -> list[Path]:
    dirs: list[Path] = []
    if path is not None:
        if not isinstance(path, str | os.PathLike):
            raise LayerkitTypeError(
                f"path must be a folder name (str or os.PathLike) or None; got {path!r} "
                f"({type(path).__name__})"
            )
        given = Path(path).expanduser()
        if not given.exists():
            # An explicit folder that is not there is a mistake, not a reason to fall back
            # silently on another copy of the data.
            raise DatasetNotFoundError(
                f"path {str(path)!r} does not exist; expected the folder holding the four IDX files"
            )
        if given.is_file():
            raise LayerkitValueError(
                f"path must be the folder holding the four IDX files; got a file, {given}"
            )
        dirs += [given, given / key]
    env = os.environ.get("LAYERKIT_DATA")
    if env:
        dirs += [Path(env).expanduser() / key, Path(env).expanduser()]
    dirs.append(_cache_dir(key))
    dirs += [d / key for d in _SYSTEM_DIRS]
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _find_files(folder: Path) -> dict[str, Path] | None:
    """The four files in ``folder`` (``.gz`` preferred to unpacked), or None if any is missing."""
    found: dict[str, Path] = {}
    for role in _ROLES:
        for candidate in (folder / f"{_STEMS[role]}.gz", folder / _STEMS[role]):
            if candidate.is_file():
                found[role] = candidate
                break
        else:
            return None
    return found


def _missing_report(folder: Path) -> str:
    if not folder.is_dir():
        return "no such folder"
    missing = [
        _STEMS[r]
        for r in _ROLES
        if not (folder / f"{_STEMS[r]}.gz").is_file() and not (folder / _STEMS[r]).is_file()
    ]
    return "lacks " + ", ".join(missing)


def _not_found_message(
    key: str, spec: _Spec, cache: Path, searched: list[Path], reason: str
) -> str:
    files = "\n".join(f"    {_STEMS[role]}.gz" for role in _ROLES)
    folders = "\n".join(f"    {d}  ({_missing_report(d)})" for d in searched)
    return (
        f"{spec.title} ({key!r}) was not found and was not downloaded: {reason}.\n"
        f"Place these four files (gzipped as published, or unpacked without .gz) in {cache}:\n"
        f"{files}\n"
        f"They are published at {spec.mirrors[0]}. Alternatively pass path= the folder that "
        "holds them, or set LAYERKIT_DATA.\n"
        f"Folders searched, in order:\n{folders}"
    )


def _download_missing(key: str, spec: _Spec, cache: Path, searched: list[Path]) -> None:
    # Imported here: http.client and urllib.request cost `import layerkit` time, and most
    # runs never download.
    import http.client
    import urllib.error

    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetNotFoundError(
            _not_found_message(key, spec, cache, searched, f"cannot create the cache folder: {exc}")
        ) from exc
    for role in _ROLES:
        if (cache / _STEMS[role]).is_file() or (cache / f"{_STEMS[role]}.gz").is_file():
            continue  # a previous, verified download or a file the user placed
        filename = f"{_STEMS[role]}.gz"
        remote = spec.remotes[role]
        failures: list[str] = []
        mismatches: list[str] = []
        for mirror in spec.mirrors:
            url = mirror + filename
            try:
                _fetch(url, cache / filename, remote)
                break
            except ChecksumError as exc:
                mismatches.append(str(exc))
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                # HTTPException: e.g. a connection closed mid-body; ValueError: urllib's
                # answer to a malformed URL.
                failures.append(f"{url}: {exc}")
        else:
            if mismatches:
                raise ChecksumError("\n".join(mismatches + failures))
            raise DatasetNotFoundError(
                _not_found_message(
                    key, spec, cache, searched, "the download failed: " + "; ".join(failures)
                )
            )


def _fetch(url: str, destination: Path, remote: _Remote) -> None:
    """Download ``url`` to ``destination``, atomically, if its size and SHA-256 match."""
    import urllib.request

    from tqdm.auto import tqdm

    digest = hashlib.sha256()
    received = 0
    with (
        contextlib.closing(urllib.request.urlopen(url, timeout=_TIMEOUT_SECONDS)) as response,
        _atomic_writer(destination) as out,
        # disable=None: a progress bar on a terminal, silence in logs and tests.
        tqdm(
            total=remote.size,
            unit="B",
            unit_scale=True,
            desc=destination.name,
            disable=None,
            leave=False,
        ) as bar,
    ):
        while chunk := response.read(_DOWNLOAD_CHUNK):
            received += len(chunk)
            if received > remote.size:
                # Stop early rather than fill the disk with a wrong or endless response.
                raise ChecksumError(
                    f"{url}: the response is larger than the published {remote.size} bytes; "
                    "nothing was kept"
                )
            digest.update(chunk)
            out.write(chunk)
            bar.update(len(chunk))
        actual = digest.hexdigest()
        if received != remote.size or actual != remote.sha256:
            # Raising inside the writer discards the temporary file.
            raise ChecksumError(
                f"{url}: checksum mismatch: expected {remote.size} bytes with SHA-256 "
                f"{remote.sha256}, received {received} bytes with SHA-256 {actual}; "
                "nothing was kept"
            )


def _load_folder(key: str, spec: _Spec, files: dict[str, Path], flatten: bool) -> Dataset:
    arrays = {role: read_idx(files[role]) for role in _ROLES}
    splits = {}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        img_file, lab_file = files[f"{part}_images"], files[f"{part}_labels"]
        if images.dtype != np.uint8 or images.ndim != 3:
            raise LayerkitValueError(
                f"{img_file}: expected uint8 images of shape (n, rows, cols); "
                f"got {images.dtype} of shape {images.shape}"
            )
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise LayerkitValueError(
                f"{lab_file}: expected uint8 labels of shape (n,); "
                f"got {labels.dtype} of shape {labels.shape}"
            )
        if len(images) != len(labels):
            raise LayerkitValueError(
                f"{img_file} holds {len(images)} images but {lab_file} holds {len(labels)} labels"
            )
        if labels.size and int(labels.max()) >= len(spec.class_names):
            raise LayerkitValueError(
                f"{lab_file}: labels must lie in 0..{len(spec.class_names) - 1}; "
                f"found {int(labels.max())}"
            )
        X = images.astype(np.float32)
        X /= np.float32(255)
        if flatten:
            X = X.reshape(len(X), -1)
        splits[part] = (X, labels.astype(np.int64))
    sources = ", ".join(str(files[r]) for r in _ROLES)
    return Dataset(
        X_train=splits["train"][0],
        y_train=splits["train"][1],
        X_test=splits["test"][0],
        y_test=splits["test"][1],
        class_names=spec.class_names,
        name=key,
        description=f"{spec.description} Read from {sources}.",
    )
