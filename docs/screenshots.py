"""Take the README's screenshots: ``docs/editor.png`` and ``docs/announcement.png``.

Run ``make screenshots`` (or ``.venv/bin/python docs/screenshots.py``). Everything is
throw-away: a temporary SQLite database holding the seed ``content/``, the embedded Redis in a
temporary directory, the app served on a free loopback port, and Debian's Chromium
(``/usr/bin/chromium``) driven by Playwright. Nothing in ``var/`` or any other Redis is touched.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from service import create_app, embedded_redis
from service.announcements.importer import import_directory
from service.announcements.models import Announcement
from service.config import PROJECT_ROOT, load_settings
from service.database import db
from service.editors.accounts import create_editor
from service.editors.models import Role

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = PROJECT_ROOT / "docs"
EMAIL, PASSWORD = "dana@example.org", "screenshots only"
EDITED = "meridian-2-commissioning-complete"  # shown in the editor, with its preview
SHOWN = "joint-observatory-first-light"  # shown as readers see it


def _app(var_dir: Path) -> Flask:
    environ = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    environ.update(
        NEWSROOM_ENV="testing",
        NEWSROOM_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'screenshots.sqlite3'}",
        SECRET_KEY="screenshots-" + "x" * 32,
    )
    app = create_app(load_settings(environ))
    with app.app_context():
        upgrade()
        import_directory(PROJECT_ROOT / "content")
        create_editor(EMAIL, Role.ADMIN, password=PASSWORD, name="Dana Editor")
        db.session.commit()
    return app


def take(var_dir: Path) -> list[Path]:
    app = _app(var_dir)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    with app.app_context():
        edited_id = db.session.scalar(sa.select(Announcement.id).where(Announcement.slug == EDITED))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(
                base_url=base, viewport={"width": 1366, "height": 900}, device_scale_factor=1
            )
            page.goto("/editor/login")
            page.get_by_label("Email address").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Dashboard").wait_for()
            page.goto(f"/editor/announcements/{edited_id}")
            page.get_by_role("button", name="Preview").click()
            page.locator("section.preview").wait_for()
            page.screenshot(path=DOCS / "editor.png")

            reader = browser.new_page(base_url=base, viewport={"width": 1024, "height": 1100})
            reader.goto(f"/announcements/{SHOWN}")
            reader.screenshot(path=DOCS / "announcement.png", full_page=True)
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
        embedded_redis.stop(var_dir)
    return [DOCS / "editor.png", DOCS / "announcement.png"]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="newsroom-screenshots-") as scratch:
        for path in take(Path(scratch)):
            print(f"wrote {path.relative_to(PROJECT_ROOT)}")
