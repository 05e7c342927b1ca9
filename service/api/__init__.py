"""API v1 (JSON over HTTP, bearer tokens, RFC 9457 errors).

``bp`` is created here and the modules below attach to it: ``announcements`` and
``subscriptions`` and ``webhooks`` (the endpoints), ``openapi`` (the generated document at
``/api/v1/openapi.json``), ``problems`` (errors).
"""

from flask import Blueprint, Response

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from service.api import (  # noqa: E402, F401 (attach to bp)
    announcements,
    auth,
    media,
    openapi,
    problems,
    subscriptions,
    webhooks,
)

problems.register(bp)
bp.after_request(auth.commit_token_use)


@bp.after_request
def _vary_on_token(response: Response) -> Response:
    # What a GET returns depends on the token: caches must not hand one caller's to another.
    response.vary.add("Authorization")
    return response
