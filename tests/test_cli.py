"""The `flask --app service` commands, run through Flask's CLI runner on the real database."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from service.announcements.models import Announcement, Partner, Status, Tag
from service.config import PROJECT_ROOT
from service.database import db
from service.editors.accounts import editor_for_token
from service.editors.models import Editor, Role
from tests.fixtures.data import count


def test_editors_and_tokens(runner: object, clean_app: Flask) -> None:
    result = runner.invoke(args=["editors", "create", "Chief@Example.org", "--role", "admin",
                                 "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["editors", "create", "chief@example.org",
                                "--password", "a long enough password"])
    assert again.exit_code != 0 and "exists already" in again.output
    short = runner.invoke(args=["editors", "create", "x@example.org", "--password", "short"])
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    bad = runner.invoke(args=["editors", "create", "not-an-address", "--password", "x" * 12])
    assert bad.exit_code != 0

    token_run = runner.invoke(args=["tokens", "create", "chief@example.org"])
    assert token_run.exit_code == 0, token_run.output
    token = token_run.output.strip().splitlines()[-1]
    with clean_app.app_context():
        editor = editor_for_token(token)
        assert editor is not None and editor.email == "chief@example.org"
        assert editor.role is Role.ADMIN
        assert editor_for_token(token + "x") is None
        stored = db.session.scalar(sa.select(Editor.password_hash))
        assert stored.startswith("$argon2id$")
    missing = runner.invoke(args=["tokens", "create", "nobody@example.org"])
    assert missing.exit_code != 0 and "no editor" in missing.output


def test_content_import_is_idempotent(runner: object, clean_app: Flask, tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content)
    files = [p for p in content.glob("*.md") if p.name != "README.md"]
    first = runner.invoke(args=["content", "import", str(content)])
    assert first.exit_code == 0, first.output
    assert f"{len(files)} created, 0 updated, 0 unchanged" in first.output
    second = runner.invoke(args=["content", "import", str(content)])
    assert f"0 created, 0 updated, {len(files)} unchanged" in second.output

    edited = files[0]
    edited.write_text(edited.read_text().replace("title:", "title: Revised —", 1)
                      if 'title: "' not in edited.read_text()
                      else edited.read_text().replace('title: "', 'title: "Revised — ', 1))
    third = runner.invoke(args=["content", "import", str(content)])
    assert "0 created, 1 updated" in third.output
    with clean_app.app_context():
        assert count(Announcement) == len(files)
        statuses = set(db.session.scalars(sa.select(Announcement.status)))
        assert statuses == {Status.PUBLISHED}
        assert db.session.scalar(
            sa.select(sa.func.count()).where(Announcement.title.like("Revised —%"))) == 1
        # Every tag and partner the seeds use exists once.
        assert count(Tag) >= 9 and count(Partner) == 4
        arabic = db.session.scalars(sa.select(Announcement).where(Announcement.language == "ar")
                                    ).one()
        assert arabic.slug.isascii()


def test_content_import_reports_bad_files(runner: object, clean_app: Flask,
                                          tmp_path: Path) -> None:
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    result = runner.invoke(args=["content", "import", str(tmp_path)])
    assert result.exit_code != 0 and "broken.md" in result.output
    (tmp_path / "broken.md").write_text("---\nsummary: no title\n---\nbody\n")
    result = runner.invoke(args=["content", "import", str(tmp_path)])
    assert result.exit_code != 0 and "title is missing" in result.output


def test_feeds_rebuild_command(runner: object, clean_app: Flask) -> None:
    runner.invoke(args=["content", "import"])
    result = runner.invoke(args=["feeds", "rebuild"])
    assert result.exit_code == 0 and "rebuilt" in result.output
    from service.feeds import store

    feed = store.get(clean_app.extensions["redis"], "tag:observatory", "atom")
    assert feed is not None and b"first light" in feed.body.lower()
