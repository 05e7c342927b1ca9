"""The production front door: deploy/nginx.conf (as docker-compose mounts it) in front of the
app, serving exported feed files directly and everything else from the app. Plus the compose
file's shape, and `docker compose config` where the compose plugin is installed."""

from __future__ import annotations

import gzip
import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from service import create_app
from service.announcements import publishing
from service.announcements.models import Status
from service.config import PROJECT_ROOT
from service.database import db
from service.feeds import build
from tests.fixtures.app import TEST_BASE_URL, make_settings
from tests.waiting import wait_for

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def test_compose_file_shape() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"nginx", "web", "worker", "beat", "redis", "postgres", "migrate",
            "mailcatcher"} <= set(services)
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["web"]["depends_on"]["migrate"]["condition"] == \
        "service_completed_successfully"
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]
    assert "beat" in services["beat"]["command"]
    # Feeds and mail have workers of their own: a long digest never delays a feed build.
    assert services["worker"]["command"][-2:] == ["-Q", "celery"]
    assert "mail" in services["mailer"]["command"] and "threads" in services["mailer"]["command"]
    assert "replicas" not in str(services["beat"])  # exactly one beat


@pytest.mark.skipif(subprocess.run(["docker", "compose", "version"], capture_output=True,
                                   check=False).returncode != 0 if shutil.which("docker")
                    else True, reason="the docker compose plugin is not installed")
