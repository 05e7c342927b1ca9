"""``flask --app service dev``: the whole system on one machine, on embedded defaults.

Stops what a previous run left behind (and says so), refuses a busy port before anything
starts, migrates, creates the seed announcements that are missing (never overwriting an
editor's changes), makes sure the dev editor exists (once), then runs web, worker and beat as
child processes sharing one Redis (the embedded one unless ``REDIS_URL`` is set). Ctrl-C,
SIGTERM or a hang-up (the terminal closed) stops them all, and the embedded Redis too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from service.devserver import processes
from service.devserver.credentials import DEV_EDITOR, DevCredentials, ensure_dev_editor

__all__ = ["DEV_EDITOR", "dev_command"]


def _say(message: str, **style: Any) -> None:
    """Print, unless the terminal is gone (after a hang-up): stopping must go on regardless."""
    with contextlib.suppress(OSError):
        click.secho(message, **style)


def _prepare(var_dir: Path) -> DevCredentials:
    """Migrate, create the missing seed items and the dev editor, build the feeds."""
    from flask_migrate import upgrade

    from service.announcements.importer import import_directory
    from service.config import PROJECT_ROOT
    from service.feeds import build

    upgrade()
    report = import_directory(PROJECT_ROOT / "content", leave_existing=True)
    left = (f"; {len(report.left)} already in the database, left as they are "
            f"(`flask --app service content import` updates them from the files)"
            if report.left else "")
    click.echo(f"content: {len(report.created)} created{left}")
    credentials = ensure_dev_editor(var_dir)
    build.rebuild(build.all_scopes())
    return credentials


def _credentials_lines(credentials: DevCredentials) -> str:
    kept = f"kept in {credentials.path}"
    password = (credentials.password if credentials.password
                else "changed since it was created (not shown; set on the Account page)")
    if credentials.token:
        token = (f"  API token (Authorization: Bearer ...; {kept}):\n  {credentials.token}\n")
    else:
        token = ("  API token: the one made for make dev was revoked; make another with\n"
                 f"  .venv/bin/flask --app service tokens create {credentials.email}\n")
    return (f"  Editor:  {credentials.email}  password: {password}"
            f"{'' if credentials.created else '  (' + kept + ')'}\n{token}")


def _commands(port: int, no_beat: bool) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    # Worker and beat log warnings and errors only: beat's every-2-second schedule would
    # otherwise scroll the credentials away (three lines per tick with the worker's).
    commands = {
        "web": [str(bin_dir / "flask"), "--app", "service", "run", "--port", str(port),
                "--no-reload"],
        "worker": [str(bin_dir / "celery"), "-A", "workers", "-q", "worker", "--loglevel=WARNING",
                   "--concurrency=2", "--without-mingle", "--without-gossip"],
    }
    if not no_beat:
        commands["beat"] = [str(bin_dir / "celery"), "-A", "workers", "-q", "beat",
                            "--loglevel=WARNING"]
    return commands


@click.command("dev")
@click.option("--port", default=5000, show_default=True, envvar="PORT",
              type=click.IntRange(1, 65535), help="Web's port (or the PORT variable).")
@click.option("--no-beat", is_flag=True, help="Do not start the beat scheduler.")
@with_appcontext
def dev_command(port: int, no_beat: bool) -> None:
    """Run web, worker and beat together for development (Ctrl-C stops all)."""
    settings = current_app.config["SETTINGS"]
    var_dir: Path = settings.var_dir
    try:
        left = processes.stop_leftovers(var_dir)
    except processes.AlreadyRunning as exc:
        raise click.ClickException(str(exc)) from None
    if left:
        current_app.extensions["redis"].connection_pool.disconnect()
        click.secho(f"a previous make dev did not stop cleanly; stopped what it left: "
                    f"{', '.join(left)}", fg="yellow")
    problem = processes.port_problem(port)
    if problem:
        if settings.redis_url is None:  # started for this run (none other is up): stop it
            from service import embedded_redis

            embedded_redis.stop(var_dir)
        raise click.ClickException(problem)

    credentials = _prepare(var_dir)
    env = dict(os.environ, REDIS_URL=current_app.config["REDIS_URL"], PYTHONUNBUFFERED="1")
    env.setdefault("BASE_URL", f"http://127.0.0.1:{port}")
    state = processes.DevState(var_dir / processes.STATE_FILE)
    if settings.redis_url is None:
        state.redis = processes.embedded_redis_pid(var_dir)
    stopping: list[str] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signal.Signals(signum).name)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    children = processes.start(_commands(port, no_beat), env)
    state.children = {name: proc.pid for name, proc in children.items()}
    state.save()
    try:
        if not processes.wait_until_listening(port, children["web"]) or stopping:
            if not stopping:
                _say("web did not start; stopping the rest", fg="red")
            return
        outbox_dir = var_dir / "outbox"
        _say(
            f"\n  Newsroom is running at http://127.0.0.1:{port}/\n"
            f"  Feeds:   http://127.0.0.1:{port}/feeds/atom.xml (rss.xml, feed.json)\n"
            f"{_credentials_lines(credentials)}"
            f"  Emails:  written to {outbox_dir}/ (no SMTP_URL set)\n"
            f"  Redis:   {current_app.config['REDIS_URL']}\n"
            f"  Ctrl-C stops everything.\n",
            fg="green",
        )
        while not stopping:
            exited = [name for name, proc in children.items() if proc.poll() is not None]
            if exited:
                _say(f"{', '.join(exited)} exited; stopping the rest", fg="red")
                break
            time.sleep(0.2)
    finally:
        processes.stop_groups([proc.pid for proc in children.values()])
        for proc in children.values():
            proc.wait()
        if settings.redis_url is None:
            from service import embedded_redis

            embedded_redis.stop(var_dir)
        state.remove()
        _say("stopped")
