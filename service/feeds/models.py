"""Where each announcement sits in the history of each feed it is in (RFC 5005 archives).

A row gives an announcement a position in one scope's history: 1 for the first item the scope
ever had, then one more for each item that joins it, in the order they are published (assigned
by the feed build under the scope's lock). A position is never reused or moved, so an archive
page, a fixed range of positions, never changes membership: a retraction or a tag taken off
leaves a hole in its page, and only that page is rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.database import Model


class FeedPosition(Model):
    __tablename__ = "feed_positions"
    __table_args__ = (
        sa.UniqueConstraint("scope", "announcement_id", name="uq_feed_positions_scope_item"),
    )

    scope: Mapped[str] = mapped_column(sa.String(80), primary_key=True)  # "all", "tag:esa", ...
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    announcement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("announcements.id", ondelete="CASCADE"), index=True)
