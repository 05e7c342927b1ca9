"""Security headers on every response: public pages, editor pages, errors, the API."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from service import security


@pytest.mark.parametrize(
    "path", ["/", "/feeds", "/editor/login", "/no-such-page", "/static/css/site.css", "/healthz"]
)
def test_headers_on_every_response(client: FlaskClient, path: str) -> None:
    with client.get(path) as response:  # a static file is streamed: close it
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers  # only in production, over https


def test_csp_is_the_documented_one(client: FlaskClient) -> None:
    assert client.get("/").headers["Content-Security-Policy"] == security.CONTENT_SECURITY_POLICY
