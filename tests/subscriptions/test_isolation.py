"""A retry one test leaves scheduled in the session's worker does not run in the next test.

Celery holds a retry's countdown in the worker, not in the queue, so waiting for empty queues
does not cover it; with SQLite numbering rows from 1 again after the tables are emptied, such a
retry once mailed a reader of the next test (81 copies of 80 at the server, the ledger at 80).
"""

from __future__ import annotations

import time

from flask import Flask

from tests import factories
from tests.fixtures.processes import drop_scheduled_tasks
from tests.mail.smtp import SmtpServer
from tests.waiting import wait_for


def _confirmation_later(app: Flask, subscriber_id: int, seconds: float) -> str:
    celery = app.extensions["celery"]
    return str(celery.send_task("subscriptions.send_confirmation", args=[subscriber_id, {}],
                                countdown=seconds).id)


def test_a_scheduled_task_runs_unless_the_tables_are_emptied(
    clean_app: Flask, smtp_server: SmtpServer
) -> None:
    reader = factories.subscriber(clean_app, "kept@example.org")
    _confirmation_later(clean_app, reader, 0.5)  # not dropped: it is delivered
    wait_for(lambda: len(smtp_server.received) == 1, timeout=20)
    assert smtp_server.received[0].recipients == ["kept@example.org"]

    later = _confirmation_later(clean_app, reader, 2.0)
    # Once the worker holds this very task (an earlier test's retry in the timer must not
    # stand in for it: revoking that one first let this one be delivered).
    revoked: set[str] = set()

    def revoked_it() -> bool:
        revoked.update(drop_scheduled_tasks())
        return later in revoked

    wait_for(revoked_it, timeout=10)
    time.sleep(3.0)  # past its time: revoked, it is acknowledged and skipped
    assert len(smtp_server.received) == 1
