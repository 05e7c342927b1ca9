"""Take the README's screenshots: ``docs/editor.png``, ``docs/announcement.png`` and
``docs/announcement-phone.png``.

The announcements shown get a featured image drawn here with Pillow (a night sky over the
observatory's dome), uploaded through ``service.media.library`` as the editor would.

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
from service.media import library

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


def _night_sky(width: int = 1800, height: int = 900) -> bytes:
    """A night sky with stars over a dark ridge and an observatory dome, as a JPEG."""
    import io
    import random

    from PIL import Image, ImageDraw, ImageFilter

    sky = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    top, bottom = (8, 14, 40), (52, 70, 120)
    sky = Image.merge("RGB", [band.point(lambda v, a=a, b=b: a + (b - a) * v // 255)
                              for band, a, b in zip(sky.split(), top, bottom, strict=True)])
    draw = ImageDraw.Draw(sky)
    rng = random.Random(14)  # noqa: S311 (stars in a picture, not a secret)
    for _ in range(900):
        x, y, r = rng.randrange(width), rng.randrange(int(height * 0.8)), rng.random() * 1.8
        level = rng.randrange(150, 256)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(level, level, min(255, level + 20)))
    sky = sky.filter(ImageFilter.GaussianBlur(0.6))
    draw = ImageDraw.Draw(sky)
    ridge = [(0, height)] + [(x, int(height * 0.78 + 40 * ((x / width - 0.5) ** 2) * 4
                                 + rng.randrange(-6, 6))) for x in range(0, width + 60, 60)]
    draw.polygon([*ridge, (width, height)], fill=(10, 12, 18))
    cx, base = int(width * 0.62), int(height * 0.78)
    draw.rectangle((cx - 110, base - 70, cx + 110, base + 10), fill=(205, 210, 220))
    draw.pieslice((cx - 110, base - 180, cx + 110, base + 40), 180, 360, fill=(225, 230, 238))
    draw.rectangle((cx - 14, base - 178, cx + 14, base - 70), fill=(20, 24, 40))
    out = io.BytesIO()
    sky.save(out, "JPEG", quality=88)
    return out.getvalue()


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
        editor = create_editor(EMAIL, Role.ADMIN, password=PASSWORD, name="Dana Editor")
        image = library.upload(_night_sky(), "The observatory's dome under a clear night sky",
                               editor.id)
        for slug in (SHOWN, EDITED):
            item = db.session.scalars(sa.select(Announcement).where(Announcement.slug == slug)
                                      ).one()
            item.image = image
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
            phone = browser.new_page(base_url=base, viewport={"width": 390, "height": 844},
                                     device_scale_factor=1)
            phone.goto(f"/announcements/{SHOWN}")
            phone.screenshot(path=DOCS / "announcement-phone.png")
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
        embedded_redis.stop(var_dir)
    return [DOCS / "editor.png", DOCS / "announcement.png", DOCS / "announcement-phone.png"]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="newsroom-screenshots-") as scratch:
        for path in take(Path(scratch)):
            print(f"wrote {path.relative_to(PROJECT_ROOT)}")
