"""The scenarios, run the same way for every peer inside its own process.

A peer module defines a :class:`Peer` subclass and ends with ``main(MyPeer)``. The
orchestrator starts it as ``python -m benchmarks.peers.<name> --json-args '{...}'``; the
process runs one scenario (one or more cases) and prints one marked JSON line (see
:func:`benchmarks._common.emit`). A missing library gives ``status: "skipped"``, any other
exception ``status: "error"`` with its message: a failing peer never stops the run.

Timing rules, the same for every peer:

* the peer's own ``fit`` times each epoch (``time.perf_counter``) from the start of its
  first batch to the end of its last; one-off setup outside the epochs (building data
  adapters, validating inputs) is reported separately as ``setup_s``;
* the first ``warmup`` epochs are run but not counted;
* evaluation done between epochs (the quality scenario) is never counted.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from .._common import (
    MIB,
    Case,
    MemoryWatch,
    ModelSpec,
    accuracy,
    emit,
    load_array,
    maxrss_mib,
    n_steps,
    open_memmap,
    rss_mib,
    standardise,
)

# (epoch number from 1, cumulative training seconds so far) -> True to stop training
Hook = Callable[[int, float], bool]


class PeerUnavailable(Exception):
    """The peer's library is not installed (the row is reported as skipped)."""


