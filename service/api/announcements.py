"""Announcement endpoints: validate, call the publishing workflow, commit, serialise.

The commit is what sends an announcement out: it records the outbox event, and the event's task
is queued after the commit (see ``service.jobs``), so feeds follow within a second.

Decisions worth knowing:
- Anonymous callers see published announcements only; a retracted one answers 410 Gone (as
  its public page does), drafts and scheduled ones 404. Any valid token sees everything.
- ETags are weak, ``W/"<id>-<updated_at in microseconds>"``, and ``If-Match`` is compared
  weakly. RFC 9110 asks for strong comparison there, but proxies that compress responses turn
  strong tags weak, and the tag changes with every edit, so weak comparison loses nothing.
- ``publish_at`` can be moved by PATCH only while the announcement is scheduled (else 409); a
  draft is scheduled with POST .../schedule.
- ``translation_of`` (create, PATCH) links translations; changing it changes the other
  versions too, so the caller must be allowed to edit that one as well. The ETag covers the
  versions (their ids and last changes), so a conditional GET sees a translation appear.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from math import ceil
from typing import Any

from flask import Response, current_app, g, jsonify, request, url_for
from pydantic import BaseModel
from werkzeug.wrappers import Response as ResponseBase  # what make_conditional returns

from service import urls
from service.announcements import publishing, queries, translations
from service.announcements.models import Announcement, Status
from service.api import auth, bp, parsing, schemas
from service.api.announcement_json import etag, representation
from service.api.field_errors import InvalidFields, pointer
from service.api.openapi import operation
from service.api.problems import Problem
from service.database import db, utcnow
from service.editors.models import Editor

_ITEM = {200: ("The announcement.", schemas.Announcement)}
_ITEM_HEADERS = {200: ("ETag",)}


def _item_response(item: Announcement, status: int = 200, **headers: str) -> Response:
    versions = translations.others(item)
    # The caller as the view's token check found it (looking it up again would write again).
    response = jsonify(representation(item, versions, g.get("api_editor")))
    response.status_code = status
    response.set_etag(etag(item, versions), weak=True)
    response.headers.update(headers)
    return response


def _link_translation(item: Announcement, editor: Editor, other_id: int | None) -> None:
    """Link ``item`` with announcement ``other_id`` (None: unlink it), for an editor who may
    edit both; an unknown id is a 422 on the field."""
    if other_id is None:
        translations.unlink(item)
        return
    other = queries.get(other_id, for_update=True)
    if other is None:
        raise InvalidFields([{"pointer": pointer("translation_of"),
                                      "detail": f"there is no announcement with id {other_id}"}])
    auth.require_can_edit(editor, other)
    translations.link(item, other)


def _not_found(announcement_id: int) -> Problem:
    return Problem(404, f"There is no announcement with id {announcement_id}.")


def _for_change(announcement_id: int, editor: Editor) -> Announcement:
    """Load and lock the announcement, check the editor may change it, then If-Match.

    Preconditions come after authorization (RFC 9110 section 13.2.1): a stale ETag must not
    tell someone who may not edit at all that the announcement changed.
    """
    item = queries.get(announcement_id, for_update=True)
    if item is None:
        raise _not_found(announcement_id)
    auth.require_can_edit(editor, item)
    if_match = request.if_match
    if "If-Match" in request.headers and not (
        if_match.star_tag or if_match.contains_weak(etag(item))
    ):
        raise Problem(412, "The announcement changed since you read it (If-Match does not "
                           "match its ETag); GET it again and reapply your change.",
                      headers={"ETag": f'W/"{etag(item)}"'})
    return item


def _require_future(publish_at: datetime) -> None:
    if publish_at <= utcnow():
        raise InvalidFields([{"pointer": pointer("publish_at"),
                                      "detail": "must be in the future"}])


def _check_create_schedule(status: str, publish_at: datetime | None) -> None:
    where = pointer("publish_at")
    if status == "scheduled":
        if publish_at is None:
            raise InvalidFields([{"pointer": where,
                                          "detail": "is required when status is scheduled"}])
        _require_future(publish_at)
    elif publish_at is not None:
        raise InvalidFields([{"pointer": where,
                                      "detail": "is only for status scheduled"}])


def _page_url(query: schemas.ListQuery, page: int) -> str:
    params: dict[str, Any] = {"page": page, "per_page": query.per_page}
    params |= {k: v for k, v in (("status", query.status), ("tag", query.tag),
                                  ("partner", query.partner)) if v is not None}
    return urls.absolute(url_for(".list_announcements", **params))


@bp.get("/announcements")
@operation(
    summary="List announcements, newest first",
    description="Anonymous callers see published announcements only (newest published "
                "first); token holders see every status (most recently changed first) and "
                "may filter by status.",
    auth="optional", query=schemas.ListQuery,
    responses={200: ("A page of announcements.", schemas.AnnouncementPage)},
    response_headers={200: ("Link",)},
)
def list_announcements() -> Response:
    editor = auth.optional_editor()
    query = parsing.query(schemas.ListQuery)
    if editor is None and query.status not in (None, "published"):
        raise auth.unauthorized(f"Listing {query.status} announcements needs an API token.")
    status = Status(query.status) if query.status else None
    if editor is None:
        status = Status.PUBLISHED
    found = queries.listing(status=status, tag=query.tag, partner=query.partner,
                            page=query.page, per_page=query.per_page)
    last = max(1, ceil(found.total / query.per_page))
    versions = translations.others_of_many(found.items)
    links = {
        "first": _page_url(query, 1),
        "last": _page_url(query, last),
        "next": _page_url(query, query.page + 1) if query.page < last else None,
        "prev": _page_url(query, min(query.page - 1, last)) if query.page > 1 else None,
    }
    page = schemas.AnnouncementPage.model_validate({
        "items": [representation(item, versions[item.id], editor) for item in found.items],
        "page": query.page, "per_page": query.per_page, "total": found.total, "links": links,
    })
    response = jsonify(page.model_dump(mode="json"))
    response.headers["Link"] = ", ".join(
        f'<{url}>; rel="{rel}"' for rel, url in links.items() if url is not None
    )
    return response


@bp.post("/announcements")
@operation(
    summary="Create an announcement",
    description="Authors may create drafts only. The slug comes from the title unless "
                "given; a slug in use is a 409. Status 'scheduled' needs publish_at, in the "
                "future (422 otherwise); any other status takes no publish_at (422).",
    body=schemas.AnnouncementCreate, errors=(403, 409),
    responses={201: ("Created.", schemas.Announcement)},
    response_headers={201: ("Location", "ETag")},
)
def create_announcement() -> Response:
    editor = auth.required_editor()
    data = parsing.body(schemas.AnnouncementCreate)
    if data.status != "draft":
        auth.require_publisher(editor, f"create {data.status} announcements")
    _check_create_schedule(data.status, data.publish_at)
    item = publishing.create(
        title=data.title, summary=data.summary, body=data.body, language=data.language,
        tags=data.tags, partners=data.partners, status=Status(data.status),
        publish_at=data.publish_at, slug=data.slug, author_id=editor.id, image_id=data.image,
    )
    if data.translation_of is not None:
        _link_translation(item, editor, data.translation_of)
    db.session.commit()
    location = current_app.config["BASE_URL"] + url_for(".get_announcement",
                                                         announcement_id=item.id)
    return _item_response(item, 201, Location=location)


@bp.get("/announcements/<int:announcement_id>")
@operation(
    summary="Get one announcement",
    description="Anonymous callers: published only (404 for drafts and scheduled ones, 410 "
                "for retracted ones).",
    auth="optional", errors=(404, 410), request_headers=("If-None-Match",),
    responses={**_ITEM, 304: ("Not modified (If-None-Match matched).", None)},
    response_headers=_ITEM_HEADERS,
)
def get_announcement(announcement_id: int) -> ResponseBase:
    editor = auth.optional_editor()
    item = queries.get(announcement_id)
    if item is None:
        raise _not_found(announcement_id)
    if editor is None and item.status is Status.RETRACTED:
        raise Problem(410, "This announcement was retracted.", kind="retracted",
                      title="Announcement retracted",
                      retracted_at=item.retracted_at.isoformat() if item.retracted_at else None,
                      reason=item.retraction_reason)
    if editor is None and item.status is not Status.PUBLISHED:
        raise _not_found(announcement_id)  # an embargo must not show, even as a 403
    return _item_response(item).make_conditional(request)


@bp.patch("/announcements/<int:announcement_id>")
@operation(
    summary="Edit an announcement",
    description="Only the fields sent change; the slug and id stay unless 'slug' is sent. "
                "Authors may edit their own drafts only. publish_at moves the embargo of a "
                "scheduled announcement only (409 for any other status; draft ones are "
                "scheduled with POST .../schedule) and must be in the future (422).",
    body=schemas.AnnouncementUpdate, errors=(403, 404, 409), request_headers=("If-Match",),
    responses=_ITEM, response_headers=_ITEM_HEADERS,
)
def update_announcement(announcement_id: int) -> Response:
    editor = auth.required_editor()
    item = _for_change(announcement_id, editor)
    data = parsing.body(schemas.AnnouncementUpdate)
    changes = data.changes()
    if "image" in changes:
        changes["image_id"] = changes.pop("image")
    if "publish_at" in changes:
        if item.status is not Status.SCHEDULED:
            raise publishing.NotAllowed(
                f"publish_at can be changed on a scheduled announcement only, not a "
                f"{item.status.value} one; use POST .../schedule"
            )
        _require_future(changes["publish_at"])
    if "translation_of" in data.model_fields_set:
        _link_translation(item, editor, data.translation_of)
    publishing.update(item, changes)
    db.session.commit()
    return _item_response(item)


def _act(announcement_id: int, verb: str, body: type[BaseModel],
         apply: Callable[[Announcement, Any], None]) -> Response:
    editor = auth.required_editor()
    auth.require_publisher(editor, verb)
    item = _for_change(announcement_id, editor)
    data = parsing.body(body, optional=body in (schemas.EmptyRequest, schemas.RetractRequest))
    apply(item, data)
    db.session.commit()
    return _item_response(item)


_ACTION = {"errors": (403, 404, 409), "request_headers": ("If-Match",), "responses": _ITEM,
           "response_headers": _ITEM_HEADERS}


@bp.post("/announcements/<int:announcement_id>/publish")
@operation(summary="Publish now", body=schemas.EmptyRequest, body_optional=True, **_ACTION)
def publish_announcement(announcement_id: int) -> Response:
    return _act(announcement_id, "publish", schemas.EmptyRequest,
                lambda item, _: publishing.publish(item))


def _schedule(item: Announcement, data: schemas.ScheduleRequest) -> None:
    _require_future(data.publish_at)
    publishing.schedule(item, data.publish_at)


@bp.post("/announcements/<int:announcement_id>/schedule")
@operation(summary="Schedule (embargo) until publish_at", body=schemas.ScheduleRequest,
           description="A draft or scheduled announcement becomes scheduled: invisible "
                       "everywhere until publish_at, then published by the server. publish_at "
                       "must be in the future (422); a published or retracted announcement "
                       "cannot be scheduled (409). Editors and admins only.",
           **_ACTION)
def schedule_announcement(announcement_id: int) -> Response:
    return _act(announcement_id, "schedule", schemas.ScheduleRequest, _schedule)


@bp.post("/announcements/<int:announcement_id>/unschedule")
@operation(summary="Lift the embargo, back to draft", body=schemas.EmptyRequest,
           body_optional=True, **_ACTION)
def unschedule_announcement(announcement_id: int) -> Response:
    return _act(announcement_id, "unschedule", schemas.EmptyRequest,
                lambda item, _: publishing.unschedule(item))


@bp.post("/announcements/<int:announcement_id>/retract")
@operation(summary="Retract a published announcement", body=schemas.RetractRequest,
           body_optional=True,
           description="Gone from lists, RSS and JSON Feed; the page and anonymous GETs answer "
                       "410; the Atom feeds carry a tombstone (RFC 6721) with the reason for "
                       "TOMBSTONE_DAYS. The body, and its reason, are optional; retracting "
                       "again changes nothing (the first time and reason stand).",
           **_ACTION)
def retract_announcement(announcement_id: int) -> Response:
    return _act(announcement_id, "retract", schemas.RetractRequest,
                lambda item, data: publishing.retract(item, data.reason))
