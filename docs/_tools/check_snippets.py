"""Check the code in the documentation: run the examples, compare their output, verify quotes.

    python docs/_tools/check_snippets.py            # check every page of docs/
    python docs/_tools/check_snippets.py --update   # rewrite the output blocks from real runs
    python docs/_tools/check_snippets.py maths.md   # one page

Conventions of the pages in ``docs/``:

* A ```` ```python ```` block is an example: it runs. The blocks of one page run in order in
  one namespace, like the cells of a notebook, in a fresh temporary working directory.
* A ```` ```text ```` block right after an example (blank lines between allowed) is that
  example's printed output and must match it: the text exactly (trailing spaces ignored),
  numbers to a relative 1e-6, numbers below 1e-6 (rounding noise) only in being so small.
* A ```` ```py ```` block quotes layerkit's source. Its first line names the file, as in
  ``# layerkit/layers/dense.py, Dense.forward``; every other line except ``...`` and lines
  starting ``# ...`` must occur, stripped, as a line of that file. Quotes therefore cannot
  drift away from the code they explain.

Exit status 0 when everything matches; 1 otherwise, with a report of each difference.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import re
import subprocess
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent
ROOT = DOCS.parent
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def blocks(text: str) -> list[tuple[str, str, int, int]]:
    """``(language, body, start, end)`` of every fenced block, in order."""
    return [(m.group(1), m.group(2), m.start(2), m.end(2)) for m in FENCE.finditer(text)]


def run_example(code: str, namespace: dict) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("default")
        try:
            exec(compile(code, "<docs>", "exec"), namespace)
        except Exception:
            traceback.print_exc(file=out)
    return out.getvalue()


NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def same_output(expected: str, actual: str) -> bool:
    """Equal text, numbers equal to 1e-6 relative (or both below 1e-6: rounding noise).

    Gradient-check errors and last digits of float64 sums depend on the CPU's BLAS; the
    text around them and every other number must match exactly.
    """
    a = [line.rstrip() for line in expected.rstrip().splitlines()]
    b = [line.rstrip() for line in actual.rstrip().splitlines()]
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if NUMBER.sub("#", x) != NUMBER.sub("#", y):
            return False
        for u, v in zip(NUMBER.findall(x), NUMBER.findall(y), strict=True):
            if u == v:
                continue
            p, q = float(u), float(v)
            if not (abs(p - q) <= 1e-6 * max(abs(p), abs(q)) or max(abs(p), abs(q)) < 1e-6):
                return False
    return True


def check_quote(body: str, page: str) -> list[str]:
    lines = body.splitlines()
    match = re.match(r"#\s*(layerkit/[\w/.]+\.py)", lines[0]) if lines else None
    if match is None:
        return [f"{page}: quoted block does not start with '# layerkit/<file>.py': {lines[:1]}"]
    source = ROOT / match.group(1)
    if not source.is_file():
        return [f"{page}: quoted file {match.group(1)} does not exist"]
    known = {line.strip() for line in source.read_text().splitlines()}
    problems = []
    for line in lines[1:]:
        stripped = line.strip()
        if not stripped or stripped == "..." or stripped.startswith("# ..."):
            continue
        if stripped not in known:
            problems.append(f"{page}: line not found in {match.group(1)}: {stripped!r}")
    return problems


def check_page(path: Path, update: bool) -> list[str]:
    text = path.read_text()
    found = blocks(text)
    problems: list[str] = []
    replacements: list[tuple[int, int, str]] = []
    namespace: dict = {"__name__": "__docs__"}
    last_output: str | None = None
    last_end = -1
    for language, body, start, end in found:
        if language == "python":
            last_output, last_end = run_example(body, namespace), end
            if "Traceback (most recent call last)" in last_output:
                problems.append(f"{path.name}: example raised:\n{body}\n{last_output}")
        elif language == "text" and last_output is not None:
            between = text[last_end:start]
            if re.fullmatch(r"\s*```\s*```text[^\n]*\n", between) is None:
                continue  # a text block not right after an example
            if not same_output(body, last_output):
                if update:
                    replacements.append((start, end, last_output))
                else:
                    diff = "\n".join(
                        difflib.unified_diff(
                            body.splitlines(),
                            last_output.splitlines(),
                            "docs",
                            "actual",
                            lineterm="",
                        )
                    )
                    problems.append(f"{path.name}: output differs:\n{diff}")
            last_output = None
        elif language == "py":
            problems.extend(check_quote(body, path.name))
    if replacements:
        for start, end, output in reversed(replacements):
            if not output.endswith("\n"):
                output += "\n"
            text = text[:start] + output + text[end:]
        path.write_text(text)
        print(f"updated {len(replacements)} output block(s) in {path.name}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="pages of docs/ to check (default: all)")
    parser.add_argument("--update", action="store_true", help="rewrite output blocks")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pages = [DOCS / p for p in args.pages] or sorted(DOCS.rglob("*.md"))
    if not args.in_process:
        # Every page in a fresh interpreter, as a reader would run it (layer names count
        # from 1, nothing registered by another page).
        failed = 0
        for page in pages:
            command = [sys.executable, __file__, "--in-process", str(page)]
            if args.update:
                command.append("--update")
            failed += subprocess.run(command, check=False).returncode != 0
        print(f"{len(pages)} page(s) checked, {failed} with problems")
        return 1 if failed else 0
    sys.path.insert(0, str(ROOT))
    problems: list[str] = []
    cwd = Path.cwd()
    for page in pages:
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            try:
                problems.extend(check_page(page, args.update))
            finally:
                os.chdir(cwd)
    for problem in problems:
        print(problem, end="\n\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
