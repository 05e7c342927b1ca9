"""Signing a test client in as an editor of a given role, through the real sign-in form."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.factories import EditorInfo

PASSWORD = "correct horse battery"  # what the make_editor fixture sets
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on ``path``, as a browser would take it from the page."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    token = csrf(client, "/editor/login")
    return client.post(
        "/editor/login", data={"csrf_token": token, "email": email, "password": password}
    )


def post(client: FlaskClient, path: str, form_page: str, **data: str) -> TestResponse:
    """Post ``data`` to ``path`` with the CSRF token of ``form_page``."""
    return client.post(path, data={"csrf_token": csrf(client, form_page), **data})


@pytest.fixture
def signed_in(
    client: FlaskClient, make_editor: Callable[..., EditorInfo]
) -> Callable[[str], EditorInfo]:
    """Factory: a new editor of ``role``, with ``client`` signed in as them."""

    def factory(role: str = "editor") -> EditorInfo:
        editor = make_editor(role)
        response = sign_in(client, editor.email)
        assert response.status_code == 302, response.text
        return editor

    return factory
