"""HTML tables for notebooks: what ``Network._repr_html_`` and ``History._repr_html_`` show.

A leaf module (it imports nothing from layerkit), so the network and the history can both
render themselves without importing each other. It reads only public attributes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

__all__ = ["history_html", "network_html", "table_html"]

# A long run is shown by its first and last epochs, so a notebook cell stays short.
_HEAD_ROWS, _TAIL_ROWS = 5, 10


def table_html(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str = "",
    footer: Sequence[str] = (),
    align_right: Sequence[int] = (),
) -> str:
    """An HTML table; every cell is escaped. ``align_right`` lists numeric columns."""

    def cell(tag: str, i: int, value: Any) -> str:
        style = ' style="text-align:right"' if i in align_right else ' style="text-align:left"'
        return f"<{tag}{style}>{html.escape(str(value))}</{tag}>"

    parts = ["<div>"]
    if title:
        parts.append(f"<strong>{html.escape(title)}</strong>")
    parts.append("<table>")
    parts.append("<tr>" + "".join(cell("th", i, h) for i, h in enumerate(headers)) + "</tr>")
    for row in rows:
        parts.append("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>")
    parts.append("</table>")
    parts.extend(f"<div>{html.escape(line)}</div>" for line in footer)
    parts.append("</div>")
    return "\n".join(parts)


def network_rows(net: Any) -> list[tuple[str, str, str]]:
    """``(layer (type), output shape, params)`` per layer, as :meth:`Network.summary` lists."""
    rows = []
    for layer in net.layers:
        kind = type(layer).__name__
        activation = getattr(getattr(layer, "activation", None), "name", None)
        if activation not in (None, "identity"):
            kind += f", {activation}"
        if not layer.trainable:
            kind += ", frozen"
        count = f"{layer.n_params:,}"
        if layer.n_state:
            count += f" + {layer.n_state:,}"
        rows.append((f"{layer.name} ({kind})", str((None, *layer.output_shape)), count))
    return rows


def network_html(net: Any) -> str:
    """The summary table of a network as HTML."""
    frozen = net.n_params - net.n_trainable_params
    fused = " (fused output error a - y)" if net.fused_output_error else ""
    penalty = f", penalty={net.penalty:g}" if net.penalty else ""
    return table_html(
        ("Layer (type)", "Output shape", "Params"),
        network_rows(net),
        title=f'Network "{net.name}"',
        footer=(
            f"Total params: {net.n_params + net.n_state:,}",
            f"Trainable params: {net.n_trainable_params:,}",
            f"Non-trainable params: {frozen + net.n_state:,}",
            f"Loss: {net.loss_fn.name}{fused}{penalty}; dtype: {net.dtype}; seed: {net.seed}",
        ),
        align_right=(2,),
    )


def history_html(history: Any) -> str:
    """One row per epoch (the first and last ones of a long run) and how the run ended."""
    columns = [("epoch", history.epochs)]
    for name, values in history.history.items():
        columns.append((name, values))
    n = len(history.epochs)
    keep = list(range(n))
    if n > _HEAD_ROWS + _TAIL_ROWS + 1:
        keep = [*range(_HEAD_ROWS), -1, *range(n - _TAIL_ROWS, n)]
    rows = []
    for i in keep:
        if i < 0:
            rows.append(["..."] * len(columns))
            continue
        row = []
        for name, values in columns:
            value = values[i] if i < len(values) else ""
            row.append(value if name == "epoch" or value == "" else f"{value:.4g}")
        if history.best_epoch == history.epochs[i]:
            row[0] = f"{row[0]} (best)"
        rows.append(row)
    footer = [history.message] if history.message else []
    return table_html(
        [name for name, _ in columns],
        rows,
        title=f"History: {n} epoch{'s' if n != 1 else ''}",
        footer=footer,
        align_right=tuple(range(len(columns))),
    )
