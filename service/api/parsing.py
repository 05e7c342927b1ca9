"""Request bodies and query strings into validated models: the 400, 413, 415 and 422 paths.

Bodies are parsed here rather than with ``request.get_json`` so each failure gets its own
status and a detail that says where: malformed JSON (400, with line and column), a body over
``MAX_CONTENT_LENGTH`` (413, raised by werkzeug while reading), a body that is not JSON (415),
and well-formed JSON with bad fields (422, one entry per field).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from service.api.field_errors import InvalidFields, field_errors, pointer
from service.api.problems import Problem

M = TypeVar("M", bound=BaseModel)
_ABSENT = object()  # no body at all, unlike a body that says null


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:  # RFC 8259 leaves duplicates undefined; guessing which wins is worse
            raise ValueError(f"the member name {key!r} appears twice in one object")
        obj[key] = value
    return obj


def _malformed(detail: str) -> Problem:
    return Problem(400, f"The body is not valid JSON: {detail}.", kind="malformed-json",
                   title="Malformed JSON")


def _json_body(optional: bool) -> Any:
    """The parsed body; ``_ABSENT`` when ``optional`` and the request carries none."""
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
    if optional and not has_body and not request.mimetype:
        return _ABSENT
    if not _is_json(request.mimetype):
        given = request.mimetype or "none"
        raise Problem(415, f"The body must be JSON: send 'Content-Type: application/json' "
                           f"(got {given}).",
                      headers={"Accept-Post": "application/json"})
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise Problem(415, f"JSON must be encoded as UTF-8, not {charset}.")
    raw = request.get_data(cache=True)  # raises RequestEntityTooLarge (413) past the limit
    if not raw.strip():
        if optional:
            return _ABSENT
        raise _malformed("the body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(f"invalid UTF-8 at byte {exc.start}") from None
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise _malformed(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise _malformed("it is nested too deeply") from None
    except ValueError as exc:  # duplicate names, NaN/Infinity, integers of too many digits
        raise _malformed(str(exc)) from None


def body(model: type[M], *, optional: bool = False) -> M:
    """The request's JSON object validated as ``model`` (an absent optional body is ``{}``)."""
    data = _json_body(optional)
    if data is _ABSENT:
        data = {}
    if not isinstance(data, dict):
        raise InvalidFields([{"pointer": pointer(), "detail": "must be a JSON object"}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidFields(field_errors(exc)) from None


def query(model: type[M]) -> M:
    """The query string validated as ``model``; unknown or repeated parameters are refused."""
    args = request.args
    repeated = [name for name in args if len(args.getlist(name)) > 1]
    if repeated:
        raise InvalidFields([{"parameter": name, "detail": "must be given at most once"}
                             for name in repeated])
    try:
        return model.model_validate(args.to_dict())
    except ValidationError as exc:
        raise InvalidFields(field_errors(exc, in_query=True)) from None
