"""``early-stopping``: validation window s = 80 vs s = 800 on the four-class problem.

Seed 002, section 4.2 and figure 4: a 2-20-20-4 sigmoid/softmax network on four separable
groups (two inner half-discs inside two outer regions), trained with the validation-window
rule of section 3.4.4 for two window widths.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import plots
from ..datasets import make_four_groups
from ..model_selection import train_val_test_split
from ._base import Experiment
from ._common import mlp, save
from ._report import Report, fmt_pct

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["EXPERIMENT"]

WINDOWS = (80, 800)
LEARNING_RATE = 0.5
BATCH = 32


def _curves_figure(runs: dict[int, Any]) -> Figure:
    from matplotlib.figure import Figure  # the plots extra, imported when drawing

    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, len(runs))
    for ax, (s, (hist, _, _)) in zip(axes, runs.items(), strict=True):
        ax.plot(hist.epochs, hist.train_cost, color="tab:blue", lw=0.8, label="training cost")
        ax.plot(hist.epochs, hist.val_cost, color="tab:orange", lw=0.8, label="validation cost")
        if hist.restored_epoch:
            ax.axvline(
                hist.restored_epoch,
                color="tab:green",
                ls=":",
                label=f"restored epoch {hist.restored_epoch}",
            )
        ax.axvline(
            hist.epochs[-1], color="tab:red", ls="--", label=f"stopped at epoch {hist.epochs[-1]}"
        )
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cost")
        ax.set_title(f"window s = {s}")
        ax.legend(fontsize=8)
    return fig


def _run(out: Path, quick: bool, seed: int) -> Path:
    rep = Report(EXPERIMENT.title, EXPERIMENT.source, quick=quick)
    n, max_epochs = (600, 2500) if quick else (1000, 6000)
    X, y = make_four_groups(n, seed=seed)
    X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(X, y, seed=seed)
    runs: dict[int, Any] = {}
    for s in WINDOWS:
        net = mlp(2, (20, 20), 4, "sigmoid", seed=seed)
        began = time.perf_counter()
        hist = net.train(
            X_tr,
            y_tr,
            X_val,
            y_val,
            epochs=max_epochs,
            batch_size=BATCH,
            learning_rate=LEARNING_RATE,
            early_stopping=s,
            verbose=0,
        )
        runs[s] = (hist, net, time.perf_counter() - began)

    rep.found_by_document(
        "Four separable classes in 2-D, a 2-20-20-4 network (sigmoid hidden, softmax "
        "output), validation-window early stopping (seed 002, section 4.2, figure 4).",
        "s = 80: training ended after 434 epochs, weights restored to epoch 402; the outer "
        "groups were classified but not yet the inner ones (stopped prematurely).",
        "s = 800: training ended after 2110 epochs, weights restored to epoch 1409; the "
        "boundaries had moved to enclose the inner groups.",
        "Both saved epochs are local minima of the validation cost.",
    )
    lines = []
    rows = []
    for s, (hist, net, secs) in runs.items():
        stopped = hist.epochs[-1]
        restored = hist.restored_epoch
        val_acc = hist.val_accuracy[restored - 1] if restored else hist.val_accuracy[-1]
        test_acc = float(net.evaluate(X_te, y_te).accuracy)
        reason = (
            "early stopping"
            if hist.stop_reason == "early_stopping"
            else f"reached the cap of {max_epochs} epochs"
        )
        lines.append(
            f"s = {s}: training ended after {stopped} epochs ({reason}), weights restored to "
            f"epoch {restored}; validation accuracy {fmt_pct(val_acc)}, test accuracy "
            f"{fmt_pct(test_acc)}."
        )
        rows.append(
            [
                s,
                stopped,
                restored,
                reason,
                f"{hist.val_cost[restored - 1]:.4f}" if restored else "n/a",
                fmt_pct(val_acc),
                fmt_pct(test_acc),
                f"{secs:.1f}",
            ]
        )
    (h80, _, _), (h800, _, _) = runs[80], runs[800]
    c80 = h80.val_cost[h80.restored_epoch - 1] if h80.restored_epoch else float("nan")
    c800 = h800.val_cost[h800.restored_epoch - 1] if h800.restored_epoch else float("nan")
    if (h800.restored_epoch or 0) > (h80.restored_epoch or 0) and c800 < c80:
        lines.append(
            "As in the document, the wider window trains longer and restores a later epoch of "
            f"lower validation cost ({c800:.4f} against {c80:.4f}): the narrow window stops "
            "on a plateau of the validation cost that the wider window waits out."
        )
    else:
        lines.append(
            "Unlike the document, the wider window did not restore a later epoch of lower "
            f"validation cost ({c800:.4f} against {c80:.4f})."
        )
    if quick and h800.stop_reason != "early_stopping":
        lines.append(
            f"(Quick run: s = 800 hit the cap of {max_epochs} epochs before the rule "
            "fired; the weights of the best epoch were restored.)"
        )
    rep.found_by_us(*lines)
    rep.add_setup(
        "Data",
        f"`make_four_groups({n}, seed={seed})` (the islands problem of "
        "section 4.2, no noise), split 60/20/20 into training, validation and test",
    )
    rep.add_setup("Network", "2-20-20-4, sigmoid hidden layers, softmax output, cross-entropy")
    rep.add_setup(
        "Training",
        f"plain SGD, learning rate {LEARNING_RATE}, mini-batches of "
        f"{BATCH}, at most {max_epochs} epochs, `early_stopping=s` (stop when the mean "
        "validation cost of the last s epochs exceeds that of the s before; restore "
        "the epoch of lowest validation cost)",
    )
    rep.add_setup("Seed", seed)
    rep.section("Results")
    rep.table(
        [
            "window s",
            "stopped after epoch",
            "restored epoch",
            "why it stopped",
            "validation cost at restored epoch",
            "validation accuracy",
            "test accuracy",
            "seconds",
        ],
        rows,
    )
    path = save(_curves_figure(runs), out, "validation_curves.png")
    rep.figure(
        path,
        "Training (blue) and validation (orange) cost per epoch, with the stop "
        "and restored epochs (compare seed 002, figure 4, right).",
    )
    for s, (_, net, _) in runs.items():
        p = out / f"decision_boundary_s{s}.png"
        plots.decision_boundary(net, X_te, y_te, path=p)
        rep.figure(
            p,
            f"Decision regions of the restored weights, s = {s}, with the test "
            "points (compare seed 002, figure 4, left and centre).",
        )
    return rep.write(out)


EXPERIMENT = Experiment(
    name="early-stopping",
    title="Early stopping: validation window s = 80 vs s = 800",
    source="seed 002 (Jones, Neural Networks for Classification), section 4.2, figure 4",
    needs_data=False,
    _body=_run,
)
