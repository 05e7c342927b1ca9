"""Every model, imported in one place so Alembic and the app see the whole schema."""

from service.announcements.models import Announcement, Partner, Revision, Status, Tag
from service.editors.models import ApiToken, Editor, Role
from service.feeds.models import FeedPosition
from service.inbound.models import InboundMessage
from service.media.models import Media
from service.outbound.models import OutboundDelivery
from service.outbox.models import OutboxEvent
from service.subscriptions.models import Delivery, MailBatch, Mailing, Subscriber, Suppression
from service.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from service.websub.models import HubRequest, TopicState, WebSubSubscription

__all__ = [
    "Announcement", "ApiToken", "Delivery", "Editor", "FeedPosition", "InboundMessage",
    "MailBatch", "Mailing", "Media",
    "OutboundDelivery",
    "OutboxEvent",
    "Partner", "Revision", "Role", "Status", "Subscriber", "Suppression", "Tag", "HubRequest",
    "TopicState",
    "WebSubSubscription", "WebhookAttempt", "WebhookEndpoint", "WebhookMessage",
]
