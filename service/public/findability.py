"""``/sitemap.xml``, ``/robots.txt`` and ``/favicon.ico``: what crawlers and browsers ask for.

The sitemap lists the home page, the feeds page, every published announcement (with its last
change), and every tag and partner readers can see (``queries.is_public``): the same rule as
their pages, so a tag only embargoed announcements have is not announced early. One file holds
at most 50,000 URLs (the protocol's limit); past that the newest announcements are listed.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, current_app, render_template, send_from_directory

from service import urls
from service.announcements.models import (
    Announcement,
    Partner,
    Status,
    Tag,
    announcement_partners,
    announcement_tags,
)
from service.database import db
from service.public.views import bp

SITEMAP_MAX = 50_000
ROBOTS = """User-agent: *
Disallow: /editor/
Disallow: /api/
Disallow: /subscriptions/
Disallow: /preview/
Allow: /

Sitemap: {sitemap}
"""


def _topics(model: type[Tag] | type[Partner], link: sa.Table, limit: int) -> list[str]:
    column = link.c.tag_id if model is Tag else link.c.partner_id
    rows = db.session.scalars(
        sa.select(model.slug).distinct()
        .join(link, column == model.id)
        .join(Announcement, Announcement.id == link.c.announcement_id)
        .where(Announcement.status == Status.PUBLISHED)
        .order_by(model.slug).limit(limit)
    )
    return list(rows)


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    announcements = db.session.execute(
        sa.select(Announcement.slug, Announcement.updated_at)
        .where(Announcement.status == Status.PUBLISHED)
        .order_by(Announcement.published_at.desc(), Announcement.id.desc())
        .limit(SITEMAP_MAX - 2)
    ).all()
    room = SITEMAP_MAX - 2 - len(announcements)
    tags = _topics(Tag, announcement_tags, room)
    partners = _topics(Partner, announcement_partners, max(0, room - len(tags)))
    entries = [(urls.absolute("/"), announcements[0][1] if announcements else None),
               (urls.absolute("/feeds"), None)]
    entries += [(urls.announcement(slug), updated) for slug, updated in announcements]
    entries += [(urls.tag(slug), None) for slug in tags]
    entries += [(urls.partner(slug), None) for slug in partners]
    body = render_template("public/sitemap.xml", entries=entries)
    return Response(body, mimetype="application/xml",
                    headers={"Cache-Control": "public, max-age=300"})


@bp.get("/robots.txt")
def robots() -> Response:
    return Response(ROBOTS.format(sitemap=urls.absolute("/sitemap.xml")), mimetype="text/plain",
                    headers={"Cache-Control": "public, max-age=3600"})


@bp.get("/favicon.ico")
def favicon() -> Response:
    static = current_app.static_folder or "static"
    return send_from_directory(static, "favicon.ico", mimetype="image/x-icon", max_age=86400)
