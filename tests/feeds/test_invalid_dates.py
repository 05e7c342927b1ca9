"""An invalid ``If-Modified-Since`` is ignored (RFC 9110 section 13.1.3): a 200, never a 500.

Both layers answer conditional requests: the WSGI fast path for a built feed, and the Flask
view for one built on demand (fresh deploy, flushed Redis); both are checked.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing
from service.announcements.models import Status
from service.database import db, utcnow
from service.feeds import serving, store
from service.outbox.models import OutboxEvent

INVALID = [
    "1 Jan 99999999999999999999 00:00 GMT",  # overflows a C long
    "Mon, 1 Jan 99999 00:00:00 GMT",  # past datetime's year 9999
    "Mon, 01 Jan 2024 25:61:00 GMT",  # no such time
    "Mon, 01 Jan 2024 00:00:00 +9999",  # no such offset
    "yesterday",
    "",
]


@pytest.fixture
def published(ctx: Flask) -> Flask:
    """One published announcement whose event is marked handled (the test builds the feeds)."""
    publishing.create(title="Ignored dates", status=Status.PUBLISHED)
    db.session.execute(sa.update(OutboxEvent).values(processed_at=utcnow()))
    db.session.commit()
    return ctx


def _forget_built_feeds(app: Flask) -> None:
    conn = app.extensions["redis"]
    keys = list(conn.scan_iter("newsroom:feed:*"))
    if keys:
        conn.delete(*keys)


@pytest.mark.parametrize("since", INVALID)
@pytest.mark.parametrize("path", ["/feeds/atom.xml", "/feeds/rss.xml", "/feeds/feed.json"])
def test_invalid_if_modified_since_is_ignored_on_both_paths(
    published: Flask, client: FlaskClient, path: str, since: str
) -> None:
    _forget_built_feeds(published)  # the Flask view answers (and builds the feed)
    on_demand = client.get(path, headers={"If-Modified-Since": since})
    assert on_demand.status_code == 200 and b"Ignored dates" in on_demand.data
    fast = client.get(path, headers={"If-Modified-Since": since})  # now the WSGI layer
    assert fast.status_code == 200 and fast.data == on_demand.data
    assert fast.headers["ETag"] == on_demand.headers["ETag"]


def test_a_valid_date_still_gives_304(published: Flask, client: FlaskClient) -> None:
    first = client.get("/feeds/atom.xml")
    again = client.get("/feeds/atom.xml",
                       headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert again.status_code == 304


def test_not_modified_never_raises() -> None:
    feed = store.StoredFeed(body=b"x", etag='"e"', content_type="text/plain",
                                    last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
                                    last_modified_ts=1704067200)
    for since in INVALID:
        assert serving.not_modified(feed, None, since) is False
