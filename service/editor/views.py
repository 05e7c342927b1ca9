"""The editors' newsroom at ``/editor``: the blueprint with every area's views registered.

Each area is a module of its own (see ``blueprint``); importing them here adds their routes
to ``bp``, which the app factory registers.
"""

from __future__ import annotations

from flask import render_template

from service.editor import dashboard as stats
from service.editor import (  # noqa: F401 (their routes)
    history,
    media,
    sharing,
    signin,
    translating,
    workflow,
    writing,
)
from service.editor.admin import bp as admin_bp
from service.editor.blueprint import bp
from service.editor.emails import bp as emails_bp
from service.editor.inbound import bp as inbound_bp
from service.editor.subscribers import bp as subscribers_bp
from service.editor.suppressions import bp as suppressions_bp
from service.editor.webhooks import bp as webhooks_bp

admin_bp.register_blueprint(webhooks_bp)  # /editor/admin/webhooks: admin's role check applies
admin_bp.register_blueprint(suppressions_bp)  # /editor/admin/suppressions, likewise
admin_bp.register_blueprint(subscribers_bp)  # /editor/admin/subscribers: import, export, erase
admin_bp.register_blueprint(inbound_bp)  # /editor/admin/inbound, likewise
bp.register_blueprint(admin_bp)
bp.register_blueprint(emails_bp)

__all__ = ["bp"]


@bp.get("/")
def dashboard() -> str:
    return render_template("editor/dashboard.html", figures=stats.figures(),
                           unpublished=stats.unpublished(), recent=stats.recent())


@bp.get("/pipeline")
def pipeline() -> str:
    """The operators' details the dashboard sums up in one line: queues, feeds, WebSub."""
    return render_template("editor/pipeline.html", figures=stats.figures())
