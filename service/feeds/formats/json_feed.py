"""JSON Feed 1.1, by hand: keys in a fixed order, each item's JSON made once per process."""

from __future__ import annotations

import functools
import json
from datetime import datetime

from service.feeds import enclosures
from service.feeds.formats.common import (
    FeedItem,
    FeedMeta,
    atom_time,
    clean,
    clean_name,
    item_categories,
    item_image,
)

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def _rfc3339(moment: datetime) -> str:
    return atom_time(moment).removesuffix("+00:00") + "Z"


def _json_item(item: FeedItem) -> dict[str, object]:
    out: dict[str, object] = {
        "id": clean(item.id),
        "url": item.url,
        "title": clean(item.title),
        "content_html": clean(item.content_html),
    }
    summary = clean(item.summary)
    if summary:
        out["summary"] = summary
    image = item_image(item)
    if image is not None:
        out.update(enclosures.json_fields(image))
    out["date_published"] = _rfc3339(item.published)
    out["date_modified"] = _rfc3339(item.updated)
    tags = list(dict.fromkeys(cat["label"] for cat in item_categories(item)))
    if tags:
        out["tags"] = tags
    out["language"] = item.language
    author = clean_name(item.author_name)
    if author:
        out["authors"] = [{"name": author}]
    return out


def render_json(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    """JSON Feed 1.1; keys in a fixed order, UTF-8, no ASCII escaping, compact."""
    feed: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": clean(meta.title),
        "home_page_url": meta.home_url,
        "feed_url": meta.self_urls["json"],
        "description": clean(meta.description).strip() or clean(meta.title),
    }
    if meta.hubs:
        feed["hubs"] = [{"type": "WebSub", "url": hub} for hub in meta.hubs]
    if meta.icon_url:
        feed["icon"] = meta.icon_url
    feed["authors"] = [{"name": clean_name(meta.author_name) or clean(meta.title)}]
    feed["language"] = meta.language
    feed["items"] = []
    # "items" comes last: the document is the feed's JSON with each item's own JSON (made
    # once per process) spliced into its empty list, the very bytes of one json.dumps.
    head = _json_text(feed).removesuffix("]}")
    return (head + ",".join(_json_item_text(item) for item in items) + "]}").encode("utf-8")


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@functools.lru_cache(maxsize=512)
def _json_item_text(item: FeedItem) -> str:
    return _json_text(_json_item(item))
