"""Inbound mail under ``/editor/admin/inbound``: what the bounce mailbox and the listener kept
for a person (unrecognised mail, reports that are no complaint, forged tokens), each readable
as received, and marked seen to. Admins only (nested in ``admin``, whose role check runs
before every view here). ``flask --app service inbound list`` shows the same."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from service.database import db, utcnow
from service.inbound.models import InboundMessage
from service.inbound.processing import FOR_OPERATOR

bp = Blueprint("inbound", __name__, url_prefix="/inbound")
SHOWN = 200
SHOWN_BYTES = 64 * 1024  # of one message on its page; `inbound show` prints all that is kept


@bp.get("")
def index() -> str:
    everything = request.args.get("all") == "1"
    query = sa.select(InboundMessage).order_by(InboundMessage.id.desc()).limit(SHOWN)
    if not everything:
        query = query.where(InboundMessage.outcome.in_(FOR_OPERATOR),
                            InboundMessage.resolved_at.is_(None))
    by_outcome = dict(db.session.execute(
        sa.select(InboundMessage.outcome, sa.func.count()).group_by(InboundMessage.outcome)).all())
    return render_template("editor/admin/inbound.html", messages=list(db.session.scalars(query)),
                           everything=everything, by_outcome=by_outcome, shown=SHOWN)


def _message(message_id: int) -> InboundMessage:
    row = db.session.get(InboundMessage, message_id)
    if row is None:
        abort(404, description="No such inbound message.")
    return row


@bp.get("/<int:message_id>")
def show(message_id: int) -> str:
    row = _message(message_id)
    text = row.raw[:SHOWN_BYTES].decode("utf-8", errors="replace")
    return render_template("editor/admin/inbound_message.html", message=row, text=text,
                           cut=row.raw_size > SHOWN_BYTES)


@bp.post("/<int:message_id>/resolve")
def resolve(message_id: int) -> Response:
    row = _message(message_id)
    if row.resolved_at is None:
        row.resolved_at = utcnow()
        db.session.commit()
    flash(f"Message {row.id} marked as seen to.")
    return redirect(url_for("editor.admin.inbound.index"), code=303)
