"""The editor's forms (Flask-WTF): each carries its CSRF token, each field a clear error."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from slugify import slugify
from wtforms import (
    DateTimeLocalField,
    Field,
    FileField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from service.announcements import text_rules
from service.database import utcnow
from service.editor import times
from service.media import library
from service.wtf import FlaskForm

# The languages offered first; any BCP 47 tag an imported announcement carries is kept.
# (Choices are WTForms 3.3's ``{value: label}`` shorthand; tuples are deprecated there.)
LANGUAGES = {
    "en": "English",
    "ar": "العربية (Arabic)",
    "es": "Español (Spanish)",
    "fr": "Français (French)",
    "ru": "Русский (Russian)",
    "zh": "中文 (Chinese)",
    "de": "Deutsch (German)",
    "ja": "日本語 (Japanese)",
    "pt": "Português (Portuguese)",
}


def split_slugs(text: str) -> list[str]:
    """``"Remote sensing, ESA"`` -> ``["esa", "remote-sensing"]``: what tag inputs hold."""
    return sorted({slugify(part, max_length=64) for part in text.split(",") if part.strip()})


def join_slugs(slugs: list[str]) -> str:
    return ", ".join(slugs)


def required_text(field: StringField) -> str:
    """The text of a field its validators require, once the form validated (never None)."""
    if field.data is None:
        raise ValueError(f"{field.name} read before its form validated")
    return field.data


def add_error(field: Field, message: str) -> None:
    """Show ``message`` under ``field``, as a validator's would be (after validation)."""
    field.errors = [*field.errors, message]


class Changes(TypedDict):
    """What ``AnnouncementForm.changes`` gives: ``publishing.create``'s keyword arguments."""

    title: str
    summary: str
    body: str
    language: str
    tags: list[str]
    partners: list[str]
    image_id: int | None


def _alt(form: FlaskForm, field: Field) -> None:
    problem = library.alt_problem((field.data or "").strip())
    if problem:
        raise ValidationError(problem)


def _alt_with_file(form: FlaskForm, field: Field) -> None:
    """The alt text is required when a file is uploaded with the announcement."""
    upload = getattr(form, "image_file", None)
    if upload is not None and upload.data and getattr(upload.data, "filename", ""):
        _alt(form, field)


def uploaded(field: Field) -> bool:
    """Whether the browser sent a file in ``field`` (an empty file input sends no name)."""
    return bool(field.data and getattr(field.data, "filename", ""))


class MediaUploadForm(FlaskForm):
    file = FileField("Image file",
                     description="JPEG, PNG or WebP. Drop it here or choose it; metadata such "
                                 "as the camera's GPS position is removed.",
                     render_kw={"accept": "image/jpeg,image/png,image/webp"})
    alt = StringField("Alt text (required)",
                      description="What the image shows, for readers who cannot see it.",
                      filters=[lambda value: value.strip() if value else value],
                      validators=[_alt])
    submit = SubmitField("Upload")

    def validate_file(self, field: Field) -> None:
        if not uploaded(field):
            raise ValidationError("choose an image to upload")


def _title(form: FlaskForm, field: Field) -> None:
    """The API's rule for titles (``text_rules``), so both refuse the same characters."""
    problem = text_rules.title_problem((field.data or "").strip())
    if problem:
        raise ValidationError(problem)


def _text(form: FlaskForm, field: Field) -> None:
    problem = text_rules.text_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def _slug_list(form: FlaskForm, field: Field) -> None:
    for part in (field.data or "").split(","):
        if part.strip() and not slugify(part, max_length=64):
            raise ValidationError(f"{part.strip()!r} has no letters or digits to make a name from")


