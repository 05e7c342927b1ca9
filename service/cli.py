"""``flask --app service ...`` commands: editors, tokens, content, feeds, and ``dev``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from service.config import PROJECT_ROOT
from service.database import db

editors_cli = AppGroup("editors", help="Manage editor accounts.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
content_cli = AppGroup("content", help="Import seed announcements.")
feeds_cli = AppGroup("feeds", help="Build feeds.")
outbox_cli = AppGroup("outbox", help="Inspect and relay outbox events.")


@editors_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "editor", "author"]), default="editor",
              show_default=True)
@click.option("--name", default="", help="Display name.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Asked for at a prompt when not given.")
def create_editor(email: str, role: str, name: str, password: str) -> None:
    """Create an editor who signs in with EMAIL."""
    from service.editors.accounts import AccountError, create_editor
    from service.editors.models import Role

    try:
        editor = create_editor(email, Role(role), password=password, name=name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {editor.role.value} {editor.email}")


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="A label to tell tokens apart.")
def create_token(email: str, name: str) -> None:
    """Create an API token for the editor EMAIL; the token is the last line printed."""
    from service.editors.accounts import AccountError, create_token, find_editor

    try:
        editor = find_editor(email)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    if editor is None:
        raise click.ClickException(f"no editor with the address {email}")
    token = create_token(editor, name=name)
    db.session.commit()
    click.echo(f"token for {editor.email} (shown once; store it now):")
    click.echo(token)


@content_cli.command("import")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def import_content(directory: Path | None) -> None:
    """Import Markdown announcements from DIRECTORY (default: content/). Safe to repeat."""
    from service.announcements.importer import ContentError, import_directory

    directory = directory or PROJECT_ROOT / "content"
    if not directory.is_dir():
        raise click.ClickException(f"{directory} is not a directory")
    try:
        report = import_directory(directory)
    except ContentError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"imported from {directory}: {len(report.created)} created, "
               f"{len(report.updated)} updated, {len(report.unchanged)} unchanged")


@feeds_cli.command("rebuild")
def rebuild_feeds() -> None:
    """Rebuild every feed and every archive page now, in this process."""
    from service.feeds import build

    count = build.rebuild(build.all_scopes(), every_page=True)
    click.echo(f"rebuilt {count} feed scopes with their archive pages (3 formats each)")


@outbox_cli.command("relay")
@click.option("--all", "everything", is_flag=True, help="Also events sent moments ago.")
def relay(everything: bool) -> None:
    """Re-send the tasks of unprocessed outbox events."""
    from datetime import timedelta

    from service import outbox

    sent = outbox.relay_pending(timedelta(0) if everything else outbox.REDELIVER_AFTER)
    click.echo(f"relayed {sent} events; {outbox.pending_count()} still unprocessed")


def register(app: Flask) -> None:
    from service.devserver import dev_command
    from service.inbound.cli import inbound_cli
    from service.subscriptions.cli import digests_cli, subscriptions_cli
    from service.websub.cli import websub_cli

    for group in (editors_cli, tokens_cli, content_cli, feeds_cli, outbox_cli, digests_cli,
                  subscriptions_cli, websub_cli, inbound_cli):
        app.cli.add_command(group)
    app.cli.add_command(dev_command)
