"""Notebook support: HTML display of Network and History, LivePlot, the tutorial notebook."""

from __future__ import annotations

import html
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import layerkit as lk

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "notebooks" / "tutorial.ipynb"


def _moons(n=60):
    return lk.datasets.make_moons(n, noise=0.2, seed=0)


def _net2d(seed=0):
    return lk.Network([lk.Input(2), lk.Dense(8, "tanh"), lk.Dense(2, "softmax")], seed=seed)


# ---------------------------------------------------------------------------- HTML display


def test_network_html_holds_every_row_and_count_of_the_summary():
    net = lk.Network(
        [lk.Input(4), lk.Dense(6, "relu", name="hidden<1>"), lk.Dense(3, "softmax")],
        seed=0,
        penalty=0.01,
    )
    net.layers[1].trainable = False
    page = net._repr_html_()
    text = html.unescape(page)
    for line in net.summary(print_fn=None).splitlines()[3:]:
        for cell in line.split("   "):
            if cell.strip() and not set(cell.strip()) <= {"=", "-"}:
                assert cell.strip() in text, cell
    assert "hidden&lt;1&gt;" in page  # names are escaped
    assert page.count("<tr>") == 1 + len(net.layers)


def test_history_html_lists_epochs_values_and_the_best_epoch():
    X, y = _moons()
    net = _net2d()
    hist = net.train(X, y, X, y, epochs=4, early_stopping=lk.Patience(10), verbose=0)
    page = hist._repr_html_()
    assert page.count("<tr>") == 1 + 4
    for name in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert f">{name}<" in page
    assert f"{hist.train_cost[2]:.4g}" in page
    assert f"{hist.best_epoch} (best)" in page
    assert html.escape(hist.message) in page


def test_history_html_of_a_long_run_shows_its_first_and_last_epochs():
    hist = lk.History(
        epochs=list(range(1, 41)),
        train_cost=[1.0 / e for e in range(1, 41)],
        learning_rate=[0.1] * 40,
    )
    page = hist._repr_html_()
    assert page.count("<tr>") == 1 + 5 + 1 + 10
    assert ">...<" in page
    cells = [f'<td style="text-align:right">{e}</td>' for e in (1, 5, 31, 40)]
    assert all(c in page for c in cells)
    assert '<td style="text-align:right">6</td>' not in page


# ---------------------------------------------------------------------------- LivePlot


def test_live_plot_redraws_every_k_epochs_and_after_the_last():
    X, y = _moons()
    plot = lk.LivePlot(every=3)
    hist = _net2d().fit(X, y, epochs=7, validation_split=0.25, callbacks=[plot], verbose=0)
    assert plot.draws == math.ceil(7 / 3)  # after epochs 3 and 6, then after 7
    assert plot.history.epochs == hist.epochs
    assert plot.history.history == {k: v for k, v in hist.history.items()}
    (curves,) = plot.figures
    cost_axes = curves.axes[0]
    lines = {line.get_label(): line for line in cost_axes.get_lines()}
    train_line = next(line for label, line in lines.items() if "train" in label)
    assert list(train_line.get_ydata()) == hist.train_cost


def test_live_plot_draws_the_decision_boundary_of_2d_inputs():
    X, y = _moons()
    plot = lk.LivePlot(every=5, data=(X, y), resolution=20)
    net = _net2d()
    net.fit(X, y, epochs=5, callbacks=[plot], verbose=0)
    assert plot.draws == 1
    _curves, boundary = plot.figures
    ax = boundary.axes[0]
    points = ax.collections[-1].get_offsets()
    assert np.allclose(points, X)


def test_live_plot_data_needs_a_network_with_2d_inputs():
    X, y = _moons()
    net = lk.Network([lk.Input(3), lk.Dense(2, "softmax")], seed=0)
    X3 = np.column_stack([X, X[:, 0]])
    with pytest.raises(ValueError, match="2-D inputs"):
        net.fit(X3, y, epochs=1, callbacks=[lk.LivePlot(data=(X, y))], verbose=0)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        lk.LivePlot(data=(X3, y))
    with pytest.raises(ValueError, match="every"):
        lk.LivePlot(every=0)


def test_live_plot_without_matplotlib_names_the_plots_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"layerkit\[plots\]"):
        lk.LivePlot()


def test_importing_layerkit_imports_neither_matplotlib_nor_ipython():
    code = "import sys, layerkit; print('matplotlib' in sys.modules, 'IPython' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------------------- the tutorial


def test_tutorial_notebook_runs_and_shows_tables_and_live_plots(monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    notebook = nbformat.read(TUTORIAL, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    htmls = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("Total params" in page for page in htmls)  # the network's table
    assert any("History:" in page for page in htmls)  # the history's table
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) >= 3  # the digits' curves, then the moons' curves and boundary
    printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "test accuracy" in printed
