"""The sample reports under ``fixtures/``, filled in for one copy that was really sent."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def sample(name: str, *, verp: str, rcpt: str, manage: str = "", message_id: str = "") -> bytes:
    """``fixtures/<name>.eml`` for the copy sent from ``verp`` to ``rcpt``, with CRLF ends.

    ``message_id`` replaces the sample's own Message-ID (another report of the same shape).
    """
    text = (FIXTURES / f"{name}.eml").read_text()
    text = (text.replace("{{VERP}}", verp).replace("{{RCPT}}", rcpt)
            .replace("{{MANAGE}}", manage))
    if message_id:
        head, _, body = text.partition("\n\n")
        lines = [line for line in head.split("\n") if not line.lower().startswith("message-id:")]
        head = "\n".join([*lines, f"Message-ID: <{message_id}>"])
        text = f"{head}\n\n{body}"
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
