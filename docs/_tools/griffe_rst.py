"""A griffe extension: render layerkit's reStructuredText docstring idioms as Markdown.

layerkit's docstrings are numpydoc, written for readers of the source and for Sphinx: they
use ``.. math::`` directives, RST "simple tables" bordered by ``=====`` lines, and roles
such as ``:func:`gradcheck```. mkdocstrings renders docstrings as Markdown, where these
come out as raw text (a simple table collapses into one paragraph). This extension, loaded
by ``mkdocs.yml``, rewrites the docstrings at load time, leaving the source untouched:

* ``.. math:: ...`` (with its indented continuation lines) becomes a ``$$ ... $$`` block,
  typeset by MathJax like the equations of the other pages;
* a simple table becomes a Markdown table (a row whose first cell is empty continues the
  row above it; a table without a header row gets an empty one);
* ``:role:`target``` becomes ```target``` (``~package.Name`` becomes ``Name``), and the
  ``::`` that introduces a literal block becomes ``:``;
* the continuation lines of a ``*`` list item, indented 2 spaces in RST, get the 4 spaces
  Markdown needs to keep a following block inside the item.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

BORDER = re.compile(r"^(\s*)(=+)((?: +=+)+)\s*$")
ROLE = re.compile(r":(?:meth|func|class|mod|attr|data|exc|obj):`~?([^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match.group(1)
    whole = match.group(0)
    return f"`{target.rsplit('.', 1)[-1] if ':`~' in whole else target}`"


def _cells(line: str, starts: list[int]) -> list[str]:
    """Split a table row at its column starts, moving a cut word to the column it began in."""
    parts = re.split(r"\s{2,}", line.strip())
    if len(parts) == len(starts):
        return parts
    cells = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(line)
        cells.append(line[start:end].strip())
    return cells


def _table_extent(lines: list[str], start: int) -> tuple[int, bool] | None:
    """End (exclusive) of the simple table whose top border is ``lines[start]``, and
    whether it has a header row (border, header, border, rows, border) or not (border,
    rows, border)."""
    borders = [
        j
        for j in range(start + 1, len(lines))
        if BORDER.match(lines[j]) and lines[j].strip() == lines[start].strip()
    ]
    if not borders:
        return None
    if borders[0] == start + 2 and len(borders) > 1:
        between = lines[borders[0] + 1 : borders[1]]
        if all(line.strip() for line in between):
            return borders[1] + 1, True
    return borders[0] + 1, False


def _table(lines: list[str], *, header: bool) -> list[str]:
    """A simple table as Markdown lines (an empty header row when it has none)."""
    border = lines[0]
    starts = [m.start() for m in re.finditer(r"=+", border)]
    body = [line for line in lines[1:] if not BORDER.match(line)]
    rows: list[list[str]] = []
    for line in body:
        if not line.strip():
            continue
        if rows and not line[: starts[1]].strip():  # continues the row above
            cells = [
                line[a:b].strip() for a, b in zip(starts, [*starts[1:], len(line)], strict=True)
            ]
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=False)]
        else:
            rows.append(_cells(line, starts))
    rows = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    if not header:
        rows.insert(0, [" "] * len(starts))
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(starts)]
    out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return ["", *out, ""]


def _indent_lists(lines: list[str]) -> list[str]:
    """Indent the continuation blocks of ``*`` items from RST's 2 spaces to Markdown's 4.

    RST continues a list item at the column of its text; Markdown needs 4 spaces for a
    block (a second paragraph, an equation) to stay inside the item.
    """
    out: list[str] = []
    item: int | None = None  # indentation of the current item's bullet
    loose = False  # the list has blank lines inside items: separate its items by blanks
    for j, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        bullet = re.match(r"^(\s*)[*-] ", line)
        if bullet:
            if loose and out and out[-1].strip():
                out.append("")
            item = len(bullet.group(1))
            out.append(line)
        elif item is not None and not line.strip():
            following = next((x for x in lines[j + 1 :] if x.strip()), "")
            if len(following) - len(following.lstrip()) < item + 2:
                item = None
                loose = loose and bool(re.match(r"^\s*[*-] ", following))
            else:
                loose = True
            out.append(line)
        elif item is not None and indent >= item + 2:
            out.append(" " * (item + 4) + line[item + 2 :])
        else:
            item, loose = None, False
            out.append(line)
    return out


def convert(text: str) -> str:
    """The Markdown form of one docstring."""
    lines = _indent_lists(text.splitlines())
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        math = re.match(r"^(\s*)\.\. math::\s*(.*)$", line)
        if math:
            indent = len(math.group(1))
            parts = [math.group(2).strip()]
            i += 1
            while i < len(lines) and (
                not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
            ):
                if lines[i].strip():
                    parts.append(lines[i].strip())
                i += 1
            pad = " " * indent
            out += ["", f"{pad}$$", *(pad + p for p in parts if p), f"{pad}$$", ""]
            continue
        if BORDER.match(line):
            table = _table_extent(lines, i)
            if table is not None:
                out += _table(lines[i : table[0]], header=table[1])
                i = table[0]
                continue
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            # "text::" introduces an indented literal block, already a Markdown code block
            line = line.rstrip()[:-1] if line.strip() != "::" else ""
        out.append(ROLE.sub(_role, line))
        i += 1
    return "\n".join(out)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring of the loaded objects (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
