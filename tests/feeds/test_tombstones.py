"""RFC 6721 tombstones: a retraction reaches the Atom feeds that carried the item, with the
editor's reason and never the title, for TOMBSTONE_DAYS; RSS and JSON Feed just drop it.

The documents are held to the same checks as every feed (the RFC 4287 schema, the RSS profile,
the JSON Feed schema, feedparser), built from the database by the code workers run.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from service.announcements import publishing
from service.announcements.models import Announcement
from service.database import db
from service.feeds import build, documents
from service.feeds.formats import render_atom, render_json, render_rss
from service.feeds.tombstones import NS, Tombstone
from tests import factories
from tests.feeds.test_formats import (
    ATOM,
    assert_valid_atom,
    assert_valid_json_feed,
    atom_schema,
    check_rss_profile,
    make_items,
    make_meta,
    parse_feed,
)
from tests.waiting import wait_for

AT = {"at": NS}
REASON = "Issued in error: the launch date was wrong & <unconfirmed>."
WHEN = datetime(2024, 5, 3, 12, 0, tzinfo=UTC)


def _stones(root: etree._Element) -> list[tuple[str | None, str | None, str | None]]:
    return [(el.get("ref"), el.get("when"), el.findtext("at:comment", namespaces=AT))
            for el in root.iterfind("at:deleted-entry", AT)]


# --- The documents ------------------------------------------------------------------------


def test_a_tombstone_is_valid_atom_and_readers_still_parse_the_feed() -> None:
    gone = Tombstone("urn:uuid:3f2c1e2a-9b1d-4c55-8d7e-000000000009", WHEN, REASON)
    quiet = Tombstone("urn:uuid:3f2c1e2a-9b1d-4c55-8d7e-000000000008", WHEN, "")
    meta, items = make_meta(tombstones=(gone, quiet)), make_items()
    data = render_atom(meta, items)
    root = assert_valid_atom(data)
    assert root.nsmap["at"] == NS
    assert _stones(root) == [(gone.ref, "2024-05-03T12:00:00.000+00:00", REASON),
                             (quiet.ref, "2024-05-03T12:00:00.000+00:00", None)]
    [comment] = root.iterfind("at:deleted-entry/at:comment", AT)
    assert comment.get("type") == "text"
    # Foreign elements come before the entries (RFC 4287: extensionElement*, atomEntry*).
    children = [el.tag for el in root]
    assert children.index(f"{{{NS}}}deleted-entry") < children.index(f"{{{ATOM}}}entry")
    parsed = parse_feed(data)
    assert [e.id for e in parsed.entries] == [item.id for item in items]


def test_without_tombstones_the_atom_feed_declares_no_extra_namespace() -> None:
    root = assert_valid_atom(render_atom(make_meta(), make_items()))
    assert "at" not in root.nsmap and not _stones(root)


def test_the_schema_check_still_refuses_a_malformed_tombstone() -> None:
    """Foreign markup is allowed, but not where RFC 4287 forbids it (after the entries)."""
    good = render_atom(make_meta(tombstones=(Tombstone("urn:x", WHEN, "why"),)), make_items())
    root = etree.fromstring(good)
    stone = root.find("at:deleted-entry", AT)
    root.remove(stone)
    root.append(stone)
    assert not atom_schema().validate(root)


@pytest.mark.parametrize("fmt", ["rss", "json"])
def test_rss_and_json_feed_show_no_tombstones(fmt: str) -> None:
    render = {"rss": render_rss, "json": render_json}[fmt]
    stones = (Tombstone("urn:uuid:3f2c1e2a-9b1d-4c55-8d7e-000000000009", WHEN, REASON),)
    meta = make_meta(tombstones=stones)
    assert render(meta, make_items()) == render(dataclasses.replace(meta, tombstones=()),
                                                make_items())
    data = render(meta, make_items())
    if fmt == "rss":
        check_rss_profile(data, meta, make_items())
    else:
        assert_valid_json_feed(data)


# --- Built from the database --------------------------------------------------------------


def _documents(scope: str) -> dict[str, bytes]:
    db.session.rollback()
    build.rebuild_scope(scope)  # places new announcements in the scope's history, as a build does
    return {fmt: body for fmt, (_, body) in documents.render_scope(scope).items()}


def _retract(item_id: int, reason: str | None) -> None:
    publishing.retract(db.session.get(Announcement, item_id), reason)
    db.session.commit()


def test_a_retraction_puts_a_tombstone_in_every_atom_feed_that_carried_it(ctx: Flask) -> None:
    item_id = factories.announcement(ctx, title="Lunar lander date moved", tags=["moon"],
                                     partners=["esa", "nasa"])
    factories.announcement(ctx, title="Unrelated", tags=["observatory"])
    scopes = ["all", "tag:moon", "partner:esa", "partner:nasa"]


    def carried() -> set[str] | None:  # a session worker may be placing the same items
        found = [{entry.id for entry in parse_feed(_documents(scope)["atom"]).entries
                  if entry.title == "Lunar lander date moved"} for scope in scopes]
        return set().union(*found) if all(found) else None

    ids = wait_for(carried, timeout=20, interval=0.2)
    assert len(ids) == 1
    [ref] = ids
    _retract(item_id, REASON)
    item = db.session.get(Announcement, item_id)
    when = item.retracted_at.astimezone(UTC).isoformat(timespec="milliseconds")
    for scope in scopes:
        documents = _documents(scope)
        root = assert_valid_atom(documents["atom"])
        assert _stones(root) == [(ref, when, REASON)], scope
        assert b"Lunar lander" not in documents["atom"]  # the title is never in the tombstone
        assert "Lunar lander date moved" not in [e.title for e in
                                                 parse_feed(documents["atom"]).entries]
        for fmt in ("rss", "json"):
            assert ref.encode() not in documents[fmt], (scope, fmt)
            assert b"Lunar lander" not in documents[fmt]
            assert REASON.encode() not in documents[fmt]
        assert_valid_json_feed(documents["json"])
        parse_feed(documents["rss"])
    # A feed that never carried it says nothing about it.
    unrelated = _documents("tag:observatory")["atom"]
    assert not _stones(assert_valid_atom(unrelated)) and ref.encode() not in unrelated


def test_no_reason_gives_a_tombstone_without_a_comment(ctx: Flask) -> None:
    item_id = factories.announcement(ctx, title="Withdrawn quietly")
    _retract(item_id, None)
    [(ref, _, comment)] = _stones(assert_valid_atom(_documents("all")["atom"]))
    assert comment is None
    assert ref == documents.entry_id(db.session.get(Announcement, item_id).uid)


def _move_retraction_back(item_id: int, by: timedelta) -> None:
    item = db.session.get(Announcement, item_id)
    item.retracted_at = item.retracted_at - by
    db.session.commit()


def test_the_tombstone_leaves_after_tombstone_days(ctx: Flask) -> None:
    days = ctx.config["SETTINGS"].tombstone_days
    assert days == 30  # the default
    item_id = factories.announcement(ctx, title="Old retraction", tags=["moon"])
    _retract(item_id, REASON)
    _move_retraction_back(item_id, timedelta(days=days) - timedelta(minutes=1))
    assert len(_stones(assert_valid_atom(_documents("tag:moon")["atom"]))) == 1
    _move_retraction_back(item_id, timedelta(minutes=2))
    for scope in ("all", "tag:moon"):
        root = assert_valid_atom(_documents(scope)["atom"])
        assert not _stones(root) and "at" not in root.nsmap


def test_tombstone_days_zero_means_none(ctx: Flask) -> None:
    item_id = factories.announcement(ctx, title="Retracted at once")
    _retract(item_id, REASON)
    settings = ctx.config["SETTINGS"]
    ctx.config["SETTINGS"] = dataclasses.replace(settings, tombstone_days=0)
    try:
        assert not _stones(assert_valid_atom(_documents("all")["atom"]))
    finally:
        ctx.config["SETTINGS"] = settings


def test_a_feed_holds_at_most_feed_size_tombstones_newest_first(ctx: Flask) -> None:
    size = ctx.config["FEED_SIZE"]
    ctx.config["FEED_SIZE"] = 2
    try:
        ids = [factories.announcement(ctx, title=f"Item {n}") for n in range(3)]
        for n, item_id in enumerate(ids):
            _retract(item_id, f"Reason {n}")
        comments = [c for _, _, c in _stones(assert_valid_atom(_documents("all")["atom"]))]
        assert comments == ["Reason 2", "Reason 1"]
    finally:
        ctx.config["FEED_SIZE"] = size


# --- Through the API and a real worker ----------------------------------------------------


def test_an_api_retraction_reaches_the_served_atom_feed(
    clean_app: Flask, client: FlaskClient, celery_worker: Any, make_editor: Any
) -> None:
    editor = make_editor("editor")
    created = client.post("/api/v1/announcements", headers=editor.auth, json={
        "title": "Station resupply", "status": "published", "partners": ["roscosmos"]})
    item = created.get_json()
    ref = f"urn:uuid:{item['uid']}"
    path = "/feeds/partners/roscosmos/atom.xml"
    wait_for(lambda: [e.id for e in parse_feed(client.get(path).data).entries] == [ref])
    response = client.post(f"/api/v1/announcements/{item['id']}/retract", headers=editor.auth,
                           json={"reason": "Postponed; a new date follows."})
    assert response.status_code == 200

    def stones() -> list[Any]:
        return _stones(etree.fromstring(client.get(path).data))

    wait_for(lambda: bool(stones()))
    [(got_ref, _, comment)] = stones()
    assert (got_ref, comment) == (ref, "Postponed; a new date follows.")
    assert parse_feed(client.get(path).data).entries == []
    assert json.loads(client.get("/feeds/partners/roscosmos/feed.json").data)["items"] == []


def test_beat_rebuilds_the_feeds_whose_tombstones_expired(ctx: Flask) -> None:
    """The stored feeds lose the tombstone when its period ends, without a publish: beat's
    hourly ``feeds.expire_tombstones`` rebuilds exactly the scopes of that announcement."""
    from service.feeds import expiry, store
    from tests.fixtures.processes import settle_session_worker

    days = ctx.config["SETTINGS"].tombstone_days
    item_id = factories.announcement(ctx, title="Expiring retraction", tags=["moon"])
    _retract(item_id, REASON)
    settle_session_worker(ctx)
    build.rebuild(["all", "tag:moon", "tag:observatory"])
    conn = ctx.extensions["redis"]

    def stones(scope: str) -> int:
        feed = store.get(conn, scope, "atom")
        assert feed is not None
        return len(_stones(etree.fromstring(feed.body)))

    assert stones("all") == 1 and stones("tag:moon") == 1
    assert expiry.rebuild_where_tombstones_expired() == 0  # not over yet: nothing rebuilt
    _move_retraction_back(item_id, timedelta(days=days, minutes=1))
    assert stones("all") == 1  # stored before the period ended, still there
    assert expiry.rebuild_where_tombstones_expired() == 2  # all and tag:moon, nothing else
    assert stones("all") == 0 and stones("tag:moon") == 0
    _move_retraction_back(item_id, expiry.WINDOW)  # long expired: not rebuilt again
    assert expiry.rebuild_where_tombstones_expired() == 0
