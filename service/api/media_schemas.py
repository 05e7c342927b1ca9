"""The multipart form POST /api/v1/media takes, and the library's pages (``schemas.Media``
is an image as every endpoint shows it, announcements' ``image`` too)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from service.api.schemas import MAX_PAGE, MAX_PER_PAGE, Media, _Input
from service.media import images, library

# Same characters as a title's rule, as an ECMA-262 pattern (tests check it against the code).
ALT_PATTERN = (r"^[^\u0000-\u001f\u007f\u0085\u2028\u2029\u202a-\u202e\u2066-\u2069"
               r"\ud800-\udfff]+$")
UPLOAD_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["file", "alt"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": f"The image: {images.ACCEPTED_WORDS} (checked from its bytes; "
                                "SVG and other types are refused with 415), at most "
                                "MEDIA_MAX_BYTES (413) and MEDIA_MAX_PIXELS once decoded "
                                "(422). Metadata (EXIF, XMP, ICC) is removed."},
        "alt": {"type": "string", "minLength": 1, "maxLength": library.ALT_MAX,
                "pattern": ALT_PATTERN,
                "description": f"Alternative text, required: {library.ALT_RULE}."},
    },
    "additionalProperties": False,
}
UPLOAD_ENCODING = {"file": {"contentType": "image/jpeg, image/png, image/webp"}}


__all__ = ["Media", "MediaPage", "MediaQuery", "UPLOAD_ENCODING", "UPLOAD_FORM"]


class MediaPage(BaseModel):
    items: list[Media]
    page: int = Field(ge=1, le=MAX_PAGE)
    per_page: int = Field(ge=1, le=MAX_PER_PAGE)
    total: int = Field(ge=0)


class MediaQuery(_Input):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    per_page: int = Field(24, ge=1, le=MAX_PER_PAGE)
