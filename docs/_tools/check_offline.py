"""Check that a built documentation site loads nothing from another host.

    python docs/_tools/check_offline.py SITE_DIR

Every ``<script src>``, ``<link href>`` (stylesheets, preloads, icons), ``<iframe src>``,
``<img src>`` and ``<source src>`` of every HTML page, and every ``url(...)`` and
``@import`` of every stylesheet, must be a relative or same-site path: a page read on a
machine with no network (a classroom, an air-gapped lab) then looks as it does online,
formulas included. Plain ``<a href>`` links to other sites are fine: they load nothing.

Exit status 0 when the site is self-contained; 1 with one line per offending reference.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

# A reference that leaves the site: a scheme (http:, https:, ftp:, ...) or protocol-relative.
_EXTERNAL = re.compile(r"^\s*([a-z][a-z0-9+.-]*:|//)", re.I)
_ALLOWED_SCHEMES = ("data:", "blob:")
# Attributes that make the browser fetch something, per tag.
_FETCHING = {
    "script": ("src",),
    "link": ("href",),
    "iframe": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "embed": ("src",),
    "object": ("data",),
}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.I)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def is_external(url: str) -> bool:
    """Whether fetching ``url`` from a page would contact another host."""
    url = url.strip()
    return bool(_EXTERNAL.match(url)) and not url.lower().startswith(_ALLOWED_SCHEMES)


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in _FETCHING.get(tag, ()):
                self.found.append((tag, value))


def external_references(site: Path) -> list[str]:
    """One ``file: tag url`` line per reference to another host, over the whole site."""
    problems: list[str] = []
    for page in sorted(site.rglob("*.html")):
        parser = _References()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        for tag, value in parser.found:
            urls = [part.split()[0] for part in value.split(",") if part.strip()]
            problems += [f"{page.relative_to(site)}: <{tag}> {u}" for u in urls if is_external(u)]
    for sheet in sorted(site.rglob("*.css")):
        text = _CSS_COMMENT.sub("", sheet.read_text(encoding="utf-8", errors="replace"))
        for match in _CSS_URL.finditer(text):
            url = match.group(1) or match.group(2)
            if is_external(url):
                problems.append(f"{sheet.relative_to(site)}: url {url}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python docs/_tools/check_offline.py SITE_DIR", file=sys.stderr)
        return 2
    site = Path(argv[0])
    if not any(site.rglob("*.html")):
        print(f"{site}: no HTML pages; build the site first", file=sys.stderr)
        return 1
    problems = external_references(site)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} reference(s) to other hosts: the site would not work offline")
        return 1
    print(f"{site}: self-contained (no script, stylesheet or image from another host)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
