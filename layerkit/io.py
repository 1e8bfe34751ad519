"""Saving and loading networks and checkpoints: one ``.npz`` file, no pickle.

Format (version 1). The file is a NumPy ``.npz`` archive readable with
``numpy.load(path, allow_pickle=False)``:

* ``__layerkit__``: a uint8 array holding UTF-8 JSON with ``format``, ``format_version``,
  ``library_version``, the network (name, loss, penalty, seed, dtype, and every layer as
  ``{"class": ..., "config": layer.get_config()}``), where each parameter and state array
  is stored, the optimiser (class, config, learning rates, iteration count, slot array
  names), the random generator's state, the training history, the user's ``metadata``,
  ``sha256`` and, in a signed file, ``hmac_sha256``. A checkpoint adds ``training`` (the
  training loop's state) and ``training_arrays`` (the names of its extra arrays).
* ``p<i>``: parameter arrays, in :meth:`Network.parameters` order; ``s<i>``: layer state
  arrays (``layer.state``), in layer order; ``o<i>_<slot>``: optimiser slots; in a
  checkpoint, the training loop's own arrays (``b<i>``: the best weights so far).

``sha256`` is the SHA-256 of the JSON (with ``sha256`` and ``hmac_sha256`` set to ``""``)
followed by every array's name, dtype, shape and bytes in name order. It detects
corruption (a truncated download, a flipped bit, a hand edit), not forgery: anyone can
recompute it. ``hmac_sha256``, written by ``save(..., key=...)``, is the same digest keyed
with HMAC-SHA256; without the key it cannot be recomputed, so a file that passes
``load(..., key=...)`` was written by someone who holds the key.

Reading validates before it allocates (see the Guarantees page): array headers are
compared with the shapes the configuration implies before any array is read or any layer
is built, every array is read through a bounded reader, metadata size and nesting are
capped, and every field is checked for type and range. Any failure is a
:class:`ModelFileError` naming the file and the field, and changes nothing.

Layers are rebuilt from class names looked up in a registry: the built-in layers, classes
decorated with :func:`register_layer`, and ``custom_objects`` given to :func:`load`. An
unknown name is an error; nothing is ever imported or unpickled.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import _file_checks as checks
from ._container import (
    MAX_JSON_DEPTH,
    MAX_METADATA_BYTES,
    Archive,
    ModelFileError,
    atomic_write,
    content_digest,
    json_depth,
)
from ._validation import LayerkitTypeError, LayerkitValueError, all_finite
from ._version import __version__
from .callbacks import History
from .layers import Activation, BatchNormalization, Dense, Dropout, Flatten, Input, Layer
from .losses import Loss, get_loss
from .network import Network
from .optimizers import Optimizer

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

# public here (tracebacks, docs); defined in the container module, which raises it too
ModelFileError.__module__ = __name__

FORMAT_VERSION = 1
_META = "__layerkit__"
_BUILTIN: tuple[type[Layer], ...] = (
    Input,
    Dense,
    Dropout,
    Activation,
    Flatten,
    BatchNormalization,
)
_LAYERS: dict[str, type[Layer]] = {cls.__name__: cls for cls in _BUILTIN}


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Class decorator: let :func:`load` rebuild layers of this class by name.

    The class must implement ``get_config()`` returning its constructor's keyword
    arguments (JSON-serialisable) and accept them back in ``from_config``; :func:`save`
    checks that round trip for every layer it writes.
    """
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise LayerkitTypeError(f"register_layer expects a Layer subclass; received {cls!r}")
    existing = _LAYERS.get(cls.__name__)
    if existing is not None and existing is not cls and existing in _BUILTIN:
        raise LayerkitValueError(f"{cls.__name__!r} is a built-in layer name; choose another")
    _LAYERS[cls.__name__] = cls
    return cls


def _layer_states(net: Any) -> Iterator[tuple[Layer, str, np.ndarray]]:
    """``(layer, key, array)`` for every non-trainable state array, in layer order."""
    for layer in net.layers:
        for key, value in getattr(layer, "state", {}).items():
            yield layer, key, value


# ---------------------------------------------------------------------------- save
def save(
    network: Any,
    path: str | os.PathLike[str],
    *,
    key: bytes | str | None = None,
) -> Path:
    """Write ``network`` (architecture, weights, state, optimiser, rng state, history,
    metadata) to ``path`` atomically. Returns the path written.

    Parameters
    ----------
    network : Network
    path : str or path-like
        A ``.npz`` suffix is added when the path has none. Missing folders are created.
    key : bytes or str, optional
        Sign the file with HMAC-SHA256 under this secret; :func:`load` then needs the
        same key. A str is encoded as UTF-8.

    Raises
    ------
    LayerkitValueError
        A layer does not round-trip through ``from_config(get_config())`` or its class is
        not registered; or a weight, state or optimiser slot holds NaN or infinity. The
        message names the layer. Nothing is written.
    OSError
        The write failed (full disk, no permission, ...); the message gives the path and
        the operation. A file already at ``path`` is left as it was.

    Notes
    -----
    The file is written to a temporary file ``.{name}.XXXXXXXX.tmp`` in the same folder
    (locked while written), flushed to disk and renamed over ``path``: a crash at any
    moment leaves either the old file or the new one. Temporary files left by an earlier
    save that was killed are removed by the next save to the same path.
    """
    network, path, secret = _check_save_args(network, path, key)
    arrays, meta = _serialise(network, allow_nonfinite=False)
    _write(path, arrays, meta, secret)
    return path


