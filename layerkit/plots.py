"""Figures for training runs (matplotlib, the optional ``plots`` extra).

Every function returns a :class:`matplotlib.figure.Figure` and, given ``path``, also saves
it as PNG. Figures are made with the object-oriented API (no global pyplot state), so they
work headless with the Agg backend.

* :func:`learning_curves`: cost and accuracy per epoch, training and validation, with the
  restored epoch marked (seed 002, figure 3).
* :func:`confusion_matrix_figure`: the confusion matrix as a heat map (seed 000 4.2.3).
* :func:`misclassification_diagram`: true classes on the left, predicted on the right, an
  arrow per confusion with its width by count (seed 000 4.2.3).
* :func:`misclassified_examples`: a grid of misclassified images with true/predicted labels.
* :func:`decision_boundary`: class regions of a 2-D classifier with its data (seed 002,
  figures 2-4).
* :func:`first_layer_weights`: each first-layer unit's weights as an image (seed 002, fig. 7).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import LayerkitValueError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: What to install when matplotlib is missing.
INSTALL_HINT = 'pip install "layerkit[plots]"'

__all__ = [
    "INSTALL_HINT",
    "confusion_matrix_figure",
    "decision_boundary",
    "first_layer_weights",
    "learning_curves",
    "matplotlib_available",
    "misclassification_diagram",
    "misclassified_examples",
    "save_run_figures",
]


def matplotlib_available() -> bool:
    """Whether matplotlib, the ``plots`` extra, is installed (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):  # blocked by an import hook, or a broken install
        return False


def _new_figure(**kwargs: Any) -> Figure:
    # Imported here so that `import layerkit.plots` (and the experiments listing) works
    # without the extra; only drawing needs it.
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"layerkit's figures need matplotlib, the plots extra: {INSTALL_HINT}",
            name="matplotlib",
        ) from exc
    return Figure(**kwargs)


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, format="png", dpi=100)
    return fig


def learning_curves(history: Any, *, path: str | Path | None = None) -> Figure:
    """Cost (and accuracy, for classifiers) per epoch, training and validation.

    A dotted vertical line marks ``history.restored_epoch`` (or ``best_epoch``).
    """
    has_acc = bool(history.train_accuracy)
    fig = _new_figure(figsize=(10 if has_acc else 5.5, 4))
    axes = fig.subplots(1, 2 if has_acc else 1, squeeze=False)[0]
    epochs = list(history.epochs)
    panels = [("cost", history.train_cost, history.val_cost)]
    if has_acc:
        panels.append(("accuracy", history.train_accuracy, history.val_accuracy))
    marked = history.restored_epoch or history.best_epoch
    for ax, (label, train, val) in zip(axes, panels, strict=True):
        ax.plot(epochs, train, label=f"training {label}", color="tab:blue")
        if val:
            ax.plot(epochs[: len(val)], val, label=f"validation {label}", color="tab:orange")
        if marked:
            ax.axvline(marked, color="grey", linestyle=":", label=f"restored epoch {marked}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend()
    return _finish(fig, path)


def confusion_matrix_figure(
    matrix: np.ndarray,
    class_names: Sequence[str] | None = None,
    *,
    path: str | Path | None = None,
) -> Figure:
    """Heat map of a confusion matrix (rows: true class, columns: predicted), counts shown."""
    matrix = np.asarray(matrix)
    k = matrix.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    size = max(4.0, 0.55 * k + 2)
    fig = _new_figure(figsize=(size, size))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(int(matrix[i, j])),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if matrix[i, j] > threshold else "black",
            )
    return _finish(fig, path)


def misclassification_diagram(
    matrix: np.ndarray,
    class_names: Sequence[str] | None = None,
    *,
    min_count: int = 1,
    path: str | Path | None = None,
) -> Figure:
    """Seed 000's diagram: true classes left, predicted classes right, one arrow per kind of
    error with its width proportional to its count (diagonal, correct predictions, omitted)."""
    matrix = np.asarray(matrix)
    k = matrix.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    errors = matrix.astype(float).copy()
    np.fill_diagonal(errors, 0)
    largest = errors.max() if errors.size else 0
    fig = _new_figure(figsize=(6, max(4.0, 0.45 * k + 1)))
    ax = fig.subplots()
    ys = np.linspace(1, 0, k) if k > 1 else np.array([0.5])
    for i, y in enumerate(ys):
        ax.text(-0.02, y, names[i], ha="right", va="center")
        ax.text(1.02, y, names[i], ha="left", va="center")
    ax.plot(np.zeros(k), ys, "o", color="tab:blue")
    ax.plot(np.ones(k), ys, "o", color="tab:red")
    for i in range(k):
        for j in range(k):
            count = errors[i, j]
            if count >= min_count and count > 0:
                ax.annotate(
                    "",
                    xy=(1, ys[j]),
                    xytext=(0, ys[i]),
                    arrowprops={
                        "arrowstyle": "-|>",
                        "lw": 0.5 + 6 * count / largest,
                        "color": "tab:grey",
                        "alpha": 0.7,
                    },
                )
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylim(-0.1, 1.1)
    ax.set_axis_off()
    ax.set_title("misclassifications: true (left) to predicted (right)")
    return _finish(fig, path)


