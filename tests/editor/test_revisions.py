"""Every save keeps a revision (editor, API or importer alike); diff between two; restore one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing, revisions
from service.announcements.models import Announcement, Revision, Status
from service.database import db
from tests.editor.conftest import post
from tests.factories import EditorInfo


def _numbers(announcement_id: int) -> list[tuple[int, str, str]]:
    rows = db.session.execute(
        sa.select(Revision.number, Revision.title, Revision.status)
        .where(Revision.announcement_id == announcement_id)
        .order_by(Revision.number)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_create_and_each_changing_update_keep_a_revision(ctx: Flask) -> None:
    item = publishing.create(title="One", body="a", tags=["x"], author_id=None)
    publishing.update(item, {"title": "Two"})
    publishing.update(item, {"title": "Two", "body": "a"})  # no change: no revision
    publishing.update(item, {"tags": ["x", "y"]})
    publishing.publish(item)
    publishing.update(item, {"body": "b"})
    db.session.commit()
    assert _numbers(item.id) == [
        (1, "One", "draft"),
        (2, "Two", "draft"),
        (3, "Two", "draft"),
        (4, "Two", "published"),
    ]
    last = revisions.latest(item.id)
    assert last is not None and last.tags == ["x", "y"] and last.body == "b"


def test_a_create_that_publishes_keeps_one_published_revision(ctx: Flask) -> None:
    item = publishing.create(title="Straight out", status=Status.PUBLISHED)
    db.session.commit()
    assert _numbers(item.id) == [(1, "Straight out", "published")]


def test_rescheduling_alone_adds_no_revision(ctx: Flask) -> None:
    from datetime import timedelta

    from service.database import utcnow

    item = publishing.create(
        title="Later", status=Status.SCHEDULED, publish_at=utcnow() + timedelta(days=1)
    )
    publishing.update(item, {"publish_at": utcnow() + timedelta(days=2)})
    db.session.commit()
    assert len(_numbers(item.id)) == 1


def test_diff_shows_changed_lines_field_by_field(ctx: Flask) -> None:
    item = publishing.create(title="Same", body="line one\nline two\nline three", tags=["a"])
    publishing.update(item, {"body": "line one\nline 2\nline three", "tags": ["a", "b"]})
    db.session.commit()
    first, second = revisions.get(item.id, 1), revisions.get(item.id, 2)
    assert first is not None and second is not None
    diffs = {d.field: d.rows for d in revisions.diff(first, second)}
    assert set(diffs) == {"body", "tags"}
    body = [(r.old.segments, r.new.segments, r.changed) for r in diffs["body"]]
    assert body == [
        ((("same", "line one"),), (("same", "line one"),), False),
        ((("same", "line "), ("del", "two")), (("same", "line "), ("add", "2")), True),
        ((("same", "line three"),), (("same", "line three"),), False),
    ]
    assert [(r.old.number, r.new.number, r.new.segments) for r in diffs["tags"] if r.changed] \
        == [(None, 2, (("add", "b"),))]


def test_editor_sees_history_compares_and_restores(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    editor = signed_in("editor")
    with clean_app.app_context():
        item = publishing.create(
            title="First title", body="Original body.", author_id=editor.id, status=Status.PUBLISHED
        )
        db.session.commit()
        item_id = item.id
    path = f"/editor/announcements/{item_id}"
    post(
        client,
        path,
        path,
        title="Second title",
        body="Changed body.",
        language="en",
        summary="",
        tags="",
        partners="",
        save="Save",
    )

    history = client.get(f"{path}/revisions")
    assert history.status_code == 200
    assert history.text.count('name="from"') == 2 and editor.email in history.text

    diff = client.get(f"{path}/revisions/diff", query_string={"from": "2", "to": "1"})
    assert diff.status_code == 200 and "Revision 1 → 2" in diff.text
    # Side by side, only the changed word marked on each side.
    assert '<td class="old" dir="auto"><del>Original</del> body.</td>' in diff.text
    assert '<td class="new" dir="auto"><ins>Changed</ins> body.</td>' in diff.text
    assert "<th scope=\"col\" colspan=\"2\">Revision 1</th>" in diff.text
    assert client.get(f"{path}/revisions/diff?from=1&to=9").status_code == 404
    assert client.get(f"{path}/revisions/diff?from=x&to=1").status_code == 404

    restored = post(client, f"{path}/revisions/1/restore", f"{path}/revisions")
    assert restored.status_code == 303
    with clean_app.app_context():
        item = db.session.get(Announcement, item_id)
        assert item is not None and (item.title, item.body) == ("First title", "Original body.")
        assert item.status is Status.PUBLISHED  # restoring text never changes the status
        assert [n for n, _, _ in _numbers(item_id)] == [1, 2, 3]  # the restore is a revision
        latest = revisions.latest(item_id)
        assert latest is not None and latest.editor_id == editor.id


def test_author_cannot_restore_a_published_announcement(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    with clean_app.app_context():
        item = publishing.create(title="Public", status=Status.PUBLISHED)
        publishing.update(item, {"title": "Public, edited"})
        db.session.commit()
        item_id = item.id
    signed_in("author")
    path = f"/editor/announcements/{item_id}/revisions"
    page = client.get(path)
    assert page.status_code == 200 and ">Restore</button>" not in page.text
    assert post(client, f"{path}/1/restore", path).status_code == 403


def test_submission_is_a_revision_and_survives_edits(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    author = signed_in("author")
    with clean_app.app_context():
        item = publishing.create(title="Draft", author_id=author.id)
        db.session.commit()
        item_id = item.id
    path = f"/editor/announcements/{item_id}"
    post(client, f"{path}/submit", path)
    post(client, path, path, title="Draft, improved", language="en", save="Save")
    with clean_app.app_context():
        assert [s for _, _, s in _numbers(item_id)] == ["draft", "submitted", "submitted"]
        assert revisions.submitted_among([item_id]) == {item_id}
        publishing.publish(db.session.get(Announcement, item_id))
        db.session.commit()
        assert revisions.submitted_among([item_id]) == set()  # published: no longer waiting


@pytest.mark.parametrize("bad", ["²", "٣", "99999999999999999999", "2147483648"])
def test_a_revision_number_that_is_none_is_404_not_500(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo], bad: str
) -> None:
    editor = signed_in("editor")
    with clean_app.app_context():
        item = publishing.create(title="Numbered", body="Body.", author_id=editor.id)
        db.session.commit()
        path = f"/editor/announcements/{item.id}"
    diff = f"{path}/revisions/diff"
    assert client.get(diff, query_string={"from": bad, "to": "1"}).status_code == 404
    assert client.get(diff, query_string={"from": "1", "to": bad}).status_code == 404
    assert client.get(diff, query_string={"from": "1", "to": "1"}).status_code == 200
    if bad.isascii():
        restore = post(client, f"{path}/revisions/{bad}/restore", f"{path}/revisions")
        assert restore.status_code == 404


def test_the_comparison_page_escapes_what_editors_wrote(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    editor = signed_in("editor")
    with clean_app.app_context():
        item = publishing.create(title="Markup", body="Safe <b>bold</b> text.", author_id=editor.id)
        db.session.commit()
        publishing.update(item, {"body": "Safe <script>alert(1)</script> text."})
        db.session.commit()
        item_id = item.id
    page = client.get(f"/editor/announcements/{item_id}/revisions/diff?from=1&to=2")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert 'Safe &lt;<ins>script</ins>&gt;<ins>alert(1)</ins>&lt;/<ins>script</ins>&gt; text.' \
        in page.text
