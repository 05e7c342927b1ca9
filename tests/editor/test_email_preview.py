"""The email preview: the next digests and an instant email, as the sender builds them."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing
from service.announcements.models import Announcement, Status
from service.database import db, utcnow
from service.subscriptions import digests
from service.subscriptions.models import MailingKind
from tests import factories
from tests.factories import EditorInfo

PAGE = "/editor/emails"
NOTHING_NEW = "nothing new: no digest would be sent"
_FRAME = re.compile(r'<iframe class="email-frame" sandbox src="([^"]+)"')


def _daily_start(app: Flask) -> datetime:
    """Where the running daily period began, by the sender's own rule."""
    settings = app.config["SETTINGS"]
    _, start = digests.period(
        MailingKind.DAILY, utcnow(), settings.digest_hour, settings.digest_weekday
    )
    return start


def _section(page: str, name: str) -> str:
    """The part of the page about one email: from its section to the next one."""
    start = page.index(f'<section class="email-preview" id="{name}"')
    end = page.find('<section class="email-preview"', start + 1)
    return page[start:] if end == -1 else page[start:end]


def _frame(client: FlaskClient, section: str) -> str:
    """The HTML part shown in the section's sandboxed frame, with its own strict headers."""
    match = _FRAME.search(section)
    assert match, "no frame for the HTML part"
    response = client.get(html.unescape(match.group(1)))
    assert response.status_code == 200
    csp = dict(
        d.strip().split(" ", 1) if " " in d.strip() else (d.strip(), "")
        for d in response.headers["Content-Security-Policy"].split(";")
    )
    assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'self'"
    assert "sandbox" in csp and "script-src" not in csp
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    return response.text


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editor_sees_the_instant_email_of_the_latest_announcement(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo], role: str
) -> None:
    older = factories.announcement(
        clean_app, "Older agreement with JAXA", published_at=utcnow() - timedelta(hours=2)
    )
    factories.announcement(
        clean_app,
        "ESA and NASA sign the lunar gateway pact",
        summary="Both agencies commit to the gateway.",
        partners=["esa"],
    )
    signed_in(role)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert f'href="{PAGE}" aria-current="page">Emails</a>' in page.text
    assert page.headers["Content-Security-Policy"].endswith("frame-ancestors 'none'")
    instant = _section(page.text, "instant")
    title = "ESA and NASA sign the lunar gateway pact"
    subject = re.search(r'<dd class="email-subject">([^<]*)</dd>', instant)
    assert subject and html.unescape(subject.group(1)) == title
    sender = re.search(r'<dd class="email-from">([^<]*)</dd>', instant)
    assert sender and html.unescape(sender.group(1)) == clean_app.config["SETTINGS"].mail_from
    text = re.search(r'<pre class="email-text">(.*?)</pre>', instant, re.S)
    assert text
    plain = html.unescape(text.group(1))
    assert plain.startswith(title + "\n") and "Both agencies commit to the gateway." in plain
    assert "/announcements/esa-and-nasa-sign-the-lunar-gateway-pact" in plain
    assert "/subscriptions/unsubscribe/preview-placeholder" in plain  # placeholder links
    part = _frame(client, instant)
    assert f"<title>{title}</title>" in part and 'style="' in part  # the inlined styles
    assert "Older agreement" not in part

    chosen = _section(client.get(f"{PAGE}?announcement={older}").text, "instant")
    assert "Older agreement with JAXA" in _frame(client, chosen)