def test_docker_compose_config_passes() -> None:
    result = subprocess.run(["docker", "compose", "config", "-q"], cwd=PROJECT_ROOT,
                            env={**os.environ, "SECRET_KEY": "x" * 40},
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def export_dir() -> Iterator[Path]:
    """FEED_EXPORT_DIR, readable by nginx's unprivileged workers (pytest's tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="newsroom-feeds-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def media_dir() -> Iterator[Path]:
    """MEDIA_ROOT, readable by nginx's unprivileged workers."""
    path = Path(tempfile.mkdtemp(prefix="newsroom-media-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def exporting_app(clean_app: Flask, database_url: str, redis_url: str, tmp_path: Path,
                  export_dir: Path, media_dir: Path) -> Iterator[Flask]:
    settings = make_settings(tmp_path, database_url, redis_url, feed_export_dir=export_dir,
                             media_root=media_dir)
    app = create_app(settings, TESTING=True)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def front_door(exporting_app: Flask, export_dir: Path, media_dir: Path, tmp_path: Path
               ) -> Iterator[int]:
    """nginx with the repository's config, on loopback, in front of the app on a thread."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    app_port, nginx_port = _free_port(), _free_port()
    server = make_server("127.0.0.1", app_port, exporting_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    prefix = tmp_path / "nginx"
    (prefix / "temp").mkdir(parents=True)
    knobs = {"server web:8000;": f"server 127.0.0.1:{app_port};",
             "root /srv/feeds;": f"root {export_dir};",
             "listen 80 default_server;": f"listen 127.0.0.1:{nginx_port} default_server;",
             'default "http://localhost:8080";': f'default "{TEST_BASE_URL}";',
             "alias /srv/media/;": f"alias {media_dir}/;"}
    lines = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text().splitlines()
    for number, line in enumerate(lines):
        if "# KNOB" in line:  # the config marks the lines a local run must change
            knob = next(k for k in knobs if k in line)
            lines[number] = line.replace(knob, knobs.pop(knob))
    assert not knobs, f"knobs not found: {knobs}"
    (prefix / "newsroom.conf").write_text("\n".join(lines))
    # Large request bodies (image uploads) are buffered to disk by nginx's unprivileged workers,
    # who cannot enter pytest's 0700 directories.
    body_temp = Path(tempfile.mkdtemp(prefix="newsroom-nginx-body-"))
    body_temp.chmod(0o777)
    (prefix / "main.conf").write_text(f"""
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {body_temp}; proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi; uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    include {prefix}/newsroom.conf;
}}
""")
    command = [NGINX, "-e", "stderr", "-p", str(prefix), "-c", str(prefix / "main.conf")]
    subprocess.run([*command, "-t"], check=True, capture_output=True)
    subprocess.run(command, check=True, capture_output=True)
    try:
        wait_for(lambda: _get(nginx_port, "/healthz")[0] == 200, timeout=10)
        yield nginx_port
    finally:
        subprocess.run([*command, "-s", "quit"], check=False, capture_output=True)
        server.shutdown()
        shutil.rmtree(body_temp, ignore_errors=True)


def _get(port: int, path: str, headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    except ConnectionError:
        return 0, {}, b""
    finally:
        conn.close()


def test_front_door_serves_exported_feeds_and_proxies_the_rest(
    exporting_app: Flask, front_door: int, export_dir: Path
) -> None:
    with exporting_app.app_context():
        publishing.create(title="Through the front door", tags=["observatory"],
                          status=Status.PUBLISHED)
        db.session.commit()
        build.rebuild(["all", "tag:observatory"])  # what the worker does after the commit
    exported = export_dir / "feeds" / "atom.xml"  # FEED_EXPORT_DIR mirrors URL paths
    feeds = export_dir / "feeds"
    assert exported.exists() and (feeds / "tags" / "observatory" / "rss.xml").exists()

    status, headers, body = _get(front_door, "/feeds/atom.xml")
    assert status == 200 and body == exported.read_bytes()
    assert headers["ETag"].count("-") == 1, "served by nginx from the file, not by the app"
    assert headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    app_view = exporting_app.test_client().get("/feeds/atom.xml")
    assert headers["Last-Modified"] == app_view.headers["Last-Modified"]  # both tiers agree
    assert _get(front_door, "/feeds/atom.xml", {"If-None-Match": headers["ETag"]})[0] == 304
    assert _get(front_door, "/feeds/feed.json")[1]["Content-Type"] == \
        "application/feed+json; charset=utf-8"
    assert _get(front_door, "/feeds/tags/observatory/rss.xml")[1]["Content-Type"] == \
        "application/rss+xml; charset=utf-8"

    # Feed readers ask for gzip: the worker's precompressed twin is served.
    status, zipped_headers, zipped = _get(front_door, "/feeds/atom.xml",
                                          {"Accept-Encoding": "gzip"})
    assert status == 200 and zipped_headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped) == body

    # A feed with no file yet (never built) falls back to the app, which builds it.
    (export_dir / "feeds" / "rss.xml").unlink()
    status, headers, body = _get(front_door, "/feeds/rss.xml")
    assert status == 200 and b"Through the front door" in body
    assert _get(front_door, "/feeds/tags/unknown/rss.xml")[0] == 404
    assert _get(front_door, "/")[0] == 200

    # Changes within the same second still get a new validator at the front door.
    etag = _get(front_door, "/feeds/atom.xml")[1]["ETag"]
    for title in ("Second, right after", "Third, same second"):
        with exporting_app.app_context():
            publishing.create(title=title, status=Status.PUBLISHED)
            db.session.commit()
            build.rebuild(["all"])
        status, headers, body = _get(front_door, "/feeds/atom.xml", {"If-None-Match": etag})
        assert status == 200 and title.encode() in body
        etag = headers["ETag"]


def _all_headers(port: int, path: str, headers: dict[str, str] | None = None
                 ) -> tuple[int, list[tuple[str, str]]]:
    """Status and every header line (repeats kept: a doubled header must show)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheaders()
    finally:
        conn.close()


def _values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name.lower()]


def _assert_document_headers(headers: list[tuple[str, str]]) -> None:
    from service import security

    assert _values(headers, "Content-Security-Policy") == [
        security.DOCUMENT_CONTENT_SECURITY_POLICY], headers
    assert _values(headers, "X-Content-Type-Options") == ["nosniff"], headers
    assert _values(headers, "Strict-Transport-Security") == [security.HSTS], headers


def test_nginx_config_holds_the_security_values_of_service_security() -> None:
    """One source for the values: the copies in deploy/nginx.conf are the module's."""
    from service import security

    conf = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
    for variable, value in [("newsroom_csp", security.DOCUMENT_CONTENT_SECURITY_POLICY),
                            ("newsroom_nosniff", "nosniff"),
                            ("newsroom_hsts", security.HSTS)]:
        block = conf.split(f"${variable} {{", 1)[1].split("}", 1)[0]
        assert f'""      "{value}";' in block, variable


