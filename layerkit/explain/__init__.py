"""Show the working: worked examples of forward and backward propagation, for teaching.

:func:`explain` computes every number of one forward and backward pass of a network (a
:class:`Trace`), which prints as plain text and renders as Markdown with LaTeX or JSON, in
the documents' notation or layerkit's. :func:`exercise_sheet` turns a seeded random small
network into a question sheet and its answer sheet.
"""

from ._exercise import ExerciseSheet, exercise_sheet
from ._trace import LayerTrace, Trace, explain

__all__ = ["ExerciseSheet", "LayerTrace", "Trace", "exercise_sheet", "explain"]
