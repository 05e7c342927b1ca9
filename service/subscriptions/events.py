"""Outbox handler: a published announcement is mailed to instant subscribers."""

from __future__ import annotations

from typing import Any

from flask import current_app

from service import outbox
from service.jobs import send_now

START_INSTANT_TASK = "mail.start_instant"


class MailQueueUnavailable(RuntimeError):
    """The broker refused the task: the event stays unprocessed and the relay sends it again."""


@outbox.handles("announcement.published")
def mail_instant_subscribers(payload: dict[str, Any]) -> None:
    """Hand the fan-out to the mail queue.

    Splitting a large subscriber list into batches takes a while; done here, it would hold up
    the feed builds that share this queue. ``start_instant`` creates the mailing at most once,
    so a re-dispatched event sends nobody a second copy.
    """
    if not send_now(current_app.extensions["celery"], START_INSTANT_TASK,
                    payload["announcement_id"]):
        raise MailQueueUnavailable(f"could not queue {START_INSTANT_TASK}")