def write_checkpoint(
    network: Any,
    path: str | os.PathLike[str],
    training_state: dict[str, Any],
    arrays: dict[str, np.ndarray],
    *,
    key: bytes | str | None = None,
    allow_nonfinite: bool = False,
) -> Path:
    """Write a checkpoint: everything :func:`save` writes, plus the training loop's state.

    Parameters
    ----------
    network : Network
    path : str or path-like
    training_state : dict
        JSON-serialisable; checked as :func:`read_checkpoint` will check it, so that a
        checkpoint that is written can be read back.
    arrays : dict of str to ndarray
        Extra arrays of the training loop (names of letters, digits and ``_``, starting
        with a letter; ``training_state["best"]`` may list some as the best weights).
    key : bytes or str, optional
        HMAC-SHA256 signing key, as for :func:`save`.
    allow_nonfinite : bool, default False
        Write weights holding NaN or infinity instead of refusing.

    Returns
    -------
    pathlib.Path
    """
    network, path, secret = _check_save_args(network, path, key)
    model_arrays, meta = _serialise(network, allow_nonfinite=allow_nonfinite)
    fail = _failer(f"checkpoint for {str(path)!r}: training state")
    try:
        state = checks.check_training(json.loads(json.dumps(training_state)), fail)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ModelFileError):
            raise LayerkitValueError(str(exc)) from None
        raise LayerkitValueError(
            f"the training state of a checkpoint must be JSON-serialisable: {exc}"
        ) from exc
    if not isinstance(arrays, dict):
        raise LayerkitTypeError(f"arrays must be a dict of named arrays; received {arrays!r}")
    extra = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not checks.ARRAY_NAME.fullmatch(name):
            raise LayerkitValueError(f"checkpoint array name {name!r} is not a valid name")
        if name in model_arrays:
            raise LayerkitValueError(f"checkpoint array name {name!r} is used by the model")
        value = np.ascontiguousarray(value)
        if value.dtype.kind != "f" or (not allow_nonfinite and not all_finite(value)):
            raise LayerkitValueError(
                f"checkpoint array {name!r} must hold finite floating-point numbers "
                "(read_checkpoint refuses anything else)"
            )
        extra[name] = value
    missing = [n for n in state["best"] if n not in extra]
    if missing:
        raise LayerkitValueError(f"training_state['best'] names arrays not given: {missing}")
    meta["training"] = training_state
    meta["training_arrays"] = sorted(extra)
    _write(path, {**model_arrays, **extra}, meta, secret)
    return path


def _check_save_args(network: Any, path: Any, key: Any) -> tuple[Any, Path, bytes | None]:
    if not isinstance(network, Network):
        raise LayerkitTypeError(f"save expects a Network; received {type(network).__name__}")
    path = _model_path(path)
    return network, path, _check_key(key)


def _check_key(key: Any) -> bytes | None:
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes | bytearray) or not key:
        raise LayerkitTypeError(
            f"key must be a non-empty bytes or str secret; received {type(key).__name__}"
        )
    return bytes(key)


def _write(
    path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any], key: bytes | None
) -> None:
    meta["sha256"] = ""
    if key is not None:
        meta["hmac_sha256"] = ""
        signature = content_digest(meta, arrays, key)
    meta["sha256"] = content_digest(meta | {"sha256": ""}, arrays)
    if key is not None:
        meta["hmac_sha256"] = signature
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    atomic_write(path, {_META: blob, **arrays})


