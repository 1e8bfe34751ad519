"""``dropout``: the same over-fitting network with and without dropout.

Seed 000, section 5.1 (Srivastava et al.'s dropout): a unit is kept with probability
``p`` while training. A wide network trained on few images over-fits; the experiment
compares the gap between training and validation accuracy with and without dropout.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..optimizers import SGD
from ._base import Experiment
from ._common import fashion, mlp, save
from ._report import FASHION_NOTE, Report, fmt_pct

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["EXPERIMENT"]

RATE = 0.5  # fraction dropped: keep probability p = 0.5
# 0.05 with momentum 0.9 (an effective step of 0.5) made the dropout network under-fit
LEARNING_RATE = 0.01


def _figure(runs: dict[str, Any]) -> Figure:
    from matplotlib.figure import Figure  # the plots extra, imported when drawing

    fig = Figure(figsize=(10, 4))
    ax_acc, ax_gap = fig.subplots(1, 2)
    colours = {"without dropout": "tab:red", "with dropout": "tab:blue"}
    for label, (hist, _, _, _) in runs.items():
        c = colours[label]
        ax_acc.plot(hist.epochs, hist.train_accuracy, color=c, ls="--", label=f"{label}: training")
        ax_acc.plot(hist.epochs, hist.val_accuracy, color=c, label=f"{label}: validation")
        gap = np.asarray(hist.train_accuracy) - np.asarray(hist.val_accuracy)
        ax_gap.plot(hist.epochs, 100 * gap, color=c, label=label)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.legend(fontsize=8)
    ax_acc.grid(alpha=0.3)
    ax_gap.set_xlabel("epoch")
    ax_gap.set_ylabel("training - validation accuracy (points)")
    ax_gap.axhline(0, color="grey", lw=0.5)
    ax_gap.legend(fontsize=8)
    ax_gap.grid(alpha=0.3)
    return fig


def _run(out: Path, quick: bool, seed: int) -> Path:
    rep = Report(EXPERIMENT.title, EXPERIMENT.source, quick=quick)
    n_train, n_val, n_test, hidden, epochs = (
        (1000, 1000, 1000, (128, 128), 12) if quick else (3000, 5000, None, (256, 256), 50)
    )
    _, parts = fashion(n_train=n_train, n_val=n_val, n_test=n_test, seed=seed)
    X_tr, y_tr, X_val, y_val, X_te, y_te = parts
    runs: dict[str, Any] = {}
    for label, rate in (("without dropout", 0.0), ("with dropout", RATE)):
        net = mlp(784, hidden, 10, "relu", dropout=rate, seed=seed)
        began = time.perf_counter()
        hist = net.train(
            X_tr,
            y_tr,
            X_val,
            y_val,
            epochs=epochs,
            batch_size=32,
            optimizer=SGD(LEARNING_RATE, momentum=0.9),
            verbose=0,
        )
        test = float(net.evaluate(X_te, y_te).accuracy)
        runs[label] = (hist, net, test, time.perf_counter() - began)

    def final(label: str) -> tuple[float, float, float]:
        hist, net, test, _ = runs[label]
        train_acc = float(net.evaluate(X_tr, y_tr).accuracy)  # inference mode, no dropout
        return train_acc, hist.val_accuracy[-1], test

    no, yes = final("without dropout"), final("with dropout")
    gap_no, gap_yes = no[0] - no[1], yes[0] - yes[1]
    rep.found_by_document(
        "Seed 000 section 5.1 reviews Srivastava et al. (2014): keep each unit with "
        "probability p (typically 0.5 <= p < 1) while training, scale by p at test time.",
        "In the paper every data set (MNIST, TIMIT, ImageNet, ...) had lower test error "
        "with dropout than without; the gain was largest on the complex tasks.",
        "Costs: training takes 2-3 times longer to reach the same accuracy, and p must be "
        "tuned (too much dropout under-fits).",
        "Seed 000's own networks (section 4.2) showed over-fitting, which dropout is proposed "
        "to cure; the document does not train with dropout itself.",
    )
    rep.found_by_us(
        f"Without dropout: training accuracy {fmt_pct(no[0])}, validation {fmt_pct(no[1])} "
        f"(gap {100 * gap_no:.1f} points), test {fmt_pct(no[2])}.",
        f"With dropout (p = {1 - RATE:g}): training accuracy {fmt_pct(yes[0])}, validation "
        f"{fmt_pct(yes[1])} (gap {100 * gap_yes:.1f} points), test {fmt_pct(yes[2])}.",
        "Dropout "
        + ("narrows" if gap_yes < gap_no else "does NOT narrow")
        + " the train/validation gap"
        + (
            " and improves test accuracy"
            if yes[2] > no[2]
            else " but does not improve test accuracy"
        )
        + f" ({100 * (yes[2] - no[2]):+.1f} points).",
        f"Training time: {runs['without dropout'][3]:.0f} s without, "
        f"{runs['with dropout'][3]:.0f} s with dropout for the same {epochs} epochs.",
    )
    rep.add_setup(
        "Data",
        f"Fashion-MNIST: only {len(X_tr)} training images (so the network "
        f"over-fits), {len(X_val)} validation, {len(X_te)} test. " + FASHION_NOTE,
    )
    rep.add_setup(
        "Network",
        f"784-{'-'.join(map(str, hidden))}-10, ReLU, softmax output, "
        f"cross-entropy; with dropout: `Dropout({RATE})` after each hidden layer "
        "(inverted dropout: kept units scaled by 1/p while training, which has the "
        "same expectation as the paper's scaling by p at test time)",
    )
    rep.add_setup(
        "Training",
        f"SGD, learning rate {LEARNING_RATE}, momentum 0.9, batches of 32, "
        f"{epochs} epochs, no L2 penalty, no early stopping",
    )
    rep.add_setup("Seed", seed)
    rep.section("Results")
    rep.table(
        ["", "training accuracy", "validation accuracy", "gap (points)", "test accuracy"],
        [
            [
                "without dropout",
                fmt_pct(no[0]),
                fmt_pct(no[1]),
                f"{100 * gap_no:.1f}",
                fmt_pct(no[2]),
            ],
            [
                f"with dropout (p = {1 - RATE:g})",
                fmt_pct(yes[0]),
                fmt_pct(yes[1]),
                f"{100 * gap_yes:.1f}",
                fmt_pct(yes[2]),
            ],
        ],
    )
    rep.text(
        "Training accuracy here is measured after training in inference mode (dropout "
        "off); the curves below show the accuracy of the training batches as they were "
        "trained (dropout on)."
    )
    path = save(_figure(runs), out, "dropout_gap.png")
    rep.figure(
        path,
        "Accuracy per epoch (left) and the training - validation gap (right), "
        "with and without dropout.",
    )
    return rep.write(out)


EXPERIMENT = Experiment(
    name="dropout",
    title="Dropout against over-fitting",
    source="seed 000 (Davies, A Mathematical Overview of Neural Networks), section 5.1",
    needs_data=True,
    _body=_run,
)
