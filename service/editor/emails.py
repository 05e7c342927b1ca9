"""The email preview under ``/editor/emails``: the next digests and an instant email.

A nested blueprint of the editor's, like ``admin``: its sign-in check runs first, then this
one's role check (the same ``policy.can_preview_emails`` the navigation asks), for every view.

The HTML part of a message is served by a route of its own and shown in an
``<iframe sandbox>``: the email needs its inline styles, which the site's policy rightly
forbids on its pages, so that one response gets a policy of its own: nothing may load or run
but those styles and images, it is sandboxed even when opened directly, and only this site
may frame it.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from service.announcements import policy
from service.editor import auth
from service.subscriptions import previews
from service.subscriptions.models import MailingKind
from service.url_numbers import positive_int

bp = Blueprint("emails", __name__, url_prefix="/emails")

HTML_PART_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",  # the email's inlined styles, as mail programs apply them
        "img-src https: data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox",
    ]
)
KINDS = {kind.value: kind for kind in (MailingKind.DAILY, MailingKind.WEEKLY)}


@bp.before_request
def _editors_and_admins_only() -> None:
    if not policy.can_preview_emails(auth.current_editor()):
        abort(403)


def _announcement_id() -> int | None:
    value = request.args.get("announcement")
    if value is None:
        return None
    return positive_int(value) or abort(404, description="No announcement with this number.")


def _instant() -> previews.InstantPreview:
    announcement_id = _announcement_id()
    preview = previews.instant(announcement_id)
    if announcement_id is not None and preview.announcement is None:
        abort(404, description="No announcement with this number.")
    return preview


@bp.get("")
def index() -> str:
    return render_template(
        "editor/emails.html",
        digests=[previews.digest(kind) for kind in KINDS.values()],
        instant=_instant(),
    )


@bp.get("/<kind>.html")
def html_part(kind: str) -> Response:
    """The HTML part alone, for the page's frame (``?announcement=`` as on the page)."""
    if kind == MailingKind.INSTANT.value:
        message = _instant().email
    elif kind in KINDS:
        message = previews.digest(KINDS[kind]).email
    else:
        abort(404, description=f"There is no {kind!r} email.")
    if message is None:
        abort(404, description="This email would not be sent.")
    response = Response(message.html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = HTML_PART_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
