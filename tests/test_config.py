"""Configuration: every wrong value stops start-up with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service import create_app
from service.config import DEV_SECRET_KEY, ConfigError, load_settings


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://h:notaport/db"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL"),
        ({"BASE_URL": "ftp://example.org"}, "BASE_URL"),
        ({"BASE_URL": "https://example.org/?q=1"}, "BASE_URL"),
        ({"FEED_SIZE": "fifty"}, "FEED_SIZE"),
        ({"FEED_SIZE": "0"}, "FEED_SIZE"),
        ({"SMTP_URL": "smtpx://mail"}, "SMTP_URL"),
        ({"NEWSROOM_ENV": "staging"}, "NEWSROOM_ENV"),
        ({"NEWSROOM_ENV": "production"}, "SECRET_KEY"),
        ({"NEWSROOM_ENV": "production", "SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY"),
        ({"NEWSROOM_ENV": "production", "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"TRUSTED_PROXIES": "-1"}, "TRUSTED_PROXIES"),
        ({"DIGEST_HOUR": "24"}, "DIGEST_HOUR"),
        ({"WEBSUB_LEASE_MAX": "10"}, "WEBSUB_LEASE_MAX"),
        ({"WEBSUB_LEASE_DEFAULT": "7200", "WEBSUB_LEASE_MAX": "3600"}, "WEBSUB_LEASE_DEFAULT"),
        ({"WEBSUB_HUBS": "https://pubsubhubbub.appspot.com/, ftp://hub"}, "WEBSUB_HUBS"),
        ({"WEBSUB_HUBS": "https://"}, "WEBSUB_HUBS"),
        ({"OUTBOUND_ALLOW_PRIVATE": "maybe"}, "OUTBOUND_ALLOW_PRIVATE"),
        ({"OUTBOUND_TIMEOUT": "0"}, "OUTBOUND_TIMEOUT"),
        ({"OUTBOUND_GIVE_UP": "soon"}, "OUTBOUND_GIVE_UP"),
        ({"OUTBOUND_PER_DESTINATION": "0"}, "OUTBOUND_PER_DESTINATION"),
        ({"WEBHOOK_SECRET_OVERLAP": "-1"}, "WEBHOOK_SECRET_OVERLAP"),
        ({"WEBHOOK_SECRET_OVERLAP": "a day"}, "WEBHOOK_SECRET_OVERLAP"),
        ({"MAIL_FROM": "not an address"}, "MAIL_FROM"),
        # Values the header parser once crashed on (a traceback instead of this one line), or
        # that decode to a line break, a second address or no address at all.
        ({"MAIL_FROM": "news@"}, "MAIL_FROM"),
        ({"MAIL_FROM": "<>"}, "MAIL_FROM"),
        ({"MAIL_FROM": "a@example.org, b@example.org"}, "MAIL_FROM"),
        ({"MAIL_FROM": "=?UTF-8?Q?News=0D=0ABcc:_all@attacker.example?= <news@example.org>"},
         "MAIL_FROM"),
        ({"MAIL_FROM": '"=?UTF-8?B?TmV3cw0KQmNjOiBhbGxAYXR0YWNrZXIuZXhhbXBsZQ==?=" <n@x.org>'},
         "MAIL_FROM"),
        ({"MAIL_FROM": "News\x00 <news@example.org>"}, "MAIL_FROM"),
        ({"MAIL_FROM": "News <nouvelles@exemple.fr\u00e9>"}, "MAIL_FROM"),
    ],
)
def test_wrong_values_name_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert caught.value.variable == variable
    assert str(caught.value.code).startswith(f"config error: {variable}: ")


def test_defaults_are_embedded(tmp_path: object) -> None:
    settings = load_settings({"NEWSROOM_VAR_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/newsroom.sqlite3"
    assert settings.redis_url is None  # the embedded server
    assert settings.feed_size == 50
    assert settings.secret_key == DEV_SECRET_KEY
    assert not settings.production


def test_push_settings_are_read() -> None:
    settings = load_settings({
        "WEBSUB_HUBS": " https://pubsubhubbub.appspot.com/ ,https://hub.example/websub",
        "WEBSUB_LEASE_DEFAULT": "3600", "WEBSUB_LEASE_MAX": "7200",
        "OUTBOUND_ALLOW_PRIVATE": "1", "OUTBOUND_TIMEOUT": "3", "OUTBOUND_GIVE_UP": "600",
        "OUTBOUND_PER_DESTINATION": "2",
    })
    assert settings.websub_hubs == ("https://pubsubhubbub.appspot.com/",
                                    "https://hub.example/websub")
    assert (settings.websub_lease_default, settings.websub_lease_max) == (3600, 7200)
    assert settings.outbound_allow_private is True
    assert (settings.outbound_timeout, settings.outbound_give_up,
            settings.outbound_per_destination) == (3, 600, 2)
    assert load_settings({}).outbound_allow_private is False  # refused unless asked for


def test_webhook_secret_overlap_defaults_to_a_day() -> None:
    assert load_settings({}).webhook_secret_overlap == 86400
    assert load_settings({"WEBHOOK_SECRET_OVERLAP": "60"}).webhook_secret_overlap == 60


def test_postgres_urls_use_psycopg3() -> None:
    settings = load_settings({"DATABASE_URL": "postgres://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_unreachable_redis_stops_start_up(tmp_path: object) -> None:
    settings = load_settings({"NEWSROOM_VAR_DIR": str(tmp_path),
                              "REDIS_URL": "redis://127.0.0.1:1/0"})
    with pytest.raises(ConfigError) as caught:
        create_app(settings)
    assert caught.value.variable == "REDIS_URL"


def test_cli_prints_one_clear_line(tmp_path: object) -> None:
    env = dict(os.environ, NEWSROOM_VAR_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:1/0")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "service", "routes"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("config error: REDIS_URL: cannot reach redis://127.0.0.1:1/0")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("proxies", "seen"), [(0, "10.0.0.2"), (1, "203.0.113.9")])
def test_client_address_behind_trusted_proxies(clean_app: object, database_url: str,
                                               redis_url: str, tmp_path: Path, proxies: int,
                                               seen: str) -> None:
    """Per-client rate limits key on the address the app sees: the reader's, once the proxy
    in front is trusted; and a client cannot spoof one when no proxy is trusted."""
    from flask import request

    from tests.fixtures.app import make_settings

    app = create_app(make_settings(tmp_path, database_url, redis_url, trusted_proxies=proxies),
                     TESTING=True)
    app.add_url_rule("/_test/remote", "remote", lambda: request.remote_addr or "")
    response = app.test_client().get(
        "/_test/remote", headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert response.text == seen
