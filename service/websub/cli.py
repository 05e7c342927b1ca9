"""``flask --app service websub list|purge-expired``: what operators need to see and tidy."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from service.database import db, utcnow
from service.websub import subscriptions

websub_cli = AppGroup("websub", help="Inspect and tidy WebSub subscriptions.")


@websub_cli.command("list")
def list_subscriptions() -> None:
    """Every subscription: topic, callback, whether it is signed, and when its lease ends."""
    now = utcnow()
    rows = subscriptions.listing()
    for sub in rows:
        state = "expired" if sub.expires_at <= now else f"until {sub.expires_at:%Y-%m-%d %H:%M}Z"
        click.echo(f"{sub.topic}  {sub.callback}  {'signed' if sub.secret else 'unsigned'}  "
                   f"{state}")
    click.echo(f"{len(rows)} subscriptions")
    db.session.rollback()


@websub_cli.command("purge-expired")
def purge_expired() -> None:
    """Remove subscriptions whose lease is over (beat does this every 10 minutes)."""
    click.echo(f"purged {subscriptions.purge_expired()} expired subscriptions")
