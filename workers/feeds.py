"""Feed tasks: rebuild feeds on demand (most rebuilds run inside ``events.dispatch``)."""

from __future__ import annotations

from celery import shared_task

from service.feeds import build, expiry


@shared_task(name="feeds.rebuild")
def rebuild_feeds(scopes: list[str] | None = None) -> int:
    """Rebuild the given scopes, or every feed when none are given."""
    return build.rebuild(scopes if scopes is not None else build.all_scopes())


@shared_task(name="feeds.expire_tombstones")
def expire_tombstones() -> int:
    """Hourly: rebuild the feeds whose tombstones' period just ended."""
    return expiry.rebuild_where_tombstones_expired()
