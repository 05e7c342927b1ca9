"""The LMTP/SMTP listener a local MTA hands mail to: it answers 250 once the message is
recorded, and a worker (the session's real one) classifies and acts on it."""

from __future__ import annotations

import signal
import smtplib
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from service.database import db
from service.inbound.listener import InboundController
from service.inbound.models import InboundMessage
from service.subscriptions.models import Subscriber, SubscriberStatus
from tests import factories
from tests.fixtures.processes import worker_env
from tests.inbound.conftest import BOUNCE_ADDRESS
from tests.inbound.samples import sample
from tests.inbound.sending import publish_and_capture
from tests.mail.smtp import SmtpServer
from tests.waiting import wait_for

READER = "reader@partner-agency.example"


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _status(app: Flask) -> SubscriberStatus:
    with app.app_context():
        status = db.session.scalar(sa.select(Subscriber.status))
        db.session.remove()
    assert status is not None
    return SubscriberStatus(status)


@pytest.mark.parametrize("protocol", ["lmtp", "smtp"])
def test_the_listener_records_then_a_worker_acts(bounce_app: Flask, smtp_server: SmtpServer,
                                                 protocol: str) -> None:
    factories.subscriber(bounce_app, READER, "instant")
    copy = publish_and_capture(bounce_app, smtp_server, [READER])[READER]
    report = sample("exim_hard", verp=copy.verp, rcpt=READER)
    port = _port()
    controller = InboundController(bounce_app, protocol, "127.0.0.1", port)
    controller.start()
    try:
        client: smtplib.SMTP = (smtplib.LMTP("127.0.0.1", port) if protocol == "lmtp"
                                else smtplib.SMTP("127.0.0.1", port, timeout=10))
        with client:
            refused = client.sendmail("", [copy.verp], report)
            assert refused == {}
            client.sendmail("", [copy.verp], report)  # the MTA tried again: still one row
    finally:
        controller.stop()
    wait_for(lambda: _status(bounce_app) is SubscriberStatus.BOUNCED, timeout=20)
    with bounce_app.app_context():
        row = db.session.scalars(sa.select(InboundMessage)).one()
        assert (row.source, row.recipients, row.outcome) == (protocol, [copy.verp], "bounced")
        db.session.remove()


@pytest.mark.slow
def test_the_serve_command_listens_until_sigterm(bounce_app: Flask, smtp_server: SmtpServer,
                                                 database_url: str, redis_url: str,
                                                 tmp_path: Path) -> None:
    factories.subscriber(bounce_app, READER, "instant")
    copy = publish_and_capture(bounce_app, smtp_server, [READER])[READER]
    port, ready = _port(), tmp_path / "ready"
    env = worker_env(database_url, redis_url, tmp_path, BOUNCE_ADDRESS=BOUNCE_ADDRESS)
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "service", "inbound", "serve", "--port",
         str(port), "--ready-file", str(ready)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(ready.exists, timeout=60, interval=0.1)
        with smtplib.LMTP("127.0.0.1", port) as client:
            client.sendmail("", [copy.verp], sample("gmail_hard", verp=copy.verp, rcpt=READER))
        wait_for(lambda: _status(bounce_app) is SubscriberStatus.BOUNCED, timeout=20)
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode == 0, output
    assert f"inbound LMTP listener on 127.0.0.1:{port}" in output
