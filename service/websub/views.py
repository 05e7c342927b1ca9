"""The hub URL: a form-encoded POST of ``hub.mode``, ``hub.topic``, ``hub.callback``, ...

202 once recorded (verification follows in a worker); a 4xx with a plain-text reason
otherwise. Rate-limited per client: each accepted request makes us send a GET somewhere.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from service.database import db
from service.extensions import limiter
from service.feeds.discovery import HUB_PATH
from service.websub import hub

bp = Blueprint("websub", __name__)

RATE_LIMIT = "60/minute;600/hour"


def _text(status: int, body: str) -> Response:
    return Response(body + "\n", status=status, content_type="text/plain; charset=utf-8")


@bp.post(HUB_PATH)
@limiter.limit(RATE_LIMIT)
def subscribe() -> Response:
    if request.mimetype != "application/x-www-form-urlencoded":
        return _text(415, "send the request form-encoded (application/x-www-form-urlencoded)")
    try:
        hub.accept(request.form)
    except hub.HubError as exc:
        db.session.rollback()
        return _text(exc.status, exc.reason)
    db.session.commit()
    return _text(202, "accepted; verification of intent follows")


@bp.get(HUB_PATH)
def about() -> Response:
    return _text(200, "WebSub hub for this newsroom's feeds: POST hub.mode, hub.topic and "
                      "hub.callback, form-encoded (W3C WebSub).")
