"""Sending real copies through aiosmtpd, to read back their envelope sender and links."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask

from tests import factories
from tests.mail.smtp import SmtpServer
from tests.waiting import wait_for


@dataclass(frozen=True)
class Copy:
    rcpt: str
    verp: str  # the envelope sender it went out with
    manage: str  # the signed token of its List-Unsubscribe links
    mailto: str  # the List-Unsubscribe mailto address


def publish_and_capture(app: Flask, server: SmtpServer, rcpts: list[str],
                        title: str = "ESA ground station agreement signed") -> dict[str, Copy]:
    """Publish an announcement to instant subscribers ``rcpts``; each one's copy as sent."""
    before = {r: len(server.to(r)) for r in rcpts}
    factories.announcement(app, title)
    wait_for(lambda: all(len(server.to(r)) > before[r] for r in rcpts), timeout=20)
    copies = {}
    for rcpt in rcpts:
        received = server.to(rcpt)[-1]
        header = str(received.message["List-Unsubscribe"])
        match = re.search(r"<mailto:([^?>]+)\?subject=unsubscribe%20([^>]+)>", header)
        assert match, header
        copies[rcpt] = Copy(rcpt, received.sender, match.group(2), match.group(1))
    return copies
