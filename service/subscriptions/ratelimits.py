"""Sign-up rate limits, kept in Redis by Flask-Limiter: per client and per address.

The per-address limit stops anyone from flooding one mailbox with confirmation emails from many
clients; its key is a hash of the normalised address, so no address is stored in Redis.
"""

from __future__ import annotations

import hashlib

from flask import request
from flask_limiter.util import get_remote_address

from service.subscriptions.lifecycle import normalise_email

PER_CLIENT = "30 per hour"
PER_ADDRESS = "5 per hour;10 per day"


def client_key() -> str:
    return f"client:{get_remote_address()}"


def address_key() -> str:
    """The normalised address of a form or JSON sign-up (anything unparseable shares one key)."""
    raw: object = request.form.get("email")
    if raw is None:
        body = request.get_json(silent=True)
        raw = body.get("email") if isinstance(body, dict) else None
    try:
        address = normalise_email(raw)
    except ValueError:
        return "address:invalid"
    return "address:" + hashlib.sha256(address.encode()).hexdigest()[:32]
