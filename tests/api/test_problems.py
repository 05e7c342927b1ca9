"""Every error under /api/ is RFC 9457 problem+json with the right status and headers."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.database import db
from tests.api.conftest import create, pointers, problem
from tests.factories import EditorInfo
from tests.fixtures.app import make_settings

API = "/api/v1/announcements"


def _post_raw(client: FlaskClient, who: EditorInfo, data: bytes | str,
              content_type: str | None = "application/json") -> object:
    headers = dict(who.auth)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.post(API, data=data, headers=headers)


def test_401_without_or_with_a_bad_token(client: FlaskClient, editor: EditorInfo) -> None:
    missing = client.post(API, json={"title": "x"})
    problem(missing, 401)
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="newsroom"'
    wrong = client.post(API, json={"title": "x"}, headers={"Authorization": "Bearer nr_nope"})
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    problem(wrong, 401)
    basic = client.get(API, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    problem(basic, 401)
    assert basic.headers["WWW-Authenticate"].endswith('error="invalid_request"')
    # A bad token on a public read is refused too, not quietly treated as anonymous.
    problem(client.get(API, headers={"Authorization": "Bearer nr_revoked"}), 401)


def test_404_and_405_from_routing_are_problems(client: FlaskClient, editor: EditorInfo) -> None:
    for path in ("/api/v1/nothing-here", "/api/v2/announcements", "/api", f"{API}/abc",
                 f"{API}/1/explode"):
        problem(client.get(path), 404)
    problem(client.get(f"{API}/99999999999999999999999", headers=editor.auth), 404)
    problem(client.get(f"{API}/0"), 404)
    wrong_method = client.delete(f"{API}/1", headers=editor.auth)
    problem(wrong_method, 405)
    assert set(wrong_method.headers["Allow"].split(", ")) >= {"GET", "PATCH"}
    problem(client.put(API, json={}), 405)
    # Outside /api/ the site keeps its own (HTML) error pages.
    assert client.get("/no-such-page").mimetype == "text/html"


def test_415_when_the_body_is_not_json(client: FlaskClient, editor: EditorInfo) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None,
                         "application/json; charset=latin-1"):
        body = problem(_post_raw(client, editor, '{"title": "x"}', content_type), 415)
        assert "JSON" in body["detail"]
    item = create(client, editor, title="Patchable")
    problem(client.patch(f"{API}/{item['id']}", data="title=x", headers={
        **editor.auth, "Content-Type": "text/plain"}), 415)
    ok = _post_raw(client, editor, '{"title": "Vendor type"}', "application/vnd.api+json")
    assert ok.status_code == 201


def test_400_for_malformed_json_says_where(client: FlaskClient, editor: EditorInfo) -> None:
    body = problem(_post_raw(client, editor, '{"title": "x",\n "body": }'), 400, "malformed-json")
    assert "line 2, column 10" in body["detail"]
    for data, words in [(b"", "empty"), (b"\xff\xfe{}", "UTF-8"),
                        ('{"title": "a", "title": "b"}', "twice"),
                        ('{"title": NaN}', "NaN"), ("[" * 100_000 + "]" * 100_000, "nested"),
                        ('{"title": "x"} trailing', "Extra data"),
                        ('{"n": ' + "9" * 5000 + "}", "digits")]:
        assert words in problem(_post_raw(client, editor, data), 400, "malformed-json")["detail"]


def test_422_when_the_body_is_json_but_not_an_object(
    client: FlaskClient, editor: EditorInfo
) -> None:
    for data in ('["title"]', '"title"', "null", "3"):
        body = problem(_post_raw(client, editor, data), 422, "validation")
        assert pointers(body) == {"#": "must be a JSON object"}


def test_413_over_the_size_limit(clean_app: Flask, client: FlaskClient,
                                 editor: EditorInfo) -> None:
    limit = clean_app.config["MAX_CONTENT_LENGTH"]
    big = '{"title": "x", "body": "' + "a" * limit + '"}'
    body = problem(_post_raw(client, editor, big), 413)
    assert str(limit) in body["detail"]


def test_the_domain_body_limit_is_a_422(client: FlaskClient, editor: EditorInfo) -> None:
    response = client.post(API, json={"title": "Long", "body": "b" * 200_001},
                           headers=editor.auth)
    assert "200000" in pointers(problem(response, 422, "validation"))["#/body"]
    assert client.post(API, json={"title": "Long", "body": "b" * 200_000},
                       headers=editor.auth).status_code == 201


def test_a_server_bug_is_a_500_problem_without_details(
    tmp_path: Path, redis_url: str
) -> None:
    # A real failure: the database has no tables (never migrated).
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'empty.sqlite3'}", redis_url)
    broken = create_app(settings, TESTING=True, PROPAGATE_EXCEPTIONS=False)
    try:
        response = broken.test_client().get(API)
        body = problem(response, 500)
        assert "no such table" not in response.get_data(as_text=True)
        assert body["detail"].startswith("An unexpected error")
    finally:
        with broken.app_context():
            db.engine.dispose()