def _serialise(net: Any, *, allow_nonfinite: bool) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and metadata of ``net``, after every check that could refuse it."""
    layers = [
        {"class": type(layer).__name__, "config": _check_rebuilds(layer)} for layer in net.layers
    ]
    index = {id(layer): i for i, layer in enumerate(net.layers)}
    arrays: dict[str, np.ndarray] = {}

    def add(name: str, value: np.ndarray, what: str) -> str:
        if not allow_nonfinite and not all_finite(value):
            raise LayerkitValueError(
                f"cannot save {what}: it holds NaN or infinity (the training diverged?); "
                "a model file holds finite weights only"
            )
        arrays[name] = np.ascontiguousarray(value)
        return name

    params = [
        {"layer": index[id(layer)], "key": key,
         "array": add(f"p{i}", value, f"parameter {key!r} of layer {layer.name!r}")}
        for i, (layer, key, value) in enumerate(net.parameters())
    ]  # fmt: skip
    states = [
        {"layer": index[id(layer)], "key": key,
         "array": add(f"s{i}", value, f"state {key!r} of layer {layer.name!r}")}
        for i, (layer, key, value) in enumerate(_layer_states(net))
    ]  # fmt: skip
    optimizer = None
    if net.optimizer is not None:
        opt = net.optimizer
        slots = [
            {
                k: add(f"o{i}_{k}", v, f"optimiser slot {k!r} of parameter {i}")
                for k, v in slot.items()
            }
            for i, slot in enumerate(opt.slots)
        ]
        optimizer = {
            "class": type(opt).__name__,
            "config": opt.get_config(),
            "learning_rate": opt.learning_rate,
            "initial_learning_rate": opt.initial_learning_rate,
            "iterations": opt.iterations,
            "slots": slots,
        }
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
        "states": states,
        "optimizer": optimizer,
        "rng_state": net.rng.bit_generator.state,
        "history": net.history.as_dict() if net.history is not None else None,
    }
    user = getattr(net, "metadata", None)
    if user is not None:
        meta["metadata"] = _check_user_metadata(user)
    return arrays, meta


def _check_user_metadata(user: Any) -> dict[str, Any]:
    if not isinstance(user, dict):
        raise LayerkitTypeError(f"network.metadata must be a dict; received {type(user).__name__}")
    try:
        text = json.dumps(user, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise LayerkitValueError(
            f"network.metadata must be JSON-serialisable (str keys; str, finite number, bool, "
            f"None, list or dict values): {exc}"
        ) from exc
    if len(text) > MAX_METADATA_BYTES // 2 or json_depth(text.encode()) > MAX_JSON_DEPTH - 2:
        raise LayerkitValueError(
            f"network.metadata is too large or too deeply nested to save (at most "
            f"{MAX_METADATA_BYTES // 2} bytes of JSON, {MAX_JSON_DEPTH - 2} levels)"
        )
    return json.loads(text)


# ---------------------------------------------------------------------------- the config round trip
def _check_rebuilds(layer: Layer) -> dict[str, Any]:
    """``layer.get_config()`` after checking that the layer can be rebuilt from it."""
    cls = type(layer)
    label = f"cannot save layer {layer.name!r} ({cls.__name__})"
    if _LAYERS.get(cls.__name__) is not cls:
        raise LayerkitValueError(
            f"{label}: its class is not registered for saving: decorate the class with "
            "@layerkit.register_layer"
        )
    try:
        config = layer.get_config()
    except Exception as exc:
        raise LayerkitValueError(
            f"{label}: get_config() raised {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise LayerkitValueError(f"{label}: get_config() must return a dict with str keys")
    try:
        text = json.dumps(config, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise LayerkitValueError(
            f"{label}: get_config() is not JSON-serialisable ({exc}); return plain numbers, "
            "strings, lists and dicts"
        ) from exc
    stored = json.loads(text)  # what load() will pass to from_config (tuples become lists)
    signature = _constructor_parameters(cls)
    for p in signature:
        if p.default is p.empty and p.name not in stored:
            raise LayerkitValueError(
                f"{label}: get_config() does not return the constructor argument {p.name!r}; "
                "override get_config to return every constructor argument"
            )
    try:
        rebuilt = cls.from_config(dict(stored))
        again = json.dumps(rebuilt.get_config(), sort_keys=True)
    except Exception as exc:
        raise LayerkitValueError(
            f"{label}: {cls.__name__}.from_config(get_config()) fails ({type(exc).__name__}: "
            f"{exc}); make get_config return the constructor's arguments"
        ) from exc
    if again != text:
        raise LayerkitValueError(
            f"{label}: a layer rebuilt with from_config(get_config()) has a different config "
            f"({again} instead of {text}); make get_config return the constructor's arguments"
        )
    for p in signature:  # an argument left out silently falls back to its default
        if p.name in stored or p.name == "name":
            continue
        mine, theirs = getattr(layer, p.name, None), getattr(rebuilt, p.name, None)
        if _plain(mine) and _plain(theirs) and mine != theirs:
            raise LayerkitValueError(
                f"{label}: get_config() does not return the constructor argument "
                f"{p.name!r} (this layer has {p.name}={mine!r}, a rebuilt one {theirs!r}); "
                "override get_config to return it"
            )
    return config


def _constructor_parameters(cls: type) -> list[inspect.Parameter]:
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _plain(value: Any) -> bool:
    """Whether ``value`` compares meaningfully with ``==`` (numbers, strings, their tuples)."""
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | bool | int | float)


# ---------------------------------------------------------------------------- reading
def _failer(label: str) -> Callable[[str, str], ModelFileError]:
    def fail(field: str, message: str) -> ModelFileError:
        return ModelFileError(f"{label}: {field} {message}")

    return fail


@dataclasses.dataclass
class _Parsed:
    """The JSON of a file, every field checked for type and range (no arrays read)."""

    path: Path
    meta: dict[str, Any]
    network: dict[str, Any]
    params: list[tuple[int, str, str]]
    states: list[tuple[int, str, str]]
    optimizer: checks.OptimizerSpec | None
    rng_state: dict[str, Any]
    history: History | None
    training: dict[str, Any] | None
    extra: list[str]
    metadata: dict[str, Any] | None
    fail: Callable[[str, str], ModelFileError]

    def array_names(self) -> list[str]:
        names = [a for _, _, a in self.params] + [a for _, _, a in self.states]
        if self.optimizer is not None:
            names += [a for slot in self.optimizer.slots for a in slot.values()]
        return names + self.extra


def _model_path(path: Any) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise LayerkitTypeError(f"path must be a str or os.PathLike; received {path!r}")
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _existing_path(path: Any) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise LayerkitTypeError(f"path must be a str or os.PathLike; received {path!r}")
    path = Path(path)
    if not path.exists() and path.suffix != ".npz" and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")
    if not path.is_file():
        raise ModelFileError(f"no model file at {str(path)!r}")
    return path


def _read_meta(archive: Archive, key: bytes | None) -> dict[str, Any]:
    """The metadata of an open file, its format, version and signing checked."""
    path = archive.path
    if _META not in archive.names:
        raise archive.error(f"is not a layerkit model file (no {_META} entry)")
    meta = archive.read_json(_META)
    label = repr(str(path))
    if not isinstance(meta, dict) or meta.get("format") != "layerkit":
        raise ModelFileError(f"{label} is not a layerkit model file")
    version = meta.get("format_version")
    if not checks.is_int(version):
        raise ModelFileError(f"{label} is not a layerkit model file (no format version)")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{label} has format version {version}, newer than this layerkit ({__version__}) "
            f"reads ({FORMAT_VERSION}); upgrade layerkit"
        )
    signed = "hmac_sha256" in meta
    if signed and key is None:
        raise ModelFileError(f"{label} is signed (HMAC-SHA256); load it with key=")
    if key is not None and not signed:
        raise ModelFileError(
            f"{label} is not signed, but a key was given: it may have been replaced by an "
            "unsigned file; load it without key= only if you trust where it came from"
        )
    return meta


def _parse(archive: Archive, meta: dict[str, Any], custom: dict[str, Any]) -> _Parsed:
    """Check every field of ``meta``, the metadata of ``archive``, and that the archive
    holds exactly the arrays it lists; no array is read."""
    parsed = _parse_meta(meta, archive.path, custom)
    unexpected = sorted(set(archive.names) - set(parsed.array_names()) - {_META})
    if unexpected:
        raise archive.error(f"holds arrays its metadata does not list: {unexpected[:5]}")
    return parsed


def _parse_meta(meta: dict[str, Any], path: Path, custom: dict[str, Any]) -> _Parsed:
    """Check every field of the metadata ``meta`` of the file ``path``."""
    fail = _failer(repr(str(path)))
    network = checks.check_network(meta.get("network"), fail)
    n_layers = len(network["layers"])
    params = checks.check_entries(meta.get("params"), "params", n_layers, fail)
    states = checks.check_entries(meta.get("states", []), "states", n_layers, fail)
    optimizer = None
    if meta.get("optimizer") is not None:
        optimizer = checks.check_optimizer(meta["optimizer"], custom, fail)
        if optimizer.slots and len(optimizer.slots) != len(params):
            raise fail(
                "optimizer.slots",
                f"holds {len(optimizer.slots)} entries for {len(params)} parameters",
            )
    history = None if meta.get("history") is None else checks.check_history(meta["history"], fail)
    training = None
    extra: list[str] = []
    if "training" in meta:
        training = checks.check_training(meta["training"], fail)
        names = meta.get("training_arrays", training["best"])
        extra = [
            checks.check_array_name(n, f"training_arrays[{i}]", fail)
            for i, n in enumerate(checks.need_list(names, "training_arrays", fail))
        ]
        if not set(training["best"]) <= set(extra):
            raise fail("training.best", "names arrays the checkpoint does not hold")
        n_variables = len(params) + len(states)
        if training["best"] and len(training["best"]) != n_variables:
            raise fail(
                "training.best",
                f"must name one array per parameter and state array ({n_variables})",
            )
    metadata = meta.get("metadata")
    if metadata is not None:
        checks.need_dict(metadata, "metadata", fail)
    for field in ("sha256", "hmac_sha256"):
        if (field in meta or field == "sha256") and not (
            isinstance(meta.get(field), str) and len(meta[field]) == 64
        ):
            raise fail(field, "must be a hexadecimal digest")
    parsed = _Parsed(
        path, meta, network, params, states, optimizer,
        checks.check_rng_state(meta.get("rng_state"), fail),
        history, training, extra, metadata, fail,
    )  # fmt: skip
    names = parsed.array_names()
    if len(set(names)) != len(names):
        raise fail("params", "name the same array more than once")
    return parsed


def _read_file(
    path: Any,
    key: bytes | None,
    custom: dict[str, Any],
    expected: Callable[[_Parsed], dict[str, tuple[str, tuple[int, ...] | None]]],
    *,
    checkpoint: bool = False,
) -> tuple[_Parsed, dict[str, np.ndarray]]:
    """Open, check and read a file: metadata and every field, then every array header
    against ``expected(parsed)`` (name -> (field, shape or None)), then the arrays and
    the checksum. A refusal before the arrays are read is reported as corruption when
    the checksum does not match either."""
    path = _existing_path(path)
    with Archive(path) as archive:
        meta = _read_meta(archive, key)
        if checkpoint and "training" not in meta:
            raise ModelFileError(
                f"{str(path)!r} is a saved model, not a checkpoint written by train(checkpoint=...)"
            )
        try:
            parsed = _parse(archive, meta, custom)
            _check_headers(archive, parsed, expected(parsed))
        except ModelFileError as exc:
            raise _corrupted(archive, meta, exc) from exc.__cause__
        return parsed, _read_arrays(archive, parsed, key)


def _check_headers(
    archive: Archive, parsed: _Parsed, expected: dict[str, tuple[str, tuple[int, ...] | None]]
) -> None:
    """Compare every array's declared dtype and shape with ``expected`` (name -> (field,
    shape or None when not known before building)), reading no data."""
    for name in parsed.array_names():
        field, shape = expected.get(name, (name, None))
        head = archive.header(name, field)
        if head.dtype.kind != "f":
            raise parsed.fail(
                field, f"must hold floating-point numbers; array {name!r} is {head.describe()}"
            )
        if shape is not None and head.shape != shape:
            raise parsed.fail(field, f"has shape {head.shape}; the network expects {shape}")


def _blank(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` as its digests cover it: with ``sha256`` and ``hmac_sha256`` empty."""
    return meta | {"sha256": ""} | ({"hmac_sha256": ""} if "hmac_sha256" in meta else {})


