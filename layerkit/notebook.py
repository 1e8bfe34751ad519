"""Training in a notebook: :class:`LivePlot`, a callback that redraws the learning curves.

The rest of layerkit's notebook support lives where it belongs: ``Network`` and
``History`` render as HTML tables (``_repr_html_``), and the progress bar of ``train`` and
``fit`` is drawn with ``tqdm.auto`` (a widget in a notebook, text in a terminal).

matplotlib is the optional ``plots`` extra; it is imported when a :class:`LivePlot` is made.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ._validation import LayerkitTypeError, LayerkitValueError, check_positive_int
from .callbacks import History, KerasCallback

__all__ = ["LivePlot"]


def _require_matplotlib() -> None:
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            'LivePlot draws with matplotlib, the optional "plots" extra: '
            'pip install "layerkit[plots]"'
        ) from exc


def _in_notebook() -> bool:
    """Whether an IPython shell (a notebook's kernel) is running this code."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


class LivePlot(KerasCallback):
    """Redraw the learning curves every ``every`` epochs, in place, in a notebook.

    The figures are those of :func:`layerkit.plots.learning_curves` (cost and, for
    classifiers, accuracy; training and validation) and, when ``data`` is given, of
    :func:`layerkit.plots.decision_boundary` (the predicted class regions of a network
    with 2-D inputs, the points on top: seed 002, figures 2-4). They are redrawn after
    every ``every``-th epoch and after the last one. In a notebook they are shown in the
    cell's output and replaced at each redraw; elsewhere nothing is shown and the latest
    figures are in :attr:`figures` (save them with ``fig.savefig``).

    Parameters
    ----------
    every : int, default 1
        Epochs between redraws (drawing costs about a tenth of a second).
    data : tuple (X, y), optional
        2-D points ``X`` of shape ``(n, 2)`` and their labels, for the decision boundary.
    resolution : int, default 100
        Grid points per axis of the decision boundary.

    Attributes
    ----------
    history : History
        The epochs seen so far in this run (epochs numbered from 1).
    figures : list of matplotlib.figure.Figure
        The latest figures drawn.
    draws : int
        How many times the figures were drawn in this run.

    Raises
    ------
    ImportError
        Without matplotlib (``pip install "layerkit[plots]"``).

    Examples
    --------
    >>> import layerkit as lk
    >>> X, y = lk.datasets.make_moons(200, noise=0.2, seed=0)
    >>> net = lk.Network([lk.Input(2), lk.Dense(16, "tanh"), lk.Dense(2, "softmax")], seed=0)
    >>> plot = lk.LivePlot(every=5, data=(X, y))
    >>> history = net.fit(X, y, epochs=10, validation_split=0.2, callbacks=[plot], verbose=0)
    >>> plot.draws
    2
    """

    def __init__(self, every: int = 1, data: Any = None, resolution: int = 100) -> None:
        self.every = check_positive_int(every, "every")
        self.resolution = check_positive_int(resolution, "resolution", minimum=2)
        self.data = None if data is None else _check_points(data)
        _require_matplotlib()
        self.history = History()
        self.figures: list[Any] = []
        self.draws = 0
        self._handles: list[Any] | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        if self.data is not None and tuple(self.model.input_shape) != (2,):
            raise LayerkitValueError(
                f"LivePlot(data=...) draws a decision boundary, which needs a network with "
                f"2-D inputs; this network's input shape is {self.model.input_shape}"
            )
        self.history = History()
        self.figures = []
        self.draws = 0
        self._handles = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        hist = self.history
        hist.epochs.append(epoch + 1)
        for name, values in (
            ("loss", hist.train_cost),
            ("accuracy", hist.train_accuracy),
            ("val_loss", hist.val_cost),
            ("val_accuracy", hist.val_accuracy),
            ("learning_rate", hist.learning_rate),
        ):
            if name in logs:
                values.append(float(logs[name]))
        if len(hist) % self.every == 0:
            self.draw()

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if len(self.history) % self.every:  # the last epochs were not drawn yet
            self.draw()

    def draw(self) -> list[Any]:
        """Draw the figures now (and show them in a notebook); return them."""
        from . import plots

        figures = [plots.learning_curves(self.history)]
        if self.data is not None:
            X, y = self.data
            figures.append(plots.decision_boundary(self.model, X, y, resolution=self.resolution))
        self.figures = figures
        self.draws += 1
        self._show(figures)
        return figures

    def _show(self, figures: list[Any]) -> None:
        if not _in_notebook():
            return
        from IPython.display import Image, display

        # PNG bytes rather than the Figure: shown the same whatever matplotlib backend
        # the kernel has selected (a bare Figure has no display formatter before pyplot).
        images = [Image(data=_png(fig)) for fig in figures]
        if self._handles is None:
            self._handles = [display(image, display_id=True) for image in images]
        else:
            for handle, image in zip(self._handles, images, strict=True):
                handle.update(image)


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def _check_points(data: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise LayerkitTypeError(
            f"data must be a tuple (X, y) of 2-D points and labels; received {type(data).__name__}"
        )
    X, y = np.asarray(data[0]), np.asarray(data[1])
    if X.ndim != 2 or X.shape[1] != 2:
        raise LayerkitValueError(
            f"data's X must have shape (n, 2) for a decision boundary; received shape {X.shape}"
        )
    if y.shape != (len(X),):
        raise LayerkitValueError(
            f"data's y must have shape ({len(X)},), one label per point; received shape {y.shape}"
        )
    return X, y
