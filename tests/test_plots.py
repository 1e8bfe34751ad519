"""Figures: each returns a Figure whose content matches its data, and saves a real PNG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.image import imread
from matplotlib.patches import FancyArrowPatch

import layerkit as lk
from layerkit import plots

PNG = b"\x89PNG\r\n\x1a\n"


def _assert_real_png(path):
    assert path.read_bytes()[:8] == PNG
    pixels = imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels[..., :3].std() > 0.01, "the image is blank"


@pytest.fixture(scope="module")
def trained():
    data = lk.datasets.load_digits()
    net = lk.Network([lk.Input(64), lk.Dense(16, "relu"), lk.Dense(10, "softmax")], seed=0)
    history = net.train(
        data.X_train,
        data.y_train,
        validation_split=0.2,
        epochs=12,
        batch_size=32,
        optimizer=lk.SGD(0.1, momentum=0.9),
        early_stopping=lk.Patience(3),
        verbose=0,
    )
    return net, history, data


def test_learning_curves_draw_both_costs_and_mark_the_restored_epoch(trained, tmp_path):
    _, history, _ = trained
    fig = plots.learning_curves(history, path=tmp_path / "lc.png")
    cost_ax, acc_ax = fig.axes
    lines = {line.get_label(): line for line in cost_ax.get_lines()}
    np.testing.assert_allclose(lines["training cost"].get_ydata(), history.train_cost)
    np.testing.assert_allclose(lines["validation cost"].get_ydata(), history.val_cost)
    marker = lines[f"restored epoch {history.restored_epoch}"]
    assert list(marker.get_xdata()) == [history.restored_epoch] * 2
    acc_lines = {line.get_label(): line for line in acc_ax.get_lines()}
    np.testing.assert_allclose(acc_lines["validation accuracy"].get_ydata(), history.val_accuracy)
    _assert_real_png(tmp_path / "lc.png")


def test_confusion_matrix_figure_shows_every_count(tmp_path):
    matrix = np.array([[5, 1, 0], [2, 7, 0], [0, 3, 9]])
    fig = plots.confusion_matrix_figure(matrix, ["a", "b", "c"], path=tmp_path / "cm.png")
    ax = fig.axes[0]
    shown = np.array([int(t.get_text()) for t in ax.texts]).reshape(3, 3)
    np.testing.assert_array_equal(shown, matrix)
    np.testing.assert_array_equal(ax.images[0].get_array(), matrix)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    _assert_real_png(tmp_path / "cm.png")


def test_misclassification_diagram_has_one_arrow_per_confusion_widest_for_the_commonest(tmp_path):
    matrix = np.array([[5, 4, 0], [1, 7, 0], [0, 2, 9]])
    fig = plots.misclassification_diagram(matrix, path=tmp_path / "md.png")
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    arrows += [a.arrow_patch for a in fig.axes[0].texts if getattr(a, "arrow_patch", None)]
    assert len(arrows) == 3  # (0 -> 1), (1 -> 0), (2 -> 1)
    widths = sorted(a.get_linewidth() for a in arrows)
    assert widths[-1] > widths[0]
    _assert_real_png(tmp_path / "md.png")


def test_misclassified_examples_titles_name_true_and_predicted(trained, tmp_path):
    net, _, data = trained
    pred = net.predict_classes(data.X_test)
    wrong = np.flatnonzero(pred != data.y_test)
    assert wrong.size > 0
    fig = plots.misclassified_examples(
        data.X_test, data.y_test, pred, max_examples=6, path=tmp_path / "me.png"
    )
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    expected = [f"{data.y_test[i]} -> {pred[i]}" for i in wrong[:6]]
    assert titles == expected
    _assert_real_png(tmp_path / "me.png")


def test_decision_boundary_regions_are_the_network_predictions(tmp_path):
    X, y = lk.datasets.make_moons(200, noise=0.1, seed=0)
    net = lk.Network([lk.Input(2), lk.Dense(8, "tanh"), lk.Dense(2, "softmax")], seed=0)
    net.train(X, y, epochs=60, optimizer="adam", learning_rate=0.05, verbose=0)
    fig = plots.decision_boundary(net, X, y, resolution=50, path=tmp_path / "db.png")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.collections[-1].get_offsets(), X)
    _assert_real_png(tmp_path / "db.png")
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plots.decision_boundary(net, np.zeros((3, 3)), np.zeros(3))


def test_first_layer_weights_draw_each_unit_as_its_weight_image(trained, tmp_path):
    net, _, _ = trained
    fig = plots.first_layer_weights(net, path=tmp_path / "w.png")
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 16
    W = net.layers[1].params["W"]
    np.testing.assert_allclose(images[3].get_array(), W[:, 3].reshape(8, 8))
    _assert_real_png(tmp_path / "w.png")


def test_without_matplotlib_the_module_imports_and_drawing_names_the_extra():
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = """
import importlib.abc, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "matplotlib":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Blocked())
import numpy as np
from layerkit import plots
assert not plots.matplotlib_available()
try:
    plots.confusion_matrix_figure(np.eye(2, dtype=int), ["a", "b"])
except ModuleNotFoundError as exc:
    print(exc)
"""
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        'layerkit\'s figures need matplotlib, the plots extra: pip install "layerkit[plots]"'
    )
    assert plots.matplotlib_available()  # here, where it is installed
