"""The site's own pages for 404, 405 and 410, in its layout (the API answers problem details,
the editor its own pages): unknown tags, partners, announcements and feed URLs alike."""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.exceptions import HTTPException

TITLES = {404: "Page not found", 405: "Not allowed here", 410: "Gone"}
MESSAGES = {
    404: "There is nothing at this address. It may have been mistyped, or what was here "
         "was never published.",
    405: "This address does not answer that kind of request.",
    410: "What was here was removed on purpose.",
}


def _page(error: HTTPException) -> tuple[str, int]:
    code = error.code or 404
    return render_template("public/error.html", title=TITLES[code], message=MESSAGES[code],
                           code=code), code


def register(bp: Blueprint) -> None:
    for code in TITLES:
        bp.app_errorhandler(code)(_page)
