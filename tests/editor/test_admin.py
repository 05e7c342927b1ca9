"""Admins manage editors and API tokens; nobody else reaches these pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.database import db
from service.editors import accounts
from service.editors.models import ApiToken, Editor, Role
from tests.editor.conftest import post, sign_in
from tests.factories import EditorInfo

EDITORS = "/editor/admin/editors"
TOKENS = "/editor/admin/tokens"


@pytest.mark.parametrize("role", ["editor", "author"])
def test_only_admins_reach_the_admin_pages(
    client: FlaskClient, signed_in: Callable[[str], EditorInfo], role: str
) -> None:
    me = signed_in(role)
    for path in (EDITORS, f"{EDITORS}/{me.id}", TOKENS):
        assert client.get(path).status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/editor/").text)
    assert token
    forged = client.post(
        EDITORS,
        data={
            "csrf_token": token.group(1),
            "email": "x@example.org",
            "role": "admin",
            "password": "long enough pw",
        },
    )
    assert forged.status_code == 403
    assert "Editors</a>" not in client.get("/editor/").text  # and no link to them


def test_admin_adds_an_editor_who_can_sign_in(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("admin")
    added = post(
        client,
        EDITORS,
        EDITORS,
        email="New.Person@Example.org",
        name="New",
        role="author",
        password="a long password",
    )
    assert added.status_code == 303
    again = post(
        client,
        EDITORS,
        EDITORS,
        email="new.person@example.org",
        name="",
        role="author",
        password="a long password",
    )
    assert again.status_code == 200 and "exists already" in again.text
    bad = post(client, EDITORS, EDITORS, email="not-an-address", role="boss", password="short")
    assert bad.status_code == 200 and len(re.findall(r'class="error"', bad.text)) >= 2
    fresh = clean_app.test_client()
    assert sign_in(fresh, "new.person@example.org", "a long password").status_code == 302


def test_deactivating_an_editor_ends_their_sessions(
    clean_app: Flask,
    client: FlaskClient,
    signed_in: Callable[[str], EditorInfo],
    make_editor: Callable[..., EditorInfo],
) -> None:
    signed_in("admin")
    victim = make_editor("editor")
    theirs = clean_app.test_client()
    sign_in(theirs, victim.email)
    assert theirs.get("/editor/").status_code == 200
    page = f"{EDITORS}/{victim.id}"
    assert post(client, page, page, role="editor").status_code == 303  # active unticked
    assert theirs.get("/editor/").status_code == 302
    assert sign_in(theirs, victim.email).status_code == 200  # refused now


def test_admin_cannot_lock_themselves_out(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    me = signed_in("admin")
    page = f"{EDITORS}/{me.id}"
    response = post(client, page, page, role="editor", active="y")
    assert response.status_code == 200 and "cannot take away your own admin role" in response.text
    with clean_app.app_context():
        assert db.session.get(Editor, me.id).role is Role.ADMIN  # type: ignore[union-attr]


def test_tokens_are_shown_once_work_and_can_be_revoked(
    clean_app: Flask,
    client: FlaskClient,
    signed_in: Callable[[str], EditorInfo],
    make_editor: Callable[..., EditorInfo],
) -> None:
    signed_in("admin")
    owner = make_editor("editor")
    created = post(client, TOKENS, TOKENS, editor=str(owner.id), name="CI robot")
    assert created.status_code == 200
    match = re.search(r'id="new-token">([^<]+)<', created.text)
    assert match
    token = match.group(1)
    assert token not in client.get(TOKENS).text  # never shown again
    with clean_app.app_context():
        assert accounts.editor_for_token(token).id == owner.id  # type: ignore[union-attr]
        db.session.rollback()
        row = db.session.scalars(sa.select(ApiToken).where(ApiToken.name == "CI robot")).one()
        token_id = row.id
    assert post(client, f"{TOKENS}/{token_id}/revoke", TOKENS).status_code == 303
    with clean_app.app_context():
        assert accounts.editor_for_token(token) is None
    nobody = post(client, TOKENS, TOKENS, editor="999999", name="x")
    assert nobody.status_code == 200 and 'id="new-token"' not in nobody.text


def test_an_id_too_large_for_the_database_is_404_not_500(
    client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("admin")
    for number in ("2147483648", "99999999999999999999"):
        assert client.get(f"{EDITORS}/{number}").status_code == 404
        assert post(client, f"{TOKENS}/{number}/revoke", TOKENS).status_code == 404
