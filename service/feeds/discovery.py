"""WebSub discovery: which hubs a feed names, and the ``Link`` header every feed answer has.

Our own hub is ``BASE_URL`` + :data:`HUB_PATH` (``service.websub.views`` mounts there);
``WEBSUB_HUBS`` adds public hubs next to it. The feeds package owns this (not websub), so
documents and headers can name the hub without feeds importing the push side.
"""

from __future__ import annotations

from flask import current_app

from service import urls
from service.feeds import scopes

HUB_PATH = "/websub"


def hub_urls() -> tuple[str, ...]:
    settings = current_app.config["SETTINGS"]
    return (urls.absolute(HUB_PATH), *settings.websub_hubs)


def self_url(scope: str, fmt: str) -> str:
    return urls.feed(scopes.path(scope, fmt))


def link_header(scope: str, fmt: str) -> str:
    """``<hub>; rel="hub", ..., <self>; rel="self"`` (RFC 8288), stored with each document."""
    hubs = ", ".join(f'<{hub}>; rel="hub"' for hub in hub_urls())
    return f'{hubs}, <{self_url(scope, fmt)}>; rel="self"'
