"""Every absolute URL the service hands out, built in one place from ``BASE_URL``.

Feeds, emails, the API and push deliveries all link to the same public pages; building each
URL here keeps them identical (a feed item's link, the email's, the API's ``url``) and gives
one place to change should a path move. Paths only: views still route with ``url_for``.
"""

from __future__ import annotations

from flask import current_app


def absolute(path: str) -> str:
    """``BASE_URL`` + ``path`` (``path`` starts with ``/``)."""
    base: str = current_app.config["BASE_URL"]
    return base + path


def announcement(slug: str) -> str:
    return absolute(f"/announcements/{slug}")


def tag(slug: str) -> str:
    return absolute(f"/tags/{slug}")


def partner(slug: str) -> str:
    return absolute(f"/partners/{slug}")


def feed(path: str) -> str:
    """A feed by its path under the site (``scopes.path``: ``feeds/tags/esa/atom.xml``)."""
    return absolute("/" + path.lstrip("/"))


def confirm(token: str) -> str:
    return absolute(f"/subscriptions/confirm/{token}")


def manage(token: str) -> str:
    return absolute(f"/subscriptions/manage/{token}")


def unsubscribe(token: str) -> str:
    """The RFC 8058 one-click address (GET shows a button, POST unsubscribes)."""
    return absolute(f"/subscriptions/unsubscribe/{token}")


def unsubscribe_mailto(sender: str, token: str) -> str:
    return f"mailto:{sender}?subject=unsubscribe%20{token}"
