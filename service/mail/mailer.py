"""Sending: SMTP from ``SMTP_URL`` (``smtp``), or ``.eml`` files under ``<var>/outbox/``
without one. A transport is opened once per batch; what each send tells the caller, in three
exceptions, is ``outcomes``'.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from flask import current_app

from service.mail.outcomes import SLOW_DOWN, BeforeData, Deferred, Rejected, Transport, Uncertain
from service.mail.smtp import SmtpSettings, SmtpTransport

# What a send tells its caller is part of this module's face: callers catch mailer.Deferred.
__all__ = ["SLOW_DOWN", "BeforeData", "Deferred", "FileTransport", "Rejected", "Transport",
           "Uncertain", "open_transport", "outbox_dir", "smtp_url"]


class FileTransport:
    """The development default: each message becomes ``<directory>/<time>-<n>.eml``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> Self:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, data: bytes, sender: str, recipient: str, *, eight_bit: bool = False,
             before_data: BeforeData | None = None) -> bool:
        if before_data is not None and not before_data():
            return False
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        prefix = f"{stamp}-{recipient.split('@')[0][:20]}-"
        safe_prefix = re.sub(r"[^A-Za-z0-9_.+-]", "_", prefix)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.directory)
        with os.fdopen(fd, "wb") as out:
            out.write(f"X-Envelope-From: {sender}\r\nX-Envelope-To: {recipient}\r\n".encode())
            out.write(data)
        final = self.directory / (safe_prefix + Path(tmp).stem.lstrip(".") + ".eml")
        os.replace(tmp, final)  # readers never see half a file
        return True


def outbox_dir() -> Path:
    var_dir: Path = current_app.config["SETTINGS"].var_dir
    return var_dir / "outbox"


def smtp_url() -> str | None:
    """``SMTP_URL`` from the settings; ``app.config["SMTP_URL"]`` overrides it (tests do)."""
    url: str | None = current_app.config.get("SMTP_URL", current_app.config["SETTINGS"].smtp_url)
    return url


def open_transport() -> SmtpTransport | FileTransport:
    url = smtp_url()
    if url:
        return SmtpTransport(SmtpSettings.from_url(url))
    return FileTransport(outbox_dir())
