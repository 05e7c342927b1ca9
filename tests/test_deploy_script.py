"""deploy/test/run.py (`make deploy-test`) reads docker-compose.yml: this keeps the two in step.

Why: the deploy test runs each role with the command and environment the compose file gives
it, translated to loopback ports. It runs only where Docker can (CI, as root), so a change to
the compose file that the script can no longer read (a renamed anchor, a role without a
command, a hostname left in a URL) would show late; these checks run in `make test`.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from service.config import PROJECT_ROOT


@pytest.fixture(scope="module")
def run_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_test_run",
                                                  PROJECT_ROOT / "deploy" / "test" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def stack(run_py: ModuleType) -> Iterator[object]:
    stack = run_py.Stack()
    yield stack
    shutil.rmtree(stack.scratch, ignore_errors=True)


def test_every_app_role_has_a_command_and_a_loopback_environment(run_py: ModuleType,
                                                                stack: object) -> None:
    for role in ("migrate", "worker", "mailer", "beat"):
        assert stack.command(role), role  # type: ignore[attr-defined]
    assert "-Q" in stack.command("worker")  # type: ignore[attr-defined]
    for role in ("web", "worker", "mailer", "beat", "migrate"):
        env = stack.app_env(role)  # type: ignore[attr-defined]
        assert not [v for v in env.values() if "${" in v], env  # every substitution resolved
        for key in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "BASE_URL"):
            assert "127.0.0.1" in env[key], (role, key)
        assert env["NEWSROOM_ENV"] == "production" and len(env["SECRET_KEY"]) >= 32
    assert stack.app_env("web")["FEED_EXPORT_DIR"] == ""  # type: ignore[attr-defined]
    assert stack.app_env("worker")["FEED_EXPORT_DIR"] == "/srv/feeds"  # type: ignore[attr-defined]


def test_ports_default_away_from_the_hosts_own_services(run_py: ModuleType) -> None:
    assert not {5432, 6379, 5000, 8000, 8080} & set(run_py.PORTS.values())
    assert len(set(run_py.PORTS.values())) == len(run_py.PORTS)


def test_the_debian_mirror_is_read_from_apt(run_py: ModuleType) -> None:
    assert re.fullmatch(r"https?://\S+/debian", run_py.debian_mirror())
