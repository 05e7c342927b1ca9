"""Two revisions of one field side by side, with the changed words marked on each side.

Editors compare revisions to see what a colleague changed in a press release: a date, a figure,
a partner's name. A line diff marks the whole paragraph (Markdown paragraphs are long lines), so
lines are first aligned (``difflib`` on lines), then each pair of changed lines is compared word
by word. Long runs of unchanged lines fold into one row that says how many were left out.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["same", "del", "add"]
CONTEXT = 2  # unchanged lines kept around a change; the rest fold into one row
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Side:
    """One side of a row: its line number (None: no line on this side) and its segments."""

    number: int | None
    segments: tuple[tuple[Kind, str], ...] = ()


@dataclass(frozen=True)
class Row:
    """A line of the comparison; ``folded`` > 0 stands for that many unchanged lines."""

    old: Side
    new: Side
    changed: bool
    folded: int = 0


def lines_of(value: Any) -> list[str]:
    """A field's value as lines: text split at line ends, a list of slugs one per line."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return str(value).splitlines()


def words(old: str, new: str) -> tuple[tuple[tuple[Kind, str], ...], tuple[tuple[Kind, str], ...]]:
    """Both lines as segments: what they share, and what only one of them has."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    left: list[tuple[Kind, str]] = []
    right: list[tuple[Kind, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            left.append(("same", "".join(a[i1:i2])))
            right.append(("same", "".join(b[j1:j2])))
            continue
        if i2 > i1:
            left.append(("del", "".join(a[i1:i2])))
        if j2 > j1:
            right.append(("add", "".join(b[j1:j2])))
    return _merged(left), _merged(right)


def _merged(segments: list[tuple[Kind, str]]) -> tuple[tuple[Kind, str], ...]:
    out: list[tuple[Kind, str]] = []
    for kind, text in segments:
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))
    return tuple(out)


def side_by_side(before: Any, after: Any) -> list[Row]:
    """The rows comparing ``before`` with ``after`` (text or lists), unchanged runs folded."""
    a, b = lines_of(before), lines_of(after)
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(Row(Side(i + 1, (("same", a[i]),)), Side(j + 1, (("same", b[j]),)), False)
                        for i, j in zip(range(i1, i2), range(j1, j2), strict=True))
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(pairs):
            left, right = words(a[i1 + k], b[j1 + k])
            rows.append(Row(Side(i1 + k + 1, left), Side(j1 + k + 1, right), True))
        for i in range(i1 + pairs, i2):
            rows.append(Row(Side(i + 1, (("del", a[i]),)), Side(None), True))
        for j in range(j1 + pairs, j2):
            rows.append(Row(Side(None), Side(j + 1, (("add", b[j]),)), True))
    return _folded(rows)


def _folded(rows: Sequence[Row]) -> list[Row]:
    """Keep ``CONTEXT`` unchanged rows beside each change; fold the rest of each run."""
    near = {k for k, row in enumerate(rows) if row.changed}
    keep = {k for c in near for k in range(c - CONTEXT, c + CONTEXT + 1)}
    out: list[Row] = []
    run = 0
    for k, row in enumerate(rows):
        if k in keep or row.changed:
            if run:
                out.append(Row(Side(None), Side(None), False, folded=run))
                run = 0
            out.append(row)
        else:
            run += 1
    if run:
        out.append(Row(Side(None), Side(None), False, folded=run))
    return out
