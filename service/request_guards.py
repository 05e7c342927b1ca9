"""Input no route can take: a NUL byte in the path, the query string or a form field.

PostgreSQL cannot store or compare a string holding NUL (SQLite can), so a ``%00`` that
reached a query was a 500 there and not here. No slug, search term or form field of this site
ever holds one, so it is refused before any view runs, on both databases alike: in the path it
names nothing (404); in a parameter or field it is invalid input (422, problem details on the
API). JSON bodies are the API's own to check: its schemas refuse control characters per field.
"""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.datastructures import MultiDict

NUL = "\x00"
# Read by a view that drops any value with a control character and carries on (the sign-in's
# redirect target never reaches the database): refusing the whole sign-in would be worse.
_CHECKED_BY_THE_VIEW = frozenset({"next"})


def _holds_nul(values: MultiDict[str, str]) -> bool:
    return any(NUL in key or (NUL in value and key not in _CHECKED_BY_THE_VIEW)
               for key, value in values.items(multi=True))


def refuse_nul_bytes() -> None:
    if NUL in request.path:
        abort(404)
    if _holds_nul(request.args):
        abort(422, description="A query parameter holds a NUL character.")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and (
            _holds_nul(request.form)):
        abort(422, description="A form field holds a NUL character.")


def init_app(app: Flask) -> None:
    """Run the check before every other ``before_request`` function (CSRF, sign-in, limits)."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_bytes)
