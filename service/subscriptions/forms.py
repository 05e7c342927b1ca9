"""The sign-up and manage forms (CSRF-protected by Flask-WTF); choices come from the database."""

from __future__ import annotations

from wtforms import EmailField, RadioField, SelectField, SelectMultipleField, widgets

# types-WTForms describes WTForms 3.2, which had no SelectChoice (3.3 added it, pyproject needs it)
from wtforms import SelectChoice  # type: ignore[attr-defined]  # isort: skip
from wtforms.validators import DataRequired, Length

from service.announcements import queries
from service.announcements.models import Partner, Tag
from service.subscriptions.lifecycle import Preferences
from service.wtf import FlaskForm

LANGUAGE_NAMES = {"en": "English", "ar": "العربية (Arabic)", "fr": "Français (French)",
                  "es": "Español (Spanish)", "ru": "Русский (Russian)", "zh": "中文 (Chinese)"}
FREQUENCIES = [SelectChoice("instant", "As soon as each announcement is published"),
               SelectChoice("daily", "A daily digest"), SelectChoice("weekly", "A weekly digest")]


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PreferencesForm(FlaskForm):
    frequency = RadioField("How often", choices=FREQUENCIES, default="daily")
    tags = MultiCheckboxField("Topics (none ticked: every topic)", choices=[])
    partners = MultiCheckboxField("Partners (none ticked: every partner)", choices=[])
    language = SelectField("Language of the announcements", choices=[], default="")

    def load_choices(self, current: Preferences | None = None) -> None:
        """Public topics and partners, languages of published announcements, plus whatever the
        subscriber already has (``current``, on the manage page).

        Never a tag or partner only drafts or embargoed announcements have: the form is public.
        """
        tags = {row.slug: row.name for row in queries.public(Tag)}
        partners = {row.slug: row.name for row in queries.public(Partner)}
        languages = queries.public_languages()
        if current is not None:
            tags.update({slug: slug for slug in current.tags if slug not in tags})
            partners.update({slug: slug for slug in current.partners if slug not in partners})
            if current.language:
                languages.add(current.language)
        self.tags.choices = [SelectChoice(slug, name) for slug, name in
                             sorted(tags.items(), key=lambda kv: kv[1].lower())]
        self.partners.choices = [SelectChoice(slug, name) for slug, name in
                                 sorted(partners.items(), key=lambda kv: kv[1].lower())]
        self.language.choices = [SelectChoice("", "Any language")] + [
            SelectChoice(code, LANGUAGE_NAMES.get(code, code))
            for code in sorted(languages | {"en"})]

    def preference_data(self) -> dict[str, object]:
        return {"frequency": self.frequency.data, "tags": self.tags.data or [],
                "partners": self.partners.data or [], "language": self.language.data or None}


class SubscribeForm(PreferencesForm):
    email = EmailField("Email address", validators=[DataRequired(), Length(max=254)])


class EraseForm(FlaskForm):
    """Only its CSRF token: the button that erases a subscriber's data."""
