"""``/editor/admin/inbound``: admins read what was kept for a person, escaped, and mark it seen."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.database import db
from service.inbound import processing
from tests.editor.conftest import post, sign_in
from tests.factories import EditorInfo

PAGE = "/editor/admin/inbound"
HOSTILE = (b"From: <script>alert(1)</script> <prankster@example.net>\r\n"
           b"Subject: <img src=x onerror=alert(2)>\r\n"
           b"Message-ID: <hostile.1@example.net>\r\n\r\n"
           b"<script>alert(3)</script> Is this the press office?\r\n")


def _kept(app: Flask) -> int:
    with app.app_context():
        row, _ = processing.receive(HOSTILE, "lmtp", ["bounces@agency.example"])
        processing.process(row)
        db.session.commit()
        assert row.outcome == "kept"
        row_id = row.id
        db.session.remove()
    return row_id


@pytest.mark.parametrize("role", ["editor", "author"])
def test_only_admins_see_inbound_mail(client: FlaskClient,
                                      make_editor: Callable[..., EditorInfo], role: str) -> None:
    row_id = _kept(client.application)
    sign_in(client, make_editor(role).email)
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/{row_id}").status_code == 403
    assert "Inbound mail</a>" not in client.get("/editor/").text


def test_admin_reads_a_kept_message_escaped_and_marks_it_seen_to(
    client: FlaskClient, make_editor: Callable[..., EditorInfo]
) -> None:
    row_id = _kept(client.application)
    sign_in(client, make_editor("admin").email)
    listing = client.get(PAGE)
    assert listing.status_code == 200 and "1 kept" in listing.text
    assert "&lt;img src=x onerror=alert(2)&gt;" in listing.text
    assert "<img src=x" not in listing.text and "<script>alert" not in listing.text
    page = client.get(f"{PAGE}/{row_id}")
    assert page.status_code == 200
    assert "Is this the press office?" in page.text and "<script>alert" not in page.text
    assert client.get(f"{PAGE}/999999").status_code == 404
    done = post(client, f"{PAGE}/{row_id}/resolve", PAGE)
    assert done.status_code == 303
    after = client.get(PAGE).text
    assert "Nothing waiting for a person" in after
    assert re.search(r"kept\s*\(seen to\)", client.get(f"{PAGE}?all=1").text)
