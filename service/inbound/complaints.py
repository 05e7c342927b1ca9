"""RFC 5965 (ARF) feedback reports, read with the standard library's email parser.

A report is ``multipart/report; report-type=feedback-report``: a human-readable part, a
``message/feedback-report`` part of ``Name: value`` fields (``Feedback-Type``,
``Original-Mail-From``, ``Original-Rcpt-To``...) and the original message or its headers
(``message/rfc822`` or ``text/rfc822-headers``). Feedback loops often redact the recipient;
what identifies the copy is our envelope sender (``Original-Mail-From``, the original's
``Return-Path``) or the signed link in the original's ``List-Unsubscribe``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser

# abuse, fraud and virus are complaints (RFC 5965 section 7.3); "opt-out" is what some
# feedback loops send for a recipient's unsubscribe button (RFC 6650 examples).
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "opt-out"})


@dataclass(frozen=True)
class FeedbackReport:
    feedback_type: str  # lower case; "" when the report has none
    fields: dict[str, list[str]] = field(default_factory=dict)  # lower-case names
    original: str = ""  # the original message's headers (and body when sent), as text

    @property
    def is_complaint(self) -> bool:
        return self.feedback_type in COMPLAINT_TYPES

    def first(self, name: str) -> str | None:
        values = self.fields.get(name.lower())
        return values[0] if values else None


def _is_report(msg: Message) -> bool:
    return (msg.get_content_type() == "multipart/report"
            and (msg.get_param("report-type") or "").__str__().lower() == "feedback-report")


def _fields(part: Message) -> dict[str, list[str]]:
    """The ``message/feedback-report`` fields: the parser reads them as one sub-message's
    headers; a string payload (an unusual parser path) is parsed as headers here."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        block = payload[0]
    else:
        text = payload if isinstance(payload, str) else ""
        block = HeaderParser().parsestr(text)
    fields: dict[str, list[str]] = {}
    for name, value in block.items():
        fields.setdefault(name.lower(), []).append(" ".join(str(value).split()))
    return fields


def _original_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # message/rfc822: the parsed original
        return "\n".join(m.as_string() for m in payload if isinstance(m, Message))
    decoded = part.get_payload(decode=True)
    if isinstance(decoded, bytes):
        return decoded.decode("utf-8", errors="replace")
    return str(payload)


def parse(msg: Message) -> FeedbackReport | None:
    """The report ``msg`` is, or None when it is not an ARF report."""
    if not _is_report(msg):
        return None
    fields: dict[str, list[str]] = {}
    original = []
    for part in msg.walk():
        content_type = part.get_content_type()
        if content_type == "message/feedback-report":
            fields = _fields(part)
        elif content_type in ("message/rfc822", "text/rfc822-headers"):
            original.append(_original_text(part))
    feedback_type = (fields.get("feedback-type") or [""])[0].strip().lower()
    return FeedbackReport(feedback_type, fields, "\n".join(original))
