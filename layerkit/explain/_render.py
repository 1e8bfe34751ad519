"""Renderers of a worked example's layout: plain text, Markdown with LaTeX, HTML.

Each format spells the formula templates of :mod:`._layout` (``δ(3)`` in text,
``\\delta^{(3)}`` in LaTeX) and writes arrays its own way: aligned bracketed rows in text,
``bmatrix`` in LaTeX. Computed numbers may be left blank (exercise questions).
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

from ._layout import Arr, Block, Item, Num, Prose, layout, select
from ._trace import Trace

__all__ = ["format_number", "render_html", "render_markdown", "render_sheet", "render_text"]


# ---------------------------------------------------------------------------- symbols
_TEXT_SYMBOLS = {
    "a": "a({})",
    "aT": "a({})ᵀ",
    "z": "z({})",
    "W": "W({})",
    "WT": "W({})ᵀ",
    "b": "b({})",
    "delta": "δ({})",
    "lam": "λ({})",
    "fp": "f'(z({}))",
    "dcda": "∂c/∂a({})",
    "dJdW": "∂J/∂W({})",
    "dJdb": "∂J/∂b({})",
    "fn": "{}",
    "layerfn": "{}",
    "lossfn": "{}",
}
_TEXT_PLAIN = {
    "odot": "⊙",
    "cdot": "·",
    "sq": "²",
    "sum_i": "Σ_i",
    "sum_j": "Σ_j",
    "frac1m": "(1/m)",
    "frac1k": "(1/k)",
    "frac2k": "(2/k)",
    "lambda": "λ",
    "eta": "η",
    "larrow": "←",
    "log": "log",
    "cos": "cos",
    "if": "if",
    "else": "else",
    "alpha": "\u03b1",  # alpha
    "sigma": "\u03c3",  # sigma
    "sqrt2": "\u221a2",
    "dc": "∂c",
    "dd": "∂",
    "penalty": "Σ_l (λ_l/2) ‖W(l)‖²",
}
_LATEX_SYMBOLS = {
    "a": "a^{{({})}}",
    "aT": "(a^{{({})}})^\\top",
    "z": "z^{{({})}}",
    "W": "W^{{({})}}",
    "WT": "(W^{{({})}})^\\top",
    "b": "b^{{({})}}",
    "delta": "\\delta^{{({})}}",
    "lam": "\\lambda^{{({})}}",
    "fp": "f'(z^{{({})}})",
    "dcda": "\\frac{{\\partial c}}{{\\partial a^{{({})}}}}",
    "dJdW": "\\frac{{\\partial J}}{{\\partial W^{{({})}}}}",
    "dJdb": "\\frac{{\\partial J}}{{\\partial b^{{({})}}}}",
    "fn": "\\operatorname{{{}}}",
    "layerfn": "\\operatorname{{{}}}",
    "lossfn": "\\operatorname{{{}}}",
}
_LATEX_PLAIN = {
    "odot": "\\odot",
    "cdot": "\\cdot",
    "sq": "^2",
    "sum_i": "\\sum_i",
    "sum_j": "\\sum_j",
    "frac1m": "\\frac{1}{m}",
    "frac1k": "\\frac{1}{k}",
    "frac2k": "\\frac{2}{k}",
    "lambda": "\\lambda",
    "eta": "\\eta",
    "larrow": "\\leftarrow",
    "log": "\\log",
    "cos": "\\cos",
    "if": "\\text{ if }",
    "else": "\\text{ else }",
    "alpha": "\\alpha",
    "sigma": "\\sigma",
    "sqrt2": "\\sqrt{2}",
    "dc": "\\partial c",
    "dd": "\\partial ",
    "penalty": "\\sum_l \\frac{\\lambda_l}{2} \\lVert W^{(l)} \\rVert^2",
}
_PLACEHOLDER = re.compile(r"<(\w+)(?::([^<>]*))?>")


def _spell(template: str, latex: bool) -> str:
    symbols = _LATEX_SYMBOLS if latex else _TEXT_SYMBOLS
    plain = _LATEX_PLAIN if latex else _TEXT_PLAIN

    def one(match: re.Match[str]) -> str:
        key, arg = match.group(1), match.group(2)
        if arg is None:
            if key in plain:
                return plain[key]
            return match.group(0)
        args = arg.split(",")
        if key == "zj":
            return f"z^{{({args[0]})}}_{{{args[1]}}}" if latex else f"z({args[0]})_{args[1]}"
        if key == "p":
            name = _latex_name(args[1]) if latex else args[1]
            return f"{name}^{{({args[0]})}}" if latex else f"{name}({args[0]})"
        if key == "dJdp":
            if latex:
                return f"\\frac{{\\partial J}}{{\\partial {_latex_name(args[1])}^{{({args[0]})}}}}"
            return f"∂J/∂{args[1]}({args[0]})"
        if key in ("fn", "layerfn", "lossfn") and latex:
            return symbols[key].format(args[0].replace("_", "\\_"))
        return symbols[key].format(args[0])

    return _PLACEHOLDER.sub(one, template)


def _latex_name(name: str) -> str:
    escaped = name.replace("_", "\\_")
    return name if len(name) == 1 else "\\mathrm{" + escaped + "}"


# ---------------------------------------------------------------------------- numbers
def format_number(value: float, precision: int) -> str:
    """``precision`` decimals; scientific notation for tiny or huge magnitudes."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e7 or abs(value) < 0.5 * 10.0**-precision):
        return f"{value:.{max(precision - 1, 1)}e}"
    text = f"{value:.{precision}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def _blank(precision: int) -> str:
    return "_" * max(precision + 2, 4)


