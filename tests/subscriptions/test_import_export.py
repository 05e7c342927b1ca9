"""Importing a list with consent respected, exporting it, a subscriber's own data and erasing
them: the CLI and the admin pages, on the real database, worker and SMTP server."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.database import db, utcnow
from service.outbox.models import OutboxEvent
from service.subscriptions import lifecycle, suppression, tokens
from service.subscriptions.models import (
    Delivery,
    DeliveryStatus,
    Frequency,
    MailBatch,
    Mailing,
    MailingKind,
    Subscriber,
    SubscriberStatus,
)
from tests import factories
from tests.editor.conftest import csrf, sign_in
from tests.factories import EditorInfo
from tests.fixtures.processes import wait_for_idle_worker
from tests.mail.smtp import SmtpServer
from tests.subscriptions.helpers import csrf_token, follow_confirm_link, links
from tests.waiting import wait_for

LIST = """Email,Frequency,Tags,Partners,Language,consent_at,consent_source
new@example.org,weekly,"Earth Observation; moon",ESA,en,2025-03-01T10:00:00Z,newsletter form
ask@example.org,instant,,,,,
known@example.org,daily,satellites,,,2025-01-02,conference sign-up sheet
left@example.org,daily,,,,2025-01-02,old list
blocked@example.org,daily,,,,2025-01-02,old list
not-an-address,daily,,,,2025-01-02,x
bad@example.org,hourly,,,,2025-01-02,x
when@example.org,daily,,,,yesterday,x
NEW@example.org,daily,,,,2025-03-01,duplicate
'=formula@example.org,daily,,,,2025-03-01,spreadsheet
"""


def _row(app: Flask, email: str) -> Subscriber | None:
    with app.app_context():
        found = lifecycle.for_address(email)
        db.session.expunge_all()
        db.session.remove()
    return found


def _import(runner: Any, tmp_path: Path, text: str) -> Any:
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["subscriptions", "import", str(path)])


def test_import_respects_consent_suppression_and_leaving_and_is_idempotent(
    clean_app: Flask, runner: Any, client: FlaskClient, smtp_server: SmtpServer,
    celery_worker: Any, tmp_path: Path,
) -> None:
    factories.subscriber(clean_app, "known@example.org", "instant")
    factories.subscriber(clean_app, "left@example.org", "daily",
                         status=SubscriberStatus.UNSUBSCRIBED)
    with clean_app.app_context():
        suppression.suppress(db.session, "blocked@example.org", "complaint", "complaint")
        db.session.commit()
        db.session.remove()

    result = _import(runner, tmp_path, LIST)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "2 created, 1 updated, 1 confirmation, 0 unchanged, 6 skipped" in out
    assert "line 5: left@example.org: skipped (unsubscribed here" in out
    assert "line 6: blocked@example.org: skipped (suppressed" in out
    assert "line 7: not-an-address: skipped (invalid:" in out
    assert "line 8: bad@example.org: skipped (invalid: frequency" in out
    assert "line 9: when@example.org: skipped (invalid: consent_at" in out
    assert "line 10: new@example.org: skipped (repeats line 2)" in out

    new = _row(clean_app, "new@example.org")
    assert new is not None and new.status is SubscriberStatus.CONFIRMED
    assert (new.frequency, new.tags, new.partners, new.language) == (
        Frequency.WEEKLY, ["earth-observation", "moon"], ["esa"], "en")
    assert new.consent_source == "newsletter form"
    assert new.consent_at is not None and new.consent_at.isoformat() == "2025-03-01T10:00:00+00:00"
    known = _row(clean_app, "known@example.org")
    assert known is not None and known.frequency is Frequency.DAILY
    assert known.consent_source == "conference sign-up sheet"
    formula = _row(clean_app, "=formula@example.org")
    assert formula is not None and formula.status is SubscriberStatus.CONFIRMED
    assert _row(clean_app, "left@example.org").status is SubscriberStatus.UNSUBSCRIBED  # type: ignore[union-attr]
    assert _row(clean_app, "blocked@example.org") is None

    # No consent record: a pending row and a confirmation email, never a subscription.
    ask = _row(clean_app, "ask@example.org")
    assert ask is not None and ask.status is SubscriberStatus.PENDING
    mail = wait_for(lambda: smtp_server.to("ask@example.org"))[0].message
    assert mail["Subject"] == "Confirm your Newsroom subscription"
    assert sorted(r for m in smtp_server.received for r in m.recipients) == ["ask@example.org"]

    # Twice: nothing changes, nobody is mailed again.
    again = _import(runner, tmp_path, LIST)
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 0 confirmation, 4 unchanged, 6 skipped" in again.output
    assert "awaiting confirmation" in again.output
    wait_for_idle_worker(clean_app)
    assert len(smtp_server.received) == 1

    assert follow_confirm_link(client, links(mail)["confirm"]).status_code == 200
    ask = _row(clean_app, "ask@example.org")
    assert ask is not None and ask.status is SubscriberStatus.CONFIRMED
    assert ask.frequency is Frequency.INSTANT


def test_a_file_that_cannot_be_read_is_refused_whole(
    clean_app: Flask, runner: Any, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("email\nrené@example.org\n".encode("latin-1"))
    result = runner.invoke(args=["subscriptions", "import", str(path)])
    assert result.exit_code == 1 and "not UTF-8" in result.output
    result = _import(runner, tmp_path, "address,frequency\na@example.org,daily\n")
    assert result.exit_code == 1 and "no 'email' column" in result.output
    result = _import(runner, tmp_path, "email\na@example.org\n\x00\n")
    assert result.exit_code == 1 and "NUL" in result.output
    # Only a header, or missing columns: fine, defaults.
    result = _import(runner, tmp_path, "email\nb@example.org\n")
    assert result.exit_code == 0 and "1 confirmation" in result.output
    with clean_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 1
        db.session.remove()


PAGE = "/editor/admin/subscribers"


def test_admins_import_and_export_on_the_page_editors_cannot(
    clean_app: Flask, client: FlaskClient, make_editor: Callable[..., EditorInfo],
    smtp_server: SmtpServer, celery_worker: Any,
) -> None:
    editor = make_editor("editor")
    assert sign_in(client, editor.email).status_code == 302
    assert client.get(PAGE).status_code == 403
    assert client.get(PAGE + "/export.csv").status_code == 403

    admin_client = clean_app.test_client()
    assert sign_in(admin_client, make_editor("admin").email).status_code == 302
    token = csrf(admin_client, PAGE)

    def upload(body: bytes, name: str = "list.csv") -> Any:
        return admin_client.post(PAGE + "/import", data={
            "import-csrf_token": token, "import-file": (io.BytesIO(body), name)},
            content_type="multipart/form-data")

    page = upload(LIST.encode())
    assert page.status_code == 200, page.text
    assert "5 created, 0 updated, 1 confirmation, 0 unchanged, 4 skipped" in page.text
    assert "repeats line 2" in page.text
    assert "0 created, 0 updated, 0 confirmation, 6 unchanged" in upload(LIST.encode()).text
    bad = upload(b"\xff\xfe garbage")
    assert bad.status_code == 400 and "not UTF-8" in bad.text
    none = admin_client.post(PAGE + "/import", data={"import-csrf_token": token})
    assert none.status_code == 400 and "choose a CSV file" in none.text

    factories.subscriber(clean_app, "gone@example.org", "daily")
    with clean_app.app_context():
        from service.subscriptions import exports
        exports.erase(lifecycle.for_address("gone@example.org"))  # type: ignore[arg-type]
        db.session.commit()
        db.session.remove()
    export = admin_client.get(PAGE + "/export.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    by_email = {r["email"]: r for r in rows}
    assert set(by_email) == {"new@example.org", "ask@example.org", "known@example.org",
                             "left@example.org", "blocked@example.org", "'=formula@example.org"}
    assert by_email["new@example.org"]["tags"] == "earth-observation; moon"
    assert by_email["new@example.org"]["consent_source"] == "newsletter form"
    assert by_email["ask@example.org"]["status"] == "pending"
    # The export imports back as it is: nothing changes.
    back = upload(export.data, "export.csv")
    assert back.status_code == 200
    assert "0 created, 0 updated, 0 confirmation" in back.text


def _manage_path(app: Flask, email: str) -> str:
    with app.app_context():
        row = lifecycle.for_address(email)
        assert row is not None
        path = "/subscriptions/manage/" + tokens.manage_token(row.id, row.token_version, email)
        db.session.remove()
    return path


def test_own_data_as_json_and_erasing_keeps_only_counts(
    clean_app: Flask, client: FlaskClient
) -> None:
    subscriber_id = factories.subscriber(clean_app, "me@example.org", "daily", tags=["moon"])
    with clean_app.app_context():
        mailing = Mailing(kind=MailingKind.DAILY, key="2026-12-01")
        db.session.add(mailing)
        db.session.flush()
        batch = MailBatch(mailing_id=mailing.id, first_id=subscriber_id, last_id=subscriber_id)
        db.session.add(batch)
        db.session.flush()
        db.session.add(Delivery(mailing_id=mailing.id, batch_id=batch.id,
                                subscriber_id=subscriber_id, status=DeliveryStatus.FAILED,
                                claim="x", error="550 <me@example.org>: no such user"))
        db.session.add(OutboxEvent(kind=lifecycle.SIGN_UP_EVENT, processed_at=utcnow(),
                                   payload={"email": "me@example.org"}))
        db.session.add(OutboxEvent(kind=lifecycle.SIGN_UP_EVENT, processed_at=utcnow(),
                                   payload={"email": "someone.else@example.org"}))
        db.session.commit()
        db.session.remove()
    manage = _manage_path(clean_app, "me@example.org")

    data = client.get(manage + "/data.json")
    assert data.status_code == 200 and "attachment" in data.headers["Content-Disposition"]
    mine = json.loads(data.data)
    assert mine["email"] == "me@example.org" and mine["preferences"]["tags"] == ["moon"]
    assert mine["emails"] == [{"mailing": "daily 2026-12-01", "status": "failed",
                               "sent_at": None}]
    assert client.get("/subscriptions/manage/forged/data.json").status_code == 400

    page = client.get(manage + "/erase")
    assert page.status_code == 200 and b"Delete my data" in page.data
    assert client.post(manage + "/erase").status_code == 400  # no CSRF token: nothing erased
    done = client.post(manage + "/erase", data={"csrf_token": csrf_token(page.data)})
    assert done.status_code == 200 and b"Your data is deleted" in done.data

    with clean_app.app_context():
        row = db.session.get(Subscriber, subscriber_id)
        assert row is not None and row.status is SubscriberStatus.ERASED
        assert "@" not in row.email and row.tags == [] and row.erased_at is not None
        [copy] = db.session.scalars(sa.select(Delivery))
        assert copy.status is DeliveryStatus.FAILED and copy.error is None  # counted, unnamed
        # Their sign-up request is gone; someone else's stays.
        assert [e.payload for e in db.session.scalars(sa.select(OutboxEvent))] \
            == [{"email": "someone.else@example.org"}]
        everything = repr(db.session.execute(sa.text("SELECT * FROM subscribers")).all())
        assert "me@example.org" not in everything
        db.session.remove()
    assert client.get(manage).status_code == 404  # its links are dead
    assert client.get(manage + "/data.json").status_code == 404
