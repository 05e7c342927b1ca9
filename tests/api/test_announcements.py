"""The announcement endpoints: create, read, list, edit, and the status actions, by role."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.database import db
from service.editors.models import ApiToken
from tests.api.conftest import create, pointers, post, problem
from tests.factories import EditorInfo
from tests.fixtures.app import TEST_BASE_URL

API = "/api/v1/announcements"
RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def _future(days: int = 3) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def test_create_returns_201_location_and_the_announcement(
    client: FlaskClient, editor: EditorInfo
) -> None:
    response = post(client, editor, title="  Radar campaign with ESA  ", summary="Short.",
                    body="# Hi\n\n**bold** <script>x</script>", tags=["sar", "remote-sensing"],
                    partners=["esa"], language="pt-BR")
    assert response.status_code == 201
    item = response.get_json()
    assert response.headers["Location"] == f"{TEST_BASE_URL}{API}/{item['id']}"
    assert response.headers["ETag"].startswith('W/"')
    assert item["title"] == "Radar campaign with ESA"  # trimmed
    assert item["slug"] == "radar-campaign-with-esa"
    assert item["url"] == f"{TEST_BASE_URL}/announcements/radar-campaign-with-esa"
    assert item["status"] == "draft"
    assert item["tags"] == ["remote-sensing", "sar"] and item["partners"] == ["esa"]
    assert item["language"] == "pt-BR"
    assert "<strong>bold</strong>" in item["body_html"] and "<script" not in item["body_html"]
    assert item["publish_at"] is None and item["published_at"] is None
    assert RFC3339_Z.fullmatch(item["created_at"]) and RFC3339_Z.fullmatch(item["updated_at"])
    assert set(item) == {"id", "uid", "slug", "url", "title", "summary", "body", "body_html",
                         "language", "status", "tags", "partners", "publish_at",
                         "published_at", "retracted_at", "retraction_reason", "image",
                         "created_at", "updated_at", "translations"}
    assert item["translations"] == []
    assert item["retracted_at"] is None and item["retraction_reason"] is None
    fetched = client.get(response.headers["Location"].removeprefix(TEST_BASE_URL),
                         headers=editor.auth)
    assert fetched.get_json() == item


def test_create_published_and_scheduled(client: FlaskClient, editor: EditorInfo) -> None:
    published = create(client, editor, title="Out now", status="published")
    assert published["status"] == "published"
    assert RFC3339_Z.fullmatch(published["published_at"])
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    local = when.astimezone(ZoneInfo("Asia/Tokyo")).isoformat()
    scheduled = create(client, editor, title="Later", status="scheduled", publish_at=local)
    assert scheduled["status"] == "scheduled"
    assert scheduled["publish_at"] == when.isoformat().replace("+00:00", "Z")
    assert scheduled["published_at"] is None


def test_publish_at_rules(client: FlaskClient, editor: EditorInfo) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cases = [
        ({"status": "scheduled"}, "is required when status is scheduled"),
        ({"status": "scheduled", "publish_at": past}, "must be in the future"),
        ({"status": "published", "publish_at": _future()}, "is only for status scheduled"),
        ({"status": "draft", "publish_at": _future()}, "is only for status scheduled"),
        ({"status": "scheduled", "publish_at": "2030-01-01T09:00:00"}, "RFC 3339"),
        ({"status": "scheduled", "publish_at": "2030-01-01"}, "RFC 3339"),
        ({"status": "scheduled", "publish_at": 1893456000}, "RFC 3339"),
        ({"status": "scheduled", "publish_at": "2030-02-30T09:00:00Z"}, "not a valid"),
    ]
    for fields, message in cases:
        body = problem(post(client, editor, title="Embargo", **fields), 422, "validation")
        assert message in pointers(body)["#/publish_at"], (fields, body)


def test_invalid_fields_are_all_reported_with_pointers(
    client: FlaskClient, editor: EditorInfo
) -> None:
    response = post(client, editor, title="   ", summary="x" * 1001, body=7,
                    tags=["ok", "Not A Slug", "x" * 65], partners=[f"p{i}" for i in range(21)],
                    language="english", status="retracted", colour="blue", id=3, slug="-bad-")
    errors = pointers(problem(response, 422, "validation"))
    assert errors["#/title"] == "must not be empty"
    assert "1000" in errors["#/summary"]
    assert "string" in errors["#/body"]
    assert "remote-sensing" in errors["#/tags/1"] and "64" in errors["#/tags/2"]
    assert "20" in errors["#/partners"]
    assert "BCP 47" in errors["#/language"]
    assert "draft" in errors["#/status"]
    assert errors["#/colour"] == "is not a known field"
    assert errors["#/id"] == "is read-only"
    assert "remote-sensing" in errors["#/slug"]


def test_strings_the_database_or_feeds_would_choke_on_are_refused(
    client: FlaskClient, editor: EditorInfo
) -> None:
    for fields, where in [({"title": "Line\nbreak"}, "#/title"),
                          ({"title": "ok", "body": "nul \x00 byte"}, "#/body"),
                          ({"title": "lone \ud800 surrogate"}, "#/title"),
                          ({"title": None}, "#/title"),
                          ({"title": "ok", "tags": None}, "#/tags")]:
        assert where in pointers(problem(post(client, editor, **fields), 422, "validation"))
    missing = problem(post(client, editor, summary="no title"), 422, "validation")
    assert pointers(missing) == {"#/title": "is required"}


def test_same_title_clashes_with_409_and_an_explicit_slug_resolves_it(
    client: FlaskClient, editor: EditorInfo
) -> None:
    create(client, editor, title="Joint statement")
    body = problem(post(client, editor, title="Joint statement"), 409, "slug-taken")
    assert body["slug"] == "joint-statement"
    assert create(client, editor, title="Joint statement",
                  slug="joint-statement-2")["slug"] == "joint-statement-2"


def test_anonymous_callers_see_published_announcements_only(
    client: FlaskClient, editor: EditorInfo
) -> None:
    draft = create(client, editor, title="Draft")
    scheduled = create(client, editor, title="Scheduled", status="scheduled",
                       publish_at=_future())
    published = create(client, editor, title="Published", status="published")
    retracted = create(client, editor, title="Retracted", status="published")
    client.post(f"{API}/{retracted['id']}/retract", headers=editor.auth)

    for item in (draft, scheduled):
        problem(client.get(f"{API}/{item['id']}"), 404)
    problem(client.get(f"{API}/{retracted['id']}"), 410, "retracted")
    assert client.get(f"{API}/{published['id']}").get_json()["title"] == "Published"
    for item in (draft, scheduled, published, retracted):
        assert client.get(f"{API}/{item['id']}", headers=editor.auth).status_code == 200

    public = client.get(API).get_json()
    assert [i["title"] for i in public["items"]] == ["Published"] and public["total"] == 1
    everything = client.get(API, headers=editor.auth).get_json()
    assert {i["title"] for i in everything["items"]} == {"Draft", "Scheduled", "Published",
                                                         "Retracted"}
    body = problem(client.get(f"{API}?status=draft"), 401)
    assert "token" in body["detail"]
    assert client.get(f"{API}?status=published").get_json()["total"] == 1


def test_pagination_links_and_order(client: FlaskClient, editor: EditorInfo) -> None:
    for n in range(5):
        create(client, editor, title=f"Item {n}", status="published")
    first = client.get(f"{API}?per_page=2")
    page = first.get_json()
    assert [i["title"] for i in page["items"]] == ["Item 4", "Item 3"]  # newest first
    assert (page["page"], page["per_page"], page["total"]) == (1, 2, 5)
    base = f"{TEST_BASE_URL}{API}"
    assert page["links"] == {"first": f"{base}?page=1&per_page=2",
                             "last": f"{base}?page=3&per_page=2",
                             "next": f"{base}?page=2&per_page=2", "prev": None}
    assert first.headers["Link"] == (f'<{base}?page=1&per_page=2>; rel="first", '
                                     f'<{base}?page=3&per_page=2>; rel="last", '
                                     f'<{base}?page=2&per_page=2>; rel="next"')
    last = client.get(page["links"]["last"].removeprefix(TEST_BASE_URL)).get_json()
    assert [i["title"] for i in last["items"]] == ["Item 0"]
    assert last["links"]["next"] is None and last["links"]["prev"].endswith("page=2&per_page=2")
    beyond = client.get(f"{API}?page=9&per_page=2").get_json()
    assert beyond["items"] == [] and beyond["links"]["prev"].endswith("page=3&per_page=2")
    assert client.get(API).get_json()["per_page"] == 20


def test_filters(client: FlaskClient, editor: EditorInfo) -> None:
    create(client, editor, title="A", status="published", tags=["sar"], partners=["esa"])
    create(client, editor, title="B", status="published", tags=["sar"], partners=["nasa"])
    create(client, editor, title="C", tags=["sar"])

    def titles(query: str, auth: bool = False) -> list[str]:
        response = client.get(f"{API}?{query}", headers=editor.auth if auth else {})
        assert response.status_code == 200, response.get_json()
        return [i["title"] for i in response.get_json()["items"]]

    assert titles("tag=sar") == ["B", "A"]
    assert titles("tag=sar", auth=True) == ["C", "B", "A"]
    assert titles("tag=sar&status=draft", auth=True) == ["C"]
    assert titles("partner=esa") == ["A"]
    assert titles("tag=sar&partner=nasa&status=published", auth=True) == ["B"]
    assert titles("tag=unknown") == []
    links = client.get(f"{API}?tag=sar&per_page=1").get_json()["links"]
    assert links["next"] == f"{TEST_BASE_URL}{API}?page=2&per_page=1&tag=sar"


def test_bad_query_parameters_are_422_per_parameter(client: FlaskClient) -> None:
    errors = pointers(problem(client.get(
        f"{API}?page=0&per_page=101&tag=Bad_Tag&status=gone&sort=new"), 422, "validation"))
    assert set(errors) == {"page", "per_page", "tag", "status", "sort"}
    assert errors["sort"] == "is not a known field"
    for bad_page in ("x", "1.5", "99999999999999999999999"):
        response = client.get(f"{API}?page={bad_page}")
        assert "page" in pointers(problem(response, 422, "validation"))
    assert pointers(problem(client.get(f"{API}?tag=a&tag=b"), 422, "validation")) == {
        "tag": "must be given at most once"}


def test_listing_runs_a_fixed_number_of_queries(
    clean_app: Flask, client: FlaskClient, editor: EditorInfo
) -> None:
    def queries_for_listing() -> int:
        statements: list[str] = []

        def count(*args: object) -> None:
            # Only this thread's: a live Celery worker thread may be querying meanwhile.
            if threading.get_ident() == me:
                statements.append(str(args[2]))

        me = threading.get_ident()

        with clean_app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"{API}?per_page=100", headers=editor.auth).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    create(client, editor, title="One", tags=["a"], partners=["esa"])
    few = queries_for_listing()
    for n in range(6):
        create(client, editor, title=f"More {n}", tags=[f"t{n}", "a"], partners=["nasa"])
    assert queries_for_listing() == few


def test_patch_edits_only_what_is_sent_and_keeps_slug_and_id(
    client: FlaskClient, editor: EditorInfo
) -> None:
    item = create(client, editor, title="First title", summary="Kept", tags=["sar"],
                  status="published")
    response = client.patch(f"{API}/{item['id']}", json={"title": "Second title", "tags": []},
                            headers=editor.auth)
    assert response.status_code == 200
    edited = response.get_json()
    assert edited["title"] == "Second title" and edited["tags"] == []
    assert (edited["id"], edited["uid"], edited["slug"]) == (item["id"], item["uid"],
                                                              item["slug"])
    assert edited["summary"] == "Kept" and edited["updated_at"] > item["updated_at"]
    moved = client.patch(f"{API}/{item['id']}", json={"slug": "new-home"}, headers=editor.auth)
    assert moved.get_json()["url"].endswith("/announcements/new-home")
    unchanged = client.patch(f"{API}/{item['id']}", json={}, headers=editor.auth)
    assert unchanged.status_code == 200 and unchanged.get_json()["title"] == "Second title"


def test_patch_refuses_status_read_only_fields_and_nulls(
    client: FlaskClient, editor: EditorInfo
) -> None:
    item = create(client, editor, title="Draft")
    body = problem(client.patch(f"{API}/{item['id']}", headers=editor.auth,
                                json={"status": "published", "created_at": "x", "summary": None}),
                   422, "validation")
    errors = pointers(body)
    assert "/publish" in errors["#/status"]
    assert errors["#/created_at"] == "is read-only"
    assert "#/summary" in errors
    other = create(client, editor, title="Other")
    problem(client.patch(f"{API}/{item['id']}", json={"slug": other["slug"]},
                         headers=editor.auth), 409, "slug-taken")
    problem(client.patch(f"{API}/999999", json={}, headers=editor.auth), 404)


def test_etag_if_match_and_if_none_match(client: FlaskClient, editor: EditorInfo) -> None:
    item = create(client, editor, title="Versioned")
    path = f"{API}/{item['id']}"
    etag = client.get(path, headers=editor.auth).headers["ETag"]
    assert etag.startswith('W/"')
    not_modified = client.get(path, headers={**editor.auth, "If-None-Match": etag})
    assert not_modified.status_code == 304
    ok = client.patch(path, json={"title": "V2"}, headers={**editor.auth, "If-Match": etag})
    assert ok.status_code == 200 and ok.headers["ETag"] != etag
    stale = client.patch(path, json={"title": "V3"}, headers={**editor.auth, "If-Match": etag})
    body = problem(stale, 412)
    assert "GET it again" in body["detail"]
    assert client.get(path, headers=editor.auth).get_json()["title"] == "V2"
    also_stale = client.post(f"{path}/publish", headers={**editor.auth, "If-Match": etag})
    problem(also_stale, 412)
    assert client.patch(path, json={"title": "V3"},
                        headers={**editor.auth, "If-Match": "*"}).status_code == 200
    # Weak comparison: the same tag without its W/ (as some proxies pass it on) still matches.
    current = client.get(path, headers=editor.auth).headers["ETag"]
    assert client.patch(path, json={"title": "V4"}, headers={
        **editor.auth, "If-Match": current.removeprefix("W/")}).status_code == 200


def test_authors_write_drafts_only(
    client: FlaskClient, editor: EditorInfo, author: EditorInfo,
    make_editor: Callable[..., EditorInfo],
) -> None:
    mine = create(client, author, title="Author draft")
    assert client.patch(f"{API}/{mine['id']}", json={"title": "Better"},
                        headers=author.auth).status_code == 200
    for status in ("published", "scheduled"):
        extra = {"publish_at": _future()} if status == "scheduled" else {}
        body = problem(post(client, author, title="Eager", status=status, **extra), 403,
                       "forbidden")
        assert "author" in body["detail"]
    for action in ("publish", "retract", "unschedule"):
        body = problem(client.post(f"{API}/{mine['id']}/{action}", headers=author.auth), 403,
                       "forbidden")
        assert f"cannot {action}" in body["detail"]
    problem(client.post(f"{API}/{mine['id']}/schedule", json={"publish_at": _future()},
                        headers=author.auth), 403, "forbidden")

    theirs = create(client, make_editor("author"), title="Someone else's draft")
    body = problem(client.patch(f"{API}/{theirs['id']}", json={"title": "Mine now"},
                                headers=author.auth), 403, "forbidden")
    assert "own drafts" in body["detail"]
    # Authorization comes before the precondition: a stale ETag still gets the 403.
    problem(client.patch(f"{API}/{theirs['id']}", json={"title": "x"},
                         headers={**author.auth, "If-Match": 'W/"stale"'}), 403, "forbidden")
    # Once an editor publishes the author's draft, it is no longer the author's to edit.
    assert client.post(f"{API}/{mine['id']}/publish", headers=editor.auth).status_code == 200
    problem(client.patch(f"{API}/{mine['id']}", json={"title": "Sneaky"}, headers=author.auth),
            403, "forbidden")
    assert client.patch(f"{API}/{theirs['id']}", json={"title": "Edited by an editor"},
                        headers=editor.auth).status_code == 200


def test_status_actions(client: FlaskClient, editor: EditorInfo) -> None:
    item = create(client, editor, title="Workflow")
    path = f"{API}/{item['id']}"
    problem(client.post(f"{path}/retract", headers=editor.auth), 409, "not-allowed")
    problem(client.post(f"{path}/schedule", json={}, headers=editor.auth), 422, "validation")
    when = _future(5)
    scheduled = client.post(f"{path}/schedule", json={"publish_at": when}, headers=editor.auth)
    assert scheduled.get_json()["status"] == "scheduled"
    later = _future(6)
    moved = client.patch(path, json={"publish_at": later}, headers=editor.auth).get_json()
    assert moved["publish_at"] == later.replace("+00:00", "Z")
    back = client.post(f"{path}/unschedule", headers=editor.auth).get_json()
    assert back["status"] == "draft" and back["publish_at"] is None
    problem(client.patch(path, json={"publish_at": later}, headers=editor.auth), 409,
            "not-allowed")
    problem(client.post(f"{path}/publish", json={"now": True}, headers=editor.auth), 422,
            "validation")
    published = client.post(f"{path}/publish", json={}, headers=editor.auth).get_json()
    assert published["status"] == "published" and published["published_at"]
    again = client.post(f"{path}/publish", headers=editor.auth).get_json()
    assert again["published_at"] == published["published_at"]  # idempotent
    problem(client.post(f"{path}/schedule", json={"publish_at": when}, headers=editor.auth),
            409, "not-allowed")
    problem(client.post(f"{path}/unschedule", headers=editor.auth), 409, "not-allowed")
    retracted = client.post(f"{path}/retract", headers=editor.auth).get_json()
    assert retracted["status"] == "retracted"
    problem(client.post(f"{path}/publish", headers=editor.auth), 409, "not-allowed")
    problem(client.post(f"{API}/424242/publish", headers=editor.auth), 404)


def test_token_use_is_recorded_on_reads(
    clean_app: Flask, client: FlaskClient, editor: EditorInfo
) -> None:
    with clean_app.app_context():
        assert db.session.scalar(sa.select(ApiToken.last_used_at)) is None
    assert client.get(API, headers=editor.auth).status_code == 200
    with clean_app.app_context():
        first = db.session.scalar(sa.select(ApiToken.last_used_at))
        assert first is not None
    # Within a minute a request writes nothing: "last used" keeps minute precision.
    assert client.get(API, headers=editor.auth).status_code == 200
    with clean_app.app_context():
        assert db.session.scalar(sa.select(ApiToken.last_used_at)) == first
        db.session.execute(sa.update(ApiToken).values(last_used_at=first - timedelta(minutes=2)))
        db.session.commit()
    assert client.get(API, headers=editor.auth).status_code == 200
    with clean_app.app_context():
        later = db.session.scalar(sa.select(ApiToken.last_used_at))
        assert later is not None and later > first
