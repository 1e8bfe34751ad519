"""Type and range checks for the JSON fields of a layerkit file.

Each check takes the value read from the file and a ``fail(field, message)`` function
that returns the exception to raise (a :class:`~layerkit._container.ModelFileError`
naming the file and the field). Nothing here touches a network: the checks run before
anything is built or changed, and return the values in the form the loader applies.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .callbacks import History, Patience, StoppingCriterion, ValidationWindow
from .optimizers import Optimizer, available_optimizers, get_optimizer

Fail = Callable[[str, str], Exception]

#: array names a file may hold beside the model's own (checkpoint extras such as best weights)
ARRAY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_MAX_TEXT = 10_000


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _show(value: Any) -> str:
    """A short description of a JSON value for a message (no NumPy reprs, bounded)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def need_dict(value: Any, field: str, fail: Fail) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(field, f"must be a JSON object; the file holds {_show(value)}")
    return value


def need_list(value: Any, field: str, fail: Fail) -> list[Any]:
    if not isinstance(value, list):
        raise fail(field, f"must be a JSON list; the file holds {_show(value)}")
    return value


def need_str(value: Any, field: str, fail: Fail) -> str:
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise fail(field, f"must be a string; the file holds {_show(value)}")
    return value


#: largest integer field accepted (counts and epochs; exactly representable as a float)
MAX_INT = 2**53


def need_int(
    value: Any, field: str, fail: Fail, *, minimum: int = 0, maximum: int = MAX_INT
) -> int:
    if not is_int(value) or not minimum <= value <= maximum:
        raise fail(
            field,
            f"must be an integer in [{minimum}, {maximum}]; the file holds {_show(value)}",
        )
    return int(value)


def need_rate(value: Any, field: str, fail: Fail) -> float:
    if not is_real(value) or not math.isfinite(value) or value <= 0:
        raise fail(field, f"must be a finite number > 0; the file holds {_show(value)}")
    return float(value)


# ---------------------------------------------------------------------------- network
DTYPES = ("float32", "float64")


def check_network(spec: Any, fail: Fail) -> dict[str, Any]:
    """``network``: name, loss, loss_config, penalty, seed, dtype and the layer list."""
    spec = need_dict(spec, "network", fail)
    out = {
        "name": need_str(spec.get("name"), "network.name", fail),
        "loss": need_str(spec.get("loss"), "network.loss", fail),
        "loss_config": need_dict(spec.get("loss_config", {}), "network.loss_config", fail),
        # a seed drawn by SeedSequence (seed=None) has 128 bits
        "seed": need_int(spec.get("seed"), "network.seed", fail, maximum=2**128),
    }
    penalty = spec.get("penalty")
    if not is_real(penalty) or not math.isfinite(penalty) or penalty < 0:
        raise fail(
            "network.penalty", f"must be a finite number >= 0; the file holds {_show(penalty)}"
        )
    out["penalty"] = float(penalty)
    if spec.get("dtype") not in DTYPES:
        raise fail(
            "network.dtype", f"must be one of {DTYPES}; the file holds {_show(spec.get('dtype'))}"
        )
    out["dtype"] = spec["dtype"]
    layers = need_list(spec.get("layers"), "network.layers", fail)
    if not layers:
        raise fail("network.layers", "is empty")
    out["layers"] = []
    for i, entry in enumerate(layers):
        field = f"network.layers[{i}]"
        entry = need_dict(entry, field, fail)
        out["layers"].append(
            {
                "class": need_str(entry.get("class"), f"{field}.class", fail),
                "config": need_dict(entry.get("config"), f"{field}.config", fail),
            }
        )
    return out


def check_entries(value: Any, field: str, n_layers: int, fail: Fail) -> list[tuple[int, str, str]]:
    """``params`` / ``states``: ``[{"layer": i, "key": k, "array": name}, ...]`` in layer order."""
    entries = need_list(value, field, fail)
    out = []
    previous = 0
    for i, entry in enumerate(entries):
        where = f"{field}[{i}]"
        entry = need_dict(entry, where, fail)
        layer = entry.get("layer")
        if not is_int(layer) or not previous <= layer < n_layers:
            raise fail(
                f"{where}.layer",
                f"must be a layer index in layer order (< {n_layers}); the file holds "
                f"{_show(layer)}",
            )
        previous = int(layer)
        out.append(
            (
                int(layer),
                need_str(entry.get("key"), f"{where}.key", fail),
                check_array_name(entry.get("array"), f"{where}.array", fail),
            )
        )
    return out