def test_front_door_security_headers_on_every_response(
    exporting_app: Flask, front_door: int, export_dir: Path
) -> None:
    from service import security

    with exporting_app.app_context():
        publishing.create(title="Headers at the door", status=Status.PUBLISHED)
        db.session.commit()
        build.rebuild(["all"])
    for name in ("atom.xml", "rss.xml", "feed.json"):
        status, headers = _all_headers(front_door, f"/feeds/{name}")
        assert status == 200 and _values(headers, "ETag")[0].count("-") == 1  # nginx's file
        _assert_document_headers(headers)
        etag = _values(headers, "ETag")[0]
        status, headers = _all_headers(front_door, f"/feeds/{name}", {"If-None-Match": etag})
        assert status == 304
        _assert_document_headers(headers)
        status, headers = _all_headers(front_door, f"/feeds/{name}",
                                       {"Accept-Encoding": "gzip"})
        assert status == 200 and _values(headers, "Content-Encoding") == ["gzip"]
        _assert_document_headers(headers)
    # nginx's own answers: its health check, and an error it makes itself.
    _assert_document_headers(_all_headers(front_door, "/nginx-health")[1])
    with socket.create_connection(("127.0.0.1", front_door), timeout=5) as raw:
        raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert head[0].split()[1] == "400"
    _assert_document_headers([tuple(line.split(": ", 1)) for line in head[1:]])  # type: ignore[misc]
    # What the app answers keeps the app's own policy, once (never doubled by nginx).
    status, headers = _all_headers(front_door, "/")
    assert status == 200
    assert _values(headers, "Content-Security-Policy") == [security.CONTENT_SECURITY_POLICY]
    assert _values(headers, "X-Content-Type-Options") == ["nosniff"]
    # A feed with no file is answered by the app, with the feed policy, once.
    (export_dir / "feeds" / "rss.xml").unlink()
    status, headers = _all_headers(front_door, "/feeds/rss.xml")
    assert status == 200 and '"' in _values(headers, "ETag")[0]
    assert _values(headers, "Content-Security-Policy") == [
        security.DOCUMENT_CONTENT_SECURITY_POLICY]
    assert _values(headers, "X-Content-Type-Options") == ["nosniff"]


def test_front_door_names_the_websub_hub_on_every_feed(
    exporting_app: Flask, front_door: int, export_dir: Path
) -> None:
    """Files nginx serves itself carry the same ``Link: <hub>; rel="hub", <self>; rel="self"``
    as the app's answers (W3C WebSub 4): self is BASE_URL + the path, never the Host header,
    so a subscriber finds the topic the hub accepts, also behind a TLS proxy."""
    with exporting_app.app_context():
        publishing.create(title="Hub at the door", tags=["observatory"],
                          status=Status.PUBLISHED)
        db.session.commit()
        build.rebuild(["all", "tag:observatory"])
    app_client = exporting_app.test_client()
    for path in ("/feeds/atom.xml", "/feeds/rss.xml", "/feeds/feed.json",
                 "/feeds/tags/observatory/atom.xml"):
        expected = app_client.get(path).headers["Link"]
        assert expected == (f'<{TEST_BASE_URL}/websub>; rel="hub", '
                            f'<{TEST_BASE_URL}{path}>; rel="self"')
        status, headers = _all_headers(front_door, path, {"Host": "attacker.example"})
        assert status == 200 and _values(headers, "ETag")[0].count("-") == 1  # nginx's file
        assert _values(headers, "Link") == [expected], headers
        etag = _values(headers, "ETag")[0]
        status, headers = _all_headers(front_door, path, {"If-None-Match": etag})
        assert status == 304 and _values(headers, "Link") == [expected]
        status, headers = _all_headers(front_door, path, {"Accept-Encoding": "gzip"})
        assert _values(headers, "Content-Encoding") == ["gzip"]
        assert _values(headers, "Link") == [expected]
    # No file yet: the app answers, with its own Link header, once (nginx adds none).
    (export_dir / "feeds" / "rss.xml").unlink()
    status, headers = _all_headers(front_door, "/feeds/rss.xml")
    assert status == 200 and '"' in _values(headers, "ETag")[0]  # the app's ETag
    assert _values(headers, "Link") == [app_client.get("/feeds/rss.xml").headers["Link"]]
    # Nothing else gets one.
    assert _values(_all_headers(front_door, "/nginx-health")[1], "Link") == []


