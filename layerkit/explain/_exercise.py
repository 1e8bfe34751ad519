"""Exercise sheets: a seeded random small network and sample, as questions and answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from .._validation import LayerkitTypeError, LayerkitValueError, check_positive_int
from ..layers import Dense, Input
from ..network import Network
from ._trace import Trace, check_notation, check_precision, explain

__all__ = ["ExerciseSheet", "exercise_sheet"]

#: the largest layer of an exercise: it is worked by hand
MAX_UNITS = 6
MAX_LAYERS = 5


@dataclass(frozen=True, eq=False)
class ExerciseSheet:
    """A question sheet and its answer sheet for one seeded network and sample.

    Attributes
    ----------
    questions : str
        The worked example with every computed number left blank and each equation to
        fill in numbered.
    answers : str
        The same sheet, same numbering, with the numbers.
    trace : Trace
        The worked example itself.
    network : Network
        The network of the exercise (float64).
    seed : int
    """

    questions: str
    answers: str
    trace: Trace
    network: Any
    seed: int

    def __str__(self) -> str:
        return self.questions


def exercise_sheet(
    seed: int = 0,
    *,
    layers: Sequence[int] = (2, 2, 1),
    activation: str = "sigmoid",
    output_activation: str | None = None,
    loss: str = "sum_of_squares",
    learning_rate: float | None = 0.5,
    decimals: int = 1,
    notation: str = "documents",
    precision: int = 4,
    format: str = "markdown",
) -> ExerciseSheet:
    """A question sheet and its answer sheet for a seeded random small network.

    Weights, biases and inputs are drawn with ``decimals`` decimals (weights and biases
    in [-1, 1], inputs in [0, 1]), so that the sums are easy by hand; the target is a
    one-hot row (a 0/1 value for one output). Both sheets come from the renderer of
    :class:`Trace`: the question sheet leaves every computed number blank, and each
    equation to fill in carries the same number on both sheets.

    Parameters
    ----------
    seed : int, default 0
        The same seed gives the same exercise.
    layers : sequence of int, default (2, 2, 1)
        Widths of the input, hidden and output layers (2 to 5 layers, 1 to 6 units each).
    activation : str, default "sigmoid"
        Activation of the hidden layers (and of the output unless ``output_activation``).
    output_activation : str, optional
        Default: ``"softmax"`` with ``loss="categorical_crossentropy"``, else
        ``activation``.
    loss : str, default "sum_of_squares"
    learning_rate : float or None, default 0.5
        Adds the gradient-descent update to the exercise; ``None`` leaves it out.
    decimals : int, default 1
        Decimals of the drawn numbers (1 to 3).
    notation : {"documents", "layerkit"}, default "documents"
    precision : int, default 4
        Decimals of the answers.
    format : {"markdown", "text"}, default "markdown"

    Returns
    -------
    ExerciseSheet

    Examples
    --------
    >>> import layerkit as lk
    >>> sheet = lk.exercise_sheet(seed=3)
    >>> print(sheet.questions)  # doctest: +SKIP
    """
    seed = check_positive_int(seed, "seed", minimum=0)
    widths = _check_layers(layers)
    notation = check_notation(notation)
    precision = check_precision(precision)
    decimals = check_positive_int(decimals, "decimals")
    if decimals > 3:
        raise LayerkitValueError(f"decimals must be 1, 2 or 3; received decimals={decimals}")
    if format not in ("markdown", "text"):
        raise LayerkitValueError(f"format must be 'markdown' or 'text'; received format={format!r}")
    if output_activation is None:
        output_activation = "softmax" if loss in ("categorical_crossentropy", "cce") else activation

    rng = np.random.default_rng(seed)
    scale = 10**decimals

    def draw(shape: tuple[int, ...], low: float) -> np.ndarray:
        return rng.integers(int(low * scale), scale + 1, size=shape) / scale

    # named by position, so that a seed gives the same sheet in any session
    hidden = [Dense(w, activation, name=f"dense_{i}") for i, w in enumerate(widths[1:-1], 1)]
    output = Dense(widths[-1], output_activation, name=f"dense_{len(widths) - 1}")
    net = Network(
        [Input(widths[0], name="input"), *hidden, output],
        loss=loss,
        dtype="float64",
        seed=seed,
    )
    weights = []
    for n_in, units in pairwise(widths):
        weights += [draw((n_in, units), -1.0), draw((units,), -1.0)]
    net.set_weights(weights)
    x = draw((widths[0],), 0.0)
    y = np.zeros(widths[-1])
    y[rng.integers(widths[-1])] = 1.0
    if widths[-1] == 1:
        y[0] = float(rng.integers(2))
    trace = explain(net, x, y, learning_rate=learning_rate, notation=notation, precision=precision)
    from ._render import render_sheet

    sheets = [
        render_sheet(
            trace,
            notation,
            precision,
            title=f"Exercise {seed}: {kind}",
            answers=kind == "answers",
            fmt=format,
        )
        for kind in ("questions", "answers")
    ]
    return ExerciseSheet(sheets[0], sheets[1], trace, net, seed)


def _check_layers(layers: Any) -> list[int]:
    if isinstance(layers, str) or not isinstance(layers, Sequence):
        raise LayerkitTypeError(
            f"layers must be a sequence of layer widths such as (2, 2, 1); received {layers!r}"
        )
    widths = [check_positive_int(w, "layers[i]") for w in layers]
    if not 2 <= len(widths) <= MAX_LAYERS or max(widths) > MAX_UNITS:
        raise LayerkitValueError(
            f"layers must list 2 to {MAX_LAYERS} widths of 1 to {MAX_UNITS} units (an exercise "
            f"is worked by hand); received layers={tuple(widths)}"
        )
    return widths
