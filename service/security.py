"""Security headers on every response Flask makes: pages, forms, the API and errors alike.

The Content-Security-Policy allows scripts and styles from this site only, so no inline
``<script>`` or ``style=`` runs even if some HTML slipped past the sanitizer; images may come
from any https host because announcements embed partners' pictures. ``frame-ancestors 'none'``
(and ``X-Frame-Options`` for older browsers) stops other sites framing the editor to trick a
click; ``frame-src 'self'`` lets pages frame this site only (the editors' email preview, whose
framed HTML part sets its own ``frame-ancestors 'self'``). A view may set its own value of any
of these; it is kept.

Feeds are another kind of document: XML or JSON for feed readers, never meant to run anything
or load anything, so they get :data:`DOCUMENT_HEADERS` (``default-src 'none'`` and ``sandbox``:
a browser that opens one as a page runs no script and loads nothing, whatever its content).
The same strict set goes on every response made outside Flask: the feed fast path
(``service.feeds.serving``), gunicorn's own error pages (``service.gunicorn_worker``) and what
nginx serves itself (``deploy/nginx.conf``, which a test holds to these values). This module is
the one source of the values.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-src 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000; includeSubDomains"

DOCUMENT_CONTENT_SECURITY_POLICY = "; ".join(
    ["default-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
     "sandbox"]
)
DOCUMENT_HEADERS = {
    "Content-Security-Policy": DOCUMENT_CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
}


def document_headers(production: bool) -> list[tuple[str, str]]:
    """The headers of a document that runs nothing (a feed, a bare error page), as WSGI pairs.

    HSTS only in production, as on Flask's responses: that is where the site is served over
    https, and a development machine's other local sites must not inherit it.
    """
    headers = list(DOCUMENT_HEADERS.items())
    if production:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def init_app(app: Flask) -> None:
    """Add the headers to every response; HSTS only in production, which is served over https."""
    production = app.config["SETTINGS"].production

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
