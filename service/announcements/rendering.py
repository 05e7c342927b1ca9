"""Markdown to safe HTML: the only way user-written text becomes markup.

markdown-it-py renders CommonMark (plus tables and strikethrough); nh3 then keeps an allow-list of
tags and attributes. Whatever an editor types, no ``<script>``, event-handler attribute, ``style``
or ``javascript:`` URL survives into a page, a feed or an email.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details", "dl",
    "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "ol": {"start"},
    "time": {"datetime"},
    "*": {"lang", "dir"},
}
URL_SCHEMES = {"http", "https", "mailto"}
# Languages whose script runs right to left, by primary subtag (lower case).
_RTL_SUBTAGS = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "ku", "ps", "sd", "ug", "ur",
                          "yi"})


def _clean(html: str, attribute_filter: Callable[[str, str, str], str | None] | None = None
           ) -> str:
    """The one allow-list every page, feed and email is cleaned with."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=attribute_filter,
    )


def sanitize_html(html: str) -> str:
    """Clean HTML from any source (Markdown output, imported content) to the allow-list."""
    return _clean(html)


def with_absolute_urls(html: str, page_url: str) -> str:
    """``html`` with every link and image address absolute, resolved against ``page_url`` as
    a browser on that page would: for feeds and emails, read far from the site (no reliance
    on ``xml:base``). Sanitized again on the way, with the same allow-list."""

    def absolute(tag: str, attribute: str, value: str) -> str:
        if attribute in ("href", "src"):
            return urljoin(page_url, value)
        return value

    return _clean(html, absolute)


def render_markdown(text: str) -> str:
    """Render an editor's Markdown to the sanitized HTML stored in ``body_html``."""
    return sanitize_html(_md.render(text))


def is_rtl(language: str) -> bool:
    """Whether text in ``language`` (a BCP 47 tag) runs right to left: ``"ar"``, ``"AR"``,
    ``"fa-IR"``, ``"ckb"`` do; ``"en"``, ``"fr"`` do not. The primary subtag decides,
    whatever its case. Pages (the ``text_direction`` filter) and emails both ask this."""
    return language.split("-", 1)[0].strip().lower() in _RTL_SUBTAGS
