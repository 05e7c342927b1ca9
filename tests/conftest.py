"""Fixtures on real parts: Redis, a Celery worker, SQLite and PostgreSQL. No mocks.

They live in plugins by concern (``tests/fixtures/``): ``services`` (Redis, PostgreSQL, a
private Redis to stop), ``app`` (the session app, a clean one per test, client, runner),
``processes`` (the session's Celery worker, worker processes to kill), ``data`` (editors by
role) and ``peers`` (a loopback receiver of outbound requests).
Row factories are in ``tests/factories.py``.
"""

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.app",
    "tests.fixtures.processes",
    "tests.fixtures.data",
    "tests.fixtures.peers",
]
