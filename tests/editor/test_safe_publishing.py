"""Safe publishing: *Publish now* and *Retract* say what they will do and wait for a yes; the
Write page schedules in one step; times in the office's zone (TIMEZONE) with UTC beside."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.announcements.models import Announcement, Status
from service.config import load_settings
from service.database import db
from service.subscriptions.models import SubscriberStatus
from tests import factories
from tests.editor.conftest import post
from tests.factories import EditorInfo

NEW = "/editor/announcements/new"


def _status(app: Flask, item_id: int) -> Status:
    with app.app_context():
        item = db.session.get(Announcement, item_id)
        assert item is not None
        return item.status


def test_publish_names_who_gets_email_and_waits_for_yes(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    for number in range(3):
        factories.subscriber(clean_app, f"instant{number}@example.org", "instant")
    factories.subscriber(clean_app, "esa-only@example.org", "instant", partners=["esa"])
    factories.subscriber(clean_app, "nasa-only@example.org", "instant", partners=["nasa"])
    factories.subscriber(clean_app, "arabic@example.org", "instant", language="ar")
    factories.subscriber(clean_app, "left@example.org", "instant",
                         status=SubscriberStatus.UNSUBSCRIBED)
    factories.subscriber(clean_app, "daily@example.org", "daily")
    item_id = factories.announcement(clean_app, title="Relay agreement", status=Status.DRAFT,
                                     partners=["esa"], tags=["agreements"])
    path = f"/editor/announcements/{item_id}"
    asked = post(client, f"{path}/publish", path)
    assert asked.status_code == 200
    text = re.sub(r"\s+", " ", asked.text)
    assert "emails 4 instant subscribers now" in text  # 3 + ESA's; not NASA's, Arabic, left
    assert "in 3 feeds" in text  # everything, #agreements, ESA
    assert "next digest of 1 daily subscriber and 0 weekly subscribers" in text
    assert _status(clean_app, item_id) is Status.DRAFT
    assert client.get(f"{path}/publish").status_code == 200  # the same page at its address
    done = post(client, f"{path}/publish", path, confirmed="yes")
    assert done.status_code == 303 and _status(clean_app, item_id) is Status.PUBLISHED


def test_counts_are_formatted_for_people(clean_app: Flask, client: FlaskClient,
                                         signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("editor")
    with clean_app.app_context():
        from service.subscriptions.models import Frequency, Subscriber

        db.session.execute(sa.insert(Subscriber), [
            {"email": f"r{n}@example.org", "status": SubscriberStatus.CONFIRMED,
             "frequency": Frequency.INSTANT, "tags": [], "partners": []} for n in range(1204)])
        db.session.commit()
    item_id = factories.announcement(clean_app, title="Big news", status=Status.DRAFT)
    path = f"/editor/announcements/{item_id}"
    assert "emails 1,204 instant subscribers now" in post(client, f"{path}/publish", path).text


def test_retract_names_the_effect_and_keeps_the_reason(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    item_id = factories.announcement(clean_app, title="Wrong date")
    path = f"/editor/announcements/{item_id}"
    asked = post(client, f"{path}/retract", path, reason="The date was wrong.")
    assert "removes it from every list and feed now" in asked.text
    assert 'name="reason" value="The date was wrong."' in asked.text
    assert _status(clean_app, item_id) is Status.PUBLISHED


@pytest.fixture
def paris(clean_app: Flask) -> Iterator[None]:
    settings = clean_app.config["SETTINGS"]
    clean_app.config["SETTINGS"] = replace(settings, timezone="Europe/Paris")
    yield
    clean_app.config["SETTINGS"] = settings


def test_write_page_schedules_in_the_office_zone(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo], paris: None
) -> None:
    signed_in("editor")
    page = client.get(NEW).text
    assert "Publish at (Europe/Paris)" in page and 'value="Schedule"' in page
    done = post(client, NEW, NEW, title="Embargoed", summary="S.", body="B.", language="en",
                tags="", partners="", publish_at="2099-07-01T11:30", schedule="Schedule")
    assert done.status_code == 303
    with clean_app.app_context():
        item = db.session.scalars(sa.select(Announcement)).one()
        assert item.status is Status.SCHEDULED
        assert item.publish_at == datetime(2099, 7, 1, 9, 30, tzinfo=UTC)  # CEST is UTC+2
    shown = client.get(done.location).text
    assert "01 Jul 2099 11:30 Europe/Paris (09:30 UTC)" in shown
    missing = post(client, NEW, NEW, title="No time", summary="", body="B.", language="en",
                   tags="", partners="", publish_at="", schedule="Schedule")
    assert missing.status_code == 200 and "choose when to publish it" in missing.text


def test_an_author_cannot_schedule_from_the_write_page(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("author")
    assert 'value="Schedule"' not in client.get(NEW).text
    refused = post(client, NEW, NEW, title="Mine", summary="", body="B.", language="en",
                   tags="", partners="", publish_at="2099-07-01T11:30", schedule="Schedule")
    assert refused.status_code == 403


def test_timezone_is_checked_at_start_up() -> None:
    from service.config import ConfigError

    assert load_settings({"NEWSROOM_ENV": "testing"}).timezone == "UTC"
    assert load_settings({"NEWSROOM_ENV": "testing", "TIMEZONE": "Asia/Dubai"}
                         ).timezone == "Asia/Dubai"
    with pytest.raises(ConfigError, match="TIMEZONE: 'Mars/Olympus' is not an IANA time zone"):
        load_settings({"NEWSROOM_ENV": "testing", "TIMEZONE": "Mars/Olympus"})


def test_the_unsaved_changes_script_is_served_and_allowed(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    signed_in("editor")
    page = client.get(NEW)
    assert '<script src="/static/js/unsaved.js" defer></script>' in page.text
    assert "data-warn-unsaved" in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    with client.get("/static/js/unsaved.js") as script:
        assert script.status_code == 200 and b"beforeunload" in script.data
