"""*Send me a test email*: an announcement's instant email, draft or not, to the editor who
asks, before anyone else gets it. The request records an outbox event; the worker builds the
message with the sender's own code and sends it through the normal transport (SMTP or the
``.eml`` outbox), never from the web request. Its links are placeholders (no subscriber)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from service import outbox
from service.announcements import queries
from service.database import utcnow
from service.mail import verp
from service.mail.mailer import open_transport
from service.mail.messages import sender_address
from service.subscriptions import composing, contents
from service.subscriptions.models import MailingKind

TEST_EMAIL_EVENT = "announcement.test_email"
PLACEHOLDER_TOKEN = "test-email-placeholder"  # noqa: S105 (not a secret: links lead nowhere)


def request(announcement_id: int, to: str) -> None:
    """Record the wish in the current transaction; the worker sends after commit."""
    outbox.record(TEST_EMAIL_EVENT, {"announcement_id": announcement_id, "to": to})


def send(kind: str, payload: dict[str, Any]) -> None:
    """The consumer: build and send one copy. A re-run after a crash may send a second copy,
    which only the editor who asked receives."""
    item = queries.get(int(payload["announcement_id"]))
    if item is None:
        return
    sender = sender_address(current_app.config["SETTINGS"].mail_from)
    senders = verp.Senders(sender)
    view = contents.item_view(item)
    # A draft has no publication time yet: the copy shows when it would go out (now), or the
    # scheduled time.
    view["published_at"] = item.published_at or item.publish_at or utcnow()
    template = composing.build_template(MailingKind.INSTANT, [view])
    links = composing.subscriber_links(senders.unsubscribe_address, PLACEHOLDER_TOKEN)
    _, data = template.personalise(str(payload["to"]), links)
    with open_transport() as transport:
        transport.send(data, sender, str(payload["to"]))
