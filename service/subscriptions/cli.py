"""``flask --app service digests ...``: start a digest now, see how mailings went, resume them;
``flask --app service subscriptions unsubscribe``: act on mail sent to the List-Unsubscribe mailto;
``subscriptions import`` and ``export``: subscriber lists as CSV.
"""

from __future__ import annotations

from datetime import timedelta

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from service.database import db

digests_cli = AppGroup("digests", help="Send email digests and inspect mailings.")
subscriptions_cli = AppGroup("subscriptions", help="Act on subscribers' requests.")


@digests_cli.command("send")
@click.argument("kind", type=click.Choice(["daily", "weekly"]))
@click.option("--now", "manual", is_flag=True,
              help="A digest of everything since each subscriber's last one, ending now "
                   "(default: the period that ended last at DIGEST_HOUR, as beat does).")
@click.option("--here", is_flag=True,
              help="Send the batches in this process instead of queueing them for workers.")
def send(kind: str, manual: bool, here: bool) -> None:
    """Start the KIND digest; running it again for the same period sends nothing twice."""
    from service.subscriptions import delivery, digests, mailings
    from service.subscriptions.models import MailingKind

    started = digests.send(MailingKind(kind), manual=manual, queue=not here)
    mailing = started.mailing
    if not started.created:
        click.echo(f"{kind} digest {mailing.key} was already started: nothing new queued")
    else:
        click.echo(f"{kind} digest {mailing.key}: {started.batches} batches "
                   f"({'sending here' if here else 'queued for the workers'})")
    if here:
        for batch_id in mailings.batch_ids(mailing.id):
            result = delivery.run_batch(batch_id)
            click.echo(f"  batch {batch_id}: {result.sent} sent, {result.deferred} deferred, "
                       f"{result.failed} failed, {result.uncertain} uncertain")
    click.echo(f"copies so far: {mailings.summary(mailing.id) or 'none'}")


@digests_cli.command("status")
@click.option("--limit", default=10, show_default=True)
def status(limit: int) -> None:
    """The latest mailings, with their copies by status."""
    from service.subscriptions import mailings
    from service.subscriptions.models import Mailing

    latest = db.session.execute(
        sa.select(Mailing.id, Mailing.kind, Mailing.key, Mailing.created_at)
        .order_by(Mailing.id.desc()).limit(limit)
    ).all()
    if not latest:
        click.echo("no mailings yet")
    for mailing_id, kind, key, created_at in latest:
        counts = mailings.summary(mailing_id)
        click.echo(f"{created_at:%Y-%m-%d %H:%M} {kind.value:8} {key:22} "
                   + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no copies"))


@digests_cli.command("resume")
@click.option("--all", "everything", is_flag=True,
              help="Do not wait for leases to run out (only when no worker is sending).")
def resume(everything: bool) -> None:
    """Requeue mail batches that a dead worker or a lost task left unfinished."""
    from service.subscriptions import reaper

    if everything:
        count = reaper.resume_stalled(row_lease=timedelta(0), batch_lease=timedelta(0))
    else:
        count = reaper.resume_stalled()
    click.echo(f"requeued {count} batches")


@subscriptions_cli.command("unsubscribe")
@click.argument("address_or_token")
def unsubscribe(address_or_token: str) -> None:
    """Unsubscribe ADDRESS_OR_TOKEN, as the one-click link does.

    For mail to the List-Unsubscribe mailto: give the token its subject carries
    ("unsubscribe <token>"; the whole subject works too), or the address. A token is the
    stronger proof: only that address was mailed it, while a From header can be forged.
    """
    from service.subscriptions import lifecycle, tokens
    from service.subscriptions.models import SubscriberStatus

    words = address_or_token.split()
    if len(words) == 2 and words[0].lower() == "unsubscribe":  # the whole subject was given
        words = words[1:]
    value = " ".join(words)
    if "@" in value:  # a token never holds one
        try:
            address = lifecycle.normalise_email(value)
        except ValueError as exc:
            raise click.ClickException(f"not an address: {exc}") from None
        subscriber = lifecycle.for_address(address)
        if subscriber is None:
            raise click.ClickException(f"no subscriber with the address {address}")
    else:
        try:
            subscriber = lifecycle.for_manage_token(value)
        except lifecycle.LinkNotValid:
            raise click.ClickException(
                "the token is no longer valid (its subscriber is gone, or left and came back "
                "since it was mailed): give the address instead") from None
        except tokens.InvalidToken:
            raise click.ClickException(
                "not a valid token (cut short or altered?): copy it whole from the subject, "
                "or give the address") from None
    already = subscriber.status is SubscriberStatus.UNSUBSCRIBED
    lifecycle.unsubscribe(subscriber)
    db.session.commit()
    click.echo(f"{subscriber.email} {'was already' if already else 'is now'} unsubscribed")


@subscriptions_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def import_file(path: str) -> None:
    """Import subscribers from the CSV file PATH (see the README for its columns).

    Rows with a consent record (consent_at) are subscribed; rows without one are mailed a
    confirmation link; suppressed addresses and those who left are skipped. Running it again
    changes nothing. Prints what each row did and the counts.
    """
    from service.subscriptions import imports

    with click.open_file(path, "rb") as stream:
        data = stream.read()
    try:
        report = imports.import_rows(data, name=path.rsplit("/", 1)[-1])
    except imports.ImportRefused as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    for line in imports.report_lines(report):
        click.echo(line)


@subscriptions_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True), default="-")
def export_file(path: str) -> None:
    """Write every subscriber (but the erased) as CSV to PATH (default: standard output)."""
    from service.subscriptions import exports

    with click.open_file(path, "w", encoding="utf-8", lazy=False) as out:
        for chunk in exports.csv_chunks():
            out.write(chunk)
