"""The subscriptions' consumers of events: a sign-up gets its confirmation link; a published
announcement is mailed to instant subscribers (listed in the dispatch table, ``service.events``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from service.database import db
from service.jobs import send_now
from service.subscriptions import lifecycle, mailings
from service.subscriptions.models import Frequency

START_INSTANT_TASK = "mail.start_instant"


class MailQueueUnavailable(RuntimeError):
    """The broker refused the task: the event stays unprocessed and the relay sends it again."""


def mail_instant_subscribers(kind: str, payload: dict[str, Any]) -> None:
    """Hand the fan-out to the mail queue.

    Splitting a large subscriber list into batches takes a while; done here, it would hold up
    the feed builds that share this queue. ``start_instant`` creates the mailing at most once,
    so a re-dispatched event sends nobody a second copy.
    """
    if not mailings.has_recipients(Frequency.INSTANT):
        return  # nobody takes instant mail: no mailing, no task
    if not send_now(current_app.extensions["celery"], START_INSTANT_TASK,
                    payload["announcement_id"]):
        raise MailQueueUnavailable(f"could not queue {START_INSTANT_TASK}")


def handle_sign_up(kind: str, payload: dict[str, Any]) -> None:
    """The worker's half of a sign-up: the pending row (if new) and the confirmation link.

    Run twice (a worker died before the event was marked done), it mails a second link, which
    is harmless: both confirm the same preferences.
    """
    lifecycle.subscribe(payload["email"], lifecycle.parse_preferences(payload["preferences"]),
                        datetime.fromisoformat(payload["requested_at"]))
    db.session.commit()
