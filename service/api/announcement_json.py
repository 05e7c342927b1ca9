"""An announcement as the API shows it (JSON and its weak ETag), and as partners' webhooks
carry it (the anonymous view).

The ETag is ``<id>-<updated_at in µs>``, plus a hash of the translations' ids, last changes and
statuses, so a conditional GET sees a translation appear or be published.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from service import urls
from service.announcements import translations
from service.announcements.models import Announcement, Status
from service.api import schemas
from service.editors.models import Editor
from service.media import library

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def representation(item: Announcement, versions: list[Announcement],
                    viewer: Editor | None) -> dict[str, Any]:
    """``versions``: its translations (``translations.others``); anonymous viewers see the
    published ones only."""
    shown = [v for v in versions if viewer is not None or v.status is Status.PUBLISHED]
    return schemas.Announcement(
        id=item.id,
        uid=item.uid,
        slug=item.slug,
        url=urls.announcement(item.slug),
        title=item.title,
        summary=item.summary,
        body=item.body,
        body_html=item.body_html,
        language=item.language,
        status=item.status.value,
        tags=[t.slug for t in item.tags],
        partners=[p.slug for p in item.partners],
        publish_at=item.publish_at,
        published_at=item.published_at,
        retracted_at=item.retracted_at,
        retraction_reason=item.retraction_reason,
        image=library.describe(item.image) if item.image else None,
        created_at=item.created_at,
        updated_at=item.updated_at,
        translations=[schemas.Translation(id=v.id, language=v.language, slug=v.slug,
                                          url=urls.announcement(v.slug), status=v.status.value)
                      for v in shown],
    ).model_dump(mode="json")


def public_representation(item: Announcement) -> dict[str, Any]:
    """As an anonymous caller gets it (what webhooks carry to partners)."""
    return representation(item, translations.others(item), None)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def etag(item: Announcement, versions: list[Announcement] | None = None) -> str:
    """``<id>-<updated_at in µs>``, plus a hash of its translations' ids and last changes."""
    tag = f"{item.id}-{_micros(item.updated_at)}"
    versions = translations.others(item) if versions is None else versions
    if versions:
        state = ",".join(f"{v.id}:{_micros(v.updated_at)}:{v.status.value}" for v in versions)
        tag += "-" + hashlib.sha256(state.encode()).hexdigest()[:12]
    return tag
