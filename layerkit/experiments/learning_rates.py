"""``learning-rates``: several learning rates for each activation.

Seed 000, section 4.2.2 (figures 10-12): the 784-16-16-10 network with tanh, ReLU and
sigmoid, each trained at several fixed learning rates.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._base import Experiment
from ._common import fashion, save
from ._report import FASHION_NOTE, Report, fmt_pct
from .activations import BATCH, HIDDEN, Curve, train_curve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["EXPERIMENT"]

ACTIVATIONS = ("tanh", "relu", "sigmoid")
RATES = (0.01, 0.05, 0.1, 0.5, 0.9)
QUICK_RATES = (0.05, 0.5, 0.9)


def _figure(curves: dict[str, list[Curve]]) -> Figure:
    from matplotlib.figure import Figure  # the plots extra, imported when drawing

    fig = Figure(figsize=(5 * len(curves), 4.2))
    axes = fig.subplots(1, len(curves), sharey=True)
    for ax, (act, runs) in zip(axes, curves.items(), strict=True):
        for c in runs:
            ax.plot(
                range(1, len(c.val_accuracy) + 1),
                c.val_accuracy,
                marker="o",
                markersize=3,
                label=f"lr = {c.learning_rate:g}",
            )
        ax.set_title(act)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("validation accuracy")
    return fig


def _run(out: Path, quick: bool, seed: int) -> Path:
    rep = Report(EXPERIMENT.title, EXPERIMENT.source, quick=quick)
    n_train, n_val, n_test, epochs = (3000, 1000, 1000, 3) if quick else (20000, 5000, None, 15)
    rates = QUICK_RATES if quick else RATES
    _, parts = fashion(n_train=n_train, n_val=n_val, n_test=n_test, seed=seed)
    curves = {
        act: [train_curve(parts, act, lr, epochs=epochs, seed=seed) for lr in rates]
        for act in ACTIVATIONS
    }
    rep.found_by_document(
        "MNIST, 784-16-16-10, full-batch gradient descent at several fixed learning rates "
        "between about 0.05 and 0.95 (seed 000 section 4.2.2, figures 10-12).",
        "Lower rates: smoother, slower, lower final accuracy; higher rates: faster but less "
        "stable.",
        "tanh: best rate roughly 0.5-0.75. ReLU: best around 0.5, pronounced fluctuations "
        "at 0.9 and 0.95; better than tanh at low rates. Sigmoid: smooth at every rate but "
        "less accurate, best range unclear (0.5-0.95).",
    )
    lines = []
    for act, runs in curves.items():
        best = max(runs, key=lambda c: c.final_val)
        rough = max(runs, key=lambda c: c.roughness)
        lines.append(
            f"{act}: final validation accuracy "
            + ", ".join(
                f"lr {c.learning_rate:g} {fmt_pct(c.final_val)}"
                + (" (diverged)" if c.diverged else "")
                for c in runs
            )
            + f"; best lr {best.learning_rate:g}; roughest curve at lr {rough.learning_rate:g} "
            f"({100 * rough.roughness:.2f} points per epoch)."
        )
    low = rates[0]
    relu_low = curves["relu"][0].final_val
    tanh_low = curves["tanh"][0].final_val
    lines.append(
        f"At the lowest rate ({low:g}) ReLU reaches {fmt_pct(relu_low)} against tanh "
        f"{fmt_pct(tanh_low)} and sigmoid {fmt_pct(curves['sigmoid'][0].final_val)}."
    )
    rep.found_by_us(*lines)
    rep.add_setup(
        "Data",
        f"Fashion-MNIST: {len(parts[0])} training, {len(parts[2])} "
        f"validation, {len(parts[4])} test images. " + FASHION_NOTE,
    )
    rep.add_setup("Network", f"784-{'-'.join(map(str, HIDDEN))}-10, softmax output, cross-entropy")
    rep.add_setup(
        "Training",
        f"plain SGD at fixed rates {', '.join(map(str, rates))}; "
        f"mini-batches of {BATCH}, {epochs} epochs (the document: full batch; with "
        "mini-batches the same rate takes larger effective steps per epoch)",
    )
    rep.add_setup("Seed", seed)
    path = save(_figure(curves), out, "accuracy_by_learning_rate.png")
    rep.section("Results")
    rep.table(
        ["activation", *[f"lr {r:g}" for r in rates]],
        [[act, *[fmt_pct(c.final_val) for c in runs]] for act, runs in curves.items()],
    )
    rep.text("Final validation accuracy. Test accuracy of the same models:")
    rep.table(
        ["activation", *[f"lr {r:g}" for r in rates]],
        [[act, *[fmt_pct(c.test_accuracy) for c in runs]] for act, runs in curves.items()],
    )
    rep.figure(
        path,
        "Validation accuracy per epoch at each learning rate (compare seed 000, figures 10-12).",
    )
    return rep.write(out)


EXPERIMENT = Experiment(
    name="learning-rates",
    title="Learning rates for each activation",
    source="seed 000 (Davies, A Mathematical Overview of Neural Networks), section 4.2.2, "
    "figures 10-12",
    needs_data=True,
    _body=_run,
)
