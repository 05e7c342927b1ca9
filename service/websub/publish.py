"""Pinging external hubs (``WEBSUB_HUBS``): ``hub.mode=publish`` with the changed topics.

There is no standard for publishing to a hub; ``hub.mode=publish`` with ``hub.url`` (one per
topic) is what the public hubs accept. Best effort, through the guarded outbound client: a
hub that is down misses a ping, and its subscribers still get the document on the hub's own
next poll.
"""

from __future__ import annotations

import logging

import httpx
from flask import current_app

from service.outbound.client import make_client, request
from service.outbound.guard import RefusedAddress

log = logging.getLogger(__name__)


def ping_hubs(topic_urls: list[str]) -> dict[str, int | str]:
    """POST the changed topics to every configured hub; what each answered."""
    settings = current_app.config["SETTINGS"]
    body = str(httpx.QueryParams([("hub.mode", "publish"),
                                  *(("hub.url", t) for t in topic_urls)]))
    results: dict[str, int | str] = {}
    with make_client(timeout=settings.outbound_timeout,
                     allow_private=settings.outbound_allow_private) as client:
        for hub in settings.websub_hubs:
            try:
                answer = request(client, "POST", hub, content=body.encode(), headers={
                    "Content-Type": "application/x-www-form-urlencoded"})
                results[hub] = answer.status
            except (httpx.HTTPError, RefusedAddress) as exc:
                results[hub] = f"{type(exc).__name__}: {exc}"
                log.warning("could not ping hub %s: %s", hub, exc)
    return results
