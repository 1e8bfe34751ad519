"""Run the benchmark: every (peer, scenario) in its own process, then write JSON and Markdown.

From the repository root::

    python -m benchmarks.run                     # everything installed, full size
    python -m benchmarks.run --quick             # smoke run: small data, few repeats
    python -m benchmarks.run --scenarios epoch,inference --peers bound,layerkit,torch
    python -m benchmarks.run --scenarios epoch,tiny,inference --peers numpy,layerkit \
        --before /tmp/base                       # beside another checkout ("before")

(``python benchmarks/run.py ...`` works too.) See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # run as a script: make the repository root importable so `benchmarks` is a package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks._common import MIB, parse_result, set_thread_env
from benchmarks.peers import MODULES, PEERS
from benchmarks.report import render_markdown, summary_lines

REPO = Path(__file__).resolve().parent.parent
ALL_PEERS = list(PEERS)
SCENARIO_ORDER = ["epoch", "tiny", "inference", "width", "samples", "quality"]
ARCH = [784, 200, 30, 10]

# Which peers each scenario runs when --peers is not given. Width and sample scaling are
# about layerkit following the bound; the slow peers would add minutes and say little.
DEFAULT_PEERS: dict[str, list[str]] = {
    "epoch": ALL_PEERS,
    "tiny": ALL_PEERS,
    "inference": ALL_PEERS,
    "width": ["bound", "numpy", "fused", "layerkit", "torch"],
    "samples": ["bound", "numpy", "fused", "layerkit", "torch", "sklearn"],
    "quality": ["numpy", "layerkit", "torch", "sklearn", "keras"],
}
QUICK_PEERS = ["bound", "numpy", "layerkit"]

FULL: dict[str, dict[str, Any]] = {
    "epoch": {
        "n": None,
        "sizes": ARCH,
        "optimizer": "sgd",
        "learning_rate": 0.1,
        "batch_size": 128,
        "warmup": 1,
        "repeats": 5,
    },
    "tiny": {
        "sizes": [64, 32, 10],
        "optimizer": "sgd",
        "learning_rate": 0.1,
        "batch_size": 32,
        "warmup": 3,
        "repeats": 30,
    },
    "inference": {
        "sizes": ARCH,
        "n": 10000,
        "fit_rows": 2000,
        "learning_rate": 0.1,
        "batch_size": 128,
        "warmup": 3,
        "repeats": 20,
    },
    "width": {
        "widths": [64, 128, 256, 512, 1024, 2048, 4096],
        "n": 10000,
        "optimizer": "sgd",
        "learning_rate": 0.05,
        "batch_size": 128,
        "warmup": 1,
        "repeats": 3,
    },
    "samples": {
        "sizes": ARCH,
        "in_memory": [15000, 30000, 60000],
        # the memmap holds memmap_factor times memmap_base rows (the base rows repeated
        # with a little noise): 240,000 x 784 float32 = 718 MiB, four times the data
        "memmap_base": 60000,
        "memmap_factor": 4,
        "optimizer": "sgd",
        "learning_rate": 0.1,
        "batch_size": 128,
        "warmup": 1,
        "repeats": 2,
    },
    "quality": {
        # layerkit's documented recipe (README): two ReLU layers of 512 with dropout 0.3,
        # SGD with momentum 0.9 from 0.05 with time-based decay 0.15 per epoch, batch 128,
        # standardised inputs. Adam at 1e-3 without decay levels off near 89.5-89.9%.
        "sizes": [784, 512, 512, 10],
        "optimizer": "sgd",
        "learning_rate": 0.05,
        "momentum": 0.9,
        "lr_decay": 0.15,
        "dropout": 0.3,
        "batch_size": 128,
        "standardise": True,
        "budget_s": 120.0,
        "target": 0.90,
        "stop_at_target": True,
        "n": None,
        "n_test": None,
    },
}

QUICK: dict[str, dict[str, Any]] = {
    "epoch": {"n": 10000, "n_test": 2000, "repeats": 2},
    "tiny": {"warmup": 2, "repeats": 10},
    "inference": {"n": 5000, "fit_rows": 1000, "warmup": 1, "repeats": 5},
    "width": {"widths": [64, 512, 4096], "n": 2000, "repeats": 1},
    "samples": {"in_memory": [5000, 10000], "memmap_base": 10000, "memmap_factor": 4, "repeats": 1},
    "quality": {"n": 10000, "n_test": 2000, "budget_s": 5.0},
}


# --------------------------------------------------------------------------- arguments
def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark layerkit against the matrix-products bound and other libraries.",
    )
    p.add_argument(
        "--scenarios",
        type=_csv,
        default=SCENARIO_ORDER,
        help=f"comma-separated, from {','.join(SCENARIO_ORDER)} (default: all)",
    )
    p.add_argument(
        "--peers",
        type=_csv,
        default=None,
        help=f"comma-separated, from {','.join(ALL_PEERS)}, or 'all' (default: per scenario; "
        f"--quick: {','.join(QUICK_PEERS)})",
    )
    p.add_argument("--quick", action="store_true", help="small data, few repeats (smoke run)")
    p.add_argument(
        "--repeats", type=int, default=None, help="timed epochs per case in epoch, width, samples"
    )
    p.add_argument("--threads", type=int, default=2, help="BLAS/torch threads per peer (2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks" / "results",
        help="folder for latest.json and latest.md",
    )
    p.add_argument(
        "--name",
        default=None,
        help="file stem of the results (default: latest; quick with --quick, so a smoke "
        "run never replaces the published results)",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="folder for the prepared data and the memmap (default: a temporary folder, "
        "deleted afterwards)",
    )
    p.add_argument(
        "--timeout", type=float, default=None, help="seconds per peer process (1800; quick 300)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SCENARIO.KEY=VALUE",
        help="override a scenario parameter, VALUE as JSON "
        "(e.g. --set quality.optimizer='\"sgd\"' --set quality.momentum=0.9)",
    )
    p.add_argument(
        "--before",
        type=Path,
        default=None,
        help="another checkout (the folder holding its layerkit package): its layerkit runs "
        "as the peer 'before', right after 'layerkit' in every scenario",
    )
    p.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = p.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIO_ORDER)
    if unknown:
        p.error(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIO_ORDER}")
    if args.name is None:
        args.name = "quick" if args.quick else "latest"
    if args.peers == ["all"]:
        args.peers = ALL_PEERS
    if args.peers is not None and set(args.peers) - set(ALL_PEERS):
        p.error(
            f"unknown peer(s) {sorted(set(args.peers) - set(ALL_PEERS))}; choose from {ALL_PEERS}"
        )
    return args


def scenario_params(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    params = copy.deepcopy(FULL)
    if args.quick:
        for name, over in QUICK.items():
            params[name].update(over)
    if args.repeats is not None:
        for name in ("epoch", "width", "samples"):
            params[name]["repeats"] = args.repeats
    for item in args.set:
        key, _, raw = item.partition("=")
        scenario, _, field = key.partition(".")
        if scenario not in params or not field or not raw:
            raise SystemExit(f"--set {item!r}: expected SCENARIO.KEY=VALUE")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw  # a bare word: take it as a string
        params[scenario][field] = value
    return params


def peers_for(scenario: str, args: argparse.Namespace) -> list[str]:
    chosen = args.peers or (QUICK_PEERS if args.quick else DEFAULT_PEERS[scenario])
    if scenario == "quality":
        chosen = [p for p in chosen if p != "bound"]
    peers = [p for p in ALL_PEERS if p in chosen]
    if args.before is not None and "layerkit" in peers:
        peers.insert(peers.index("layerkit") + 1, "before")
    return peers


def installed(peer: str) -> bool:
    if peer == "before":
        return True
    module = PEERS[peer]
    return module is None or importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------- data
def prepare_data(
    workdir: Path, params: dict[str, dict[str, Any]], scenarios: list[str]
) -> dict[str, str]:
    """Write the data sets once as ``.npy`` files that every peer maps and copies.

    Parsing the gzipped IDX files in each of 30-odd processes would cost a second each and
    inflate every peak RSS with the parser's temporaries.
    """
    paths: dict[str, str] = {}

    def save(key: str, array: np.ndarray) -> None:
        path = workdir / f"{key}.npy"
        np.save(path, np.ascontiguousarray(array))
        paths[key] = str(path)

    from layerkit.datasets import load_digits, load_mnist_family

    if set(scenarios) - {"tiny"}:
        data = load_mnist_family("fashion-mnist")
        save("fmnist_X_train", data.X_train.astype(np.float32, copy=False))
        save("fmnist_y_train", data.y_train.astype(np.int64, copy=False))
        save("fmnist_X_test", data.X_test.astype(np.float32, copy=False))
        save("fmnist_y_test", data.y_test.astype(np.int64, copy=False))
        if "samples" in scenarios:
            _write_memmap(workdir, data.X_train, data.y_train, params["samples"], paths)
        del data
    if "tiny" in scenarios:
        digits = load_digits()
        save("digits_X_train", digits.X_train.astype(np.float32, copy=False))
        save("digits_y_train", digits.y_train.astype(np.int64, copy=False))
        save("digits_X_test", digits.X_test.astype(np.float32, copy=False))
        save("digits_y_test", digits.y_test.astype(np.int64, copy=False))
    return paths


def _write_memmap(
    workdir: Path, X: np.ndarray, y: np.ndarray, p: dict[str, Any], paths: dict[str, str]
) -> None:
    base = min(int(p["memmap_base"]), len(X))
    factor = int(p["memmap_factor"])
    rows = base * factor
    path = workdir / "memmap_X.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, X.shape[1]))
    rng = np.random.default_rng(12345)
    chunk = 10000
    for copy_i in range(factor):
        for start in range(0, base, chunk):
            stop = min(start + chunk, base)
            block = X[start:stop]
            if copy_i:
                # copies differ a little, so the data is not just the same rows again
                block = np.clip(
                    block + rng.normal(0.0, 0.02, block.shape).astype(np.float32), 0.0, 1.0
                )
            mm[copy_i * base + start : copy_i * base + stop] = block
    mm.flush()
    del mm
    paths["memmap_X"] = str(path)
    ypath = workdir / "memmap_y.npy"
    np.save(ypath, np.tile(y[:base].astype(np.int64), factor))
    paths["memmap_y"] = str(ypath)


# --------------------------------------------------------------------------- machine
def cpu_busy(interval: float = 1.0) -> float | None:
    """Fraction of all CPUs busy over ``interval`` seconds (``/proc/stat``), or None.

    Taken while the benchmark itself runs nothing, it measures what *other* processes
    use: unlike the load average it does not remember the last minutes.
    """

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(interval)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return None if total <= 0 else round(1.0 - (idle1 - idle0) / total, 3)


def machine_info(threads: int) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gib = round(int(line.split()[1]) * 1024 / (1 << 30), 1)
                    break
    except OSError:
        pass
    blas: dict[str, Any] = {}
    try:
        config = np.show_config(mode="dicts")
        dep = config.get("Build Dependencies", {}).get("blas", {})
        blas = {k: dep.get(k) for k in ("name", "version", "openblas configuration") if dep.get(k)}
        simd = config.get("SIMD Extensions", {})
        blas["simd_found"] = simd.get("found")
    except (TypeError, AttributeError):
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": affinity,
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": blas,
        "threads_per_peer": threads,
        "git_commit": commit,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "cpu_busy_at_start": cpu_busy(),
    }


# --------------------------------------------------------------------------- children
def run_child(
    peer: str,
    scenario: str,
    params: dict[str, Any],
    data: dict[str, str],
    args: argparse.Namespace,
    timeout: float,
) -> dict[str, Any]:
    if not installed(peer):
        return {
            "peer": peer,
            "scenario": scenario,
            "status": "skipped",
            "reason": f"{PEERS[peer]} not installed (pip install -e '.[bench]' or the library)",
        }
    payload = {
        "scenario": scenario,
        "params": params,
        "data": data,
        "seed": args.seed,
        "threads": args.threads,
    }
    env = set_thread_env(dict(os.environ), args.threads)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    if peer == "before":  # the layerkit peer, importing the other checkout's layerkit
        env["LAYERKIT_BENCH_CHECKOUT"] = str(Path(args.before).resolve())
    cmd = [
        sys.executable,
        "-m",
        f"benchmarks.peers.{MODULES['layerkit' if peer == 'before' else peer]}",
        "--json-args",
        json.dumps(payload),
    ]
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {
            "peer": peer,
            "scenario": scenario,
            "status": "error",
            "reason": f"timed out after {timeout:.0f} s",
        }
    result = parse_result(proc.stdout)
    if result is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {
            "peer": peer,
            "scenario": scenario,
            "status": "error",
            "reason": f"process exited with {proc.returncode} and no result: " + " | ".join(tail),
        }
    result["process_wall_s"] = time.perf_counter() - started
    result["peer"] = peer
    return result


def _progress(result: dict[str, Any]) -> str:
    head = f"  {result['peer']:<9}"
    if result["status"] != "ok":
        return f"{head}{result['status']}: {result.get('reason', '')}"
    parts = []
    for case in result.get("cases", []):
        if case["unit"] == "s to target":
            x = case["extra"]
            reached = (
                f"{x['time_to_target_s']:.1f} s" if x.get("time_to_target_s") else "not reached"
            )
            parts.append(
                f"target {reached}, best {x.get('best_accuracy') or 0:.4f} after {x.get('epochs')} epochs"
            )
            continue
        med = case.get("median")
        if med is None:
            parts.append(f"{case['case']}: -")
            continue
        unit = case["unit"]
        if unit == "s/step":
            parts.append(f"{case['case']}: {med * 1e6:.1f} us/step")
        elif unit == "s/predict":
            parts.append(f"{case['case']}: {med * 1e3:.2f} ms")
        else:
            parts.append(f"{case['case']}: {med:.3g} {unit}")
        peak = case.get("memory", {}).get("peak_rss_mib")
        if peak:
            parts[-1] += f", peak {peak:.0f} MiB"
    return head + "; ".join(parts)


def _jobs(scenario: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Split a scenario into processes: one per sample-scaling case, so each has its own RSS."""
    if scenario != "samples":
        return [params]
    jobs = []
    for n in params["in_memory"]:
        jobs.append({**params, "n": int(n), "memmap": False})
    jobs.append(
        {**params, "n": int(params["memmap_base"]) * int(params["memmap_factor"]), "memmap": True}
    )
    return jobs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = scenario_params(args)
    scenarios = [s for s in SCENARIO_ORDER if s in args.scenarios]
    timeout = args.timeout or (300.0 if args.quick else 1800.0)
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="layerkit-bench-")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "quick": args.quick,
        "seed": args.seed,
        "machine": machine_info(args.threads),
        "params": {s: params[s] for s in scenarios},
    }
    runs: list[dict[str, Any]] = []
    try:
        print(f"preparing data in {workdir} ...", file=sys.stderr, flush=True)
        data = prepare_data(workdir, params, scenarios)
        meta["data_mib"] = {
            key: round(os.path.getsize(path) / MIB, 1) for key, path in data.items()
        }
        for scenario in scenarios:
            for job in _jobs(scenario, params[scenario]):
                label = (
                    scenario
                    if scenario != "samples"
                    else f"samples n={job['n']}" + (" memmap" if job["memmap"] else "")
                )
                print(f"[{label}]", file=sys.stderr, flush=True)
                for peer in peers_for(scenario, args):
                    heartbeat = _Heartbeat(f"{label}/{peer}")
                    with heartbeat:
                        result = run_child(peer, scenario, job, data, args, timeout)
                    result["job"] = {k: job[k] for k in ("n", "memmap") if k in job}
                    runs.append(result)
                    print(_progress(result), file=sys.stderr, flush=True)
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    meta["total_wall_s"] = round(time.perf_counter() - started, 1)
    if hasattr(os, "getloadavg"):
        meta["machine"]["load_average_at_end"] = list(os.getloadavg())
    meta["machine"]["cpu_busy_at_end"] = cpu_busy()
    results = {"meta": meta, "runs": runs}
    markdown = render_markdown(results)
    if not args.no_write:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{args.name}.json").write_text(json.dumps(results, indent=1) + "\n")
        (args.out / f"{args.name}.md").write_text(markdown)
        print(f"wrote {args.out / (args.name + '.json')} and {args.name}.md", file=sys.stderr)
    print("\n".join(summary_lines(results)))
    return 0


class _Heartbeat:
    """Prints a line every minute while a long peer process runs, so a run never looks hung."""

    def __init__(self, label: str, every: float = 60.0) -> None:
        self.label, self.every = label, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            print(
                f"  ... {self.label} running for {time.perf_counter() - self._t0:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    def __enter__(self) -> _Heartbeat:
        self._t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


if __name__ == "__main__":
    raise SystemExit(main())