def _corrupted(archive: Archive, meta: dict[str, Any], refusal: ModelFileError) -> ModelFileError:
    """``refusal``, or a corruption error when the checksum does not match either: a
    damaged file is reported as damaged rather than by the field the damage hit. The
    checksum is streamed from the file, so this allocates nothing."""
    try:
        names = [n for n in archive.names if n != _META]
        if archive.digest(_blank(meta), names) == meta.get("sha256"):
            return refusal
    except ModelFileError:
        return refusal
    error = ModelFileError(
        f"{str(archive.path)!r} is corrupted: its SHA-256 checksum does not match its contents"
    )
    error.__cause__ = refusal
    return error


def _read_arrays(archive: Archive, parsed: _Parsed, key: bytes | None) -> dict[str, np.ndarray]:
    """Every array (headers already checked), then the checksum and signature.

    A compressed member could inflate to its declared size from very little data: when
    there is one, the checksum is first verified by streaming, so that arrays are
    allocated only for contents their writer vouched for.
    """
    meta = parsed.meta
    blank = _blank(meta)
    label = repr(str(parsed.path))
    names = parsed.array_names()
    if any(archive.deflated(n) for n in names) and archive.digest(blank, names) != meta.get(
        "sha256"
    ):
        raise ModelFileError(
            f"{label} is corrupted: its SHA-256 checksum does not match its contents"
        )
    arrays = {name: archive.read_array(name) for name in names}
    if content_digest(blank, arrays) != meta.get("sha256"):
        raise ModelFileError(
            f"{label} is corrupted: its SHA-256 checksum does not match its contents"
        )
    if key is not None:
        import hmac

        if not hmac.compare_digest(content_digest(blank, arrays, key), meta["hmac_sha256"]):
            raise ModelFileError(
                f"{label} fails its signature check: the key is wrong, or the file was "
                "altered after it was signed"
            )
    return arrays


