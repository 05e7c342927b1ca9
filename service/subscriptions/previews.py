"""The emails subscribers are about to get, as editors preview them before they go out.

Each preview is the real message: :func:`composing.build_template` renders it and
:meth:`Template.personalise` serialises it exactly as a batch does, for a placeholder
recipient and placeholder manage links; the bytes are then parsed back and the subject, the
From header and both parts taken from them. What an editor sees therefore cannot drift from
what is sent: a change to the templates, the inliner or the headers shows up here too.

The items come from the sender's own queries (``contents.instant_item``,
``contents.digest_items``), so a retracted or scheduled announcement never appears.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import cast

from flask import current_app

from service.announcements import queries
from service.announcements.models import Announcement, Status
from service.database import utcnow
from service.mail import verp
from service.mail.messages import sender_address
from service.subscriptions import composing, contents, digests
from service.subscriptions.models import MailingKind

RECIPIENT = "reader@example.org"
# Not a signed token: the links have the real shape and lead to "this link is not valid".
PLACEHOLDER_TOKEN = "preview-placeholder"  # noqa: S105 (not a secret)
PERIOD_LENGTH = {MailingKind.DAILY: timedelta(days=1), MailingKind.WEEKLY: timedelta(days=7)}


@dataclass(frozen=True)
class EmailPreview:
    """One message as its recipient's mail program would show it."""

    subject: str
    sender: str  # the From header, decoded
    to: str
    html: str
    text: str


@dataclass(frozen=True)
class InstantPreview:
    announcement: Announcement | None  # None: nothing published (or not this one)
    email: EmailPreview | None


@dataclass(frozen=True)
class DigestPreview:
    """The digest of the running period, as of now: ``email`` is None when nothing is new."""

    kind: MailingKind
    starts: datetime  # where the previous digest ended
    sends_at: datetime  # where the running period ends, and its digest goes out
    count: int
    email: EmailPreview | None


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        raise ValueError(f"the message has no text/{subtype} part")
    return cast(str, part.get_content()).replace("\r\n", "\n")


def message(kind: MailingKind, announcements: list[Announcement]) -> EmailPreview:
    """The message of ``kind`` holding ``announcements``, built and parsed back as sent."""
    senders = verp.Senders(sender_address(current_app.config["SETTINGS"].mail_from))
    template = composing.build_template(
        kind, [contents.item_view(item) for item in announcements]
    )
    links = composing.subscriber_links(senders.unsubscribe_address, PLACEHOLDER_TOKEN)
    _, data = template.personalise(RECIPIENT, links)
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    return EmailPreview(
        subject=str(parsed["Subject"]),
        sender=str(parsed["From"]),
        to=str(parsed["To"]),
        html=_part(parsed, "html"),
        text=_part(parsed, "plain"),
    )


def instant(announcement_id: int | None = None) -> InstantPreview:
    """The instant email of one announcement, else of the one published most recently.

    An announcement that is not published (draft, scheduled, retracted) gets no email: the
    preview then holds it and no message.
    """
    if announcement_id is None:
        latest = queries.listing(status=Status.PUBLISHED, per_page=1).items
        item = latest[0] if latest else None
        return InstantPreview(item, message(MailingKind.INSTANT, [item]) if item else None)
    published = contents.instant_item(announcement_id)
    if published is None:
        return InstantPreview(queries.get(announcement_id), None)
    return InstantPreview(published, message(MailingKind.INSTANT, [published]))


def running_period(kind: MailingKind, now: datetime) -> tuple[datetime, datetime]:
    """``(start, end)`` of the period of ``kind`` running at ``now``, from the settings."""
    settings = current_app.config["SETTINGS"]
    _, start = digests.period(kind, now, settings.digest_hour, settings.digest_weekday)
    return start, start + PERIOD_LENGTH[kind]


def digest(kind: MailingKind, now: datetime | None = None) -> DigestPreview:
    """The digest a subscriber with no topic filter gets when the running period ends.

    Their previous digest ended where this period started, so it holds what has been
    published since: the running period so far. Nothing new means no digest is sent.
    """
    start, end = running_period(kind, now or utcnow())
    items = contents.digest_items(start, end)
    return DigestPreview(
        kind=kind,
        starts=start,
        sends_at=end,
        count=len(items),
        email=message(kind, items) if items else None,
    )