# ---------------------------------------------------------------------------- text
def _text_item(item: Item, precision: int, blank: bool) -> list[str]:
    if isinstance(item, str):
        return [_spell(item, latex=False)]
    if isinstance(item, Prose):
        return [item.text]
    if isinstance(item, Num):
        if blank and item.computed:
            return [_blank(precision)]
        text = format_number(item.value, precision)
        return [f"({text})" if item.paren and text.startswith("-") else text]
    values = item.values
    if blank and item.computed:
        cells = [[_blank(precision)] * values.shape[1] for _ in range(values.shape[0])]
    else:
        cells = [[format_number(v, precision) for v in row] for row in values]
    widths = [max(len(row[j]) for row in cells) for j in range(values.shape[1])]
    return [
        "[ " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " ]"
        for row in cells
    ]


def _hconcat(pieces: list[list[str]]) -> list[str]:
    """Side by side, each piece centred vertically on the tallest."""
    height = max(len(p) for p in pieces)
    lines = [""] * height
    for piece in pieces:
        width = max(len(s) for s in piece)
        top = (height - len(piece)) // 2
        for r in range(height):
            inner = r - top
            lines[r] += piece[inner].ljust(width) if 0 <= inner < len(piece) else " " * width
    return [line.rstrip() for line in lines]


def _text_blocks(blocks: list[Block], precision: int, blank: bool, numbered: bool) -> str:
    out: list[str] = []
    number = 0
    for block in blocks:
        if block.kind == "title":
            text = block.parts[0][0].text  # type: ignore[union-attr]
            out += [text, "=" * len(text)]
        elif block.kind == "heading":
            text = block.parts[0][0].text  # type: ignore[union-attr]
            out += ["", text, "-" * len(text)]
        elif block.kind == "sub":
            out.append(block.parts[0][0].text)  # type: ignore[union-attr]
        elif block.kind == "para":
            out.append("".join(_text_item(i, precision, blank)[0] for i in block.parts[0]))
        else:
            pieces: list[list[str]] = []
            for k, part in enumerate(block.parts):
                if k:
                    pieces.append([" = "])
                pieces.append(_hconcat([_text_item(i, precision, blank) for i in part]))
            prefix = "  "
            if numbered and _has_computed(block):
                number += 1
                prefix = f"({number}) "
            lines = _hconcat(pieces)
            out += [prefix + lines[0]] + [" " * len(prefix) + line for line in lines[1:]]
    return "\n".join(out) + "\n"


def _has_computed(block: Block) -> bool:
    return any(isinstance(i, Arr | Num) and i.computed for part in block.parts for i in part)


def render_text(trace: Trace, notation: str, precision: int, *, sections: Any = None) -> str:
    """Plain text of a worked example."""
    blocks = select(layout(trace, notation), sections)
    text = _text_blocks(blocks, precision, blank=False, numbered=False)
    return text.lstrip("\n")


