"""Snippets and titles with matched words highlighted, as safe HTML.

Backends put ``START`` and ``STOP`` (private-use characters, which no announcement needs)
around matched words; everything else is text. ``to_html`` escapes the text and turns the
markers into ``<mark>``, balanced whatever the input holds, so the highlight is the only markup
a page gets from a search.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

START = "\ue000"
STOP = "\ue001"
_MARKDOWN_LINK = re.compile(r"\]\([^)\s]*\)")  # [text](url) -> [text]
_MARKDOWN_SIGNS = re.compile(r"(^|\s)[#>|]+\s|[*_`\[\]|]+")
_SPACES = re.compile(r"\s+")


def plain(text: str) -> str:
    """Markdown source made readable in one line: no link targets, emphasis or heading signs."""
    text = _MARKDOWN_LINK.sub("]", text)
    text = _MARKDOWN_SIGNS.sub(lambda m: m.group(1) or "", text)
    return _SPACES.sub(" ", text).strip()


def has_match(text: str) -> bool:
    return START in text


def to_html(text: str) -> Markup:
    """Escaped text with ``<mark>`` for each marked part; stray markers are dropped."""
    out: list[str] = []
    open_ = False
    for part in re.split(f"([{START}{STOP}])", text):
        if part == START:
            if not open_:
                out.append("<mark>")
                open_ = True
        elif part == STOP:
            if open_:
                out.append("</mark>")
                open_ = False
        else:
            out.append(str(escape(part)))
    if open_:
        out.append("</mark>")
    return Markup("".join(out))  # noqa: S704 (every part above was escaped; marks are ours)
