"""Field errors in RFC 9457 problem details: pydantic's, and those it cannot see alone.

Each becomes ``{"pointer": "#/tags/2", "detail": ...}`` (a JSON Pointer into the body) or
``{"parameter": "page", "detail": ...}`` (a query parameter), worded for the API's users.
"""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from service.api.schemas import PATTERN_WORDS, READ_ONLY


class InvalidFields(Exception):
    """Field errors that pydantic could not see alone (they depend on time or state)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def pointer(*path: str | int) -> str:
    """A JSON Pointer in URI fragment form, RFC 6901: ``("tags", 2)`` -> ``"#/tags/2"``."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "#" + "".join("/" + p for p in escaped)


def _message(error: ErrorDetails, name: str) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        if name == "status":
            return ("cannot be changed here: use POST .../publish, .../schedule, "
                    ".../unschedule or .../retract")
        return "is read-only" if name in READ_ONLY else "is not a known field"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_WORDS:
        return PATTERN_WORDS[ctx["pattern"]]
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    message = str(error["msg"])
    return message[0].lower() + message[1:] if message else kind


def field_errors(exc: ValidationError, *, in_query: bool = False) -> list[dict[str, str]]:
    """pydantic's errors as RFC 9457 style ``{"pointer"|"parameter", "detail"}`` items."""
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = error["loc"]
        name = str(loc[0]) if loc else ""
        if in_query:
            errors.append({"parameter": name, "detail": _message(error, name)})
        else:
            errors.append({"pointer": pointer(*loc), "detail": _message(error, name)})
    return errors
