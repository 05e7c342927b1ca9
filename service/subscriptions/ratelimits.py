"""Sign-up rate limits, kept in Redis by Flask-Limiter: per client and per address.

The per-address limit stops anyone from flooding one mailbox with confirmation emails from many
clients; its key is the normalised address's hash (``tokens.address_tag``), so no address is
stored in Redis. It is one *shared* limit (:func:`per_address`, scope :data:`ADDRESS_SCOPE`)
for the form and the API alike: Flask-Limiter scopes a plain ``limit`` by endpoint, which let
one mailbox get five confirmations an hour through each door, ten in all.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, request
from flask_limiter import RequestLimit, RouteLimit
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from service.extensions import limiter
from service.subscriptions.lifecycle import normalise_email
from service.subscriptions.tokens import address_tag

PER_CLIENT = "30 per hour"
PER_ADDRESS = "5 per hour;10 per day"
ADDRESS_SCOPE = "subscribe-address"  # one counter per mailbox, whichever endpoint is asked


def client_key() -> str:
    return f"client:{get_remote_address()}"


def _submitted_address() -> object:
    raw: object = request.form.get("email")
    if raw is None:
        body = request.get_json(silent=True)
        raw = body.get("email") if isinstance(body, dict) else None
    return raw


def address_key() -> str:
    """The normalised address of a form or JSON sign-up (anything unparseable shares one key).

    Never raises: it runs before the view, and a body that cannot be read is the view's to
    answer, in its own format (HTML for the form, problem details for the API).
    """
    try:
        raw = _submitted_address()
    # Over MAX_CONTENT_LENGTH (413) or cut short; or JSON nested so deeply that json raises
    # RecursionError (get_json(silent=True) only swallows ValueError).
    except (HTTPException, RecursionError):
        raw = None
    try:
        address = normalise_email(raw)
    except ValueError:
        return "address:invalid"
    return "address:" + address_tag(address)


def per_address(on_breach: Callable[[RequestLimit], Response]) -> RouteLimit:
    """The per-address limit of every sign-up endpoint: one counter per mailbox across all.

    ``on_breach`` answers in the endpoint's own format (an HTML page, problem details).
    """
    return limiter.shared_limit(PER_ADDRESS, scope=ADDRESS_SCOPE, key_func=address_key,
                                methods=["POST"], on_breach=on_breach)
