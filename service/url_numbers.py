"""Whole numbers in URLs: query strings (``?page=2``, ``?announcement=7``) and paths.

``str.isdigit`` is not the test for a query string: it accepts "²", which ``int`` refuses.
Nor is "any number": one past what an integer column holds makes the database raise (SQLite's
OverflowError, PostgreSQL's "out of range"). Both were 500s; here both are "no such thing".
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

# PostgreSQL's integer: no id or revision number is larger, and no page of a list can be.
MAX_INT = 2**31 - 1


def positive_int(value: str | None, default: int | None = None,
                 maximum: int = MAX_INT) -> int | None:
    """``value`` as a number from 1 to ``maximum``; ``default`` when it is absent (None).

    Only ASCII digits count, with no sign or spaces. Anything else ("", "0", "-1", "x", "²",
    "٣", more than ``maximum``) is None, which callers answer with a 404: the page or row it
    names does not exist.
    """
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(maximum)):
        return None
    number = int(value)
    return number if 1 <= number <= maximum else None


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in every route, at most ``MAX_INT``; a larger number is a 404 (NotFound).

    Not werkzeug's ``max``: a number past it fails only the rule that matched first, and the
    router then goes on to the other rules of the same path. ``PATCH /announcements/2147483648``
    thus found the GET rule for that path, and answered 405 (GET allowed) instead of 404. The
    number names no row whatever the method, so the answer is NotFound, raised out of the
    router (Flask records it as the routing exception: problem+json under ``/api/``). A method
    the path does not support is still a 405: that rule never gets here.
    Registered by the app factory in place of werkzeug's ``int``.
    """

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > MAX_INT:
            raise NotFound()
        return number
