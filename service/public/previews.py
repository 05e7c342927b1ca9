"""``/preview/<token>``: a draft or scheduled announcement shown through a private, expiring
link (``service.announcements.preview_links``), signed out, never indexed or cached."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, make_response, redirect, render_template, url_for
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response  # redirect() returns this; flask.Response subclasses it

from service.announcements import preview_links
from service.announcements.models import Announcement, Status
from service.database import db


def _page(token: str) -> Response:
    try:
        item_id = preview_links.announcement_id(token)
    except preview_links.LinkExpired:
        return make_response(render_template(
            "public/error.html", title="This preview link has expired",
            message="Ask the office for a new one."), 410)
    except preview_links.LinkInvalid:
        return make_response(render_template(
            "public/error.html", title="Page not found",
            message="This preview link is not valid: check it was copied whole."), 404)
    item = db.session.scalars(
        sa.select(Announcement).where(Announcement.id == item_id)
        .options(selectinload(Announcement.tags), selectinload(Announcement.partners))
    ).first()
    if item is None or item.status is Status.RETRACTED:
        return make_response(render_template(
            "public/error.html", title="Gone",
            message="This announcement will not be published."), 410)
    if item.status is Status.PUBLISHED:
        return redirect(url_for("public.announcement", slug=item.slug), code=303)
    response = make_response(render_template("public/preview.html", item=item))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/preview/<token>", "preview", _page, methods=["GET"])
