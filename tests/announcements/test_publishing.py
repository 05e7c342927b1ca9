"""The publishing workflow, called directly as views and tasks call it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from service.announcements import events, publishing
from service.announcements.models import Announcement, Status, Tag
from service.database import db, utcnow
from service.feeds import events as feed_events
from service.outbox.models import OutboxEvent
from tests.fixtures.data import count


def _events() -> list[OutboxEvent]:
    return list(db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.id)))


def test_draft_records_no_event(ctx: Flask) -> None:
    publishing.create(title="Quiet draft", body="x", tags=["satellites"])
    db.session.commit()
    assert _events() == []
    assert db.session.scalar(sa.select(Tag.name).where(Tag.slug == "satellites")) == "Satellites"


def test_publish_records_the_fact_with_tags_and_partners(ctx: Flask) -> None:
    item = publishing.create(title="Hello ESA", tags=["remote-sensing", "agreements"],
                             partners=["esa"], status=Status.PUBLISHED)
    db.session.commit()
    (event,) = _events()
    assert event.kind == "announcement.published"
    at = event.payload.pop("at")
    assert event.payload == {
        "announcement_id": item.id,
        "tags_before": ["agreements", "remote-sensing"],
        "tags_after": ["agreements", "remote-sensing"],
        "partners_before": ["esa"], "partners_after": ["esa"],
    }
    assert datetime.fromisoformat(at).tzinfo is not None
    assert item.published_at is not None and item.status is Status.PUBLISHED
    # The feeds' consumer derives its scopes from the fact.
    fact = events.AnnouncementEvent.from_outbox(event.kind, event.payload)
    assert feed_events.scopes_of(fact) == {"all", "partner:esa", "tag:agreements",
                                           "tag:remote-sensing"}


def test_an_event_row_from_before_facts_is_still_understood(ctx: Flask) -> None:
    """Rows an older release wrote (``scopes``), unprocessed at upgrade, reach the same feeds."""
    legacy = {"announcement_id": 7, "scopes": ["all", "partner:esa", "tag:observatory"]}
    fact = events.AnnouncementEvent.from_outbox("announcement.updated", legacy)
    assert fact.announcement_id == 7
    assert feed_events.scopes_of(fact) == {"all", "partner:esa", "tag:observatory"}


def test_slug_clash_is_refused(ctx: Flask) -> None:
    publishing.create(title="Same title")
    db.session.commit()
    with pytest.raises(publishing.SlugTaken):
        publishing.create(title="Same title")
    db.session.rollback()
    assert count(Announcement) == 1


def test_title_edit_keeps_slug_and_uid_and_moves_updated(ctx: Flask) -> None:
    item = publishing.create(title="Before", status=Status.PUBLISHED, tags=["observatory"])
    db.session.commit()
    slug, uid, updated = item.slug, item.uid, item.updated_at
    change = publishing.update(item, {"title": "After", "tags": ["astrophysics"]})
    db.session.commit()
    assert change.fields == {"title", "tags"} and change.visible
    assert (item.slug, item.uid) == (slug, uid)
    assert item.updated_at > updated
    # The old tag's feed must drop the item: the event names both sides, both are rebuilt.
    last = _events()[-1]
    assert (last.kind, last.payload["tags_before"], last.payload["tags_after"]) == (
        "announcement.updated", ["observatory"], ["astrophysics"])
    fact = events.AnnouncementEvent.from_outbox(last.kind, last.payload)
    assert feed_events.scopes_of(fact) == {"all", "tag:astrophysics", "tag:observatory"}


def test_no_op_edit_changes_nothing(ctx: Flask) -> None:
    item = publishing.create(title="Stable", body="b", status=Status.PUBLISHED)
    db.session.commit()
    updated = item.updated_at
    change = publishing.update(item, {"title": "Stable", "body": "b"})
    db.session.commit()
    assert not change.fields and item.updated_at == updated
    assert len(_events()) == 1


def test_schedule_then_publish_due(ctx: Flask) -> None:
    when = utcnow() + timedelta(hours=1)
    item = publishing.create(title="Embargoed", status=Status.SCHEDULED, publish_at=when)
    db.session.commit()
    assert [e.kind for e in _events()] == ["announcement.scheduled"]
    assert publishing.publish_due(now=when - timedelta(seconds=1)) == 0
    assert publishing.publish_due(now=when) == 1
    db.session.refresh(item)
    assert item.status is Status.PUBLISHED
    assert item.published_at == when.replace(microsecond=item.published_at.microsecond)
    assert [e.kind for e in _events()] == ["announcement.scheduled", "announcement.published"]
    assert publishing.publish_due(now=when + timedelta(hours=1)) == 0  # idempotent


def test_moving_and_lifting_an_embargo_are_events(ctx: Flask) -> None:
    when = utcnow() + timedelta(hours=1)
    item = publishing.create(title="Embargoed", status=Status.SCHEDULED, publish_at=when)
    publishing.update(item, {"publish_at": when + timedelta(hours=1)})
    publishing.unschedule(item)
    publishing.unschedule(item)  # a draft stays a draft: nothing happened
    db.session.commit()
    assert [e.kind for e in _events()] == [
        "announcement.scheduled", "announcement.scheduled", "announcement.unscheduled"]


def test_retract_only_published(ctx: Flask) -> None:
    draft = publishing.create(title="Draft")
    with pytest.raises(publishing.NotAllowed):
        publishing.retract(draft)
    item = publishing.create(title="Live", status=Status.PUBLISHED)
    publishing.retract(item)
    db.session.commit()
    assert item.status is Status.RETRACTED
    assert [e.kind for e in _events()] == ["announcement.published", "announcement.retracted"]
    # The same rules for the API and the editor: what readers saw never goes back.
    with pytest.raises(publishing.NotAllowed):
        publishing.publish(item)
    with pytest.raises(publishing.NotAllowed):
        publishing.unschedule(item)
    assert item.status is Status.RETRACTED
