"""What one inbound message is, and whom it is about; reads nothing from the database.

In order: an RFC 5965 complaint (``complaints``); a request to the List-Unsubscribe mailto
(``unsubscribe <token>`` in the subject); a bounce, permanent or temporary, as flufl.bounce
reads it (RFC 3464 DSNs and the common non-standard formats: Exim, Postfix, Exchange, qmail,
Yahoo...); an automatic reply (RFC 3834); anything else is unrecognised.

Whom: the VERP token (``service.mail.verp``) of the address the message was sent to (the
envelope recipient when the listener or a ``Delivered-To`` header says it), else anywhere in
the message: a DSN quotes it in its ``To`` and in the returned headers, a complaint in
``Original-Mail-From`` and the original's ``Return-Path``. Every candidate's signature is
checked; a message whose tokens are all forged names nobody (``forged``).
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from email.header import decode_header, make_header
from email.message import Message

from flufl.bounce import all_failures

from service.inbound import complaints
from service.inbound.models import InboundKind
from service.mail import verp

_UNSUBSCRIBE_SUBJECT = re.compile(r"\bunsubscribe\s+([A-Za-z0-9_.-]{20,})", re.IGNORECASE)
_MANAGE_LINK = re.compile(r"/subscriptions/(?:unsubscribe|manage)/([A-Za-z0-9_.-]{20,})")
_ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to")
_AUTO_REPLY_SUBJECT = re.compile(r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?"
                                 r"(reply|response)|abwesenheit|absence)", re.IGNORECASE)


@dataclass(frozen=True)
class Classification:
    kind: InboundKind
    envelope: verp.Envelope | None = None  # the copy a valid token names
    token: str | None = None  # that token
    forged: bool = False  # token-shaped strings were found, none with a valid signature
    manage_token: str | None = None  # an unsubscribe request's (or a complaint's) signed link
    addresses: tuple[str, ...] = ()  # failed recipients flufl.bounce found
    detail: str = ""


def parse(raw: bytes) -> Message:
    """The message as flufl.bounce reads it (the compat32 API)."""
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def header_text(msg: Message, name: str) -> str:
    """A header decoded to text (RFC 2047 words), one line; "" when absent or undecodable."""
    value = msg.get(name)
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except (ValueError, LookupError, UnicodeDecodeError):
        text = str(value)
    return " ".join(text.split())


def _tokens(raw: bytes, msg: Message, recipients: Iterable[str]) -> list[str]:
    """Token candidates, the envelope's first, then ours anywhere in the message."""
    found: dict[str, None] = {}
    addresses = list(recipients)
    for name in _ENVELOPE_HEADERS:
        addresses += [str(v) for v in msg.get_all(name, [])]
    for address in addresses:
        token = verp.token_of(address)
        if token:
            found.setdefault(token)
    base = verp.bounce_address()
    if base:  # only tokens in our own address: a token-shaped string elsewhere means nothing
        local, _, domain = base.lower().rpartition("@")
        pattern = re.compile(re.escape(local) + r"\+([a-z2-7]{26}\.[a-z2-7]{13})@"
                             + re.escape(domain))
        for match in pattern.finditer(raw.decode("ascii", errors="replace").lower()):
            found.setdefault(match.group(1))
    return list(found)


def _identify(raw: bytes, msg: Message, recipients: Iterable[str]
              ) -> tuple[verp.Envelope | None, str | None, bool]:
    candidates = _tokens(raw, msg, recipients)
    for token in candidates:
        try:
            return verp.load(token), token, False
        except verp.InvalidEnvelope:
            continue
    return None, None, bool(candidates)


def _auto_reply(msg: Message) -> bool:
    auto = header_text(msg, "auto-submitted").lower()
    return bool((auto and auto != "no") or msg.get("x-autoreply") or msg.get("x-autorespond")
                or header_text(msg, "precedence").lower() == "auto_reply"
                or _AUTO_REPLY_SUBJECT.match(header_text(msg, "subject")))


def classify(raw: bytes, recipients: Iterable[str] = ()) -> Classification:
    """What ``raw`` is and whom it names; needs the app (the key, ``BOUNCE_ADDRESS``)."""
    recipients = list(recipients)
    msg = parse(raw)
    envelope, token, forged = _identify(raw, msg, recipients)
    return replace(_what(msg, recipients), envelope=envelope, token=token, forged=forged)


def _what(msg: Message, recipients: list[str]) -> Classification:
    report = complaints.parse(msg)
    if report is not None:
        link = _MANAGE_LINK.search(report.original)
        detail = (f"feedback-type {report.feedback_type or '(none)'}; original recipient "
                  f"{report.first('original-rcpt-to') or '(redacted)'}; from "
                  f"{report.first('user-agent') or report.first('reporting-mta') or '?'}")
        kind = InboundKind.COMPLAINT if report.is_complaint else InboundKind.REPORT
        return Classification(kind, manage_token=link.group(1) if link else None,
                              detail=detail)

    is_report = msg.get_content_type() == "multipart/report"
    subject = header_text(msg, "subject")
    asked = _UNSUBSCRIBE_SUBJECT.search(subject)
    to_mailto = any((verp.token_of(r) or "") == verp.UNSUBSCRIBE_TAG for r in recipients)
    if not is_report and (asked or to_mailto):
        return Classification(InboundKind.UNSUBSCRIBE,
                              manage_token=asked.group(1) if asked else None,
                              detail=f"subject {subject[:200]!r}")

    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:  # noqa: BLE001 (a heuristic detector tripped: an operator reads it)
        return Classification(InboundKind.UNRECOGNISED, detail=f"flufl.bounce failed: {exc!r}")
    if permanent or temporary:
        kind = InboundKind.HARD_BOUNCE if permanent else InboundKind.SOFT_BOUNCE
        addresses = tuple(sorted(a.decode("ascii", errors="replace")
                                 for a in (permanent or temporary)))
        return Classification(kind, addresses=addresses,
                              detail=f"{'permanent' if permanent else 'temporary'} failure "
                                     f"for {', '.join(addresses)}")
    if _auto_reply(msg) and not is_report:
        return Classification(InboundKind.AUTO_REPLY, detail=f"subject {subject[:200]!r}")
    return Classification(InboundKind.UNRECOGNISED, detail=f"subject {subject[:200]!r}")
