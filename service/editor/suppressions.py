"""The suppression list under ``/editor/admin/suppressions``: why an address gets no mail, and
lifting it. Admins only (nested in ``admin``, whose role check runs before every view here).

Only hashes are stored, so the list shows each entry's reason, source and time with the start
of its hash; looking an address up (a POST, so it stays out of logs and history) says whether
it is suppressed and why. Adding one by hand records the source ``admin``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response  # redirect() returns this; flask.Response subclasses it
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from service.database import db
from service.editor.forms import add_error, required_text
from service.subscriptions import lifecycle, suppression
from service.subscriptions.models import Suppression
from service.wtf import FlaskForm

bp = Blueprint("suppressions", __name__, url_prefix="/suppressions")
SHOWN = 200


class LookupForm(FlaskForm):
    email = StringField("Address", validators=[DataRequired(), Length(max=254)])
    submit = SubmitField("Look up")


class SuppressForm(FlaskForm):
    email = StringField("Address", validators=[DataRequired(), Length(max=254)])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=suppression.REASON_MAX)],
                         description="Shown to admins; one line.")
    submit = SubmitField("Suppress")


def _entries() -> list[Suppression]:
    return list(db.session.scalars(
        sa.select(Suppression).order_by(Suppression.suppressed_at.desc(), Suppression.id.desc())
        .limit(SHOWN)))


def _normalised(form: LookupForm | SuppressForm) -> str | None:
    try:
        return lifecycle.normalise_email(required_text(form.email))
    except ValueError as exc:
        add_error(form.email, str(exc))
        return None


@bp.route("", methods=["GET", "POST"])
def index() -> str | Response:
    lookup, add = LookupForm(prefix="lookup"), SuppressForm(prefix="add")
    found: dict[str, object] | None = None
    if "lookup-email" in request.form and lookup.validate_on_submit():
        address = _normalised(lookup)
        if address is not None:
            entry = suppression.entry_for(db.session, address)
            subscriber = lifecycle.for_address(address)
            found = {"address": address, "entry": entry,
                     "status": subscriber.status.value if subscriber else None}
    elif "add-email" in request.form and add.validate_on_submit():
        address = _normalised(add)
        if address is not None:
            suppression.suppress(db.session, address, required_text(add.reason), "admin")
            db.session.commit()
            flash(f"Suppressed {address}: no mail goes to it until it confirms again "
                  "or an admin lifts it.")
            return redirect(url_for("editor.admin.suppressions.index"), code=303)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) or 0
    by_source = dict(db.session.execute(
        sa.select(Suppression.source, sa.func.count()).group_by(Suppression.source)).all())
    return render_template("editor/admin/suppressions.html", lookup=lookup, add=add,
                           found=found, entries=_entries(), total=total, by_source=by_source,
                           shown=SHOWN)


@bp.post("/<int:entry_id>/lift")
def lift(entry_id: int) -> Response:
    entry = db.session.get(Suppression, entry_id)
    if entry is None:
        abort(404, description="No such suppression (lifted already?).")
    db.session.delete(entry)
    db.session.commit()
    flash(f"Lifted the suppression {entry.address_hash[:12]}… ({entry.source}: {entry.reason}). "
          "Mail goes to that address again if it is subscribed.")
    return redirect(url_for("editor.admin.suppressions.index"), code=303)
