"""Print README's two quick-start commands, one a line: the first two lines of its first
``bash`` block. CI runs exactly these, so README cannot promise what CI does not test."""

from __future__ import annotations

import re
import sys
from pathlib import Path


def readme_commands(readme: Path) -> list[str]:
    """The first two lines of the first ```bash block, comments after ``#`` kept."""
    match = re.search(r"^```bash\n(.*?)^```", readme.read_text(encoding="utf-8"), re.M | re.S)
    if match is None:
        raise SystemExit(f"{readme}: no ```bash block")
    lines = [line for line in match.group(1).splitlines() if line.strip()]
    if len(lines) < 2:
        raise SystemExit(f"{readme}: the first ```bash block has fewer than two commands")
    return lines[:2]


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    index = int(sys.argv[1]) if len(sys.argv) > 1 else None
    commands = readme_commands(root / "README.md")
    print("\n".join(commands) if index is None else commands[index])
