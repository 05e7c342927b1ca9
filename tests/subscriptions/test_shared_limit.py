"""One per-address sign-up limit across the API and the form: a mailbox gets at most five
confirmation emails an hour however the requests arrive (they used to be counted per endpoint,
so 5 + 5 got through)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.subscriptions.helpers import csrf_token


def _api(client: FlaskClient, email: str, client_ip: str) -> int:
    return client.post("/api/v1/subscriptions", json={"email": email, "frequency": "daily"},
                       environ_base={"REMOTE_ADDR": client_ip}).status_code


def _form(client: FlaskClient, email: str, client_ip: str) -> int:
    token = csrf_token(client.get("/subscribe").data)
    return client.post("/subscribe", data={"csrf_token": token, "email": email,
                                           "frequency": "daily"},
                       environ_base={"REMOTE_ADDR": client_ip}).status_code


def test_api_sign_ups_count_against_the_form(clean_app: Flask) -> None:
    client = clean_app.test_client()
    for n in range(5):
        assert _api(client, "mailbox@example.org", f"192.0.2.{n + 1}") == 202, n
    # Another client, the form, the same mailbox (spelt differently): the limit holds.
    assert _form(client, "MailBox@Example.org", "198.51.100.9") == 429
    assert _api(client, "mailbox@example.org", "198.51.100.10") == 429
    # Other mailboxes are not affected.
    assert _form(client, "someone.else@example.org", "198.51.100.9") == 200


def test_form_sign_ups_count_against_the_api(clean_app: Flask) -> None:
    client = clean_app.test_client()
    for n in range(5):
        assert _form(client, "inbox@example.org", f"192.0.2.{n + 1}") == 200, n
    assert _api(client, "inbox@example.org", "198.51.100.9") == 429
    assert _form(client, "inbox@example.org", "198.51.100.10") == 429