class Peer:
    """Interface every peer implements.

    Attributes
    ----------
    name : str
    is_bound : bool
        The matrix-products bound: no real model, so no accuracy and no quality run.
    """

    name = "peer"
    is_bound = False

    def setup(self, threads: int) -> None:
        """Import the library (raise :class:`PeerUnavailable` if absent), pin threads."""

    def versions(self) -> dict[str, str]:
        return {}

    def build(self, spec: ModelSpec) -> Any:
        raise NotImplementedError

    def fit(
        self,
        model: Any,
        X: np.ndarray,
        y: np.ndarray,
        spec: ModelSpec,
        epochs: int,
        hook: Hook | None = None,
    ) -> list[float]:
        """Train ``epochs`` epochs (fewer if ``hook`` says stop); seconds of each epoch."""
        raise NotImplementedError

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, k)`` (for the bound: the forward products only)."""
        raise NotImplementedError

    #: anything ``fit`` wants reported with the case (e.g. the library's own epoch clock)
    last_fit_extra: dict[str, Any]

    def __init__(self) -> None:
        self.last_fit_extra = {}


# --------------------------------------------------------------------------- scenarios
def _spec(params: dict[str, Any], seed: int, sizes: list[int] | None = None) -> ModelSpec:
    return ModelSpec(
        sizes=list(sizes if sizes is not None else params["sizes"]),
        optimizer=params.get("optimizer", "sgd"),
        learning_rate=float(params.get("learning_rate", 0.1)),
        momentum=float(params.get("momentum", 0.0)),
        batch_size=int(params.get("batch_size", 128)),
        seed=seed,
        dropout=float(params.get("dropout", 0.0)),
        lr_decay=float(params.get("lr_decay", 0.0)),
        shuffle=str(params.get("shuffle", "sample")),
    )


def _train_case(
    peer: Peer,
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    spec: ModelSpec,
    warmup: int,
    repeats: int,
    data_mib: float,
    per_step: bool = False,
) -> tuple[Case, Any]:
    """Build and train one network; memory is watched over build + train."""
    gc.collect()
    rss_data = rss_mib()
    with MemoryWatch() as mw:
        t = time.perf_counter()
        model = peer.build(spec)
        epoch_s = peer.fit(model, X, y, spec, epochs=warmup + repeats)
        total = time.perf_counter() - t
    steps = n_steps(len(X), spec.batch_size)
    timed = epoch_s[warmup:]
    samples = [s / steps for s in timed] if per_step else timed
    case = Case(
        case=name,
        unit="s/step" if per_step else "s/epoch",
        samples=samples,
        params={
            "n_samples": len(X),
            "sizes": spec.sizes,
            "batch_size": spec.batch_size,
            "optimizer": spec.optimizer,
            "learning_rate": spec.learning_rate,
            "warmup": warmup,
            "repeats": repeats,
            "steps_per_epoch": steps,
            "memmap": isinstance(X, np.memmap),
        },
        memory={"data_mib": round(data_mib, 1), "rss_data_mib": round(rss_data, 1), **mw.report()},
        extra={
            "warmup_s": epoch_s[:warmup],
            "epoch_s": timed,
            "build_and_fit_s": total,
            "setup_s": max(0.0, total - sum(epoch_s)),
            **peer.last_fit_extra,
        },
    )
    return case.summarise(), model


def _add_accuracy(peer: Peer, case: Case, model: Any, X: np.ndarray, y: np.ndarray) -> None:
    if not peer.is_bound:
        case.extra["test_accuracy"] = accuracy(peer.predict(model, X), y)


def run_epoch(peer: Peer, args: dict[str, Any]) -> list[Case]:
    p, d = args["params"], args["data"]
    X = load_array(d["fmnist_X_train"], p.get("n"))
    y = load_array(d["fmnist_y_train"], p.get("n"))
    spec = _spec(p, args["seed"])
    data_mib = (X.nbytes + y.nbytes) / MIB
    case, model = _train_case(
        peer, f"{len(X)}x{X.shape[1]}", X, y, spec, p["warmup"], p["repeats"], data_mib
    )
    del X, y
    # test data only now, so it never counts in the training peak
    _add_accuracy(
        peer,
        case,
        model,
        load_array(d["fmnist_X_test"], p.get("n_test")),
        load_array(d["fmnist_y_test"], p.get("n_test")),
    )
    return [case]


def run_tiny(peer: Peer, args: dict[str, Any]) -> list[Case]:
    p, d = args["params"], args["data"]
    X, y = load_array(d["digits_X_train"]), load_array(d["digits_y_train"])
    spec = _spec(p, args["seed"])
    case, model = _train_case(
        peer,
        f"digits {len(X)}x{X.shape[1]}",
        X,
        y,
        spec,
        p["warmup"],
        p["repeats"],
        (X.nbytes + y.nbytes) / MIB,
        per_step=True,
    )
    _add_accuracy(peer, case, model, load_array(d["digits_X_test"]), load_array(d["digits_y_test"]))
    return [case]


def run_inference(peer: Peer, args: dict[str, Any]) -> list[Case]:
    p, d = args["params"], args["data"]
    spec = _spec(p, args["seed"])
    # a short fit first: some libraries (scikit-learn) cannot predict before fitting
    Xf, yf = (
        load_array(d["fmnist_X_train"], p["fit_rows"]),
        load_array(d["fmnist_y_train"], p["fit_rows"]),
    )
    model = peer.build(spec)
    peer.fit(model, Xf, yf, spec, epochs=1)
    del Xf, yf
    X, y = load_array(d["fmnist_X_test"], p["n"]), load_array(d["fmnist_y_test"], p["n"])
    gc.collect()
    rss_data = rss_mib()
    times = []
    with MemoryWatch() as mw:
        for _ in range(p["warmup"] + p["repeats"]):
            t = time.perf_counter()
            out = peer.predict(model, X)
            times.append(time.perf_counter() - t)
    case = Case(
        case=f"predict {len(X)}x{X.shape[1]}",
        unit="s/predict",
        samples=times[p["warmup"] :],
        params={"n_samples": len(X), "sizes": spec.sizes, "repeats": p["repeats"]},
        memory={
            "data_mib": round(X.nbytes / MIB, 1),
            "rss_data_mib": round(rss_data, 1),
            **mw.report(),
        },
        extra={"warmup_s": times[: p["warmup"]]},
    )
    if not peer.is_bound:
        case.extra["test_accuracy_after_short_fit"] = accuracy(out, y)
    return [case.summarise()]


def run_width(peer: Peer, args: dict[str, Any]) -> list[Case]:
    p, d = args["params"], args["data"]
    X, y = load_array(d["fmnist_X_train"], p["n"]), load_array(d["fmnist_y_train"], p["n"])
    cases = []
    for width in p["widths"]:
        spec = _spec(p, args["seed"], sizes=[X.shape[1], width, 10])
        case, model = _train_case(
            peer,
            f"W={width}",
            X,
            y,
            spec,
            p["warmup"],
            p["repeats"],
            (X.nbytes + y.nbytes) / MIB,
        )
        case.params["width"] = width
        cases.append(case)
        del model
    return cases


def run_samples(peer: Peer, args: dict[str, Any]) -> list[Case]:
    p, d = args["params"], args["data"]
    n = p["n"]
    if p.get("memmap"):
        X = open_memmap(d["memmap_X"], n)
        y = load_array(d["memmap_y"], n)
        data_mib = y.nbytes / MIB  # only the labels are in memory
        file_mib = X.nbytes / MIB
        name = f"{len(X)} memmap"
    else:
        X = load_array(d["fmnist_X_train"], n)
        y = load_array(d["fmnist_y_train"], n)
        data_mib = (X.nbytes + y.nbytes) / MIB
        file_mib = 0.0
        name = f"{len(X)} in memory"
    spec = _spec(p, args["seed"])
    case, _ = _train_case(peer, name, X, y, spec, p["warmup"], p["repeats"], data_mib)
    case.memory["memmap_file_mib"] = round(file_mib, 1)
    case.extra["s_per_1k_samples"] = case.median / len(X) * 1000 if case.median else None
    return [case]


def run_quality(peer: Peer, args: dict[str, Any]) -> list[Case]:
    if peer.is_bound:
        raise NotApplicable("the bound has no model to reach an accuracy")
    p, d = args["params"], args["data"]
    Xtr = load_array(d["fmnist_X_train"], p.get("n"))
    ytr = load_array(d["fmnist_y_train"], p.get("n"))
    Xte = load_array(d["fmnist_X_test"], p.get("n_test"))
    yte = load_array(d["fmnist_y_test"], p.get("n_test"))
    if p.get("standardise", True):
        Xtr, Xte = standardise(Xtr, Xte)
    spec = _spec(p, args["seed"])
    budget, target = float(p["budget_s"]), float(p["target"])
    curve: list[list[float]] = []
    hit: list[float] = []
    model: Any = None

    def hook(epoch: int, train_s: float) -> bool:
        acc = accuracy(peer.predict(model, Xte), yte)
        curve.append([round(train_s, 3), epoch, acc])
        if acc >= target and not hit:
            hit.append(train_s)
        return bool((hit and p.get("stop_at_target", True)) or train_s >= budget)

    rss_data = rss_mib()
    with MemoryWatch() as mw:
        model = peer.build(spec)
        epoch_s = peer.fit(model, Xtr, ytr, spec, epochs=int(p.get("max_epochs", 1000)), hook=hook)
    best = max(curve, key=lambda r: r[2]) if curve else [None, None, None]
    case = Case(
        case="recipe",
        unit="s to target",
        samples=[hit[0]] if hit else [],
        params={
            "n_samples": len(Xtr),
            "n_test": len(Xte),
            "sizes": spec.sizes,
            "optimizer": spec.optimizer,
            "learning_rate": spec.learning_rate,
            "momentum": spec.momentum,
            "dropout": spec.dropout,
            "batch_size": spec.batch_size,
            "standardise": bool(p.get("standardise", True)),
            "budget_s": budget,
            "target": target,
        },
        memory={"rss_data_mib": round(rss_data, 1), **mw.report()},
        extra={
            "time_to_target_s": hit[0] if hit else None,
            "reached_target": bool(hit),
            "best_accuracy": best[2],
            "best_at_s": best[0],
            "epochs": len(epoch_s),
            "train_s": sum(epoch_s),
            "median_epoch_s": float(np.median(epoch_s)) if epoch_s else None,
            "curve": curve,
            **peer.last_fit_extra,
        },
    )
    return [case.summarise()]


class NotApplicable(Exception):
    """The scenario does not apply to this peer (reported as ``n/a``)."""


SCENARIOS: dict[str, Callable[[Peer, dict[str, Any]], list[Case]]] = {
    "epoch": run_epoch,
    "tiny": run_tiny,
    "inference": run_inference,
    "width": run_width,
    "samples": run_samples,
    "quality": run_quality,
}


# --------------------------------------------------------------------------- entry point
def _blas_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "version", "num_threads", "threading_layer", "architecture")
    return [{k: v for k, v in info.items() if k in keep} for info in threadpool_info()]


def main(peer_cls: type[Peer], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=f"benchmark peer {peer_cls.name}")
    parser.add_argument("--json-args", required=True, help="scenario, params and data paths")
    ns = parser.parse_args(argv)
    args = json.loads(ns.json_args)
    payload: dict[str, Any] = {
        "peer": peer_cls.name,
        "scenario": args["scenario"],
        "status": "ok",
        "pid": os.getpid(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    started = time.perf_counter()
    try:
        peer = peer_cls()
        peer.setup(int(args.get("threads", 2)))
        payload["versions"] = peer.versions()
        payload["rss_base_mib"] = round(rss_mib(), 1)
        payload["cases"] = SCENARIOS[args["scenario"]](peer, args)
    except PeerUnavailable as exc:
        payload.update(status="skipped", reason=str(exc))
    except NotApplicable as exc:
        payload.update(status="n/a", reason=str(exc))
    except Exception as exc:  # any failure becomes an error row, never a crash
        payload.update(
            status="error",
            reason=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=8),
        )
    payload["wall_s"] = time.perf_counter() - started
    payload["process_peak_rss_mib"] = round(maxrss_mib(), 1)
    payload["blas"] = _blas_info()
    emit(payload)
    return 0
