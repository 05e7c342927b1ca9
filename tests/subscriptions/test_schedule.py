"""Digest periods, the beat schedule, the CLI, and the settings that drive them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from service.announcements import publishing
from service.announcements.models import Status
from service.celery_app import BEAT_SCHEDULE
from service.config import ConfigError, load_settings
from service.database import db, utcnow
from service.subscriptions.digests import period
from service.subscriptions.models import MailingKind
from tests import factories
from tests.mail.smtp import SmtpServer

DAILY, WEEKLY = MailingKind.DAILY, MailingKind.WEEKLY


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # 2026-11-23 is a Monday


@pytest.mark.parametrize(
    ("kind", "now", "key", "end"),
    [
        (DAILY, _at(22, 7), "2026-11-22", _at(22, 7)),
        (DAILY, _at(22, 6, 59), "2026-11-21", _at(21, 7)),
        (DAILY, _at(22, 23), "2026-11-22", _at(22, 7)),
        (WEEKLY, _at(23, 7), "2026-W48", _at(23, 7)),
        (WEEKLY, _at(23, 6), "2026-W47", _at(16, 7)),
        (WEEKLY, _at(29, 23), "2026-W48", _at(23, 7)),
    ],
)
def test_periods(kind: MailingKind, now: datetime, key: str, end: datetime) -> None:
    assert period(kind, now, hour=7, weekday=0) == (key, end)


def test_beat_runs_every_mail_job() -> None:
    tasks = {entry["task"]: entry for entry in BEAT_SCHEDULE.values()}
    assert {"digests.send", "mail.resume", "subscriptions.purge_pending"} <= set(tasks)
    kinds = {entry["args"] for entry in BEAT_SCHEDULE.values() if entry["task"] == "digests.send"}
    assert kinds == {("daily",), ("weekly",)}


def test_tasks_are_registered_under_their_names(app: Flask) -> None:
    registered = app.extensions["celery"].tasks
    for name in ("mail.send_batch", "subscriptions.send_confirmation", "digests.send",
                 "mail.resume", "subscriptions.purge_pending"):
        assert name in registered


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"DIGEST_HOUR": "24"}, "DIGEST_HOUR"),
        ({"DIGEST_HOUR": "seven"}, "DIGEST_HOUR"),
        ({"DIGEST_WEEKDAY": "7"}, "DIGEST_WEEKDAY"),
        ({"MAIL_BATCH_SIZE": "0"}, "MAIL_BATCH_SIZE"),
        ({"MAIL_FROM": "no address"}, "MAIL_FROM"),
        ({"MAIL_FROM": "a@example.org\r\nBcc: b@example.org"}, "MAIL_FROM"),
        ({"MAIL_FROM": "a@example.org, b@example.org"}, "MAIL_FROM"),
    ],
)
def test_wrong_mail_settings_name_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"SECRET_KEY": "k", **environ})
    assert caught.value.variable == variable


def test_mail_settings() -> None:
    settings = load_settings({"SECRET_KEY": "k", "DIGEST_HOUR": "18", "DIGEST_WEEKDAY": "4",
                              "MAIL_FROM": "مكتب الشراكات <news@agency.example>"})
    assert (settings.digest_hour, settings.digest_weekday, settings.mail_batch_size) == (18, 4, 500)
    assert settings.mail_from == "مكتب الشراكات <news@agency.example>"


def test_cli_sends_a_digest_once(clean_app: Flask, runner: Any, smtp_server: SmtpServer) -> None:
    factories.subscriber(clean_app, "cli@example.org", "daily")
    with clean_app.app_context():
        publishing.create(title="Summer school", status=Status.PUBLISHED,
                          published_at=utcnow() - timedelta(minutes=5))
        db.session.commit()
        db.session.remove()
    from service.subscriptions.models import Subscriber

    with clean_app.app_context():
        db.session.execute(db.update(Subscriber).values(since_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        db.session.remove()
    result = runner.invoke(args=["digests", "send", "daily", "--now", "--here"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    assert [r.recipients for r in smtp_server.received] == [["cli@example.org"]]
    status = runner.invoke(args=["digests", "status"])
    assert "1 sent" in status.output
    resumed = runner.invoke(args=["digests", "resume"])
    assert resumed.exit_code == 0 and "requeued 0 batches" in resumed.output
    assert len(smtp_server.received) == 1
