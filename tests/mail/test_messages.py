"""Emails built from templates: headers, both parts, inlined CSS, UTF-8, and no header injection."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from flask import Flask

from service.mail.messages import Links, Template
from service.mail.smtp import to_seven_bit

LINKS = Links(manage="http://newsroom.test/subscriptions/manage/TOKEN.abc",
              unsubscribe="http://newsroom.test/subscriptions/unsubscribe/TOKEN.abc",
              unsubscribe_mailto="mailto:news@agency.example?subject=unsubscribe%20TOKEN.abc")


def _item(title: str, summary: str = "A summary.", language: str = "en") -> dict[str, object]:
    return {"title": title, "summary": summary, "url": "http://newsroom.test/announcements/x",
            "published_at": datetime(2026, 4, 27, 9, tzinfo=UTC), "language": language,
            "dir": "rtl" if language == "ar" else "ltr", "tags": [], "partners": ["ESA"]}


def _parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def _instant(title: str, mail_from: str = "مكتب الشراكات <news@agency.example>",
             **item: str) -> Template:
    return Template("instant", {"item": _item(title, **item), "base_url": "http://newsroom.test"},
                    mail_from=mail_from, domain="newsroom.test")


def test_headers_parts_and_links(ctx: Flask) -> None:
    template = _instant("مشروع الاستشعار عن بعد للمياه والغطاء النباتي", language="ar",
                        summary="ملخص المشروع")
    message_id, data = template.personalise("reader@example.org", LINKS)
    msg = _parse(data)
    assert msg["Subject"] == "مشروع الاستشعار عن بعد للمياه والغطاء النباتي"
    assert msg["From"].addresses[0].display_name == "مكتب الشراكات"
    assert msg["From"].addresses[0].addr_spec == "news@agency.example"
    assert msg["To"] == "reader@example.org"
    assert msg["Message-ID"] == message_id and message_id.endswith("@newsroom.test>")
    assert msg["Date"].datetime.tzinfo is not None
    assert msg["List-Unsubscribe"] == f"<{LINKS.unsubscribe}>, <{LINKS.unsubscribe_mailto}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for body in (text, html):
        assert "ملخص المشروع" in body
        assert LINKS.manage in body and LINKS.unsubscribe in body
    assert "<style" not in html and 'style="' in html  # css-inline moved the CSS inline
    assert 'dir="rtl"' in html
    # Raw header lines are plain ASCII and within SMTP's limit.
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and max(len(line) for line in data.split(b"\r\n")) <= 998


def test_every_copy_has_its_own_address_id_and_links(ctx: Flask) -> None:
    template = _instant("Radar calibration campaign")
    other = Links(manage="http://newsroom.test/m/OTHER", unsubscribe="http://newsroom.test/u/OTHER",
                  unsubscribe_mailto="mailto:news@agency.example?subject=unsubscribe%20OTHER")
    first_id, first = template.personalise("a@example.org", LINKS)
    second_id, second = template.personalise("b@example.org", other)
    assert first_id != second_id
    assert b"TOKEN.abc" in first and b"OTHER" not in first
    assert b"OTHER" in second and b"TOKEN.abc" not in second
    assert b".invalid" not in first + second  # every marker replaced, in both parts
    assert first.count(b"TOKEN.abc") == second.count(b"OTHER") >= 4
    assert _parse(second)["To"] == "b@example.org"


def test_a_title_cannot_inject_a_header(ctx: Flask) -> None:
    template = _instant("Launch\r\nBcc: victim@example.org\r\nX-Evil: 1")
    _, data = template.personalise("reader@example.org", LINKS)
    msg = _parse(data)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert msg["Subject"] == "Launch Bcc: victim@example.org X-Evil: 1"  # one line


def test_the_library_refuses_cr_lf_in_a_header() -> None:
    msg = EmailMessage(policy=email.policy.SMTP)
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        msg["Subject"] = "Hello\r\nBcc: victim@example.org"


@pytest.mark.parametrize("bad", ["a@example.org\r\nBcc: x@example.org", "a b@example.org",
                                 "é@example.org"])
def test_recipient_values_must_be_plain_ascii(ctx: Flask, bad: str) -> None:
    with pytest.raises(ValueError, match="header-safe"):
        _instant("Hello").personalise(bad, LINKS)


def test_long_lines_are_kept_within_smtp_limits(ctx: Flask) -> None:
    summary = ("word " * 600).strip() + " " + "كلمة " * 400
    _, data = _instant("Long", summary=summary).personalise("reader@example.org", LINKS)
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    msg = _parse(data)
    assert "كلمة" in msg.get_body(("plain",)).get_content()


def test_seven_bit_fallback_keeps_the_content(ctx: Flask) -> None:
    template = _instant("شراكة", summary="ملخص")
    assert template.eight_bit
    _, data = template.personalise("reader@example.org", LINKS)
    converted = to_seven_bit(data)
    assert converted.isascii()
    msg = _parse(converted)
    assert msg["List-Unsubscribe"] == _parse(data)["List-Unsubscribe"]
    assert "ملخص" in msg.get_body(("plain",)).get_content()
    assert "ملخص" in msg.get_body(("html",)).get_content()