# ---------------------------------------------------------------------------- LaTeX
def _latex_item(item: Item, precision: int, blank: bool) -> str:
    if isinstance(item, str):
        return _spell(item, latex=True)
    if isinstance(item, Prose):
        return f"\\text{{{item.text}}}"
    if isinstance(item, Num):
        if blank and item.computed:
            return _latex_blank(precision)
        text = format_number(item.value, precision)
        return f"({text})" if item.paren and text.startswith("-") else text
    values = item.values
    if blank and item.computed:
        rows = [" & ".join([_latex_blank(precision)] * values.shape[1]) for _ in values]
    else:
        rows = [" & ".join(format_number(v, precision) for v in row) for row in values]
    return "\\begin{bmatrix} " + " \\\\ ".join(rows) + " \\end{bmatrix}"


def _latex_blank(precision: int) -> str:
    return "\\underline{\\hphantom{" + "0" * (precision + 2) + "}}"


def _markdown_blocks(
    blocks: list[Block], precision: int, blank: bool, numbered: bool, heading_level: int = 2
) -> list[tuple[str, str]]:
    """``(kind, markdown)`` pairs: the Markdown of each block, tagged for HTML."""
    out: list[tuple[str, str]] = []
    number = 0
    for block in blocks:
        if block.kind in ("title", "heading"):
            text = block.parts[0][0].text  # type: ignore[union-attr]
            level = heading_level if block.kind == "title" else heading_level + 1
            out.append((f"h{level}", text))
        elif block.kind == "sub":
            out.append(("sub", block.parts[0][0].text))  # type: ignore[union-attr]
        elif block.kind == "para":
            pieces = []
            for item in block.parts[0]:
                if isinstance(item, Prose):
                    pieces.append(item.text)
                else:
                    pieces.append(f"${_latex_item(item, precision, blank)}$")
            out.append(("p", "".join(pieces)))
        else:
            body = " = ".join(
                "".join(_latex_item(i, precision, blank) for i in part) for part in block.parts
            )
            if numbered and _has_computed(block):
                number += 1
                body += f" \\tag{{{number}}}"
            out.append(("math", body))
    return out


def render_markdown(
    trace: Trace,
    notation: str,
    precision: int,
    *,
    title: str | None = None,
    sections: Any = None,
) -> str:
    """Markdown with LaTeX of a worked example."""
    blocks = select(layout(trace, notation, title=title), sections)
    return _join_markdown(_markdown_blocks(blocks, precision, False, False))


def _join_markdown(pairs: list[tuple[str, str]]) -> str:
    lines = []
    for kind, text in pairs:
        if kind.startswith("h"):
            lines.append("#" * int(kind[1:]) + " " + text)
        elif kind == "sub":
            lines.append(f"**{text}**")
        elif kind == "p":
            lines.append(text)
        else:
            lines.append("$$\n" + text + "\n$$")
    return "\n\n".join(lines) + "\n"


def _join_html(pairs: list[tuple[str, str]]) -> str:
    parts = ['<div class="layerkit-trace">']
    for kind, text in pairs:
        if kind.startswith("h"):
            parts.append(f"<{kind}>{html.escape(text)}</{kind}>")
        elif kind == "sub":
            parts.append(f"<p><strong>{html.escape(text)}</strong></p>")
        elif kind == "p":
            parts.append(f"<p>{html.escape(text)}</p>")
        else:
            parts.append(f"<div>$${html.escape(text)}$$</div>")
    parts.append("</div>")
    return "\n".join(parts) + "\n"


def render_html(trace: Trace, notation: str, precision: int, *, sections: Any = None) -> str:
    """HTML of the Markdown rendering; notebooks typeset its ``$$`` equations with MathJax."""
    blocks = select(layout(trace, notation), sections)
    return _join_html(_markdown_blocks(blocks, precision, False, False))


# ---------------------------------------------------------------------------- sheets
def render_sheet(
    trace: Trace, notation: str, precision: int, *, title: str, answers: bool, fmt: str
) -> str:
    """A question sheet (computed numbers blank) or its answer sheet, equations numbered."""
    blocks = layout(trace, notation, title=title)
    if fmt == "text":
        return _text_blocks(blocks, precision, blank=not answers, numbered=True)
    return _join_markdown(_markdown_blocks(blocks, precision, not answers, True))
