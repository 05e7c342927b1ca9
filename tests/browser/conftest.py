"""A real browser (Debian's Chromium, driven by Playwright) against a real server and worker.

The app is served by werkzeug in a thread on a free loopback port; the session's Celery worker
builds the feeds. Playwright's own browser download is never used: ``.ci/run`` installs the
``chromium`` package, and without it these tests are skipped with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.factories import EditorInfo

CHROMIUM = Path("/usr/bin/chromium")
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
PASSWORD = "correct horse battery"  # what the make_editor fixture sets


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's chromium package "
            f"(apt-get install chromium chromium-driver) to run the browser tests"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(clean_app: Flask, celery_worker: Any) -> Iterator[str]:
    """The app on a real HTTP server in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, clean_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def new_page(browser: Any, live_server: str) -> Iterator[Callable[..., Any]]:
    """Factory: a page in a fresh browser context (its own cookies); fails on console errors.

    A Content-Security-Policy violation (an inline script or style) shows up as a console
    error, so every browser test also checks the pages need nothing the CSP forbids.
    """
    contexts: list[Any] = []
    errors: list[str] = []

    def factory(**options: Any) -> Any:
        context = browser.new_context(base_url=live_server, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    yield factory
    for context in contexts:
        context.close()
    # Pages answering 4xx on purpose log "Failed to load resource"; anything else is a fault.
    assert [e for e in errors if "Failed to load resource" not in e] == []


def sign_in(page: Any, editor: EditorInfo) -> None:
    page.goto("/editor/")
    page.get_by_label("Email address").fill(editor.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
