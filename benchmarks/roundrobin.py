"""Round-robin epochs of the NumPy-based peers, in one process.

The machines these benchmarks run on are shared: a slow minute of the host hits whichever
process runs in it. Here every round trains one epoch of each implementation in turn, in
one process, on the same data, so a slow phase hits all of them alike; each round gives
one ratio per peer, and the median ratio over the rounds is reported. The order rotates
from round to round, so that no peer always follows the same one (whose leftovers in the
caches it would inherit).

Peers: ``layerkit`` (this checkout), ``numpy`` (a plain 40-line NumPy loop: fancy-index
gather, new temporaries, ``W -= lr * g``), ``bound`` (the matrix products alone), and
optionally ``before``: another checkout of layerkit (``--before DIR``, the folder holding
its ``layerkit`` package), imported under another name, for before/after comparisons.

Usage::

    python -m benchmarks.roundrobin                      # 784-200-30-10 on Fashion-MNIST
    python -m benchmarks.roundrobin --before /tmp/base --rounds 15 --out results/rr.json
    python -m benchmarks.roundrobin --predict --before /tmp/base --rounds 31
    python -m benchmarks.roundrobin --tiny --before /tmp/base --rounds 21

``--predict`` times ``predict`` on 10,000 rows instead of a training epoch, layerkit
against ``--before`` (required), both with the same weights. ``--tiny`` is
``benchmarks.run``'s tiny scenario (64-32-10 on the digits, batch 32, where a step is
mostly Python): each round trains 10 epochs of each peer.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._common import ModelSpec
from .peers.bound import BoundPeer
from .peers.layerkit_mlp import LayerkitPeer
from .peers.numpy_mlp import NumpyPeer


def _import_as(name: str, folder: Path) -> Any:
    """Import the package ``folder/layerkit`` as module ``name`` (its imports are relative)."""
    init = folder / "layerkit" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(init.parent)]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"no layerkit package under {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class _Before(LayerkitPeer):
    name = "before"

    def __init__(self, module: Any) -> None:
        super().__init__()
        self.lk = module

    def setup(self, threads: int) -> None:  # the module is already imported
        return None


def _data(n: int | None) -> tuple[np.ndarray, np.ndarray]:
    import layerkit as lk

    try:
        data = lk.datasets.load_mnist_family("fashion-mnist")
        X, y = data.X_train.reshape(len(data.X_train), -1), data.y_train
    except Exception:  # no Fashion-MNIST on this machine: random data of the same shape
        rng = np.random.default_rng(0)
        X, y = rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000)
    X = np.ascontiguousarray(X[:n], dtype=np.float32)
    return X, np.asarray(y[:n])


def _digits() -> tuple[np.ndarray, np.ndarray]:
    import layerkit as lk

    digits = lk.datasets.load_digits()
    return digits.X_train.astype(np.float32), np.asarray(digits.y_train)


def run(
    rounds: int, n: int | None, before: Path | None, batch_size: int, tiny: bool = False
) -> dict[str, Any]:
    if tiny:
        X, y = _digits()
        spec = ModelSpec(sizes=[64, 32, 10], learning_rate=0.1, batch_size=32)
    else:
        X, y = _data(n)
        spec = ModelSpec(sizes=[784, 200, 30, 10], learning_rate=0.1, batch_size=batch_size)
    epochs = 10 if tiny else 1
    peers: list[Any] = [LayerkitPeer(), NumpyPeer(), BoundPeer()]
    if before is not None:
        peers.append(_Before(_import_as("layerkit_before", before)))
    for peer in peers:
        peer.setup(threads=0)
    models = {peer.name: peer.build(spec) for peer in peers}
    for peer in peers:  # warm-up epoch: workspaces, slots, caches
        peer.fit(models[peer.name], X, y, spec, epochs=epochs)
    times: dict[str, list[float]] = {peer.name: [] for peer in peers}
    # layerkit's epochs alone, as its callback times them: without what train() does once
    # per call (checking every value of X, one-hot targets, buffers), which a loop over
    # many epochs pays once
    inside: list[float] = []
    for r in range(rounds):
        # each round starts with the next peer: no peer always runs after the same one
        for peer in peers[r % len(peers) :] + peers[: r % len(peers)]:
            t = time.perf_counter()
            epoch_times = peer.fit(models[peer.name], X, y, spec, epochs=epochs)
            times[peer.name].append(time.perf_counter() - t)
            if peer.name == "layerkit":
                inside.append(sum(epoch_times))
    ratios = {
        f"layerkit/{other}": statistics.median(
            a / b for a, b in zip(times["layerkit"], times[other], strict=True)
        )
        for other in times
        if other != "layerkit"
    }
    ratios["layerkit epochs alone/numpy"] = statistics.median(
        a / b for a, b in zip(inside, times["numpy"], strict=True)
    )
    return {
        "rounds": rounds,
        "samples": len(X),
        "batch_size": spec.batch_size,
        "epochs_per_round": epochs,
        "network": spec.sizes,
        "median_ratio": ratios,
        "seconds": times,
        "layerkit_epochs_alone_seconds": inside,
    }


def run_predict(rounds: int, before: Path, n: int = 10_000) -> dict[str, Any]:
    """Median ratio of ``predict`` times, this checkout over ``before``, same weights."""
    import layerkit as lk

    other = _import_as("layerkit_before", before)
    X = np.random.default_rng(0).random((n, 784), dtype=np.float32)
    spec = ModelSpec(sizes=[784, 200, 30, 10])
    now, then = LayerkitPeer(), _Before(other)
    now.lk = lk
    a, b = now.build(spec), then.build(spec)
    b.set_weights(a.get_weights())
    if not np.allclose(a.predict(X), b.predict(X), atol=1e-5):
        raise SystemExit("the two versions disagree on the same weights")
    times: dict[str, list[float]] = {"layerkit": [], "before": []}
    for _ in range(rounds):
        for name, net in (("layerkit", a), ("before", b)):
            t = time.perf_counter()
            net.predict(X)
            times[name].append(time.perf_counter() - t)
    ratio = statistics.median(
        x / y for x, y in zip(times["layerkit"], times["before"], strict=True)
    )
    return {
        "rounds": rounds,
        "samples": n,
        "median_ratio": {"layerkit/before": ratio},
        "seconds": times,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--samples", type=int, default=None, help="rows of the data set used")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--before", type=Path, default=None, help="another checkout to compare")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--predict", action="store_true", help="time predict, not training")
    parser.add_argument(
        "--tiny", action="store_true", help="the tiny scenario: 64-32-10 on the digits, batch 32"
    )
    args = parser.parse_args(argv)
    if args.predict:
        if args.before is None:
            parser.error("--predict compares against --before DIR")
        result = run_predict(args.rounds, args.before)
    else:
        result = run(args.rounds, args.samples, args.before, args.batch_size, tiny=args.tiny)
    for name, ratio in result["median_ratio"].items():
        print(f"{name}: {ratio:.3f} (median of {args.rounds} rounds)")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
