"""Sign-in, sessions, sign-out, password change, rate limits and CSRF on the editor's forms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.database import db
from service.editors.models import Editor
from tests.editor.conftest import csrf, post, sign_in
from tests.factories import EditorInfo


def test_every_page_needs_sign_in(client: FlaskClient) -> None:
    for path in (
        "/editor/",
        "/editor/announcements",
        "/editor/announcements/new",
        "/editor/account",
        "/editor/admin/editors",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.startswith("/editor/login?next=")


def test_sign_in_and_back_to_the_page_asked_for(
    client: FlaskClient, make_editor: Callable[..., EditorInfo]
) -> None:
    editor = make_editor("editor")
    login_page = client.get("/editor/announcements").location
    token = csrf(client, login_page)
    response = client.post(
        login_page,
        data={"csrf_token": token, "email": editor.email, "password": "correct horse battery"},
    )
    assert response.status_code == 302 and response.location == "/editor/announcements"
    page = client.get("/editor/")
    assert page.status_code == 200 and editor.email in page.text


def test_next_never_leaves_the_editor(
    client: FlaskClient, make_editor: Callable[..., EditorInfo]
) -> None:
    editor = make_editor("editor")
    for target in ("https://evil.example/", "//evil.example/editor/", "/editor/\\evil"):
        token = csrf(client, "/editor/login")
        response = client.post(
            "/editor/login",
            query_string={"next": target},
            data={"csrf_token": token, "email": editor.email, "password": "correct horse battery"},
        )
        assert response.location == "/editor/", target
        client.post("/editor/logout", data={"csrf_token": csrf(client, "/editor/")})


@pytest.mark.parametrize(
    "target", ["/editor/\r\nX-Evil: 1", "/editor/\nx", "/editor/\rx", "/editor/\x00", "/editor/\tx",
               "/editor/\x7f"],
)
def test_next_with_a_control_character_is_ignored(
    client: FlaskClient, make_editor: Callable[..., EditorInfo], target: str
) -> None:
    """CR or LF would go into the Location header, which werkzeug refuses: a 500 after a
    successful sign-in. Any control character makes ``next`` ignored instead."""
    editor = make_editor("editor")
    token = csrf(client, "/editor/login")
    response = client.post(
        "/editor/login",
        query_string={"next": target},
        data={"csrf_token": token, "email": editor.email, "password": "correct horse battery"},
    )
    assert response.status_code == 302 and response.location == "/editor/"
    # Signed in already, the sign-in page sends the editor on at once: the same check.
    again = client.get("/editor/login", query_string={"next": target})
    assert again.status_code == 302 and again.location == "/editor/"


def test_failures_get_one_generic_message(
    client: FlaskClient, make_editor: Callable[..., EditorInfo], clean_app: Flask
) -> None:
    editor = make_editor("editor")
    inactive = make_editor("editor")
    with clean_app.app_context():
        db.session.execute(sa.update(Editor).where(Editor.id == inactive.id).values(active=False))
        db.session.commit()
    answers = [
        sign_in(client, editor.email, "wrong password here"),
        sign_in(client, "nobody@example.org", "correct horse battery"),
        sign_in(client, inactive.email),  # right password, deactivated account
        sign_in(client, "not an address", "whatever it is"),
    ]
    for response in answers:
        assert response.status_code == 200
        assert "do not match an active account" in response.text
    assert client.get("/editor/").status_code == 302  # still signed out


def test_failed_sign_ins_are_limited_per_account(
    client: FlaskClient, make_editor: Callable[..., EditorInfo]
) -> None:
    editor = make_editor("editor")
    for _ in range(5):
        assert sign_in(client, editor.email, "wrong password here").status_code == 200
    # Locked for now, even with the right password; the message says what to do.
    locked = sign_in(client, editor.email.upper())
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.text
    # Another account from the same client is not locked by this one's failures.
    other = make_editor("editor")
    assert sign_in(client, other.email).status_code == 302


def test_failed_sign_ins_are_limited_per_client(client: FlaskClient) -> None:
    for number in range(20):
        assert sign_in(client, f"guess{number}@example.org", "some password").status_code == 200
    assert sign_in(client, "guess-more@example.org", "some password").status_code == 429


def test_successful_sign_ins_are_not_counted(
    client: FlaskClient, make_editor: Callable[..., EditorInfo]
) -> None:
    editor = make_editor("editor")
    for _ in range(8):
        assert sign_in(client, editor.email).status_code == 302
        post(client, "/editor/logout", "/editor/")


def test_sign_out_ends_every_session_of_that_editor(
    clean_app: Flask, make_editor: Callable[..., EditorInfo]
) -> None:
    editor = make_editor("editor")
    laptop, phone = clean_app.test_client(), clean_app.test_client()
    assert sign_in(laptop, editor.email).status_code == 302
    assert sign_in(phone, editor.email).status_code == 302
    assert phone.get("/editor/").status_code == 200
    response = post(laptop, "/editor/logout", "/editor/")
    assert response.status_code == 302 and response.location == "/editor/login"
    assert laptop.get("/editor/").status_code == 302
    assert phone.get("/editor/").status_code == 302  # the other session ended too


def test_password_change_keeps_this_session_and_ends_others(
    clean_app: Flask, make_editor: Callable[..., EditorInfo]
) -> None:
    editor = make_editor("editor")
    here, elsewhere = clean_app.test_client(), clean_app.test_client()
    sign_in(here, editor.email)
    sign_in(elsewhere, editor.email)
    wrong = post(
        here,
        "/editor/account",
        "/editor/account",
        current="not my password",
        new="a brand new secret",
        confirm="a brand new secret",
    )
    assert wrong.status_code == 200 and "not your current password" in wrong.text
    short = post(
        here,
        "/editor/account",
        "/editor/account",
        current="correct horse battery",
        new="short",
        confirm="short",
    )
    assert "use at least 10 characters" in short.text
    done = post(
        here,
        "/editor/account",
        "/editor/account",
        current="correct horse battery",
        new="a brand new secret",
        confirm="a brand new secret",
    )
    assert done.status_code == 302
    assert here.get("/editor/").status_code == 200
    assert elsewhere.get("/editor/").status_code == 302
    fresh = clean_app.test_client()
    assert sign_in(fresh, editor.email).status_code == 200  # the old password is refused
    assert sign_in(fresh, editor.email, "a brand new secret").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    response = client.post("/editor/announcements/new", data={"title": "No token", "save": "1"})
    assert response.status_code == 400
    assert "could not be accepted" in response.text
    forged = client.post("/editor/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert client.get("/editor/").status_code == 200  # still signed in: the forged POST did nothing


def test_login_form_itself_needs_csrf(client: FlaskClient) -> None:
    response = client.post("/editor/login", data={"email": "a@example.org", "password": "x"})
    assert response.status_code == 400


def test_session_cookie_flags(client: FlaskClient) -> None:
    response = client.get("/editor/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # testing and development run on plain http


@pytest.mark.usefixtures("clean_app")
def test_session_cookie_is_secure_in_production(app: Flask) -> None:
    settings = replace(app.config["SETTINGS"], env="production")
    production = create_app(settings, TESTING=True)
    cookie = production.test_client().get("/editor/login").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    headers = production.test_client().get("/editor/login").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    with production.app_context():
        db.engine.dispose()
