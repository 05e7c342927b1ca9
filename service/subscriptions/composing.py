"""Building a mailing's messages: one template per distinct content, links per subscriber."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from service import urls
from service.mail.messages import Links, Template
from service.subscriptions.models import MailingKind

DIGEST_MAX_ITEMS = 50


def build_template(kind: MailingKind, items: list[dict[str, Any]]) -> Template:
    """The email of ``kind`` holding ``items`` (from :func:`item_view`), not yet personalised.

    A digest shows the newest ``DIGEST_MAX_ITEMS`` and counts the rest. The sender and the
    editors' preview (``previews``) both build their messages here.
    """
    base_url = current_app.config["BASE_URL"]
    mail_from = current_app.config["SETTINGS"].mail_from
    domain = urlsplit(base_url).hostname or "localhost"
    if kind is MailingKind.INSTANT:
        return Template("instant", {"item": items[0], "base_url": base_url},
                        mail_from=mail_from, domain=domain)
    shown = items[:DIGEST_MAX_ITEMS]
    return Template("digest", {"kind": kind.value, "items": shown,
                               "more": len(items) - len(shown), "base_url": base_url},
                    mail_from=mail_from, domain=domain)


def subscriber_links(mailto: str, manage_token: str) -> Links:
    """The manage and unsubscribe links of the subscriber whose signed token is given;
    ``mailto`` is the address of the ``List-Unsubscribe`` mailto (``verp.Senders``)."""
    return Links(manage=urls.manage(manage_token), unsubscribe=urls.unsubscribe(manage_token),
                 unsubscribe_mailto=urls.unsubscribe_mailto(mailto, manage_token))
