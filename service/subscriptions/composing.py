"""Building a mailing's messages: one template per distinct content, links per subscriber."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from service import urls
from service.mail.messages import Links, Template
from service.subscriptions.models import MailingKind

DIGEST_MAX_ITEMS = 50
SHARED_FOR = 60.0  # seconds a built template serves the batches of a worker process
_SHARED_MAX = 64


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


def shared_template(kind: MailingKind, items: list[dict[str, Any]]) -> Template:
    """:func:`build_template`, built once per worker process for every batch (and thread)
    sending the same content within :data:`SHARED_FOR` seconds: the items' views are the key,
    so an edited announcement is built anew; its ``Date`` header is the build's time. Kept
    with the app, so apps with other settings (tests) never share one.
    """
    shared: dict[str, tuple[float, Template]] = current_app.extensions.setdefault(
        "newsroom.templates", {})
    key = repr((kind.value, items))
    now = time.monotonic()
    found = shared.get(key)
    if found is not None and now - found[0] < SHARED_FOR:
        return found[1]
    template = build_template(kind, items)
    if len(shared) >= _SHARED_MAX:
        shared.clear()  # old mailings' templates; the current ones are built again once
    shared[key] = (now, template)  # a Template is immutable: threads may share it
    return template


def subscriber_links(mailto: str, manage_token: str) -> Links:
    """The manage and unsubscribe links of the subscriber whose signed token is given;
    ``mailto`` is the address of the ``List-Unsubscribe`` mailto (``verp.Senders``)."""
    return Links(manage=urls.manage(manage_token), unsubscribe=urls.unsubscribe(manage_token),
                 unsubscribe_mailto=urls.unsubscribe_mailto(mailto, manage_token))
