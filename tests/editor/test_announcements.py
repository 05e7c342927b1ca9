"""Writing, previewing, publishing, scheduling and retracting from the editor, role by role."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.announcements.models import Announcement, Status
from service.database import db, utcnow
from service.outbox.models import OutboxEvent
from tests import factories
from tests.editor.conftest import post
from tests.factories import EditorInfo
from tests.fixtures.data import count
from tests.public.statements import count_statements

NEW = "/editor/announcements/new"


def _write(client: FlaskClient, **fields: str) -> str:
    """Save a new announcement through the form; returns its edit page path."""
    data = {
        "title": "Joint mission",
        "summary": "A summary.",
        "body": "Some **text**.",
        "language": "en",
        "tags": "",
        "partners": "",
        "save": "Save",
        **fields,
    }
    response = post(client, NEW, NEW, **data)
    assert response.status_code == 303, response.text
    return response.location


def _item(app: Flask, path: str) -> Announcement:
    announcement_id = int(path.rstrip("/").rsplit("/", 1)[1])
    with app.app_context():
        item = db.session.get(Announcement, announcement_id)
        assert item is not None
        db.session.expunge(item)
        return item


def test_write_saves_a_draft_with_tags_partners_and_language(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    editor = signed_in("editor")
    path = _write(
        client,
        title="Radar campaign",
        tags="Remote sensing, agreements",
        partners="ESA",
        language="ar",
        body="## Plan\n\nText.",
    )
    page = client.get(path)
    assert page.status_code == 200 and "Saved as a draft." in page.text
    item = _item(clean_app, path)
    assert item.status is Status.DRAFT and item.author_id == editor.id
    assert item.slug == "radar-campaign" and item.language == "ar"
    with clean_app.app_context():
        item = db.session.get(Announcement, item.id)
        assert [t.slug for t in item.tags] == ["agreements", "remote-sensing"]
        assert [p.slug for p in item.partners] == ["esa"]
        assert item.body_html == "<h2>Plan</h2>\n<p>Text.</p>\n"
        assert count(OutboxEvent) == 0  # a draft changes nothing readers see


def test_preview_renders_what_readers_see_and_saves_nothing(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("author")
    response = post(
        client,
        NEW,
        NEW,
        title="Preview me",
        summary="Short.",
        language="ar",
        body="## Big\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1))",
        tags="observatory",
        partners="nasa",
        preview="Preview",
    )
    assert response.status_code == 200
    preview = response.text.split('id="preview-heading"', 1)[1]
    assert '<article class="announcement" lang="ar" dir="rtl">' in preview
    assert "<h2>Big</h2>" in preview and "<strong>bold</strong>" in preview
    assert "<script>" not in preview and 'href="javascript' not in preview
    assert "<bdi>NASA</bdi></a>" in preview and "<bdi>#Observatory</bdi></a>" in preview
    assert 'value="Preview me"' in response.text  # the form keeps what was typed
    with clean_app.app_context():
        assert count(Announcement) == 0


def test_bad_input_gets_clear_errors_and_keeps_the_text(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    response = post(
        client,
        NEW,
        NEW,
        title="",
        body="kept body",
        tags="!!!",
        slug="Not A Slug",
        language="xx-not-offered",
        save="Save",
    )
    assert response.status_code == 200
    errors = re.findall(r'class="error"[^>]*>([^<]*)<', response.text)
    assert len(errors) == 4, errors
    assert "kept body" in response.text
    _write(client, title="Taken")
    clash = post(client, NEW, NEW, title="Other", slug="taken", language="en", save="Save")
    assert clash.status_code == 200 and "another announcement has the address" in clash.text
    with clean_app.app_context():
        assert count(Announcement) == 1


def test_edit_updates_and_publish_schedule_retract(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    path = _write(client, title="Before")
    edited = post(
        client,
        path,
        path,
        title="After",
        summary="New summary",
        body="Body",
        language="en",
        tags="satellites",
        partners="",
        slug="after",
        save="Save",
    )
    assert edited.status_code == 303
    item = _item(clean_app, path)
    assert (item.title, item.slug) == ("After", "after")

    when = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    scheduled = post(client, f"{path}/schedule", path, publish_at=when.strftime("%Y-%m-%dT%H:%M"))
    assert scheduled.status_code == 303
    item = _item(clean_app, path)
    assert item.status is Status.SCHEDULED and item.publish_at == when
    assert client.get("/announcements/after").status_code == 404  # embargoed

    past = post(client, f"{path}/schedule", path, publish_at="2001-01-01T10:00")
    assert "choose a time in the future" in client.get(past.location).text
    nonsense = post(client, f"{path}/schedule", path, publish_at="next tuesday")
    assert nonsense.status_code == 303
    assert _item(clean_app, path).publish_at == when  # unchanged by either

    assert post(client, f"{path}/unschedule", path).status_code == 303
    assert _item(clean_app, path).status is Status.DRAFT

    asked = post(client, f"{path}/publish", path)  # the page's button: a confirmation first
    assert asked.status_code == 200 and "Yes, publish now" in asked.text
    assert _item(clean_app, path).status is Status.DRAFT
    assert post(client, f"{path}/publish", path, confirmed="yes").status_code == 303
    item = _item(clean_app, path)
    assert item.status is Status.PUBLISHED and item.published_at is not None
    assert client.get("/announcements/after").status_code == 200
    # The slug is the public address now: an edit cannot move it.
    post(
        client,
        path,
        path,
        title="After",
        summary="",
        body="Body",
        language="en",
        tags="satellites",
        partners="",
        slug="moved",
        save="Save",
    )
    assert _item(clean_app, path).slug == "after"

    asked = post(client, f"{path}/retract", path)
    assert asked.status_code == 200 and "Yes, retract now" in asked.text
    assert _item(clean_app, path).status is Status.PUBLISHED
    assert post(client, f"{path}/retract", path, confirmed="yes").status_code == 303
    assert _item(clean_app, path).status is Status.RETRACTED
    assert client.get("/announcements/after").status_code == 410
    again = post(client, f"{path}/publish", path, confirmed="yes")
    assert "cannot be published" in client.get(again.location).text
    back = post(client, f"{path}/unschedule", path)  # never "back to draft" once readers saw it
    assert "is not scheduled" in client.get(back.location).text
    assert _item(clean_app, path).status is Status.RETRACTED
    with clean_app.app_context():
        kinds = list(db.session.scalars(sa.select(OutboxEvent.kind).order_by(OutboxEvent.id)))
    assert kinds == ["announcement.scheduled", "announcement.unscheduled",
                     "announcement.published", "announcement.updated", "announcement.retracted"]


def test_author_writes_and_submits_but_cannot_publish(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("author")
    path = _write(client, title="Author draft")
    page = client.get(path).text
    assert "Publish now" not in page and "Schedule" not in page
    assert "Submit for review" in page
    for action in ("publish", "schedule", "unschedule", "retract"):
        response = post(client, f"{path}/{action}", path, publish_at="2099-01-01T10:00")
        assert response.status_code == 403, action
    assert _item(clean_app, path).status is Status.DRAFT

    submitted = post(client, f"{path}/submit", path)
    assert submitted.status_code == 303
    assert "awaiting review" in client.get(path).text
    listed = client.get("/editor/announcements?status=submitted").text
    assert "Author draft" in listed


def test_author_cannot_change_what_readers_see_or_others_drafts(
    clean_app: Flask,
    client: FlaskClient,
    signed_in: Callable[[str], EditorInfo],
    make_editor: Callable[..., EditorInfo],
) -> None:
    other = make_editor("author")
    theirs = factories.announcement(clean_app, "Their draft", status=Status.DRAFT,
                                    author_id=other.id)
    public = factories.announcement(clean_app, title="Public one", status=Status.PUBLISHED)
    signed_in("author")
    for item_id in (theirs, public):
        path = f"/editor/announcements/{item_id}"
        page = client.get(path)
        assert page.status_code == 200
        assert "can read this announcement but not change it" in page.text
        response = post(client, path, path, title="Hijacked", language="en", save="Save")
        assert response.status_code == 403
        assert post(client, f"{path}/submit", path).status_code == 403
    with clean_app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Announcement.title == "Hijacked"))
            == 0
        )


def test_list_filters_by_status_and_searches_titles(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    factories.announcement(clean_app, status=Status.DRAFT, title="Lunar draft")
    factories.announcement(clean_app, title="Lunar news", status=Status.PUBLISHED)
    factories.announcement(clean_app, title="Radar news", status=Status.PUBLISHED)
    factories.announcement(
        clean_app,
        title="100% sure",
        status=Status.SCHEDULED,
        publish_at=utcnow() + timedelta(days=1),
    )
    signed_in("editor")

    def titles(query: str) -> list[str]:
        response = client.get(f"/editor/announcements{query}")
        assert response.status_code == 200
        return re.findall(r'<th scope="row"><a [^>]*>([^<]*)</a>', response.text)

    assert sorted(titles("")) == ["100% sure", "Lunar draft", "Lunar news", "Radar news"]
    assert sorted(titles("?status=published")) == ["Lunar news", "Radar news"]
    assert titles("?status=draft") == ["Lunar draft"]
    assert sorted(titles("?q=LUNAR")) == ["Lunar draft", "Lunar news"]
    assert titles("?status=published&q=radar") == ["Radar news"]
    assert titles("?q=%25") == ["100% sure"]  # a literal %, not a wildcard
    assert client.get("/editor/announcements?status=bogus").status_code == 404
    assert client.get("/editor/announcements?page=0").status_code == 404


def test_list_runs_the_same_queries_for_3_or_30_items(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")

    def statements() -> int:
        with count_statements(clean_app) as seen:
            assert client.get("/editor/announcements").status_code == 200
        return len(seen)

    for number in range(3):
        factories.announcement(clean_app, f"Few {number}", status=Status.DRAFT,
                               tags=[f"t{number}"], partners=["esa"])
    few = statements()
    for number in range(27):
        factories.announcement(
            clean_app,
            title=f"Many {number}",
            tags=[f"t{number}", "x"],
            partners=["nasa"],
            status=Status.PUBLISHED,
        )
    assert statements() == few


def test_scheduled_time_is_read_as_utc(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    path = _write(client, title="Timed")
    post(client, f"{path}/schedule", path, publish_at="2099-05-01T09:30")
    item = _item(clean_app, path)
    assert item.publish_at is not None
    assert item.publish_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") == "2099-05-01 09:30"
    assert "01 May 2099 09:30 UTC" in client.get(path).text


def test_an_editor_publishes_a_new_announcement_in_one_step(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    assert 'value="Publish now"' in client.get(NEW).text
    path = _write(client, title="Published at once", save="", publish="Publish now")
    assert path.endswith("/publish")  # saved as a draft, then the confirmation
    asked = client.get(path).text
    assert "Confirm below to publish it" in asked and "Yes, publish now" in asked
    path = path.removesuffix("/publish")
    assert _item(clean_app, path).status is Status.DRAFT
    done = post(client, f"{path}/publish", path, confirmed="yes")
    assert "Published. Readers see it now" in client.get(done.location).text
    item = _item(clean_app, path)
    assert item.status is Status.PUBLISHED and item.published_at is not None
    with clean_app.app_context():
        assert count(OutboxEvent) == 1  # the feeds and instant mail follow from it


def test_an_author_cannot_publish_a_new_announcement(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("author")
    assert 'value="Publish now"' not in client.get(NEW).text
    response = post(client, NEW, NEW, title="Not mine to publish", summary="S.", body="B.",
                    language="en", tags="", partners="", publish="Publish now")
    assert response.status_code == 403
    with clean_app.app_context():
        assert count(Announcement) == 0


NOT_NUMBERS = ["²", "٣", "99999999999999999999", "2147483648"]


@pytest.mark.parametrize("bad", NOT_NUMBERS)
def test_a_number_in_the_url_that_is_none_is_404_not_500(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo], bad: str
) -> None:
    signed_in("editor")
    assert client.get("/editor/announcements", query_string={"page": bad}).status_code == 404
    assert client.get("/editor/announcements?page=1").status_code == 200
    if bad.isascii():  # too large for an integer column: the route itself does not match
        assert client.get(f"/editor/announcements/{bad}").status_code == 404
        assert post(client, f"/editor/announcements/{bad}/publish", "/editor/").status_code == 404
