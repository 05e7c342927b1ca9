"""Who a publication reaches by email, counted before it happens (the editor's confirmation):
the same rules as the mail itself (confirmed subscribers whose topics and language match)."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from service.announcements import translations
from service.announcements.models import Announcement
from service.database import db
from service.subscriptions.contents import ItemFacts, matches
from service.subscriptions.models import Frequency, Subscriber, SubscriberStatus


def reach(item: Announcement) -> Counter[Frequency]:
    """Confirmed subscribers ``item`` would be mailed to, by frequency (instant, daily, weekly)."""
    rows = db.session.execute(
        sa.select(Subscriber.frequency, Subscriber.tags, Subscriber.partners, Subscriber.language)
        .where(Subscriber.status == SubscriberStatus.CONFIRMED)
    )
    first = translations.first_published_ids([item])  # readers of every language get one
    found: Counter[Frequency] = Counter()
    facts = ItemFacts.of(item)
    for frequency, tags, partners, language in rows:
        if matches(facts, list(tags or []), list(partners or []), language, first):
            found[frequency] += 1
    return found
