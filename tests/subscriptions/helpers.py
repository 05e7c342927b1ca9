"""Small helpers for subscription tests: read links out of received mail, follow them as a
browser does, make subscribers."""

from __future__ import annotations

import re
from email.message import EmailMessage

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.fixtures.app import TEST_BASE_URL

LINK = re.compile(re.escape(TEST_BASE_URL) + r"(/subscriptions/(?:confirm|manage|unsubscribe)/"
                  r"[A-Za-z0-9_.-]+)")


def links(msg: EmailMessage, part: str = "plain") -> dict[str, str]:
    """``{"confirm"|"manage"|"unsubscribe": path}`` from one part of a message."""
    body = msg.get_body((part,))
    assert body is not None
    found = {}
    for path in LINK.findall(body.get_content()):
        found[path.split("/")[2]] = path
    return found


def csrf_token(page: bytes) -> str:
    """The CSRF token in a page's form."""
    field = re.search(rb'<input[^>]*\bname="csrf_token"[^>]*>', page)
    assert field, "no CSRF token in the page"
    value = re.search(rb'\bvalue="([^"]+)"', field.group(0))
    assert value, "the CSRF field has no value"
    return value.group(1).decode()


def follow_confirm_link(client: FlaskClient, path: str) -> TestResponse:
    """Open a confirmation link and press its button, as a browser without JavaScript does."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    form = re.search(rb'<form method="post" action="([^"]+)">', page.data)
    assert form and form.group(1).decode() == path, "no form posting back to the link"
    assert b"Confirm my subscription</button>" in page.data
    return client.post(path, data={"csrf_token": csrf_token(page.data)})
