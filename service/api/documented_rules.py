"""The rules the API enforces, as JSON Schema for the OpenAPI document.

The checks themselves live in ``service.announcements.text_rules``, the validators of
``service.api.schemas`` and the views; what pydantic cannot derive from them (a title's
characters, the RFC 3339 offset, the scheduling rules) is written here so that a client (or
schemathesis) reads it from ``/api/v1/openapi.json`` rather than from a 422. The patterns use
``\\uXXXX`` escapes, which ECMA-262 (JSON Schema's dialect) and Python's ``re`` read alike;
``tests/api/test_documented_rules.py`` checks them against the code's own rules.
"""

from __future__ import annotations

from typing import Any

from service.announcements import text_rules
from service.url_numbers import MAX_INT

# What no title may hold: C0 controls, DEL, NEL, the line and paragraph separators, the
# bidirectional embeddings, overrides and isolates, and unpaired surrogates.
_NOT_IN_TITLE = (r"\u0000-\u001f\u007f\u0085\u2028\u2029\u202a-\u202e\u2066-\u2069"
                 r"\ud800-\udfff")
# What no summary or body may hold: the C0 controls but tab, LF and CR; DEL; lone surrogates.
_NOT_IN_TEXT = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ud800-\udfff"

TITLE_PATTERN = rf"^[^\s{_NOT_IN_TITLE}](?:[^{_NOT_IN_TITLE}]*[^\s{_NOT_IN_TITLE}])?$"
TEXT_PATTERN = rf"^[^{_NOT_IN_TEXT}]*$"
REASON_PATTERN = rf"^[^{_NOT_IN_TITLE}]*$"
# RFC 3339 section 5.6 date-time, with the offset required (no local time).
TIMESTAMP_PATTERN = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}"
                     r"(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$")

TITLE: dict[str, Any] = {
    "pattern": TITLE_PATTERN,
    "description": f"1 to {text_rules.TITLE_MAX} characters, {text_rules.TITLE_RULE}. "
                   "Send it without surrounding whitespace (the server removes any first).",
}
TEXT: dict[str, Any] = {
    "pattern": TEXT_PATTERN,
    "description": "Text with " + text_rules.TEXT_RULE + ".",
}
REASON: dict[str, Any] = {
    "pattern": REASON_PATTERN,
    "description": f"Why it was withdrawn: up to {text_rules.REASON_MAX} characters, "
                   f"{text_rules.TITLE_RULE}. Shown on the announcement's page and in its Atom "
                   "feeds' tombstone (at:comment); empty or absent: no reason given.",
}
FUTURE = "must be later than the server's clock when the request arrives, else 422"
TIMESTAMP: dict[str, Any] = {
    "type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN,
    "description": "An RFC 3339 date-time with a time zone offset (Z or +hh:mm), e.g. "
                   "2030-01-31T09:00:00Z; stored and shown in UTC.",
}
# A new announcement: publish_at is required for status "scheduled", and only allowed there.
CREATE_SCHEDULING: dict[str, Any] = {
    "if": {"properties": {"status": {"const": "scheduled"}}, "required": ["status"]},
    "then": {"required": ["publish_at"], "properties": {"publish_at": {"type": "string"}}},
    "else": {"properties": {"publish_at": {"type": "null"}}},
}
ID_PARAMETER: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
ID_DESCRIPTION = (f"The announcement's id, 1 to {MAX_INT}; any other number is a 404, for "
                  "every method the path supports.")
