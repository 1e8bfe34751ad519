"""Markdown tables from the results JSON (``python -m benchmarks.report results.json``).

Ratios are the point: absolute seconds depend on the machine and on what else it runs,
ratios measured in the same run much less. ``x bound`` is a peer's median over the
bound's median (>= 1, lower is better); ``layerkit / peer`` below 1 means layerkit is
faster than that peer.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# typographic signs of the tables, spelled as escapes so the source stays ASCII
TIMES, DASH, DIV, MICRO, MINUS, LE = "\u00d7", "\u2013", "\u00f7", "\u00b5", "\u2212", "\u2264"
PEER_ORDER = ["bound", "numpy", "fused", "layerkit", "before", "torch", "sklearn", "keras"]
PEER_LABEL = {
    "bound": "bound (matmuls only)",
    "numpy": "plain NumPy MLP",
    "fused": "hand-fused NumPy step",
    "layerkit": "layerkit",
    "before": "layerkit (--before checkout)",
    "torch": "PyTorch eager",
    "sklearn": "scikit-learn MLPClassifier",
    "keras": "Keras (torch backend)",
}
# Thresholds of the goals (issue text); the linearity one is this report's reading of
# "cost grows linearly".
EPOCH_GOAL = 1.3
INFERENCE_GOAL = 1.2
MEMORY_GOAL_MIB = 100.0
LINEAR_GOAL = 1.25
QUALITY_TARGET_S = 120.0
# CPU share used by other processes (before and after the run) above which the report warns
BUSY_CPU = 0.10


# --------------------------------------------------------------------------- lookups
def _runs(results: dict[str, Any], scenario: str) -> list[dict[str, Any]]:
    runs = [r for r in results["runs"] if r["scenario"] == scenario]
    return sorted(
        runs, key=lambda r: PEER_ORDER.index(r["peer"]) if r["peer"] in PEER_ORDER else 99
    )


def _case(run: dict[str, Any] | None, name: str | None = None) -> dict[str, Any] | None:
    if not run or run.get("status") != "ok" or not run.get("cases"):
        return None
    if name is None:
        return run["cases"][0]
    return next((c for c in run["cases"] if c["case"] == name), None)


def _find(
    runs: Iterable[dict[str, Any]], peer: str, job: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    for r in runs:
        if r["peer"] == peer and (job is None or r.get("job") == job):
            return r
    return None


def _median(case: dict[str, Any] | None) -> float | None:
    return None if case is None else case.get("median")


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


# --------------------------------------------------------------------------- formatting
def fmt_time(value: float | None, unit: str) -> str:
    if value is None:
        return f"{DASH}"
    if unit == "s/step":
        return f"{value * 1e6:.1f} {MICRO}s"
    if unit == "s/predict":
        return f"{value * 1e3:.2f} ms"
    return f"{value:.3g} s" if value < 100 else f"{value:.0f} s"


def fmt_ratio(value: float | None) -> str:
    return f"{DASH}" if value is None else f"{value:.2f}{TIMES}"


def fmt_mib(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.1f}" if abs(value) < 10 else f"{value:.0f}"


def fmt_range(case: dict[str, Any] | None) -> str:
    if case is None or case.get("min") is None:
        return f"{DASH}"
    unit = case["unit"]
    return f"{fmt_time(case['min'], unit)} {DASH} {fmt_time(case['max'], unit)}"


def _status_cell(run: dict[str, Any] | None) -> str:
    if run is None:
        return "not run"
    if run["status"] == "ok":
        return ""
    reason = str(run.get("reason", "")).replace("|", "/").replace("\n", " ")
    if len(reason) > 140:
        reason = reason[:137] + "..."
    return f"{run['status']}: {reason}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


# --------------------------------------------------------------------------- sections
def _single_case_section(
    results: dict[str, Any], scenario: str, title: str, what: str
) -> list[str]:
    runs = _runs(results, scenario)
    if not runs:
        return []
    bound = _median(_case(_find(runs, "bound")))
    lk = _median(_case(_find(runs, "layerkit")))
    rows = []
    unit = "s/epoch"
    for run in runs:
        case = _case(run)
        if case is not None:
            unit = case["unit"]
        med = _median(case)
        mem = case.get("memory", {}) if case else {}
        extra = case.get("extra", {}) if case else {}
        acc = extra.get("test_accuracy", extra.get("test_accuracy_after_short_fit"))
        peak = mem.get("peak_rss_mib")
        data = mem.get("data_mib")
        rows.append(
            [
                PEER_LABEL.get(run["peer"], run["peer"]),
                fmt_time(med, unit),
                fmt_range(case),
                fmt_ratio(_ratio(med, bound)),
                "" if run["peer"] == "layerkit" else fmt_ratio(_ratio(lk, med)),
                fmt_mib(data),
                fmt_mib(mem.get("rss_data_mib")),
                fmt_mib(peak),
                fmt_mib(None if peak is None or data is None else peak - data),
                f"{DASH}" if acc is None else f"{acc:.3f}",
                _status_cell(run),
            ]
        )
    per = {"s/epoch": "per epoch", "s/step": "per step", "s/predict": "per predict"}[unit]
    header = [
        "peer",
        f"median {per}",
        f"min {DASH} max",
        f"{TIMES} bound",
        f"layerkit {DIV} peer",
        "data MiB",
        "RSS after data MiB",
        "peak RSS MiB",
        f"peak {MINUS} data MiB",
        "test acc.",
        "note",
    ]
    return [f"## {title}", "", what, "", *_table(header, rows), ""]


def _width_section(results: dict[str, Any]) -> list[str]:
    runs = _runs(results, "width")
    if not runs:
        return []
    widths: list[int] = []
    for run in runs:
        for case in run.get("cases") or []:
            w = case["params"].get("width")
            if w is not None and w not in widths:
                widths.append(w)
    widths.sort()
    bound_run = _find(runs, "bound")
    peers = [r["peer"] for r in runs]
    others = [p for p in peers if p not in ("bound", "layerkit")]
    header = ["hidden width", *(PEER_LABEL.get(p, p) for p in peers)]
    header += [f"layerkit {DIV} {p}" for p in others]
    rows = []
    for w in widths:
        name = f"W={w}"
        bound = _median(_case(bound_run, name))
        lk = _median(_case(_find(runs, "layerkit"), name))
        row = [str(w)]
        for p in peers:
            med = _median(_case(_find(runs, p), name))
            cell = fmt_time(med, "s/epoch")
            if p != "bound" and med is not None:
                cell += f" ({fmt_ratio(_ratio(med, bound))})"
            row.append(cell)
        row += [fmt_ratio(_ratio(lk, _median(_case(_find(runs, p), name)))) for p in others]
        rows.append(row)
    notes = [
        f"{PEER_LABEL.get(r['peer'], r['peer'])}: {_status_cell(r)}"
        for r in runs
        if r["status"] != "ok"
    ]
    p = results["meta"]["params"].get("width", {})
    what = (
        f"784-W-10, ReLU, softmax, plain SGD, batch {p.get('batch_size')}, "
        f"{p.get('n')} training rows, median of {p.get('repeats')} epochs after "
        f"{p.get('warmup')} warm-up. Cells: seconds per epoch ({TIMES} bound). Following the "
        f"matrix products means a flat {TIMES} bound column as W grows."
    )
    return [
        "## Width scaling",
        "",
        what,
        "",
        *_table(header, rows),
        *(["", *notes] if notes else []),
        "",
    ]


def _samples_section(results: dict[str, Any]) -> list[str]:
    runs = _runs(results, "samples")
    if not runs:
        return []
    jobs: list[dict[str, Any]] = []
    for r in runs:
        if r.get("job") not in jobs:
            jobs.append(r["job"])
    jobs.sort(key=lambda j: (j.get("memmap", False), j.get("n", 0)))
    peers = [p for p in PEER_ORDER if any(r["peer"] == p for r in runs)]
    smallest: dict[str, float] = {}
    rows = []
    for job in jobs:
        job_runs = [r for r in runs if r.get("job") == job]
        bound = _median(_case(_find(job_runs, "bound")))
        for peer in peers:
            run = _find(job_runs, peer)
            case = _case(run)
            med = _median(case)
            n = job.get("n", 0)
            per = None if med is None or not n else med / n * 1e6
            if per is not None and peer not in smallest and not job.get("memmap"):
                smallest[peer] = per
            mem = case.get("memory", {}) if case else {}
            rows.append(
                [
                    f"{n:,}",
                    "memmap" if job.get("memmap") else "in memory",
                    PEER_LABEL.get(peer, peer),
                    fmt_time(med, "s/epoch"),
                    fmt_ratio(_ratio(med, bound)),
                    f"{DASH}" if per is None else f"{per:.2f}",
                    fmt_ratio(_ratio(per, smallest.get(peer))),
                    fmt_mib(mem.get("peak_rss_mib")),
                    fmt_mib(mem.get("peak_anon_mib")),
                    fmt_mib(mem.get("data_mib")),
                    fmt_mib(mem.get("memmap_file_mib") or None),
                    _status_cell(run),
                ]
            )
    header = [
        "samples",
        "storage",
        "peer",
        "s/epoch",
        f"{TIMES} bound",
        f"{MICRO}s/sample",
        "per-sample vs smallest n",
        "peak RSS MiB",
        "peak anon. MiB",
        "data in RAM MiB",
        "memmap file MiB",
        "note",
    ]
    what = (
        "Same network and SGD as the epoch scenario on growing numbers of rows; the "
        "largest is a `numpy.memmap` on disk several times the size of the data. Linear "
        f"cost means a flat {MICRO}s/sample column. For the memmap, pages of the file that were "
        "read count in RSS but are page cache the kernel can drop; *peak anon.* (sampled "
        "anonymous memory) is what the process itself allocated: far below the file size "
        "means the data was never loaded whole."
    )
    return ["## Sample scaling (including a memmap)", "", what, "", *_table(header, rows), ""]


def _quality_section(results: dict[str, Any]) -> list[str]:
    runs = _runs(results, "quality")
    if not runs:
        return []
    p = results["meta"]["params"].get("quality", {})
    target = p.get("target", 0.9)
    rows = []
    for run in runs:
        case = _case(run)
        extra = case.get("extra", {}) if case else {}
        t = extra.get("time_to_target_s")
        rows.append(
            [
                PEER_LABEL.get(run["peer"], run["peer"]),
                f"{DASH}" if t is None else f"{t:.1f} s",
                f"{DASH}"
                if extra.get("best_accuracy") is None
                else f"{extra['best_accuracy']:.4f}",
                f"{DASH}" if extra.get("best_at_s") is None else f"{extra['best_at_s']:.1f} s",
                str(extra.get("epochs", f"{DASH}")),
                fmt_time(extra.get("median_epoch_s"), "s/epoch"),
                _status_cell(run),
            ]
        )
    recipe = (
        f"{'-'.join(str(s) for s in p.get('sizes', []))} ReLU/softmax, {p.get('optimizer')} "
        f"lr {p.get('learning_rate')}"
        + (f" momentum {p.get('momentum')}" if p.get("momentum") else "")
        + (f", time decay {p.get('lr_decay')}/epoch" if p.get("lr_decay") else "")
        + (f", dropout {p.get('dropout')} after each hidden layer" if p.get("dropout") else "")
        + f", batch {p.get('batch_size')}, "
        + ("standardised inputs" if p.get("standardise", True) else "inputs in [0, 1]")
    )
    what = (
        f"Recipe: {recipe}. Test accuracy after every epoch (evaluation not counted); "
        f"training stops at {target:.0%} test accuracy"
        + (" " if p.get("stop_at_target", True) else " (not: full budget) ")
        + f"or after {p.get('budget_s')} s of training. Every peer gets the same recipe."
    )
    header = [
        "peer",
        f"training time to {target:.0%}",
        "best test acc.",
        "best at",
        "epochs",
        "median s/epoch",
        "note",
    ]
    return ["## Accuracy per second", "", what, "", *_table(header, rows), ""]


# --------------------------------------------------------------------------- goals
def goals(results: dict[str, Any]) -> list[list[str]]:
    """``[goal, target, measured, met]`` rows for layerkit, from whatever was run."""
    rows: list[list[str]] = []

    def met(ok: bool | None) -> str:
        return f"{DASH}" if ok is None else ("yes" if ok else "**no**")

    def pair(scenario: str, peer: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        runs = _runs(results, scenario)
        return _case(_find(runs, "layerkit")), _case(_find(runs, peer))

    lk, bound = pair("epoch", "bound")
    if _runs(results, "epoch"):
        r = _ratio(_median(lk), _median(bound))
        rows.append(
            [
                "training epoch vs matrix products",
                f"{LE} {EPOCH_GOAL}{TIMES} bound",
                fmt_ratio(r),
                met(None if r is None else r <= EPOCH_GOAL),
            ]
        )
        if lk is not None:
            mem = lk["memory"]
            peak, data = mem.get("peak_rss_mib"), mem.get("data_mib")
            ok = None if peak is None or data is None else peak <= data + MEMORY_GOAL_MIB
            rows.append(
                [
                    "peak RSS during train",
                    f"{LE} data + {MEMORY_GOAL_MIB:.0f} MiB",
                    f"{fmt_mib(peak)} MiB (data {fmt_mib(data)}, + {fmt_mib(None if ok is None else peak - data)})",
                    met(ok),
                ]
            )
    if _runs(results, "inference"):
        lk, bound = pair("inference", "bound")
        r = _ratio(_median(lk), _median(bound))
        rows.append(
            [
                "predict vs forward products",
                f"{LE} {INFERENCE_GOAL}{TIMES} bound",
                fmt_ratio(r),
                met(None if r is None else r <= INFERENCE_GOAL),
            ]
        )
    if _runs(results, "tiny"):
        lk, torch = pair("tiny", "torch")
        r = _ratio(_median(lk), _median(torch))
        rows.append(
            [
                "tiny network, per step",
                "< PyTorch eager (ratio < 1)",
                fmt_ratio(r),
                met(None if r is None else r < 1.0),
            ]
        )
    if _runs(results, "samples"):
        runs = [
            r for r in _runs(results, "samples") if r["peer"] == "layerkit" and r["status"] == "ok"
        ]
        per = [(r["job"], _median(_case(r)) / r["job"]["n"]) for r in runs if _median(_case(r))]
        if per:
            costs = [c for _, c in per]
            spread = max(costs) / min(costs)
            rows.append(
                [
                    "cost linear in samples (incl. memmap)",
                    f"per-sample cost max/min {LE} {LINEAR_GOAL}",
                    fmt_ratio(spread),
                    met(spread <= LINEAR_GOAL),
                ]
            )
        mm = next((r for r in runs if r["job"].get("memmap")), None)
        if mm is not None:
            mem = _case(mm)["memory"]
            anon, size = mem.get("peak_anon_mib"), mem.get("memmap_file_mib")
            ok = None if anon is None or not size else anon < size / 2
            rows.append(
                [
                    "memmap not loaded whole",
                    "peak anon. RSS < half the file",
                    f"{fmt_mib(anon)} of {fmt_mib(size)} MiB",
                    met(ok),
                ]
            )
    if _runs(results, "width"):
        runs = _runs(results, "width")
        lk_run, bound_run = _find(runs, "layerkit"), _find(runs, "bound")
        ratios = []
        for case in (lk_run or {}).get("cases") or []:
            r = _ratio(case.get("median"), _median(_case(bound_run, case["case"])))
            if r is not None:
                ratios.append(r)
        worst = max(ratios) if ratios else None
        rows.append(
            [
                "width scaling follows the products",
                f"{LE} {EPOCH_GOAL}{TIMES} bound at every width",
                f"{DASH}" if worst is None else f"worst {worst:.2f}{TIMES}",
                met(None if worst is None else worst <= EPOCH_GOAL),
            ]
        )
    if _runs(results, "quality"):
        lk = _case(_find(_runs(results, "quality"), "layerkit"))
        extra = lk.get("extra", {}) if lk else {}
        t = extra.get("time_to_target_s")
        target = results["meta"]["params"].get("quality", {}).get("target", 0.9)
        best = extra.get("best_accuracy")
        shown = (
            f"{t:.1f} s"
            if t is not None
            else (f"not reached (best {best:.4f})" if best is not None else f"{DASH}")
        )
        rows.append(
            [
                f"quality: {target:.0%} test accuracy",
                f"{LE} {QUALITY_TARGET_S:.0f} s of training",
                shown,
                met(None if lk is None else (t is not None and t <= QUALITY_TARGET_S)),
            ]
        )
    return rows


# --------------------------------------------------------------------------- whole report
def _pct(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def _machine(results: dict[str, Any]) -> list[str]:
    m = results["meta"]["machine"]
    blas = m.get("numpy_blas", {})
    lines = [
        "## Machine",
        "",
        f"- CPU: {m.get('cpu')} — {m.get('logical_cpus')} logical CPUs ({m.get('usable_cpus')} usable), {m.get('memory_gib')} GiB",
        f"- OS: {m.get('os')}; Python {m.get('python')}; NumPy {m.get('numpy')} with "
        f"{blas.get('name', '?')} {blas.get('version', '')}".rstrip(),
        f"- Threads per peer process: {m.get('threads_per_peer')} (OMP/OPENBLAS/MKL_NUM_THREADS, torch.set_num_threads)",
        "- Load average (1, 5, 15 min) at the start: "
        + ", ".join(f"{x:.2f}" for x in m.get("load_average_at_start") or [])
        + "; at the end: "
        + ", ".join(f"{x:.2f}" for x in m.get("load_average_at_end") or [])
        + f"; CPUs busy with other work just before / after: {_pct(m.get('cpu_busy_at_start'))}"
        + f" / {_pct(m.get('cpu_busy_at_end'))}",
        f"- layerkit commit: {m.get('git_commit') or '?'}",
    ]
    versions: dict[str, str] = {}
    blas_seen: dict[str, str] = {}
    for run in results["runs"]:
        for k, v in (run.get("versions") or {}).items():
            versions.setdefault(k, v)
        for lib in run.get("blas") or []:
            key = f"{lib.get('internal_api')} {lib.get('version') or ''}".strip()
            blas_seen.setdefault(key, f"{lib.get('num_threads')} threads")
    if versions:
        lines.append("- Libraries: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    if blas_seen:
        lines.append(
            "- Thread pools seen in peer processes: "
            + ", ".join(f"{k} ({v})" for k, v in sorted(blas_seen.items()))
        )
    return [*lines, ""]


def render_markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    p = meta["params"]
    lines = [
        "# layerkit benchmark results",
        "",
        f"Run {meta['created']} with `{meta['command']}` ({meta.get('total_wall_s', '?')} s in all).",
        "",
    ]
    busy = [meta["machine"].get(k) for k in ("cpu_busy_at_start", "cpu_busy_at_end")]
    if any(b is not None and b > BUSY_CPU for b in busy):
        shown = " and ".join(f"{b:.0%}" for b in busy if b is not None)
        lines += [
            f"> **Busy machine**: other processes used {shown} of the CPUs just before "
            "and after the run, so these timings are noisy (see `benchmarks/README.md`).",
            "",
        ]
    if meta.get("quick"):
        lines += [
            "> **Quick run**: small subsets and few repeats, for a smoke test; do not quote these numbers.",
            "",
        ]
    lines += [
        "Every peer runs in its own process on the same data (float32), architecture, "
        "optimiser, batch size and seed, one process at a time. Quote **ratios** "
        f"(measured in the same run), not seconds. `{TIMES} bound`: a peer's median over the "
        f"matrix-products bound's; `layerkit {DIV} peer` below 1: layerkit is faster.",
        "",
        "## Goals (layerkit)",
        "",
        *_table(["goal", "target", "measured", "met"], goals(results)),
        "",
    ]
    e = p.get("epoch", {})
    lines += _single_case_section(
        results,
        "epoch",
        "Training epoch (Fashion-MNIST)",
        f"{'-'.join(map(str, e.get('sizes', [])))} ReLU/softmax, cross-entropy, plain SGD lr "
        f"{e.get('learning_rate')}, batch {e.get('batch_size')}, {e.get('n') or 60000} rows; median of "
        f"{e.get('repeats')} epochs after {e.get('warmup')} warm-up. Peak RSS is the process's "
        "during build + train (data included; test data loaded afterwards).",
    )
    t = p.get("tiny", {})
    lines += _single_case_section(
        results,
        "tiny",
        "Tiny network (8x8 digits)",
        f"{'-'.join(map(str, t.get('sizes', [])))}, plain SGD lr {t.get('learning_rate')}, "
        f"batch {t.get('batch_size')}; time per step = epoch time / steps, median of "
        f"{t.get('repeats')} epochs after {t.get('warmup')} warm-up. Here Python overhead is "
        "everything.",
    )
    i = p.get("inference", {})
    lines += _single_case_section(
        results,
        "inference",
        "Inference",
        f"`predict` on {i.get('n')} test rows ({'-'.join(map(str, i.get('sizes', [])))}), "
        f"median of {i.get('repeats')} calls after {i.get('warmup')} warm-up; the bound is the "
        "three forward products into preallocated arrays. Accuracy is after one short "
        "epoch, only a sanity check.",
    )
    lines += _width_section(results)
    lines += _samples_section(results)
    lines += _quality_section(results)
    lines += _machine(results)
    return "\n".join(lines) + "\n"


def summary_lines(results: dict[str, Any]) -> list[str]:
    """A compact text summary for the terminal: goals and the main ratio table."""
    lines = ["", "Goals (layerkit):"]
    lines += _table(["goal", "target", "measured", "met"], goals(results))
    scen = [s for s in ("epoch", "tiny", "inference") if _runs(results, s)]
    if scen:
        lines += ["", f"Medians, {TIMES} bound, and layerkit {DIV} peer:"]
        header = ["peer"]
        for s in scen:
            header += [s, f"{s} {TIMES} bound", f"{s} layerkit {DIV} peer"]
        peers = [
            p for p in PEER_ORDER if any(r["peer"] == p for s in scen for r in _runs(results, s))
        ]
        rows = []
        for peer in peers:
            row = [peer]
            for s in scen:
                runs = _runs(results, s)
                run = _find(runs, peer)
                case = _case(run)
                med = _median(case)
                bound = _median(_case(_find(runs, "bound")))
                lk = _median(_case(_find(runs, "layerkit")))
                cell = (
                    fmt_time(med, case["unit"]) if case else (run["status"] if run else f"{DASH}")
                )
                row += [
                    cell,
                    fmt_ratio(_ratio(med, bound)),
                    "" if peer == "layerkit" else fmt_ratio(_ratio(lk, med)),
                ]
            rows.append(row)
        lines += _table(header, rows)
    return lines


def main(argv: list[str] | None = None) -> int:
    """Re-render the Markdown of a results JSON: ``python -m benchmarks.report in.json [out.md]``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(main.__doc__, file=sys.stderr)
        return 2
    results = json.loads(Path(argv[0]).read_text())
    markdown = render_markdown(results)
    if len(argv) > 1:
        Path(argv[1]).write_text(markdown)
    else:
        sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
