"""``jones-200-30``: the 784-200-30-10 network with early stopping on a 60/20/20 split.

Seed 002, section 4.2: KMNIST's 60,000 training images split at random 60/20/20 into
training, validation (holdout tuning) and test sets; a network with two hidden layers of
200 and 30 units reached about 93% validation and 92% test accuracy.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import plots
from ..model_selection import train_val_test_split
from ._base import Experiment
from ._common import fashion, mlp, subsample
from ._report import FASHION_NOTE, Report, fmt_pct

__all__ = ["EXPERIMENT"]

LEARNING_RATE = 0.5
BATCH = 64
PENALTY = 1e-5


def _run(out: Path, quick: bool, seed: int) -> Path:
    rep = Report(EXPERIMENT.title, EXPERIMENT.source, quick=quick)
    n_use, epochs, window = (8000, 4, 2) if quick else (None, 30, 4)
    data, _ = fashion(n_train=0, n_val=0, n_test=0, seed=seed)
    X, y = subsample(data.X_train, data.y_train, n_use, np.random.default_rng(seed))
    X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(X, y, seed=seed)
    net = mlp(784, (200, 30), 10, "sigmoid", penalty=PENALTY, seed=seed)
    began = time.perf_counter()
    hist = net.train(
        X_tr,
        y_tr,
        X_val,
        y_val,
        epochs=epochs,
        batch_size=BATCH,
        learning_rate=LEARNING_RATE,
        optimizer="sgd",
        early_stopping=window,
        verbose=0,
    )
    secs = time.perf_counter() - began
    val_acc = float(net.evaluate(X_val, y_val).accuracy)
    test_acc = float(net.evaluate(X_te, y_te).accuracy)
    official = float(net.evaluate(data.X_test, data.y_test).accuracy)
    train_acc = float(net.evaluate(X_tr, y_tr).accuracy)

    rep.found_by_document(
        "KMNIST: the 60,000 training images split at random 60/20/20 into training, "
        "validation and test (seed 002, section 4.2).",
        "One hidden layer (tens to several hundred units) plateaued at about 87% validation "
        "accuracy.",
        "784-200-30-10 consistently reached about 93% validation accuracy and 92% test "
        "accuracy, after 'some experimentation and adjustment of hyperparameters' (not "
        "given).",
    )
    stop = (
        f"early stopping fired after epoch {hist.stopped_epoch}"
        if hist.stop_reason == "early_stopping"
        else f"ran all {epochs} epochs"
    )
    rep.found_by_us(
        f"784-200-30-10 on Fashion-MNIST: validation accuracy {fmt_pct(val_acc)}, test "
        f"accuracy {fmt_pct(test_acc)} (document, KMNIST: about 93% and 92%).",
        f"Training accuracy {fmt_pct(train_acc)}; accuracy on the official 10,000 "
        f"Fashion-MNIST test images (never used here): {fmt_pct(official)}.",
        f"Training {stop}; weights restored to epoch {hist.restored_epoch} (lowest validation "
        f"cost); {secs:.0f} s.",
        (
            f"As in the document, validation and test accuracy agree within "
            f"{100 * abs(val_acc - test_acc):.1f} points: the holdout estimate is honest."
            if abs(val_acc - test_acc) <= 0.015
            else f"Validation and test accuracy differ by {100 * abs(val_acc - test_acc):.1f} "
            "points (the document: about one point)."
        ),
    )
    rep.add_setup(
        "Data",
        f"Fashion-MNIST's {len(X)} training images split 60/20/20 "
        f"(stratified, `train_val_test_split(seed={seed})`): {len(X_tr)} training, "
        f"{len(X_val)} validation, {len(X_te)} test. " + FASHION_NOTE,
    )
    rep.add_setup(
        "Network",
        "784-200-30-10, sigmoid hidden layers (as in seed 002), softmax output, cross-entropy",
    )
    rep.add_setup(
        "Training",
        f"plain SGD, learning rate {LEARNING_RATE}, batches of {BATCH}, "
        f"L2 penalty {PENALTY:g}, at most {epochs} epochs, validation-window early "
        f"stopping with s = {window}",
    )
    rep.add_setup("Seed", seed)
    rep.section("Results")
    rep.table(
        ["", "document (KMNIST)", "ours (Fashion-MNIST)"],
        [
            ["validation accuracy", "about 93%", fmt_pct(val_acc)],
            ["test accuracy", "about 92%", fmt_pct(test_acc)],
        ],
    )
    p = out / "learning_curves.png"
    plots.learning_curves(hist, path=p)
    rep.figure(
        p, "Cost and accuracy per epoch, training and validation; dotted: the restored epoch."
    )
    p = out / "first_layer_weights.png"
    plots.first_layer_weights(net, max_units=32, path=p)
    rep.figure(p, "Weights of 32 first-layer units as images (compare seed 002, figure 7).")
    p = out / "misclassified_examples.png"
    plots.misclassified_examples(
        X_te, y_te, net.predict_classes(X_te), class_names=data.class_names, max_examples=15, path=p
    )
    rep.figure(p, "Misclassified test images, true -> predicted (compare seed 002, figure 6).")
    return rep.write(out)


EXPERIMENT = Experiment(
    name="jones-200-30",
    title="The 784-200-30-10 network on a 60/20/20 split",
    source="seed 002 (Jones, Neural Networks for Classification), section 4.2",
    needs_data=True,
    _body=_run,
)
