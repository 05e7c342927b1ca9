"""The editors' account forms: signing in, passwords, editors and API tokens (admins')."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from service.editors.models import Role
from service.wtf import FlaskForm

MIN_PASSWORD = 10
_PASSWORD_LENGTH = Length(
    min=MIN_PASSWORD, max=1024, message=f"use at least {MIN_PASSWORD} characters (at most 1024)"
)


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Sign in")


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        "New password",
        validators=[DataRequired(), _PASSWORD_LENGTH],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", "the two do not match")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Change password")


ROLE_CHOICES = {
    Role.AUTHOR.value: "Author: writes drafts and submits them",
    Role.EDITOR.value: "Editor: writes and publishes",
    Role.ADMIN.value: "Admin: also manages editors and API tokens",
}


class NewEditorForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.AUTHOR.value)
    password = PasswordField("Initial password", validators=[DataRequired(), _PASSWORD_LENGTH])
    submit = SubmitField("Add editor")


class EditEditorForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Active (may sign in)")
    password = PasswordField(
        "New password",
        description="Leave empty to keep the current one.",
        validators=[Optional(), _PASSWORD_LENGTH],
    )
    submit = SubmitField("Save")


class TokenForm(FlaskForm):
    editor = SelectField("For editor", coerce=int)
    name = StringField("Label", validators=[DataRequired(), Length(max=120)])
    submit = SubmitField("Create token")
