"""``flask --app service dev``: the whole system on one machine, on embedded defaults.

Migrates, imports ``content/``, makes sure a dev editor exists, then runs web, worker and beat
as child processes sharing one Redis (the embedded one unless ``REDIS_URL`` is set). Ctrl-C
stops them all, and the embedded Redis too.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

DEV_EDITOR = "editor@newsroom.example"


def _prepare(port: int) -> tuple[str, str]:
    """Migrate, import, create the dev editor; return (its password, a new token)."""
    from flask_migrate import upgrade

    from service.announcements.importer import import_directory
    from service.config import PROJECT_ROOT
    from service.database import db
    from service.editors.accounts import create_editor, create_token, find_editor, hash_password
    from service.editors.models import Role
    from service.feeds import build

    upgrade()
    report = import_directory(PROJECT_ROOT / "content")
    click.echo(f"content: {len(report.created)} created, {len(report.updated)} updated, "
               f"{len(report.unchanged)} unchanged")
    password = secrets.token_urlsafe(12)
    editor = find_editor(DEV_EDITOR)
    if editor is None:
        editor = create_editor(DEV_EDITOR, Role.ADMIN, password=password, name="Dev Editor")
    else:
        editor.password_hash = hash_password(password)
        editor.session_epoch += 1
    token = create_token(editor, name="make dev")
    db.session.commit()
    build.rebuild(build.all_scopes())
    return password, token


@click.command("dev")
@click.option("--port", default=5000, show_default=True)
@click.option("--no-beat", is_flag=True, help="Do not start the beat scheduler.")
@with_appcontext
def dev_command(port: int, no_beat: bool) -> None:
    """Run web, worker and beat together for development (Ctrl-C stops all)."""
    settings = current_app.config["SETTINGS"]
    password, token = _prepare(port)
    env = dict(os.environ, REDIS_URL=current_app.config["REDIS_URL"], PYTHONUNBUFFERED="1")
    env.setdefault("BASE_URL", f"http://127.0.0.1:{port}")
    bin_dir = Path(sys.executable).parent
    commands = {
        "web": [str(bin_dir / "flask"), "--app", "service", "run", "--port", str(port),
                "--no-reload"],
        "worker": [str(bin_dir / "celery"), "-A", "workers", "worker", "--loglevel=INFO",
                   "--concurrency=2"],
    }
    if not no_beat:
        commands["beat"] = [str(bin_dir / "celery"), "-A", "workers", "beat", "--loglevel=INFO"]
    children = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}  # noqa: S603

    outbox_dir = settings.var_dir / "outbox"
    click.secho(
        f"\n  Newsroom is running at http://127.0.0.1:{port}/\n"
        f"  Feeds:   http://127.0.0.1:{port}/feeds/atom.xml (rss.xml, feed.json)\n"
        f"  Editor:  {DEV_EDITOR}  password: {password}\n"
        f"  Emails:  written to {outbox_dir}/ (no SMTP_URL set)\n"
        f"  Redis:   {current_app.config['REDIS_URL']}\n"
        f"  API token (Authorization: Bearer ...):\n  {token}\n"
        f"  Ctrl-C stops everything.\n",
        fg="green",
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            exited = [name for name, proc in children.items() if proc.poll() is not None]
            if exited:
                click.secho(f"{', '.join(exited)} exited; stopping the rest", fg="red")
                break
            time.sleep(0.5)
    finally:
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in children.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if settings.redis_url is None:
            from service import embedded_redis

            embedded_redis.stop(settings.var_dir)
        click.echo("stopped")