# ---------------------------------------------------------------------------- binding to a network
@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A file read and checked against one network by :func:`read_checkpoint`.

    Everything is validated and converted to the network's dtype:
    :func:`apply_checkpoint` only copies.

    Attributes
    ----------
    path : pathlib.Path
    epoch : int or None
        Last epoch completed (``training["epoch"]``); None for a saved model.
    training : dict or None
        The training loop's state (see :func:`read_checkpoint`); None for a saved model.
    arrays : dict of str to ndarray
        The training loop's extra arrays (``training["best"]`` names some of them).
    weights, states : list of ndarray
        New values for ``network.parameters()`` and for every layer's ``state``.
    optimizer : Optimizer or None
        A new optimiser with the file's configuration, rate, iterations and slots.
    rng_state : dict
    history : History or None
    metadata : dict or None
    """

    path: Path
    epoch: int | None
    training: dict[str, Any] | None
    arrays: dict[str, np.ndarray]
    weights: list[np.ndarray]
    states: list[np.ndarray]
    optimizer: Optimizer | None
    rng_state: dict[str, Any]
    history: History | None
    metadata: dict[str, Any] | None
    _shapes: tuple[tuple[tuple[int, ...], str], ...] = dataclasses.field(repr=False, default=())


def _expected_from_network(net: Any, parsed: _Parsed) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Array name -> (field, shape) for everything ``parsed`` stores, from ``net``."""
    fail = parsed.fail
    targets = list(net.parameters())
    if len(targets) != len(parsed.params):
        raise fail(
            "params",
            f"holds {len(parsed.params)} parameter arrays but the network has {len(targets)}",
        )
    states = list(_layer_states(net))
    if len(states) != len(parsed.states):
        raise fail(
            "states", f"holds {len(parsed.states)} state arrays but the network has {len(states)}"
        )
    index = {id(layer): i for i, layer in enumerate(net.layers)}
    expected: dict[str, tuple[str, tuple[int, ...]]] = {}
    for what, mine, stored in (
        ("params", targets, parsed.params),
        ("states", states, parsed.states),
    ):
        for i, ((layer, key, value), (li, skey, name)) in enumerate(zip(mine, stored, strict=True)):
            field = f"{what}[{i}] (layer {layer.name!r}, {key!r})"
            if (index[id(layer)], key) != (li, skey):
                raise fail(
                    f"{what}[{i}]",
                    f"is {skey!r} of layer {li}; the network expects {key!r} of layer "
                    f"{index[id(layer)]} ({layer.name!r})",
                )
            expected[name] = (field, value.shape)
    _expect_slots_and_extras(
        parsed, [v.shape for _, _, v in targets], [v.shape for _, _, v in states], expected
    )
    return expected


