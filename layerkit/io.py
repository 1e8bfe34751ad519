"""Saving and loading networks: one ``.npz`` file, no pickle.

Format (version 1). The file is a NumPy ``.npz`` archive readable with
``numpy.load(path, allow_pickle=False)``:

* ``__layerkit__``: a uint8 array holding UTF-8 JSON with ``format``, ``format_version``,
  ``library_version``, the network (name, loss, penalty, seed, dtype, and every layer as
  ``{"class": ..., "config": layer.get_config()}``), where each parameter array is stored,
  the optimiser (class, config, iteration count, slot array names), the random generator's
  state, the training history, and ``sha256``.
* ``p<i>``: parameter arrays, in :meth:`Network.parameters` order; ``o<i>_<slot>``:
  optimiser slots.

``sha256`` is the SHA-256 of the JSON (with ``sha256`` set to ``""``) followed by every
array's name, dtype, shape and bytes in archive order; :func:`load` recomputes and compares
it, so a truncated or altered file is an error, never a silently different model.

Layers are rebuilt from class names looked up in a registry: the built-in layers, classes
decorated with :func:`register_layer`, and ``custom_objects`` given to :func:`load`. An
unknown name is an error; nothing is ever imported or unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ._validation import LayerkitTypeError, LayerkitValueError
from ._version import __version__
from .layers import Activation, BatchNormalization, Dense, Dropout, Flatten, Input, Layer

__all__ = [
    "FORMAT_VERSION",
    "Checkpoint",
    "ModelFileError",
    "apply_checkpoint",
    "load",
    "read_checkpoint",
    "register_layer",
    "save",
    "write_checkpoint",
]

FORMAT_VERSION = 1
_META = "__layerkit__"
_LAYERS: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (Input, Dense, Dropout, Activation, Flatten, BatchNormalization)
}


class ModelFileError(LayerkitValueError):
    """A model file is missing, truncated, corrupted or of an unknown format."""


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Class decorator: let :func:`load` rebuild layers of this class by name.

    The class must implement ``get_config()`` returning its constructor's keyword
    arguments (JSON-serialisable) and accept them back in ``from_config``.
    """
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise LayerkitTypeError(f"register_layer expects a Layer subclass; received {cls!r}")
    existing = _LAYERS.get(cls.__name__)
    if (
        existing is not None
        and existing is not cls
        and existing in (Input, Dense, Dropout, Activation)
    ):
        raise LayerkitValueError(f"{cls.__name__!r} is a built-in layer name; choose another")
    _LAYERS[cls.__name__] = cls
    return cls


# ---------------------------------------------------------------------------- save
def save(
    network: Any, path: str | os.PathLike[str], *, _checkpoint: dict[str, Any] | None = None
) -> Path:
    """Write ``network`` (architecture, weights, optimiser state, rng state, history) to
    ``path`` atomically (temporary file, fsync, rename). Returns the path written.

    A ``.npz`` suffix is added when ``path`` has none.
    """
    from .network import Network

    if not isinstance(network, Network):
        raise LayerkitTypeError(f"save expects a Network; received {type(network).__name__}")
    path = _check_path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays, meta = _serialise(network)
    if _checkpoint is not None:  # training-loop state written by train(checkpoint=...)
        meta["training"] = _checkpoint["state"]
        arrays.update(_checkpoint["arrays"])
    meta["sha256"] = ""
    meta["sha256"] = _digest(meta, arrays)
    arrays = {_META: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8), **arrays}
    _atomic_savez(path, arrays)
    return path