class AnnouncementForm(FlaskForm):
    title = StringField("Title",
                        validators=[DataRequired(), Length(max=text_rules.TITLE_MAX), _title])
    slug = StringField(
        "Address (slug)",
        description="The end of the public URL. Leave empty to make one from the title.",
        validators=[
            Optional(),
            Length(max=text_rules.SLUG_MAX),
            Regexp(text_rules.SLUG_PATTERN, message="use lower-case letters, digits and hyphens"),
        ],
    )
    summary = TextAreaField(
        "Summary",
        description="One or two sentences, shown in lists.",
        validators=[Length(max=text_rules.SUMMARY_MAX), _text],
    )
    body = TextAreaField("Body (Markdown)",
                         validators=[Length(max=text_rules.BODY_MAX), _text])
    language = SelectField("Language", choices=LANGUAGES, validators=[InputRequired()])
    tags = StringField(
        "Tags",
        description="Comma-separated, e.g. remote-sensing, agreements.",
        validators=[Length(max=1000), _slug_list],
    )
    partners = StringField(
        "Partners",
        description="Comma-separated, e.g. esa, nasa.",
        validators=[Length(max=1000), _slug_list],
    )
    image = RadioField("Featured image", choices={"": "No image"}, default="",
                       validate_choice=True)
    image_file = FileField("Or upload a new one",
                           render_kw={"accept": "image/jpeg,image/png,image/webp"})
    image_alt = StringField("Its alt text",
                            description="Required with an upload: what the image shows.",
                            filters=[lambda value: value.strip() if value else value],
                            validators=[_alt_with_file])
    preview = SubmitField("Preview")
    save = SubmitField("Save")
    publish = SubmitField("Publish now")  # on a new announcement: save, then confirm
    # On a new announcement: save and schedule in one step (the office's zone, as ScheduleForm).
    publish_at = DateTimeLocalField("Publish at", validators=[Optional()],
                                    format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    schedule = SubmitField("Schedule")

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        if self.schedule.data and not self.publish_at.errors:
            if self.publish_at.data is None:
                self.publish_at.errors = ["choose when to publish it"]
            elif times.from_office(self.publish_at.data) <= utcnow():
                self.publish_at.errors = [f"choose a time in the future ({times.zone_name()})"]
            else:
                return valid
            return False
        return valid

    def offer_language(self, code: str) -> None:
        """Keep a language the announcement already has in the choices, listed or not."""
        if code and code not in LANGUAGES:
            self.language.choices = {code: code, **LANGUAGES}

    def changes(self) -> Changes:
        """The submitted values as ``publishing.update`` takes them."""
        return {
            # A field missing from the POST (a hand-made request) counts as empty.
            "title": (self.title.data or "").strip(),
            "summary": (self.summary.data or "").strip(),
            "body": self.body.data or "",
            "language": self.language.data,
            "tags": split_slugs(self.tags.data or ""),
            "partners": split_slugs(self.partners.data or ""),
            "image_id": int(self.image.data) if self.image.data else None,
        }


class ScheduleForm(FlaskForm):
    """A publication time typed in the office's zone (``TIMEZONE``); stored in UTC."""

    publish_at = DateTimeLocalField(
        "Publish at",
        validators=[DataRequired()],
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    submit = SubmitField("Schedule")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if isinstance(kwargs.get("publish_at"), datetime):
            kwargs["publish_at"] = times.to_office(kwargs["publish_at"])
        super().__init__(*args, **kwargs)
        self.publish_at.label.text = f"Publish at ({times.zone_name()})"

    def validate_publish_at(self, field: Field) -> None:
        if field.data is not None and times.from_office(field.data) <= utcnow():
            raise ValidationError(f"choose a time in the future ({times.zone_name()})")

    def when(self) -> datetime:
        """The time asked for, in UTC, once the form validated."""
        if self.publish_at.data is None:
            raise ValueError("ScheduleForm.when() before the form validated")
        return times.from_office(self.publish_at.data)


class RetractForm(FlaskForm):
    """Retracting asks why: readers see the reason on the page and in the Atom tombstone."""

    reason = StringField(
        "Reason (shown to readers)",
        description="One line, optional, e.g. 'Issued in error: the launch date was wrong.'",
        filters=[lambda value: value.strip() if value else value],
        validators=[Length(max=text_rules.REASON_MAX,
                           message=f"must be at most {text_rules.REASON_MAX} characters"),
                    _title],
    )
    submit = SubmitField("Retract")


class TranslationForm(FlaskForm):
    """Link another announcement as a translation; the choices are set by the view."""

    other = SelectField("Announcement in another language", coerce=int,
                        validators=[InputRequired(message="choose an announcement")])
    submit = SubmitField("Link as a translation")