def test_daily_preview_lists_the_running_period_only(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    start = _daily_start(clean_app)
    factories.announcement(clean_app, "Yesterday's news", published_at=start - timedelta(minutes=1))
    factories.announcement(clean_app, "Remote sensing data opened")
    factories.announcement(clean_app, "Observatory first light")
    retracted = factories.announcement(clean_app, "Withdrawn statement")
    with clean_app.app_context():
        item = db.session.get(Announcement, retracted)
        assert item is not None
        publishing.retract(item)
        publishing.create(
            title="Embargoed launch date",
            status=Status.SCHEDULED,
            publish_at=utcnow() + timedelta(days=1),
        )
        db.session.commit()
    signed_in("editor")
    daily = _section(client.get(PAGE).text, "daily")
    assert f"{start:%d %b %Y %H:%M} UTC" in daily
    assert f"{start + timedelta(days=1):%d %b %Y %H:%M} UTC" in daily
    assert "2 announcements so far" in daily and NOTHING_NEW not in daily
    subject = re.search(r'<dd class="email-subject">([^<]*)</dd>', daily)
    assert subject and html.unescape(subject.group(1)) == (
        "Daily digest: Observatory first light (and 1 more)"
    )
    text = re.search(r'<pre class="email-text">(.*?)</pre>', daily, re.S)
    part = _frame(client, daily)
    assert text
    for shown in (html.unescape(text.group(1)), html.unescape(part)):
        assert "Remote sensing data opened" in shown and "Observatory first light" in shown
        assert "Yesterday" not in shown and "Withdrawn" not in shown and "Embargoed" not in shown


def test_an_empty_period_sends_no_digest(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    factories.announcement(clean_app, "Old news", published_at=utcnow() - timedelta(days=30))
    signed_in("editor")
    page = client.get(PAGE).text
    assert NOTHING_NEW in _section(page, "daily") and NOTHING_NEW in _section(page, "weekly")
    assert client.get(f"{PAGE}/daily.html").status_code == 404
    assert "Old news" in _section(page, "instant")  # the latest, whenever it was published


def test_an_unpublished_announcement_gets_no_instant_email(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    with clean_app.app_context():
        draft = publishing.create(title="Draft about Artemis")
        db.session.commit()
        draft_id = draft.id
    signed_in("editor")
    instant = _section(client.get(f"{PAGE}?announcement={draft_id}").text, "instant")
    assert "is draft: no instant email is sent for it" in instant
    assert _FRAME.search(instant) is None
    assert client.get(f"{PAGE}/instant.html?announcement={draft_id}").status_code == 404
    assert client.get(f"{PAGE}?announcement=999999").status_code == 404
    assert "Nothing is published yet" in _section(client.get(PAGE).text, "instant")


def test_the_edit_page_of_a_published_announcement_links_to_its_preview(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    announcement_id = factories.announcement(clean_app, "Satellite handover")
    signed_in("editor")
    edit = client.get(f"/editor/announcements/{announcement_id}").text
    assert f'href="{PAGE}?announcement={announcement_id}#instant"' in edit


def test_an_author_may_not_preview(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    announcement_id = factories.announcement(clean_app, "Satellite handover")
    signed_in("author")
    for path in (PAGE, f"{PAGE}/daily.html", f"{PAGE}/instant.html"):
        assert client.get(path).status_code == 403
    assert "Emails</a>" not in client.get("/editor/").text
    edit = client.get(f"/editor/announcements/{announcement_id}").text
    assert f"{PAGE}?" not in edit


def test_signed_out_goes_to_sign_in(client: FlaskClient) -> None:
    for path in (PAGE, f"{PAGE}/instant.html"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.location.startswith("/editor/login?next=")


@pytest.mark.parametrize("bad", ["²", "٣", "99999999999999999999", "2147483648", "0"])
def test_an_announcement_number_that_is_none_is_404_not_500(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo], bad: str
) -> None:
    factories.announcement(clean_app, "Satellite handover")
    signed_in("editor")
    for path in (PAGE, f"{PAGE}/instant.html"):
        assert client.get(path, query_string={"announcement": bad}).status_code == 404, path
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize(("language", "direction"), [
    ("ar", "rtl"), ("AR", "rtl"), ("ckb", "rtl"), ("fa-IR", "rtl"), ("en", "ltr"), ("fr", "ltr"),
])
def test_the_instant_email_reads_in_the_direction_of_its_language(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo],
    language: str, direction: str,
) -> None:
    """The email and the page decide alike (``rendering.is_rtl``): Sorani Kurdish and an
    upper-case tag were left to right in emails while their pages were right to left."""
    announcement_id = factories.announcement(clean_app, "شراكة جديدة", language=language,
                                             slug="item")
    signed_in("editor")
    email = client.get(f"{PAGE}/instant.html", query_string={"announcement": announcement_id})
    assert email.status_code == 200
    assert f'<div lang="{language}" dir="{direction}"' in email.text
    page = client.get("/announcements/item").text
    assert f'lang="{language}" dir="{direction}"' in page

