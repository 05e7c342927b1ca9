"""*Send me a test email*: a draft's instant email reaches the editor who asked, through the
outbox and a real worker to a real SMTP server, and nobody else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from service.announcements.models import Status
from tests import factories
from tests.editor.conftest import post
from tests.factories import EditorInfo
from tests.mail.smtp import SmtpServer, smtp_server  # noqa: F401 (the fixture)
from tests.waiting import wait_for


def test_a_drafts_test_email_goes_to_the_editor_only(
    clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer,  # noqa: F811
    celery_worker: Any, signed_in: Callable[[str], EditorInfo],
) -> None:
    editor = signed_in("editor")
    factories.subscriber(clean_app, "reader@example.org", "instant")
    item_id = factories.announcement(clean_app, title="Draft to check", status=Status.DRAFT,
                                     summary="The terms of the relay.")
    path = f"/editor/announcements/{item_id}"
    assert "Send me a test email" in client.get(path).text
    sent = post(client, f"{path}/test-email", path)
    assert sent.status_code == 303
    assert f"on its way to {editor.email}" in client.get(sent.location).text
    def arrived() -> Any:
        with clean_app.app_context():
            import sqlalchemy as sa

            from service.database import db
            from service.outbox.models import OutboxEvent

            errors = list(db.session.scalars(sa.select(OutboxEvent.last_error)
                                             .where(OutboxEvent.last_error.is_not(None))))
            db.session.remove()
        assert errors == []
        return smtp_server.to(editor.email)

    received = wait_for(arrived, timeout=30)
    message = received[0].message
    assert "Draft to check" in str(message["Subject"])
    body = message.get_body(("plain",))
    assert body is not None and "The terms of the relay." in body.get_content()
    assert smtp_server.to("reader@example.org") == []