def misclassified_examples(
    X: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    image_shape: tuple[int, int] | None = None,
    class_names: Sequence[str] | None = None,
    max_examples: int = 25,
    path: str | Path | None = None,
) -> Figure:
    """A grid of misclassified inputs shown as images, titled ``true -> predicted``."""
    X = np.asarray(X)
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:max_examples]
    shape = image_shape or _square(X.shape[1] if X.ndim == 2 else X.shape[1:])
    cols = max(1, min(5, len(wrong)))
    rows = max(1, math.ceil(len(wrong) / cols))
    fig = _new_figure(figsize=(2 * cols, 2.2 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    names = list(class_names) if class_names is not None else None
    for ax in axes:
        ax.set_axis_off()
    for ax, i in zip(axes, wrong, strict=False):
        ax.imshow(X[i].reshape(shape), cmap="gray_r")
        t, p = int(y_true[i]), int(y_pred[i])
        true_name, pred_name = (names[t], names[p]) if names else (str(t), str(p))
        ax.set_title(f"{true_name} -> {pred_name}", fontsize=9)
    if not len(wrong):
        fig.suptitle("no misclassified examples")
    return _finish(fig, path)


def decision_boundary(
    network: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    resolution: int = 200,
    path: str | Path | None = None,
) -> Figure:
    """Predicted class regions of a network on 2-D inputs, with the data on top."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise LayerkitValueError(
            f"decision_boundary needs 2-D inputs of shape (n, 2); received {X.shape}"
        )
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0) + 1e-9)
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    regions = network.predict_classes(grid).reshape(gx.shape)
    fig = _new_figure(figsize=(5, 5))
    ax = fig.subplots()
    k = int(max(regions.max(), np.max(y))) + 1
    ax.contourf(
        gx, gy, regions, levels=np.arange(k + 1) - 0.5, cmap="tab10", alpha=0.25, vmin=0, vmax=9
    )
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=np.asarray(y),
        cmap="tab10",
        vmin=0,
        vmax=9,
        s=10,
        edgecolors="k",
        linewidths=0.2,
    )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return _finish(fig, path)


def first_layer_weights(
    network: Any,
    *,
    image_shape: tuple[int, int] | None = None,
    max_units: int = 64,
    path: str | Path | None = None,
) -> Figure:
    """Each unit of the first weighted layer drawn as an image of its incoming weights."""
    layer = next((layer for layer in network.layers if "W" in layer.params), None)
    if layer is None:
        raise LayerkitValueError("the network has no layer with a weight matrix 'W'")
    W = layer.params["W"]
    shape = image_shape or _square(W.shape[0])
    units = min(W.shape[1], max_units)
    cols = min(8, units)
    rows = math.ceil(units / cols)
    fig = _new_figure(figsize=(1.3 * cols, 1.3 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    limit = float(np.abs(W[:, :units]).max()) or 1.0
    for ax in axes:
        ax.set_axis_off()
    for u, ax in zip(range(units), axes, strict=False):
        ax.imshow(W[:, u].reshape(shape), cmap="RdBu_r", vmin=-limit, vmax=limit)
    fig.suptitle(f"first-layer weights ({layer.name})")
    return _finish(fig, path)


def save_run_figures(
    network: Any,
    history: Any,
    X_test: np.ndarray,
    y_test: np.ndarray,
    class_names: Sequence[str],
    folder: str | Path,
) -> list[Path]:
    """The figures of a ``layerkit train`` run, written into ``folder``; returns the paths."""
    from .metrics import confusion_matrix

    folder = Path(folder)
    paths = [folder / "learning_curves.png"]
    learning_curves(history, path=paths[0])
    y_true = np.asarray(y_test)
    if y_true.ndim == 2:
        y_true = y_true.argmax(axis=1)
    if network.is_classifier or history.train_accuracy:
        y_pred = network.predict_classes(X_test)
        matrix = confusion_matrix(y_true, y_pred, n_classes=len(class_names))
        paths.append(folder / "confusion_matrix.png")
        confusion_matrix_figure(matrix, class_names, path=paths[-1])
        paths.append(folder / "misclassifications.png")
        misclassification_diagram(matrix, class_names, path=paths[-1])
        if np.asarray(X_test).shape[1] == 2:
            paths.append(folder / "decision_boundary.png")
            decision_boundary(network, X_test, y_true, path=paths[-1])
        elif _is_square(np.asarray(X_test).shape[1]):
            paths.append(folder / "misclassified_examples.png")
            misclassified_examples(X_test, y_true, y_pred, class_names=class_names, path=paths[-1])
            paths.append(folder / "first_layer_weights.png")
            first_layer_weights(network, path=paths[-1])
    return paths


def _is_square(n: int) -> bool:
    return math.isqrt(n) ** 2 == n


def _square(n: Any) -> tuple[int, int]:
    if isinstance(n, tuple):
        if len(n) == 2:
            return n
        n = int(np.prod(n))
    side = math.isqrt(int(n))
    if side * side != n:
        raise LayerkitValueError(
            f"cannot show {n} features as a square image; pass image_shape=(h, w)"
        )
    return side, side
