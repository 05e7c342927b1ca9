"""Flask-WTF's classes, typed: Flask-WTF ships no type information (no py.typed, no stubs).

At run time these names are Flask-WTF's own classes. A type checker sees the part of their
interface this project uses, declared here on top of WTForms' stubs (types-WTForms), instead of
``Any`` for every form class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["CSRFError", "CSRFProtect", "FlaskForm"]

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, TypeVar

    from flask import Blueprint, Flask
    from markupsafe import Markup
    from werkzeug.exceptions import BadRequest
    from wtforms import Form

    _ViewT = TypeVar("_ViewT", bound="Blueprint | Callable[..., Any] | str")

    class FlaskForm(Form):
        """A form bound to the request's data, with a CSRF token field (Flask-WTF)."""

        def is_submitted(self) -> bool: ...
        def validate_on_submit(
            self, extra_validators: Mapping[str, Sequence[Any]] | None = None
        ) -> bool: ...
        def hidden_tag(self, *fields: Any) -> Markup: ...

    class CSRFError(BadRequest):
        """A missing or invalid CSRF token (a 400)."""

    class CSRFProtect:
        def __init__(self, app: Flask | None = None) -> None: ...
        def init_app(self, app: Flask) -> None: ...
        def protect(self) -> None: ...
        def exempt(self, view: _ViewT) -> _ViewT: ...
else:
    from flask_wtf import CSRFProtect, FlaskForm
    from flask_wtf.csrf import CSRFError
