"""The inbound LMTP/SMTP listener (aiosmtpd) a local MTA hands the bounce address's mail to.

``flask --app service inbound serve`` runs it. Each message is recorded in one commit before
the listener answers ``250``, so the MTA keeps the message (and retries) until it is stored;
then a worker classifies it (task ``inbound.process``, queued after the commit; beat's
``inbound.process_pending`` queues again what a lost task left). A message the database
cannot take now is answered ``451``: the MTA tries again later. Postfix example:
``transport_maps`` with ``bounces@example.org lmtp:inet:127.0.0.1:8024``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from service.database import db
from service.inbound import processing
from service.jobs import enqueue_after_commit

log = logging.getLogger(__name__)

PROCESS_TASK = "inbound.process"
PROTOCOLS = ("lmtp", "smtp")
MAX_SIZE = 25 * 1024 * 1024  # bytes taken; the first models.MAX_RAW of them are kept


class InboundHandler:
    """aiosmtpd's handler: store each message, answer once it is committed."""

    def __init__(self, app: Flask, protocol: str) -> None:
        self.app = app
        self.protocol = protocol

    def store(self, raw: bytes, recipients: list[str]) -> int:
        with self.app.app_context():
            try:
                row, _ = processing.receive(raw, self.protocol, recipients)
                if row.processed_at is None:
                    enqueue_after_commit(db.session(), PROCESS_TASK, row.id)
                db.session.commit()
                return row.id
            finally:
                db.session.remove()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or b"")
        recipients = [str(r) for r in envelope.rcpt_tos]
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.store, raw, recipients)
            reply = "250 2.0.0 recorded"
        except Exception:  # noqa: BLE001 (the MTA keeps the message and retries)
            log.exception("could not record an inbound message")
            reply = "451 4.3.0 cannot record the message now, try again later"
        if self.protocol == "lmtp":  # RFC 2033: one reply per recipient
            return "\r\n".join(reply for _ in recipients)
        return reply


class InboundController(Controller):
    """aiosmtpd's controller (its own thread and event loop), speaking LMTP or SMTP."""

    def __init__(self, app: Flask, protocol: str, host: str, port: int) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}")
        self.protocol = protocol
        super().__init__(InboundHandler(app, protocol), hostname=host, port=port)

    def factory(self) -> SMTP:
        kwargs: dict[str, Any] = {"data_size_limit": MAX_SIZE, "hostname": "newsroom-inbound",
                                  "enable_SMTPUTF8": True}
        if self.protocol == "lmtp":
            return LMTP(self.handler, **kwargs)
        return SMTP(self.handler, **kwargs)
