"""``flask --app service inbound ...``: what arrived, what needs an operator, and the listener."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import BinaryIO

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from service.database import db, utcnow

inbound_cli = AppGroup("inbound", help="Bounces, complaints and unsubscribe mail.")


@inbound_cli.command("list")
@click.option("--all", "everything", is_flag=True,
              help="Every message, not only those waiting for an operator.")
@click.option("--limit", default=50, show_default=True)
def list_messages(everything: bool, limit: int) -> None:
    """Inbound messages, newest first; by default those kept for an operator, unresolved."""
    from service.inbound.models import InboundMessage
    from service.inbound.processing import FOR_OPERATOR

    query = sa.select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
    if not everything:
        query = query.where(InboundMessage.outcome.in_(FOR_OPERATOR),
                            InboundMessage.resolved_at.is_(None))
    rows = list(db.session.scalars(query))
    if not rows:
        click.echo("nothing waiting for an operator" if not everything else "no inbound mail")
    for row in rows:
        kind = row.kind.value if row.kind else "pending"
        click.echo(f"{row.id:6} {row.received_at:%Y-%m-%d %H:%M} {row.source:5} {kind:12} "
                   f"{row.outcome or '-':12} {(row.sender or '')[:40]!r} "
                   f"{(row.subject or '')[:60]!r}")
        if row.detail:
            click.echo(f"       {row.detail[:160]}")


@inbound_cli.command("show")
@click.argument("message_id", type=int)
def show(message_id: int) -> None:
    """Print one inbound message as received (its first 2 MiB)."""
    from service.inbound.models import InboundMessage

    row = db.session.get(InboundMessage, message_id)
    if row is None:
        raise click.ClickException(f"no inbound message {message_id}")
    click.echo(f"# {row.kind.value if row.kind else 'pending'}, {row.outcome}: {row.detail}")
    click.echo(f"# envelope recipients: {', '.join(row.recipients) or 'unknown'}; "
               f"{row.raw_size} bytes")
    sys.stdout.flush()
    sys.stdout.buffer.write(row.raw)


@inbound_cli.command("resolve")
@click.argument("message_ids", type=int, nargs=-1, required=True)
def resolve(message_ids: tuple[int, ...]) -> None:
    """Mark messages as seen to by an operator (they leave the default listing)."""
    from service.inbound.models import InboundMessage

    done = db.session.execute(
        sa.update(InboundMessage).where(InboundMessage.id.in_(message_ids),
                                        InboundMessage.resolved_at.is_(None))
        .values(resolved_at=utcnow())).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    click.echo(f"resolved {done} messages")


@inbound_cli.command("receive")
@click.argument("file", type=click.File("rb"))
@click.option("--recipient", "recipients", multiple=True,
              help="The envelope recipient (an MTA's pipe transport passes it).")
def receive(file: BinaryIO, recipients: tuple[str, ...]) -> None:
    """Record and process one message from FILE ('-': standard input), as the listener does."""
    from service.inbound import processing

    raw = file.read()
    row, new = processing.receive(raw, "cli", list(recipients))
    processing.process(row)
    db.session.commit()
    kind = row.kind.value if row.kind else "pending"
    click.echo(f"message {row.id}: {kind}, {row.outcome}"
               + ("" if new else " (recorded before)"))


@inbound_cli.command("read")
def read() -> None:
    """Read the bounce mailbox (INBOUND_IMAP_URL) now, as beat does every minute."""
    from service.inbound import mailbox

    if not mailbox.imap_url():
        raise click.ClickException("INBOUND_IMAP_URL is not set")
    try:
        result = mailbox.read()
    except mailbox.MailboxError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{result.new} new, {result.already} recorded before, {result.marked} marked; "
               f"outcomes {result.outcomes or 'none'}")


@inbound_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8024, show_default=True, type=int)
@click.option("--protocol", type=click.Choice(["lmtp", "smtp"]), default="lmtp",
              show_default=True)
@click.option("--ready-file", type=click.Path(path_type=Path), hidden=True)
def serve(host: str, port: int, protocol: str, ready_file: Path | None) -> None:
    """Take mail from a local MTA over LMTP (or SMTP) until SIGTERM or Ctrl-C."""
    from service.inbound.listener import InboundController

    controller = InboundController(current_app._get_current_object(),  # type: ignore[attr-defined]
                                   protocol, host, port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    controller.start()
    click.echo(f"inbound {protocol.upper()} listener on {host}:{port}")
    if ready_file is not None:
        ready_file.write_text("ready\n")
    try:
        stop.wait()
    finally:
        controller.stop()
