"""A tag or partner only drafts or embargoed announcements have does not exist for readers.

Its name alone can leak an embargo (``secret-moon-deal``), so it is on no page: not a choice on
/subscribe, no tag or partner page, no feed, all 404 like an unknown slug. Once one of its
announcements is published all three appear, and a retraction keeps them (readers saw it, and
its feeds must show the item leave). The rule is ``queries.is_public``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing
from service.announcements.models import Announcement, Status
from service.database import db
from service.feeds import build, store
from service.subscriptions.forms import PreferencesForm
from service.subscriptions.lifecycle import Preferences
from service.subscriptions.models import Frequency
from tests import factories
from tests.fixtures.processes import settle_session_worker

TAG, PARTNER = "secret-moon-deal", "moon-corp"
PAGES = [f"/tags/{TAG}", f"/partners/{PARTNER}"]
FEEDS = [f"/feeds/{kind}/{slug}/{name}" for kind, slug in (("tags", TAG), ("partners", PARTNER))
         for name in ("rss.xml", "atom.xml", "feed.json")]


def _create(app: Flask, status: Status) -> int:
    """The one announcement these tests are about: its topics are its alone."""
    return factories.announcement(app, "Private moon expedition funded", status=status,
                                  tags=[TAG], partners=[PARTNER], language="ru")


def _subscribe_page(client: FlaskClient) -> str:
    page = client.get("/subscribe")
    assert page.status_code == 200
    return page.text


@pytest.mark.parametrize("status", [Status.DRAFT, Status.SCHEDULED])
def test_a_topic_only_unpublished_announcements_have_appears_once_published(
    clean_app: Flask, client: FlaskClient, status: Status
) -> None:
    item_id = _create(clean_app, status)
    with clean_app.app_context():  # other topics are public: the rule is per tag and partner
        publishing.create(title="Public news", tags=["agreements"], partners=["esa"],
                          status=Status.PUBLISHED)
        db.session.commit()
    subscribe = _subscribe_page(client)
    assert 'value="agreements"' in subscribe and 'value="esa"' in subscribe
    for hidden in (TAG, "Secret moon deal", PARTNER, "Moon corp", 'value="ru"'):
        assert hidden not in subscribe, hidden
    for path in PAGES + FEEDS:
        assert client.get(path).status_code == 404, path
        assert client.get(path).status_code == 404, path  # nothing was built by the first

    with clean_app.app_context():
        publishing.publish(db.session.get(Announcement, item_id))
        db.session.commit()
    subscribe = _subscribe_page(client)
    for shown in (f'value="{TAG}"', "Secret moon deal", f'value="{PARTNER}"', "Moon corp",
                  'value="ru"'):
        assert shown in subscribe, shown
    for path in PAGES + FEEDS:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Private moon expedition funded" in response.text, path


def test_a_retracted_announcement_keeps_its_topics_public(
    clean_app: Flask, client: FlaskClient
) -> None:
    item_id = _create(clean_app, Status.PUBLISHED)
    with clean_app.app_context():
        publishing.retract(db.session.get(Announcement, item_id))
        db.session.commit()
    # A running session worker rebuilds for both events; the publish's rebuild, from before
    # the retraction, must not be what this test reads.
    settle_session_worker(clean_app)
    for path in PAGES + FEEDS:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Private moon expedition funded" not in response.text, path  # it left
    subscribe = _subscribe_page(client)
    assert f'value="{TAG}"' in subscribe and f'value="{PARTNER}"' in subscribe
    assert 'value="ru"' not in subscribe  # languages: of published announcements only


def test_a_feed_built_before_the_rule_is_removed_by_a_rebuild(
    ctx: Flask, client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feeds of every tag were built (``feeds rebuild``, ``make dev``) whether public or not:
    the next rebuild removes them from Redis and from the export directory nginx serves."""
    monkeypatch.setitem(ctx.config, "SETTINGS",
                        replace(ctx.config["SETTINGS"], feed_export_dir=tmp_path))
    settle_session_worker(ctx)  # an earlier test's rebuild of this tag must not land mid-test
    _create(ctx, Status.SCHEDULED)
    conn = ctx.extensions["redis"]
    for scope in (f"tag:{TAG}", f"partner:{PARTNER}"):
        for fmt in ("rss", "atom", "json"):
            store.put(conn, scope, fmt, b"an empty feed", "text/xml", tmp_path)
    exported = tmp_path / store.export_path(f"tag:{TAG}", "atom")
    assert exported.exists() and client.get(FEEDS[1]).status_code == 200  # served as built

    assert build.rebuild(build.all_scopes()) == 1  # everything; not the tag nor the partner
    for path in FEEDS:
        assert client.get(path).status_code == 404, path
    assert not exported.exists() and not exported.with_name("atom.xml.gz").exists()
    assert f"tag:{TAG} atom" not in store.built_times(conn)


def test_the_manage_page_keeps_what_the_subscriber_chose(ctx: Flask) -> None:
    _create(ctx, Status.DRAFT)
    with ctx.test_request_context():
        form = PreferencesForm()
        form.load_choices()
        assert not form.tags.choices and not form.partners.choices
        form.load_choices(Preferences(Frequency.DAILY, (TAG,), (PARTNER,), "ru"))
        assert [c.value for c in form.tags.choices] == [TAG]
        assert [c.value for c in form.partners.choices] == [PARTNER]
        assert "ru" in [c.value for c in form.language.choices]