def check_array_name(value: Any, field: str, fail: Fail) -> str:
    if not isinstance(value, str) or not ARRAY_NAME.fullmatch(value):
        raise fail(field, f"must name an array of the file; the file holds {_show(value)}")
    return value


# ---------------------------------------------------------------------------- optimiser
def optimizer_classes(custom: dict[str, Any]) -> dict[str, type[Optimizer]]:
    known = {
        type(get_optimizer(n)).__name__: type(get_optimizer(n)) for n in available_optimizers()
    }
    for name, cls in custom.items():
        if isinstance(cls, type) and issubclass(cls, Optimizer):
            known[name] = cls
    return known


@dataclasses.dataclass
class OptimizerSpec:
    """A validated ``optimizer`` field; :meth:`build` gives a fresh optimiser."""

    cls: type[Optimizer]
    config: dict[str, Any]
    learning_rate: float
    initial_learning_rate: float
    iterations: int
    slots: list[dict[str, str]]

    def build(self, slots: list[dict[str, np.ndarray]]) -> Optimizer:
        opt = self.cls(**self.config)
        opt.learning_rate = self.learning_rate
        opt.initial_learning_rate = self.initial_learning_rate
        opt.iterations = self.iterations
        opt.slots = slots
        return opt


def check_optimizer(spec: Any, custom: dict[str, Any], fail: Fail) -> OptimizerSpec:
    """``optimizer``: class, config, learning rates (finite, > 0), iterations (int >= 0)
    and slot array names (exactly the class's ``slot_names`` per parameter)."""
    spec = need_dict(spec, "optimizer", fail)
    name = need_str(spec.get("class"), "optimizer.class", fail)
    cls = optimizer_classes(custom).get(name)
    if cls is None:
        raise fail(
            "optimizer.class",
            f"names the optimiser class {name!r}, which is not known; pass it in custom_objects",
        )
    config = need_dict(spec.get("config"), "optimizer.config", fail)
    accepted = _keyword_parameters(cls)
    for key, value in config.items():
        if accepted is not None and key not in accepted:
            raise fail("optimizer.config", f"holds {key!r}, which {name} does not take")
        if value is not None and not isinstance(value, str | bool) and not is_real(value):
            raise fail(
                f"optimizer.config.{key}", f"must be a number; the file holds {_show(value)}"
            )
    if "learning_rate" in config:
        need_rate(config["learning_rate"], "optimizer.config.learning_rate", fail)
    try:
        probe = cls(**config)  # the constructor's own range checks (momentum, betas, ...)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise fail("optimizer.config", f"is refused by {name}: {exc}") from exc
    slot_names = tuple(getattr(probe, "slot_names", ()))  # SGD's depend on its momentum
    slots = []
    for i, slot in enumerate(need_list(spec.get("slots"), "optimizer.slots", fail)):
        field = f"optimizer.slots[{i}]"
        slot = need_dict(slot, field, fail)
        if tuple(sorted(slot)) != tuple(sorted(slot_names)):
            raise fail(
                field, f"must hold the slots {list(slot_names)} of {name}; it holds {sorted(slot)}"
            )
        slots.append({k: check_array_name(v, f"{field}.{k}", fail) for k, v in slot.items()})
    return OptimizerSpec(
        cls,
        dict(config),
        need_rate(spec.get("learning_rate"), "optimizer.learning_rate", fail),
        need_rate(spec.get("initial_learning_rate"), "optimizer.initial_learning_rate", fail),
        need_int(spec.get("iterations"), "optimizer.iterations", fail),
        slots,
    )


def _keyword_parameters(cls: type) -> set[str] | None:
    """Names ``cls(...)`` accepts by keyword, or None when it takes ``**kwargs``."""
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


# ---------------------------------------------------------------------------- history
_HISTORY_INT_LISTS = ("epochs",)
_HISTORY_OPTIONAL_INTS = ("best_epoch", "stopped_epoch", "restored_epoch")
_HISTORY_TEXT = ("stop_reason", "message")


