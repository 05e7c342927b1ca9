"""Subscribers under ``/editor/admin/subscribers``: import a list (CSV), export every
subscriber (CSV), erase one. Admins only (nested in ``admin``, whose role check runs first).

The import is ``subscriptions.imports``, as the CLI runs it, with its report on the page. An
upload is held to the app's body limit (``MAX_CONTENT_LENGTH``); larger lists go through
``flask --app service subscriptions import``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, render_template, stream_with_context
from flask import url_for as url
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as Redirect  # what redirect() returns
from wtforms import FileField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from service.database import db, utcnow
from service.editor.forms import add_error, required_text
from service.subscriptions import exports, imports, lifecycle
from service.subscriptions.models import Subscriber, SubscriberStatus
from service.wtf import FlaskForm

bp = Blueprint("subscribers", __name__, url_prefix="/subscribers")
REPORT_ROWS = 500


class ImportForm(FlaskForm):
    file = FileField("CSV file", description="Columns: email, frequency, tags, partners, "
                     "language, consent_at, consent_source (only email is required).")
    submit = SubmitField("Import")


class EraseForm(FlaskForm):
    email = StringField("Address", validators=[DataRequired(), Length(max=254)])
    submit = SubmitField("Erase")


def _counts() -> dict[str, int]:
    return {status.value: n for status, n in db.session.execute(
        sa.select(Subscriber.status, sa.func.count()).group_by(Subscriber.status))}


def _page(import_form: ImportForm, erase_form: EraseForm,
          report: imports.ImportReport | None = None, status: int = 200) -> tuple[str, int]:
    shown = [r for r in report.rows if r.outcome != "unchanged" or r.reason] if report else []
    return render_template("editor/admin/subscribers.html", import_form=import_form,
                           erase_form=erase_form, counts=_counts(), report=report,
                           report_rows=shown[:REPORT_ROWS], hidden=max(0, len(shown) - REPORT_ROWS)
                           ), status


@bp.get("")
def index() -> tuple[str, int]:
    return _page(ImportForm(prefix="import"), EraseForm(prefix="erase"))


@bp.post("/import")
def import_list() -> tuple[str, int]:
    form, erase_form = ImportForm(prefix="import"), EraseForm(prefix="erase")
    if not form.validate_on_submit():
        return _page(form, erase_form, status=400)
    upload = form.file.data
    if not isinstance(upload, FileStorage) or not upload.filename:
        add_error(form.file, "choose a CSV file")
        return _page(form, erase_form, status=400)
    try:
        report = imports.import_rows(upload.read(), name=upload.filename)
    except imports.ImportRefused as exc:
        db.session.rollback()
        add_error(form.file, str(exc))
        return _page(form, erase_form, status=400)
    return _page(ImportForm(prefix="import"), erase_form, report)


@bp.get("/export.csv")
def export() -> Response:
    filename = f"newsroom-subscribers-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(stream_with_context(exports.csv_chunks()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@bp.post("/erase")
def erase() -> Redirect | tuple[str, int]:
    form, import_form = EraseForm(prefix="erase"), ImportForm(prefix="import")
    if form.validate_on_submit():
        try:
            address = lifecycle.normalise_email(required_text(form.email))
        except ValueError as exc:
            add_error(form.email, str(exc))
        else:
            subscriber = lifecycle.for_address(address)
            if subscriber is None or subscriber.status is SubscriberStatus.ERASED:
                add_error(form.email, "no subscriber has this address")
            else:
                exports.erase(subscriber)
                db.session.commit()
                flash(f"Erased {address}: only the counts of what was sent to it are kept.")
                return redirect(url("editor.admin.subscribers.index"), code=303)
    return _page(import_form, form, status=400)
