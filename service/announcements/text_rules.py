"""What an announcement's text may hold: one set of rules for the API, the editor and imports.

Titles go into page headings, feed titles and email subjects, so they are one line without
control characters and without the Unicode bidirectional overrides and isolates (U+202A-U+202E,
U+2066-U+2069): an unmatched RIGHT-TO-LEFT OVERRIDE would reverse the text shown after it, in an
inbox's subject list as on a page (Arabic titles need none of these: the bidirectional
algorithm orders them by itself). Summaries and bodies may hold tabs and newlines, nothing
else below U+0020; NUL, which PostgreSQL cannot store, is refused everywhere.
"""

from __future__ import annotations

import re

TITLE_MAX = 300
SUMMARY_MAX = 1000
REASON_MAX = 500  # why an announcement was retracted: one line, ruled like a title
BODY_MAX = 200_000
SLUG_MAX = 200
TERM_MAX = 64  # one tag or partner slug
MAX_TERMS = 20  # tags, and partners, per announcement
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$"
LANGUAGE_MAX = 35

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # all but tab, LF, CR
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029\ud800-\udfff]")
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")

TITLE_RULE = "one line, without control characters or bidirectional overrides (U+202A-U+202E, " \
             "U+2066-U+2069)"
TEXT_RULE = "no control characters other than tab and newlines"


def title_problem(value: str) -> str | None:
    """Why ``value`` cannot be a title, or None when it can (length is checked by the caller)."""
    if _CONTROL_OR_NEWLINE.search(value):
        return "must be a single line without control characters"
    if _BIDI_CONTROLS.search(value):
        return "must not contain bidirectional override or isolate characters (U+202A-U+202E, " \
               "U+2066-U+2069)"
    return None


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be a summary or body, or None when it can."""
    if _CONTROL.search(value):
        return "must not contain control characters (tab and newlines are fine)"
    return None