def _serialise(net: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    arrays: dict[str, np.ndarray] = {}
    layers = []
    for layer in net.layers:
        cls = type(layer).__name__
        if _LAYERS.get(cls) is not type(layer):
            raise LayerkitValueError(
                f"layer {layer.name!r} is of class {cls}, which is not registered for saving; "
                "decorate the class with @layerkit.register_layer"
            )
        config = layer.get_config()
        try:
            json.dumps(config)
        except TypeError as exc:
            raise LayerkitValueError(
                f"get_config() of layer {layer.name!r} ({cls}) is not JSON-serialisable: {exc}"
            ) from exc
        layers.append({"class": cls, "config": config})
    params = []
    for i, (layer, key, value) in enumerate(net.parameters()):
        name = f"p{i}"
        arrays[name] = np.ascontiguousarray(value)
        params.append({"layer": net.layers.index(layer), "key": key, "array": name})
    optimizer = None
    if net.optimizer is not None:
        opt = net.optimizer
        slots = []
        for i, slot in enumerate(opt.slots):
            names = {}
            for key, value in slot.items():
                names[key] = f"o{i}_{key}"
                arrays[names[key]] = np.ascontiguousarray(value)
            slots.append(names)
        optimizer = {
            "class": type(opt).__name__,
            "config": opt.get_config(),
            "learning_rate": opt.learning_rate,
            "initial_learning_rate": opt.initial_learning_rate,
            "iterations": opt.iterations,
            "slots": slots,
        }
    history = net.history.as_dict() if net.history is not None else None
    meta = {
        "format": "layerkit",
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "network": {
            "name": net.name,
            "loss": net.loss_fn.name,
            "loss_config": net.loss_fn.get_config(),
            "penalty": net.penalty,
            "seed": net.seed,
            "dtype": str(net.dtype),
            "layers": layers,
        },
        "params": params,
        "optimizer": optimizer,
        "rng_state": net.rng.bit_generator.state,
        "history": history,
    }
    return arrays, meta


def _digest(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode("utf-8"))
    for name in sorted(arrays):
        value = arrays[name]
        h.update(f"{name}|{value.dtype.str}|{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


# ---------------------------------------------------------------------------- load
def load(path: str | os.PathLike[str], *, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a network saved by :func:`save` (or :meth:`Network.save`).

    Parameters
    ----------
    path : str or path-like
    custom_objects : dict, optional
        ``{class name: class}`` for user-written layers (or optimisers) not registered
        with :func:`register_layer`.

    Raises
    ------
    ModelFileError
        The file is missing, not a layerkit model, of a newer format version, truncated,
        or its checksum does not match.
    LayerkitValueError
        A layer class is unknown (register it or pass it in ``custom_objects``).
    """

    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise LayerkitTypeError(
            "custom_objects must be a dict {class name: class}; received "
            f"custom_objects={custom_objects!r}"
        )
    custom = dict(custom_objects or {})
    arrays, meta, path = _read_verified(path)
    try:
        return _rebuild(meta, arrays, custom, path)
    except LayerkitValueError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFileError(
            f"{str(path)!r} has malformed metadata ({type(exc).__name__}: {exc}); it was not "
            "written by this version of layerkit"
        ) from exc


def _rebuild(
    meta: dict[str, Any], arrays: dict[str, np.ndarray], custom: dict[str, Any], path: Path
) -> Any:
    from .network import Network

    spec = meta["network"]
    layers = []
    for entry in spec["layers"]:
        name = entry["class"]
        cls = custom.get(name) or _LAYERS.get(name)
        if cls is None or not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise LayerkitValueError(
                f"the model uses layer class {name!r}, which is not known: decorate it with "
                "@layerkit.register_layer or pass load(..., custom_objects={"
                f"{name!r}: {name}}})"
            )
        layers.append(cls.from_config(dict(entry["config"])))
    from .losses import get_loss

    loss = custom.get(spec["loss"])
    loss = loss(**spec.get("loss_config", {})) if isinstance(loss, type) else get_loss(spec["loss"])
    net = Network(
        layers,
        loss,
        penalty=spec["penalty"],
        seed=spec["seed"],
        dtype=spec["dtype"],
        name=spec["name"],
    )
    _apply_state(net, meta, arrays, custom, path)
    return net


def _read_verified(
    path: str | os.PathLike[str],
) -> tuple[dict[str, np.ndarray], dict[str, Any], Path]:
    """Arrays and metadata of a layerkit file whose format and checksum are checked."""
    path = _check_path(path)
    if not path.exists() and path.suffix != ".npz" and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")
    if not path.is_file():
        raise ModelFileError(f"no model file at {str(path)!r}")
    arrays, meta = _read(path)
    version = meta.get("format_version")
    if meta.get("format") != "layerkit" or not isinstance(version, int):
        raise ModelFileError(f"{str(path)!r} is not a layerkit model file")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} has format version {version}, newer than this layerkit "
            f"({__version__}) reads ({FORMAT_VERSION}); upgrade layerkit"
        )
    expected = meta.get("sha256", "")
    meta["sha256"] = ""
    if _digest(meta, arrays) != expected:
        raise ModelFileError(
            f"{str(path)!r} is corrupted: its SHA-256 checksum does not match its contents"
        )
    return arrays, meta, path


def _check_compatible(
    net: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray], path: Path
) -> None:
    """Raise unless the file's parameters fit ``net``'s architecture exactly."""
    targets = list(net.parameters())
    if len(targets) != len(meta["params"]):
        raise ModelFileError(
            f"{str(path)!r} holds {len(meta['params'])} parameter arrays but the network "
            f"has {len(targets)}"
        )
    for (layer, key, value), entry in zip(targets, meta["params"], strict=True):
        stored = arrays.get(entry["array"])
        if stored is None or stored.dtype.kind not in "fiu":
            raise ModelFileError(
                f"{str(path)!r}: parameter {key} of layer {layer.name!r} is missing or not "
                f"real-valued (dtype {None if stored is None else stored.dtype})"
            )
        if entry["key"] != key or stored.shape != value.shape:
            raise ModelFileError(
                f"{str(path)!r}: parameter {entry['key']} of layer {entry['layer']} has shape "
                f"{stored.shape}; the network expects {key} of shape {value.shape} in layer "
                f"{layer.name!r}"
            )


def _apply_state(
    net: Any,
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
    custom: dict[str, Any],
    path: Path,
) -> None:
    """Copy weights, rng state, optimiser and history from a verified file into ``net``."""
    _check_compatible(net, meta, arrays, path)
    optimizer = (
        _load_optimizer(meta["optimizer"], arrays, custom) if meta.get("optimizer") else None
    )
    for (_, _, value), entry in zip(net.parameters(), meta["params"], strict=True):
        np.copyto(value, arrays[entry["array"]])
    net.rng.bit_generator.state = meta["rng_state"]
    if optimizer is not None:
        net.optimizer = optimizer
    if meta.get("history"):
        from .callbacks import History

        net.history = History.from_dict(meta["history"])


def _check_path(path: Any) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise LayerkitTypeError(f"path must be a str or os.PathLike; received {path!r}")
    return Path(path)


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        # our own handle, closed even when numpy fails on a broken archive
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        KeyError,
        NotImplementedError,
        zlib.error,
    ) as exc:
        raise ModelFileError(
            f"{str(path)!r} is not a readable layerkit model file (truncated or corrupted?): {exc}"
        ) from exc
    raw = arrays.pop(_META, None)
    if raw is None or raw.dtype != np.uint8:
        raise ModelFileError(f"{str(path)!r} is not a layerkit model file (no {_META} entry)")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{str(path)!r}: its metadata is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ModelFileError(f"{str(path)!r} is not a layerkit model file")
    return arrays, meta


def _load_optimizer(
    spec: dict[str, Any], arrays: dict[str, np.ndarray], custom: dict[str, Any]
) -> Any:
    from .optimizers import _OPTIMIZERS, Optimizer

    known = {cls.__name__: cls for cls in _OPTIMIZERS.values()}
    cls = custom.get(spec["class"]) or known.get(spec["class"])
    if cls is None or not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise LayerkitValueError(
            f"the model's optimiser class {spec['class']!r} is not known; pass it in custom_objects"
        )
    opt = cls(**spec["config"])
    opt.learning_rate = spec["learning_rate"]
    opt.initial_learning_rate = spec["initial_learning_rate"]
    opt.iterations = spec["iterations"]
    opt.slots = [{key: arrays[name].copy() for key, name in slot.items()} for slot in spec["slots"]]
    return opt


# ---------------------------------------------------------------------------- checkpoints
class Checkpoint(NamedTuple):
    """A checkpoint read and checked by :func:`read_checkpoint` (nothing applied yet).

    Attributes
    ----------
    path : pathlib.Path
    training : dict
        The training loop's progress: ``epoch``, ``stopper``, ``schedule``, ``best``
        (names of the best-weights arrays), ``split_state``, ``rate_scale``, ``rate_set``.
    arrays : dict[str, numpy.ndarray]
        Every array of the file (weights, optimiser slots, best weights).
    optimizer : Optimizer or None
        The optimiser rebuilt from the file, with its state.
    meta : dict
        The file's metadata.
    """

    path: Path
    training: dict[str, Any]
    arrays: dict[str, np.ndarray]
    optimizer: Any
    meta: dict[str, Any]


def write_checkpoint(
    net: Any, path: Any, training_state: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Path:
    """Write ``net`` and the training loop's progress to ``path`` atomically."""
    return save(net, path, _checkpoint={"state": training_state, "arrays": arrays})


def read_checkpoint(net: Any, path: Any) -> Checkpoint:
    """Read a checkpoint written by ``train(checkpoint=...)`` for ``net`` and check it in
    full against ``net``; nothing changes. Raises :class:`ModelFileError`."""
    if not isinstance(path, str | os.PathLike):
        raise LayerkitTypeError(f"resume must be a checkpoint file path; received {path!r}")
    arrays, meta, path = _read_verified(path)
    if not isinstance(meta.get("training"), dict):
        raise ModelFileError(
            f"resume={str(path)!r} is a saved model, not a checkpoint written by "
            "train(checkpoint=...)"
        )
    _check_compatible(net, meta, arrays, path)
    try:
        optimizer = (
            _load_optimizer(meta["optimizer"], arrays, {}) if meta.get("optimizer") else None
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"{str(path)!r}: malformed optimiser state ({exc})") from exc
    return Checkpoint(path, meta["training"], arrays, optimizer, meta)


def apply_checkpoint(net: Any, checkpoint: Checkpoint) -> None:
    """Copy a checkpoint's weights, generator state, optimiser and history into ``net``."""
    _apply_state(net, checkpoint.meta, checkpoint.arrays, {}, checkpoint.path)
