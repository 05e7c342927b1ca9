"""The one way the web side (and tasks) queue Celery work: after the transaction commits.

A task queued before commit can run before its rows exist, and a task queued for a transaction
that then rolls back acts on something that never happened. So :func:`enqueue_after_commit`
only remembers the task in ``session.info``; the ``after_commit`` hook sends it and the rollback
hooks drop it. Should the broker be unreachable at that moment, nothing is lost: the work is
also recorded as an outbox row, which the relay re-sends (see ``service.outbox``).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from flask import current_app
from kombu.exceptions import OperationalError
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

log = logging.getLogger(__name__)

_PENDING = "newsroom.pending_tasks"


def enqueue_after_commit(session: Session | scoped_session[Any], task_name: str, *args: Any
                         ) -> None:
    """Send the named task once ``session`` commits; forget it if the session rolls back."""
    celery: Celery = current_app.extensions["celery"]
    session.info.setdefault(_PENDING, []).append((celery, task_name, args))


def send_now(celery: Celery, task_name: str, *args: Any) -> bool:
    """Hand a task to the broker; False (logged) when the broker cannot take it."""
    try:
        celery.send_task(task_name, args=args)
    except (OperationalError, OSError) as exc:
        log.warning("could not queue %s%r (the outbox relay will retry): %s", task_name, args, exc)
        return False
    return True


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    for celery, task_name, args in session.info.pop(_PENDING, []):
        send_now(celery, task_name, *args)


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, *_: Any) -> None:
    session.info.pop(_PENDING, None)
