"""A real SMTP server for tests (aiosmtpd on loopback) whose behaviour a test can script."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    at: float = 0.0  # time.monotonic() when the data arrived

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class Handler:
    """Accepts everything unless told otherwise; every accepted message is kept."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.rcpt_replies: dict[str, str] = {}  # address -> reply, e.g. "550 5.1.1 no such user"
        self.rcpt_once: dict[str, str] = {}  # address -> reply given once, then accepted
        self.refused_at: list[float] = []  # time.monotonic() of each rcpt_once reply
        self.drop_mail_after: int | None = None  # close the connection at MAIL FROM after N
        self.refuse_mail_after: int | None = None  # answer MAIL FROM with mail_refusal after N
        self.mail_refusal = "421 4.7.0 too many messages, slow down"
        self.data_delay: dict[str, float] = {}  # recipient -> seconds to wait before replying
        self.delay_all: float = 0.0
        self.pipelining = False  # advertise RFC 2920 PIPELINING (aiosmtpd reads commands in order)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if self.drop_mail_after is not None and len(self.received) >= self.drop_mail_after:
            server.transport.close()  # the server goes away mid-batch
            return "421 4.3.0 going away"
        if self.refuse_mail_after is not None and len(self.received) >= self.refuse_mail_after:
            return self.mail_refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        with self.lock:
            once = self.rcpt_once.pop(address, None)
            if once:
                self.refused_at.append(time.monotonic())
                return once
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:  # kept before any delay: a late answer does not undo a delivery
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          bytes(envelope.original_content or envelope.content),
                                          time.monotonic()))
        delay = max([self.data_delay.get(r, 0.0) for r in envelope.rcpt_tos] + [self.delay_all])
        if delay:
            await asyncio.sleep(delay)
        return "250 2.0.0 accepted"


class SmtpServer:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.handler = Handler()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}/?timeout=5"

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]

    def start(self) -> None:
        """Start listening (again: a stopped server comes back on the same port)."""
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(clean_app: Flask) -> Iterator[SmtpServer]:
    """A running SMTP server that the app (and the session's Celery worker) sends to."""
    server = SmtpServer()
    server.start()
    clean_app.config["SMTP_URL"] = server.url
    yield server
    clean_app.config.pop("SMTP_URL", None)
    server.stop()