def _expect_slots_and_extras(
    parsed: _Parsed,
    shapes: list[tuple[int, ...] | None],
    state_shapes: list[tuple[int, ...] | None],
    expected: dict[str, Any],
) -> None:
    """Expected shapes of the optimiser slots (one set per parameter) and of the best
    weights (one per variable: each layer's parameters, then its state, layer by layer)."""
    if parsed.optimizer is not None:
        for i, slot in enumerate(parsed.optimizer.slots):
            for k, name in slot.items():
                expected[name] = (f"optimizer.slots[{i}].{k}", shapes[i])
    if parsed.training is not None and parsed.training["best"]:
        variables = sorted(
            [(li, 0, i, shapes[i]) for i, (li, _, _) in enumerate(parsed.params)]
            + [(li, 1, i, state_shapes[i]) for i, (li, _, _) in enumerate(parsed.states)]
        )
        for i, (name, variable) in enumerate(zip(parsed.training["best"], variables, strict=True)):
            expected[name] = (f"training.best[{i}]", variable[3])


def _bind(
    net: Any, parsed: _Parsed, arrays: dict[str, np.ndarray], *, allow_nonfinite: bool
) -> Checkpoint:
    """Check every array against ``net`` (shapes, finiteness, range of its dtype) and
    return what :func:`apply_checkpoint` copies. Changes nothing."""
    expected = _expected_from_network(net, parsed)
    fail, dtype = parsed.fail, np.dtype(net.dtype)

    def value(name: str) -> np.ndarray:
        field, shape = expected.get(name, (f"training_arrays ({name!r})", None))
        array = arrays[name]
        if shape is not None and array.shape != shape:
            raise fail(field, f"has shape {array.shape}; the network expects {shape}")
        if not allow_nonfinite and not all_finite(array):
            raise fail(
                field,
                "holds NaN or infinity; load(..., allow_nonfinite=True) reads it anyway",
            )
        with np.errstate(over="ignore", invalid="ignore"):
            converted = np.array(array, dtype=dtype, copy=True)
        if not all_finite(converted) and all_finite(array):
            raise fail(
                field,
                f"holds values beyond the {dtype.name} range of the network (largest "
                f"magnitude {float(np.abs(array).max()):.6g})",
            )
        return converted

    weights = [value(name) for _, _, name in parsed.params]
    states = []
    for (_, _, current), (_, _, name) in zip(_layer_states(net), parsed.states, strict=True):
        stored = value(name)
        if current.dtype != dtype:  # a layer may keep integer state (counters)
            if current.dtype.kind in "iub" and not np.array_equal(stored, np.round(stored)):
                raise fail(expected[name][0], f"must hold whole numbers ({current.dtype.name})")
            stored = stored.astype(current.dtype)
        states.append(stored)
    optimizer = None
    if parsed.optimizer is not None:
        slots = [{k: value(name) for k, name in slot.items()} for slot in parsed.optimizer.slots]
        optimizer = parsed.optimizer.build(slots)
    extra = {name: value(name) for name in parsed.extra}
    shapes = tuple((v.shape, str(v.dtype)) for _, _, v in net.parameters())
    return Checkpoint(
        path=parsed.path,
        epoch=None if parsed.training is None else parsed.training["epoch"],
        training=parsed.training,
        arrays=extra,
        weights=weights,
        states=states,
        optimizer=optimizer,
        rng_state=parsed.rng_state,
        history=parsed.history,
        metadata=parsed.metadata,
        _shapes=shapes,
    )


