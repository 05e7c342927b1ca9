"""The webhook pages' forms: an endpoint's address, events and description, and disabling one.

The rules are the API's (``endpoints.url_problem``, at least one event, a one-line description
of at most 500 characters), so a form and ``POST /api/v1/webhooks`` refuse the same things.
"""

from __future__ import annotations

from wtforms import Field, SelectMultipleField, StringField, SubmitField, widgets
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from service.announcements import events, text_rules
from service.webhooks import endpoints
from service.wtf import FlaskForm

# What each event type means to a receiver; a type added to SUBSCRIBABLE shows by its name.
_MEANING = {
    events.PUBLISHED: "an announcement goes public",
    events.UPDATED: "a published announcement is edited",
    events.RETRACTED: "an announcement is retracted",
    events.SCHEDULED: "an announcement is scheduled (embargoed) or rescheduled",
    endpoints.TEST: "test events; sent from this page whatever is ticked",
}
EVENT_CHOICES = {
    kind: f"{kind}: {_MEANING[kind]}" if kind in _MEANING else kind
    for kind in endpoints.SUBSCRIBABLE
}
DESCRIPTION_MAX = 500  # WebhookEndpoint.description's column


class _Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _url(form: FlaskForm, field: Field) -> None:
    problem = endpoints.url_problem(field.data or "")
    if problem:
        raise ValidationError(f"the address {problem}")


def _one_line(form: FlaskForm, field: Field) -> None:
    problem = text_rules.title_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def _some_event(form: FlaskForm, field: Field) -> None:
    if not field.data:
        raise ValidationError("choose at least one event")


class WebhookForm(FlaskForm):
    """Adding an endpoint, or changing one (the same three fields)."""

    url = StringField(
        "Endpoint URL",
        description="The receiver's https address; it gets a signed POST for each event.",
        validators=[DataRequired("enter the receiver's address"),
                    Length(max=endpoints.MAX_URL), _url],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"inputmode": "url", "spellcheck": "false", "autocomplete": "off"},
    )
    events = _Checkboxes("Events to send", choices=EVENT_CHOICES, validators=[_some_event])
    description = StringField(
        "Description",
        description="Who receives it and why, e.g. “Partner portal (ESA)”.",
        validators=[Length(max=DESCRIPTION_MAX), _one_line],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    submit = SubmitField("Save")

    def chosen_events(self) -> list[str]:
        """The ticked event types, once the form validated (choices are checked by WTForms)."""
        return list(self.events.data or [])


class DisableForm(FlaskForm):
    reason = StringField(
        "Reason (optional)",
        description="Shown on this page until it is enabled again.",
        validators=[Optional(), Length(max=300), _one_line],
    )