def check_history(data: Any, fail: Fail) -> History:
    """``history``: the fields of :class:`~layerkit.History`; per-epoch lists of numbers
    as long as ``epochs`` (or empty), epochs >= 1, optional epoch numbers >= 0."""
    data = need_dict(data, "history", fail)
    fields = {f.name: f for f in dataclasses.fields(History)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise fail("history", f"holds fields History does not have: {unknown}")
    epochs = need_list(data.get("epochs", []), "history.epochs", fail)
    for name, value in data.items():
        field = f"history.{name}"
        if name in _HISTORY_INT_LISTS:
            if not all(is_int(e) and e >= 1 for e in value):
                raise fail(field, "must be a list of epoch numbers >= 1")
        elif name in _HISTORY_OPTIONAL_INTS:
            if value is not None:
                need_int(value, field, fail)
        elif name in _HISTORY_TEXT:
            need_str(value, field, fail)
        elif isinstance(fields[name].default_factory, type):  # the per-epoch lists
            need_list(value, field, fail)
            if not all(is_real(v) for v in value):
                raise fail(field, "must be a list of numbers")
            if len(value) not in (0, len(epochs)):
                raise fail(
                    field, f"holds {len(value)} entries for {len(epochs)} epochs (0 or as many)"
                )
    try:
        return History.from_dict(dict(data))
    except (TypeError, ValueError) as exc:
        raise fail("history", f"cannot be rebuilt: {exc}") from exc


# ---------------------------------------------------------------------------- rng
def check_rng_state(state: Any, fail: Fail, field: str = "rng_state") -> dict[str, Any]:
    """A state of the network's bit generator (PCG64), tried on a scratch one."""
    state = need_dict(state, field, fail)
    scratch = np.random.default_rng(0).bit_generator
    if state.get("bit_generator") != type(scratch).__name__:
        raise fail(
            f"{field}.bit_generator",
            f"must be {type(scratch).__name__!r}; the file holds {_show(state.get('bit_generator'))}",
        )
    try:
        scratch.state = state
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise fail(field, f"is not a valid generator state ({exc})") from exc
    return scratch.state


# ---------------------------------------------------------------------------- training state
_STOPPER_METHODS = {
    n
    for cls in (StoppingCriterion, ValidationWindow, Patience)
    for n, v in vars(cls).items()
    if callable(v) or isinstance(v, property) or n.startswith("__")
}


def check_training(state: Any, fail: Fail) -> dict[str, Any]:
    """``training`` (checkpoints): see :func:`layerkit.io.read_checkpoint` for the fields."""
    state = need_dict(state, "training", fail)
    out = dict(state)
    out["epoch"] = need_int(state.get("epoch"), "training.epoch", fail)
    stopper = state.get("stopper")
    if stopper is not None:
        stopper = need_dict(stopper, "training.stopper", fail)
        for key, value in stopper.items():
            field = f"training.stopper.{key}"
            if key.startswith("__") or key in _STOPPER_METHODS or not key.isidentifier():
                raise fail(field, "is not a state field of an early-stopping criterion")
            if key == "best_cost":
                if not is_real(value) or math.isnan(value):
                    raise fail(field, f"must be a number; the file holds {_show(value)}")
            elif key in ("best_epoch",):
                if value is not None:
                    need_int(value, field, fail)
            elif key == "wait":
                need_int(value, field, fail)
            elif isinstance(value, list):
                if not all(is_real(v) for v in value):
                    raise fail(field, "must be a list of numbers")
            elif value is not None and not isinstance(value, str) and not is_real(value):
                raise fail(
                    field,
                    f"must be a number, a string or a list of numbers; the file holds {_show(value)}",
                )
    schedule = need_dict(state.get("schedule", {}), "training.schedule", fail)
    if "eta" in schedule and schedule["eta"] is not None:
        need_rate(schedule["eta"], "training.schedule.eta", fail)
    if "trace" in schedule:
        for i, record in enumerate(need_list(schedule["trace"], "training.schedule.trace", fail)):
            record = need_dict(record, f"training.schedule.trace[{i}]", fail)
            if not all(v is None or is_real(v) for v in record.values()):
                raise fail(f"training.schedule.trace[{i}]", "must hold numbers")
    if ("eta" in schedule) != ("trace" in schedule):
        raise fail("training.schedule", "must hold both 'eta' and 'trace', or neither")
    out["best"] = [
        check_array_name(v, f"training.best[{i}]", fail)
        for i, v in enumerate(need_list(state.get("best", []), "training.best", fail))
    ]
    if state.get("split_state") is not None:
        out["split_state"] = check_rng_state(state["split_state"], fail, "training.split_state")
    if "rate_scale" in state:
        out["rate_scale"] = need_rate(state["rate_scale"], "training.rate_scale", fail)
    if state.get("rate_set") is not None:
        out["rate_set"] = need_rate(state["rate_set"], "training.rate_set", fail)
    return out
