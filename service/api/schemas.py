"""What the API accepts and returns, as pydantic models: validation and the OpenAPI schemas.

Input models are strict: unknown fields are refused (a typo must not be silently dropped), no
field is nullable unless it says so, and every string is checked for what the database or a
feed reader would choke on (NUL and other control characters, unpaired surrogates).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from service.announcements import text_rules
from service.announcements.text_rules import LANGUAGE_PATTERN, MAX_TERMS, SLUG_PATTERN
from service.api import documented_rules as rules
from service.url_numbers import MAX_INT

MAX_PAGE = 1_000_000  # keeps OFFSET well inside a 64-bit integer
MAX_PER_PAGE = 100
# RFC 3339 section 5.6 date-time; the offset is required (no "local time" guessing).
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)

PublicStatus = Literal["draft", "scheduled", "published", "retracted"]
StatusFilter = PublicStatus
CreateStatus = Literal["draft", "scheduled", "published"]


def _single_line(value: str) -> str:
    problem = text_rules.title_problem(value)
    if problem:
        raise PydanticCustomError("control_character", problem)
    return value


def _multi_line(value: str) -> str:
    problem = text_rules.text_problem(value)
    if problem:
        raise PydanticCustomError("control_character", problem)
    return value


def _rfc3339(value: Any) -> datetime:
    """Parse an RFC 3339 timestamp with an explicit offset; refuse numbers and bare dates."""
    if isinstance(value, datetime):  # already parsed (a Python caller)
        parsed = value
    elif isinstance(value, str) and _RFC3339.fullmatch(value):
        try:
            parsed = datetime.fromisoformat(value.upper().replace(" ", "T"))
        except ValueError:
            raise PydanticCustomError("datetime_invalid",
                                      "is not a valid date and time") from None
    else:
        raise PydanticCustomError(
            "datetime_format",
            "must be an RFC 3339 date-time with a time zone, like 2030-01-31T09:00:00Z",
        )
    if parsed.tzinfo is None:
        raise PydanticCustomError("datetime_naive", "must carry a time zone offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "is out of range") from None


def _rfc3339_z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=text_rules.TITLE_MAX),
    AfterValidator(_single_line),
    Field(json_schema_extra=rules.TITLE),
]
Summary = Annotated[str, StringConstraints(strip_whitespace=True,
                                           max_length=text_rules.SUMMARY_MAX),
                    AfterValidator(_multi_line), Field(json_schema_extra=rules.TEXT)]
Body = Annotated[str, StringConstraints(max_length=text_rules.BODY_MAX),
                 AfterValidator(_multi_line), Field(json_schema_extra=rules.TEXT)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True,
                                          max_length=text_rules.REASON_MAX),
                   AfterValidator(_single_line), Field(json_schema_extra=rules.REASON)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=text_rules.TERM_MAX,
                                        pattern=SLUG_PATTERN)]
AnnouncementSlug = Annotated[
    str, StringConstraints(min_length=1, max_length=text_rules.SLUG_MAX, pattern=SLUG_PATTERN)
]
Language = Annotated[str, StringConstraints(max_length=text_rules.LANGUAGE_MAX,
                                            pattern=LANGUAGE_PATTERN)]
SlugList = Annotated[list[Slug], Field(max_length=MAX_TERMS)]
ImageId = Annotated[int, Field(ge=1, le=MAX_INT)]
IMAGE_DESCRIPTION = ("The featured image: the id of an uploaded image (POST /api/v1/media); an "
                     "id no image has is a 422.")
TranslationOf = Annotated[int, Field(ge=1, le=MAX_INT)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339), WithJsonSchema(rules.TIMESTAMP)]
OutTimestamp = Annotated[
    datetime,
    PlainSerializer(_rfc3339_z, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

# Friendlier words than pydantic's for the mistakes clients make most.
PATTERN_WORDS = {
    SLUG_PATTERN: "must be lowercase letters and digits in words joined by single hyphens, "
                  "like remote-sensing",
    LANGUAGE_PATTERN: "must be a BCP 47 language tag such as en, fr or pt-BR",
}
READ_ONLY = {"id", "uid", "url", "body_html", "published_at", "created_at", "updated_at",
             "translations",
             "retracted_at", "retraction_reason"}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class AnnouncementCreate(_Input):
    """A new announcement. ``publish_at`` is for ``status: scheduled`` only, and required there
    (in the future)."""

    model_config = ConfigDict(json_schema_extra=rules.CREATE_SCHEDULING)

    title: Title
    summary: Summary = ""
    body: Body = Field("", description="Markdown (CommonMark, tables, strikethrough).")
    language: Language = "en"
    tags: SlugList = Field(default_factory=list)
    partners: SlugList = Field(default_factory=list)
    status: CreateStatus = "draft"
    image: ImageId | None = Field(None, description=IMAGE_DESCRIPTION)
    publish_at: Timestamp | None = Field(
        None, description="When a scheduled announcement goes public: required when status is "
                          f"'scheduled', null or absent otherwise; {rules.FUTURE}."
    )
    slug: AnnouncementSlug | None = Field(
        None, description="The public URL's last segment; derived from the title if not given."
    )
    translation_of: TranslationOf | None = Field(
        None, description="The id of an announcement this one translates: both (and their "
                          "other translations) become versions of each other, one per language "
                          "(409 when the language is taken; 422 for an unknown id)."
    )


def _no_null_defaults(schema: dict[str, Any]) -> None:
    # The fields below default to "not given", not to null; null itself is refused.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class AnnouncementUpdate(_Input):
    """A partial edit: only the fields present change. Status changes use the action URLs."""

    model_config = ConfigDict(json_schema_extra=_no_null_defaults)

    # The defaults are never used as values: the view reads only the fields that were sent.
    title: Title = None  # type: ignore[assignment]
    summary: Summary = None  # type: ignore[assignment]
    body: Body = None  # type: ignore[assignment]
    language: Language = None  # type: ignore[assignment]
    tags: SlugList = None  # type: ignore[assignment]
    partners: SlugList = None  # type: ignore[assignment]
    slug: AnnouncementSlug = None  # type: ignore[assignment]
    image: ImageId | None = Field(None, description=IMAGE_DESCRIPTION + " null removes it.")
    publish_at: Timestamp = Field(  # type: ignore[assignment]
        None,
        description="Moves the embargo of a scheduled announcement (409 for any other "
                    f"status); {rules.FUTURE}.",
    )
    translation_of: TranslationOf | None = Field(
        None, description="Link as a translation of that announcement's id (as on create); "
                          "null takes this one out of its translations."
    )

    def changes(self) -> dict[str, Any]:
        """The fields sent, except ``translation_of`` (not a field of the announcement)."""
        return self.model_dump(exclude_unset=True, exclude={"translation_of"})


class ScheduleRequest(_Input):
    publish_at: Timestamp = Field(description=f"When it goes public; {rules.FUTURE}.")


class RetractRequest(_Input):
    """The body of a retraction, optional as a whole."""

    reason: Reason = Field("", description="Why it was withdrawn (one line).")


class EmptyRequest(_Input):
    """No fields: the action needs none (the body may also be left out)."""


class ListQuery(_Input):
    """Query parameters of the listing."""

    page: int = Field(1, ge=1, le=MAX_PAGE)
    per_page: int = Field(20, ge=1, le=MAX_PER_PAGE)
    status: StatusFilter | None = Field(
        None, description="Token holders only; anonymous callers see published ones."
    )
    tag: Slug | None = None
    partner: Slug | None = None


class MediaSize(BaseModel):
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    type: str
    url: str = Field(json_schema_extra={"format": "uri"})


class Media(BaseModel):
    """An uploaded image: the cleaned original and its smaller WebP copies (for srcset)."""

    id: int = Field(ge=1, le=MAX_INT)
    url: str = Field(description="The cleaned original (absolute).",
                     json_schema_extra={"format": "uri"})
    alt: str
    type: str = Field(description="image/jpeg, image/png or image/webp")
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    bytes: int = Field(ge=1)
    sizes: list[MediaSize] = Field(description="Narrower copies, narrowest first.")
    created_at: OutTimestamp


class Translation(BaseModel):
    """Another version of an announcement, in another language."""

    id: int = Field(ge=1, le=MAX_INT)
    language: str
    slug: str
    url: str = Field(description="Its public page (absolute).",
                     json_schema_extra={"format": "uri"})
    status: PublicStatus


class Announcement(BaseModel):
    """An announcement as the API shows it. Times are RFC 3339 in UTC."""

    id: int = Field(ge=1, le=MAX_INT)
    uid: UUID = Field(description="Stable identity, also the feeds' item id.")
    slug: str
    url: str = Field(description="The public page (absolute).", json_schema_extra={
        "format": "uri"})
    title: str
    summary: str
    body: str = Field(description="Markdown, as written.")
    body_html: str = Field(description="The body rendered and sanitized.")
    language: str
    status: PublicStatus
    tags: list[str]
    partners: list[str]
    publish_at: OutTimestamp | None
    published_at: OutTimestamp | None
    retracted_at: OutTimestamp | None
    retraction_reason: str | None = Field(description="Why it was withdrawn; null: no reason "
                                                      "given, or not retracted.")
    image: Media | None = Field(description="The featured image; null: none.")
    created_at: OutTimestamp
    updated_at: OutTimestamp
    translations: list[Translation] = Field(
        description="Its other versions, by language; anonymous callers see the published "
                    "ones only.")


class PageLinks(BaseModel):
    first: str
    last: str
    next: str | None
    prev: str | None


class AnnouncementPage(BaseModel):
    items: list[Announcement]
    page: int = Field(ge=1, le=MAX_PAGE)
    per_page: int = Field(ge=1, le=MAX_PER_PAGE)
    total: int = Field(ge=0)
    links: PageLinks


class FieldError(BaseModel):
    pointer: str | None = Field(None, description="JSON Pointer (URI fragment) into the body.")
    parameter: str | None = Field(None, description="The query parameter at fault.")
    detail: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem, or about:blank.")
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = Field(None, description="Per-field problems (422).")
