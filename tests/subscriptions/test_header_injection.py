"""No title can write a header: encoded-word titles through the whole path, parsed at the server.

The standard library decodes an RFC 2047 encoded word it is handed as a header value, and
unpatched interpreters (CVE-2024-6923) write a decoded CR/LF out raw, so a title such as
``=?UTF-8?Q?x=0D=0AReply-To:...?=`` once produced emails with the writer's ``Reply-To``, their
``Content-Type`` and body, and no ``To``. These tests publish such titles through the API (a
real worker, a real SMTP server) and read what arrived as a mail client would.
"""

from __future__ import annotations

import base64
import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.database import utcnow
from service.mail.messages import Links, Template
from service.mail.smtp import to_seven_bit
from service.subscriptions import digests
from service.subscriptions.models import MailingKind
from tests import factories
from tests.factories import EditorInfo
from tests.mail.smtp import SmtpServer
from tests.waiting import wait_for

_PAYLOAD = ("x\r\nReply-To: phish@attacker.example\r\nContent-Type: text/html\r\n\r\n"
            "<h1>Injected</h1>")
ATTACKS = {
    "Q with CR LF": "Hdr =?UTF-8?Q?x=0D=0AReply-To:_phish@attacker.example=0D=0AContent-Type:"
                    "_text/html=0D=0A=0D=0A<h1>Injected</h1>?=",
    "Q with LF": "Hdr =?UTF-8?Q?x=0AReply-To:_phish@attacker.example=0A=0A<h1>Injected</h1>?=",
    "B with CR LF": "Hdr =?UTF-8?B?" + base64.b64encode(_PAYLOAD.encode()).decode() + "?=",
    "lower-case b, two words": "Hdr =?utf-8?b?eA0K?= =?utf-8?b?UmVwbHktVG86IHBoaXNoQGF0dGFja2Vy"
                               "LmV4YW1wbGU=?=",
}
EXPECTED_HEADERS = {"subject", "from", "to", "date", "message-id", "list-unsubscribe",
                    "list-unsubscribe-post", "mime-version", "content-type"}
LINKS = Links(manage="http://newsroom.test/subscriptions/manage/T.abc",
              unsubscribe="http://newsroom.test/subscriptions/unsubscribe/T.abc",
              unsubscribe_mailto="mailto:news@agency.example?subject=unsubscribe%20T.abc")


def _parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def assert_untouched(data: bytes, to: str, subject: str) -> None:
    """One message as its recipient's client reads it: our headers only, the title as text."""
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):  # every line is a known header or a folded continuation
        assert line[:1] in (b" ", b"\t") or line.split(b":", 1)[0].lower().decode() in (
            EXPECTED_HEADERS | {"x-envelope-from", "x-envelope-to"}), line
    msg = _parse(data)
    assert {name.lower() for name in msg} == EXPECTED_HEADERS
    assert msg["Reply-To"] is None and msg["To"] == to
    assert msg["Subject"] == subject  # shown literally, decoded once, no CR/LF
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert "<h1>Injected</h1>" not in msg.get_body(("html",)).get_content()


def _instant(title: str, mail_from: str = "Newsroom <news@agency.example>") -> Template:
    item = {"title": title, "summary": "S", "url": "http://newsroom.test/a",
            "published_at": utcnow(), "language": "en", "dir": "ltr", "tags": [], "partners": []}
    return Template("instant", {"item": item, "base_url": "http://newsroom.test"},
                    mail_from=mail_from, domain="newsroom.test")


@pytest.mark.parametrize("title", ATTACKS.values(), ids=ATTACKS.keys())
def test_an_encoded_word_title_stays_a_title(ctx: Flask, title: str) -> None:
    template = _instant(title)
    _, data = template.personalise("reader@example.org", LINKS)
    assert data.split(b"\r\n\r\n", 1)[0].isascii()
    assert_untouched(data, "reader@example.org", title)
    assert_untouched(to_seven_bit(data), "reader@example.org", title)  # the re-encoded path too


@pytest.mark.parametrize(("mail_from", "shown"), [
    ('"Partnerships, Office" <news@agency.example>', "Partnerships, Office"),  # quoting kept
    ("=?utf-8?q?Bur=C3=A9au?= <news@agency.example>", "Buréau"),  # an operator's encoded name
    ("مكتب الشراكات <news@agency.example>", "مكتب الشراكات"),
])
def test_display_names_arrive_as_written(ctx: Flask, mail_from: str, shown: str) -> None:
    """MAIL_FROM refuses display names that decode to a line break (``test_config``); what it
    accepts is sent encoded by us, so it reaches the reader as the operator meant it."""
    _, data = _instant("Title", mail_from).personalise("reader@example.org", LINKS)
    sender = _parse(data)["From"].addresses
    assert [(a.display_name, a.addr_spec) for a in sender] == [(shown, "news@agency.example")]
    assert data.split(b"\r\n\r\n", 1)[0].isascii()


def _publish_by_api(client: FlaskClient, editor: EditorInfo, title: str) -> None:
    response = client.post("/api/v1/announcements", headers=editor.auth, json={
        "title": title, "summary": "A summary.", "body": "Body.", "status": "published"})
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("title", ATTACKS.values(), ids=ATTACKS.keys())
def test_instant_and_digest_emails_of_an_attack_title(
    clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer, celery_worker: Any,
    make_editor: Any, title: str,
) -> None:
    factories.subscriber(clean_app, "instant@example.org", "instant")
    factories.subscriber(clean_app, "daily@example.org", "daily")
    _publish_by_api(client, make_editor("editor"), title)

    instant = wait_for(lambda: smtp_server.to("instant@example.org"))[0]
    assert_untouched(instant.data, "instant@example.org", title)

    with clean_app.app_context():
        digests.send(MailingKind.DAILY, utcnow() + timedelta(seconds=5), manual=True)
    digest = wait_for(lambda: smtp_server.to("daily@example.org"))[0]
    assert_untouched(digest.data, "daily@example.org", f"Daily digest: {title}")
    assert smtp_server.to("phish@attacker.example") == []