def test_front_door_serves_media_files_and_takes_uploads(
    exporting_app: Flask, front_door: int, media_dir: Path
) -> None:
    from service.editors.accounts import create_editor, create_token
    from service.editors.models import Role
    from service.media import library
    from tests.media import pictures

    with exporting_app.app_context():
        media = library.upload(pictures.photo(1200, 600), "Ground station")
        editor = create_editor("media@example.org", Role.EDITOR, password="x" * 12)
        token = create_token(editor)
        db.session.commit()
        path = library.url(media.name).removeprefix(TEST_BASE_URL)
        small = library.url(media.sizes[0]["name"]).removeprefix(TEST_BASE_URL)
    status, headers, body = _get(front_door, path)
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert body == (media_dir / path.removeprefix("/media/")).read_bytes()
    status, headers, _ = _get(front_door, small)
    assert status == 200 and headers["Content-Type"] == "image/webp"
    for missing in ("/media/ab/" + "a" * 64 + ".jpg", "/media/../newsroom.conf",
                    "/media/" + path.split("/")[2] + "/x.svg"):
        assert _get(front_door, missing)[0] == 404, missing
    # An upload over the usual 2 MiB front-door limit reaches the app.
    import io

    from PIL import Image
    noisy = io.BytesIO()
    Image.effect_noise((1500, 1500), 100).convert("RGB").save(noisy, "PNG")
    assert len(noisy.getvalue()) > 2 * 1024 * 1024
    data, content_type = pictures.multipart(noisy.getvalue(), "noise.png", alt="Noise")
    conn = http.client.HTTPConnection("127.0.0.1", front_door, timeout=30)
    try:
        conn.request("POST", "/api/v1/media", body=data, headers={
            "Content-Type": content_type, "Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        assert response.status == 201, response.read()[:500]
    finally:
        conn.close()


def test_front_door_serves_archive_pages_as_files_cached_for_a_day(
    exporting_app: Flask, front_door: int, export_dir: Path
) -> None:
    """RFC 5005 archive pages are exported under archive/<n>/ and served by nginx with the
    app's long Cache-Control and Link, their own ETag, 304 and gzip; a page without a file is
    the app's, which builds it."""
    exporting_app.config.update(FEED_SIZE=2, ARCHIVE_PAGE_SIZE=2)
    with exporting_app.app_context():
        for number in range(6):  # 6 positions: pages 1 and 2 archived, 5-6 in the feed
            item = publishing.create(title=f"Archived {number}", tags=["observatory"],
                                     status=Status.PUBLISHED)
            db.session.commit()
            build.rebuild(["all", "tag:observatory"], changed=(item.id,))
    assert (export_dir / "feeds" / "archive" / "2" / "atom.xml").exists()
    pages = export_dir / "feeds" / "tags" / "observatory" / "archive"
    assert (pages / "1" / "feed.json.gz").exists()
    app_client = exporting_app.test_client()
    for path in ("/feeds/archive/1/atom.xml", "/feeds/archive/2/rss.xml",
                 "/feeds/tags/observatory/archive/1/feed.json"):
        from_app = app_client.get(path)
        status, headers = _all_headers(front_door, path)
        assert status == 200 and _values(headers, "ETag")[0].count("-") == 1, path  # the file
        assert _values(headers, "Cache-Control") == ["public, max-age=86400"]
        assert _values(headers, "Cache-Control") == [from_app.headers["Cache-Control"]]
        assert _values(headers, "Link") == [from_app.headers["Link"]] == [
            f'<{TEST_BASE_URL}{path}>; rel="self"']
        assert _values(headers, "Last-Modified") == [from_app.headers["Last-Modified"]]
        _assert_document_headers(headers)
        etag = _values(headers, "ETag")[0]
        assert _all_headers(front_door, path, {"If-None-Match": etag})[0] == 304
        status, headers = _all_headers(front_door, path, {"Accept-Encoding": "gzip"})
        assert _values(headers, "Content-Encoding") == ["gzip"]
        assert _get(front_door, path)[2] == from_app.data
    subscription = _get(front_door, "/feeds/atom.xml")
    assert b'rel="prev-archive"' in subscription[2]
    assert subscription[1]["Cache-Control"] == "public, max-age=0, must-revalidate"
    # No file: the app builds the page; a page that does not exist is a 404.
    (export_dir / "feeds" / "archive" / "1" / "rss.xml").unlink()
    status, headers, body = _get(front_door, "/feeds/archive/1/rss.xml")
    assert status == 200 and b"Archived 0" in body
    assert headers["Cache-Control"] == "public, max-age=86400"
    assert _get(front_door, "/feeds/archive/3/atom.xml")[0] == 404
    assert _get(front_door, "/feeds/archive/01/atom.xml")[0] == 404