def apply_checkpoint(network: Any, checkpoint: Checkpoint) -> None:
    """Copy a checkpoint read by :func:`read_checkpoint` (or a loaded file) into ``network``.

    Sets the weights and state arrays (in place), the random generator's state, the
    optimiser (when the file has one), the history (when the file has one) and
    ``metadata``. It cannot fail for the network the checkpoint was read for.
    """
    if not isinstance(checkpoint, Checkpoint):
        raise LayerkitTypeError(
            f"apply_checkpoint expects a Checkpoint from read_checkpoint; received {type(checkpoint).__name__}"
        )
    shapes = tuple((v.shape, str(v.dtype)) for _, _, v in network.parameters())
    if shapes != checkpoint._shapes:
        raise LayerkitValueError(
            f"the checkpoint {str(checkpoint.path)!r} was read for a network of another "
            "architecture or dtype; read it again with read_checkpoint(network, path)"
        )
    for (_, _, target), new in zip(network.parameters(), checkpoint.weights, strict=True):
        np.copyto(target, new)
    for (_, _, target), new in zip(_layer_states(network), checkpoint.states, strict=True):
        np.copyto(target, new)
    network.rng.bit_generator.state = checkpoint.rng_state
    if checkpoint.optimizer is not None:
        network.optimizer = checkpoint.optimizer
    if checkpoint.history is not None:
        network.history = checkpoint.history
    if checkpoint.metadata is not None:
        network.metadata = checkpoint.metadata


def read_checkpoint(
    network: Any,
    path: str | os.PathLike[str],
    *,
    key: bytes | str | None = None,
    allow_nonfinite: bool = False,
    custom_objects: dict[str, Any] | None = None,
) -> Checkpoint:
    """Read a checkpoint written by ``train(checkpoint=...)`` (or :func:`write_checkpoint`)
    and check it entirely against ``network``, changing nothing.

    Every array's declared shape and dtype is compared with ``network`` before any array
    is read; then the arrays are read (bounded), the checksum (and, with ``key``, the
    signature) verified, and every value checked: finite (unless ``allow_nonfinite``),
    within the network dtype's range. The fields of ``training`` that are checked:

    ``epoch``
        The last completed epoch, an integer >= 0.
    ``stopper``
        None, or the early-stopping criterion's state: ``best_epoch`` (int >= 0 or None),
        ``best_cost`` (a number, not NaN), ``wait`` (int >= 0), other fields numbers,
        strings or lists of numbers; never a name of one of the criterion's methods.
    ``schedule``
        The schedule's state: ``{}``, or ``eta`` (None or a finite number > 0) with
        ``trace`` (a list of records of numbers).
    ``best``
        ``[]`` or one array name per variable of :meth:`Network.variables` (each layer's
        parameters, then its state), each with that variable's shape.
    ``split_state``
        None, or the generator state the validation split was drawn with (a valid
        PCG64 state).
    ``rate_scale``
        A finite number > 0 (default 1).
    ``rate_set``
        None or a finite number > 0: the learning rate the loop last set.

    Other fields pass as they are (they have passed the metadata's caps). The optimiser
    (known class, config accepted by its constructor, learning rates finite and > 0,
    iterations an integer >= 0, slots named as the class's ``slot_names`` with the
    parameters' shapes), the history (fields of :class:`~layerkit.History`, per-epoch
    lists of numbers as long as ``epochs``) and the generator state (a valid PCG64 state)
    are checked too.

    Returns
    -------
    Checkpoint
        Give it to :func:`apply_checkpoint`.

    Raises
    ------
    ModelFileError
        Anything wrong with the file, naming it and the field. ``network`` is unchanged.
    """
    secret = _check_key(key)
    custom = _check_custom(custom_objects)
    parsed, arrays = _read_file(
        path,
        secret,
        custom,
        lambda parsed: _expected_from_network(network, parsed),
        checkpoint=True,
    )
    return _bind(network, parsed, arrays, allow_nonfinite=allow_nonfinite)


# ---------------------------------------------------------------------------- load
def load(
    path: str | os.PathLike[str],
    *,
    custom_objects: dict[str, Any] | None = None,
    key: bytes | str | None = None,
    allow_nonfinite: bool = False,
) -> Any:
    """Rebuild a network saved by :func:`save` (or :meth:`Network.save`).

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` suffix may be left out.
    custom_objects : dict, optional
        ``{class name: class}`` for user-written layers, losses or optimisers not
        registered with :func:`register_layer`.
    key : bytes or str, optional
        The key the file was signed with (``save(..., key=...)``). A signed file needs
        it; an unsigned file is refused when a key is given.
    allow_nonfinite : bool, default False
        Load weights holding NaN or infinity instead of refusing them.

    Returns
    -------
    Network

    Raises
    ------
    ModelFileError
        The file is missing, not a layerkit model, of a newer format version, truncated,
        corrupted (checksum), forged (signature), inconsistent with its own architecture,
        or any field is out of type or range. The message names the file and the field.
        Nothing is built beyond what the checks allow: every declared array shape of the
        built-in layers is compared with the configuration first.
    OSError
        The file exists but cannot be read (permissions, I/O error), with the path.
    """
    secret = _check_key(key)
    custom = _check_custom(custom_objects)
    layers: list[Layer] = []

    def expected(parsed: _Parsed) -> dict[str, tuple[str, tuple[int, ...] | None]]:
        layers.extend(_instantiate(parsed, custom))  # constructed, not built
        return _expected_from_config(layers, parsed)

    parsed, arrays = _read_file(path, secret, custom, expected)
    net = _construct(parsed, layers, custom)
    apply_checkpoint(net, _bind(net, parsed, arrays, allow_nonfinite=allow_nonfinite))
    return net


