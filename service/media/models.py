"""One uploaded image: its cleaned original and the smaller copies made for srcset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.database import Model, UTCDateTime, utcnow


class Media(Model):
    """An image as stored: ``name`` is ``<sha256 of the cleaned bytes>.<ext>``.

    Two uploads of the same picture share their files (the names are the content's hash) but
    each keeps its own row and alt text. ``sizes`` lists the smaller copies, widest last:
    ``[{"width": 480, "height": 270, "name": "<sha>-480.webp", "type": "image/webp"}, ...]``.
    """

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    width: Mapped[int]
    height: Mapped[int]
    bytes: Mapped[int]
    alt: Mapped[str] = mapped_column(sa.String(500))
    sizes: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    uploaded_by: Mapped[int | None] = mapped_column(
        sa.ForeignKey("editors.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Media {self.id} {self.name}>"
