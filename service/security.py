"""Security headers on every response Flask makes: pages, forms, the API and errors alike.

The Content-Security-Policy allows scripts and styles from this site only, so no inline
``<script>`` or ``style=`` runs even if some HTML slipped past the sanitizer; images may come
from any https host because announcements embed partners' pictures. ``frame-ancestors 'none'``
(and ``X-Frame-Options`` for older browsers) stops other sites framing the editor to trick a
click; ``frame-src 'self'`` lets pages frame this site only (the editors' email preview, whose
framed HTML part sets its own ``frame-ancestors 'self'``). A view may set its own value of any
of these; it is kept.
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
