"""Every model, imported in one place so Alembic and the app see the whole schema."""

from service.announcements.models import Announcement, Partner, Revision, Status, Tag
from service.editors.models import ApiToken, Editor, Role
from service.outbox.models import OutboxEvent

__all__ = [
    "Announcement", "ApiToken", "Editor", "OutboxEvent", "Partner", "Revision", "Role", "Status",
    "Tag",
]