def _check_custom(custom_objects: Any) -> dict[str, Any]:
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise LayerkitTypeError(
            "custom_objects must be a dict {class name: class}; received "
            f"custom_objects={custom_objects!r}"
        )
    return dict(custom_objects or {})


def _instantiate(parsed: _Parsed, custom: dict[str, Any]) -> list[Layer]:
    """Layer objects from their configs (constructed, not built: nothing allocated)."""
    layers = []
    for i, entry in enumerate(parsed.network["layers"]):
        name = entry["class"]
        cls = custom.get(name) or _LAYERS.get(name)
        if cls is None or not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise ModelFileError(
                f"{str(parsed.path)!r}: the model uses layer class {name!r}, which is not "
                "known: decorate it with @layerkit.register_layer or pass load(..., "
                f"custom_objects={{{name!r}: {name}}})"
            )
        try:
            layers.append(cls.from_config(dict(entry["config"])))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            raise parsed.fail(
                f"network.layers[{i}].config", f"is refused by {name}: {exc}"
            ) from exc
    if not isinstance(layers[0], Input):
        raise parsed.fail("network.layers[0]", "must be an Input layer")
    return layers


def _static_shapes(
    layer: Layer, shape: tuple[int, ...]
) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]] | None:
    """The parameters and output shape a built-in layer will have on inputs of ``shape``,
    computed from its configuration without building it (None: not known before build)."""
    cls = type(layer)
    if cls is Dense:
        units, bias = getattr(layer, "units", None), getattr(layer, "use_bias", None)
        if len(shape) != 1 or not isinstance(units, int) or not isinstance(bias, bool):
            return None  # the network's build refuses it with its own message
        params = {"W": (shape[0], units)}
        if bias:
            params["b"] = (units,)
        return params, (units,)
    if cls in (Dropout, Activation):
        return {}, shape
    return None


def _probe_output_shape(layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """``layer.compute_output_shape(shape)`` on the unbuilt layer, or None when it cannot
    tell (the contract makes it a function of the input shape and the configuration;
    a layer that needs its build to answer raises, and is then compared after building)."""
    try:
        out = tuple(layer.compute_output_shape(shape))
    except Exception:  # user code on an unbuilt layer: any failure means "not known"
        return None
    if not out or not all(checks.is_int(d) and d > 0 for d in out):
        return None
    return tuple(int(d) for d in out)


def _expected_from_config(
    layers: list[Layer], parsed: _Parsed
) -> dict[str, tuple[str, tuple[int, ...] | None]]:
    """Array name -> (field, shape) for the arrays whose shape the configuration fixes
    (built-in layers after built-in layers); the rest are compared after building."""
    fail = parsed.fail
    by_layer: dict[int, list[tuple[int, str, str]]] = {}
    for i, (li, key, name) in enumerate(parsed.params):
        by_layer.setdefault(li, []).append((i, key, name))
    states_of = {li for li, _, _ in parsed.states}
    expected: dict[str, tuple[str, tuple[int, ...] | None]] = {}
    shapes: list[tuple[int, ...] | None] = [None] * len(parsed.params)
    shape: tuple[int, ...] | None = tuple(layers[0].output_shape)
    if 0 in by_layer or 0 in states_of:
        raise fail("params", "lists arrays of the Input layer, which has none")
    for li, layer in enumerate(layers[1:], start=1):
        rule = None if shape is None else _static_shapes(layer, shape)
        if rule is None:
            # a layer the configuration alone does not describe: its own arrays are
            # compared after building, the layers after it from its declared output shape
            shape = None if shape is None else _probe_output_shape(layer, shape)
            continue
        params, shape = rule
        stored = by_layer.get(li, [])
        if [k for _, k, _ in stored] != list(params) or li in states_of:
            raise fail(
                f"params (layer {layer.name!r})",
                f"lists {[k for _, k, _ in stored]} (and {'some' if li in states_of else 'no'} "
                f"state); a {type(layer).__name__} with this configuration has {list(params)}",
            )
        for i, key, name in stored:
            expected[name] = (f"params[{i}] (layer {layer.name!r}, {key!r})", params[key])
            shapes[i] = params[key]
    _expect_slots_and_extras(parsed, shapes, [None] * len(parsed.states), expected)
    return expected


def _construct(parsed: _Parsed, layers: list[Layer], custom: dict[str, Any]) -> Any:
    spec = parsed.network
    loss_cls = custom.get(spec["loss"])
    try:
        if not (isinstance(loss_cls, type) and issubclass(loss_cls, Loss)):
            loss_cls = type(get_loss(spec["loss"]))
        loss = loss_cls(**spec["loss_config"])
    except (ValueError, TypeError) as exc:
        raise parsed.fail("network.loss", f"names a loss that cannot be built: {exc}") from exc
    try:
        return Network(
            layers,
            loss,
            penalty=spec["penalty"],
            seed=spec["seed"],
            dtype=spec["dtype"],
            name=spec["name"],
        )
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise parsed.fail("network", f"describes a network that cannot be built: {exc}") from exc
