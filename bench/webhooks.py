"""Webhooks benchmark: publish -> signed POST received, with 1 and with 50 endpoints.

Builds its own world in a temporary directory, as ``websub.py`` does (``push_world``): a fresh
PostgreSQL database (``--sqlite`` for SQLite), a private redis-server, a receiver process on
127.0.0.1 answering 204 and reporting each POST's arrival time, and the compose file's
``worker`` and ``pusher``, as deployed (real Celery workers). Endpoints are made with
the same calls the admin API makes (``service.webhooks.endpoints.create``), subscribed to
``announcement.published``.

Each publish is made with the domain calls the API's view makes; publish (before the commit)
-> the POST's arrival at each endpoint, through the whole path: outbox event, the dispatch
task (feeds first), the ``events.push`` hand-off, one message per endpoint, ``push.webhook``
signing and sending. The next publish waits for every endpoint's POST. The receiver does not
verify signatures (the tests do, with the ``standardwebhooks`` library); it only times.

Usage: ``python bench/webhooks.py [--publishes 200] [--publishes-many 40]``;
``make bench-webhooks``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import push_world
from push_world import Receiver, publish

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "webhooks-latest.txt"


def _endpoints(app: Any, receiver: Receiver, count: int) -> None:
    """Replace every endpoint by ``count`` endpoints on the receiver."""
    import sqlalchemy as sa

    from service.database import db
    from service.outbound.models import OutboundDelivery
    from service.webhooks import endpoints
    from service.webhooks.models import WebhookEndpoint

    with app.app_context():
        db.session.execute(sa.delete(OutboundDelivery))
        for endpoint in db.session.scalars(sa.select(WebhookEndpoint)):
            endpoints.delete(endpoint)
        for n in range(count):
            endpoints.create(receiver.url(f"/hook/{n}"), ["announcement.published"],
                             f"bench endpoint {n}")
        db.session.commit()
        db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--publishes", type=int, default=200, help="with 1 endpoint")
    parser.add_argument("--publishes-many", type=int, default=40, help="with 50 endpoints")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--one-worker", action="store_true",
                        help="one Celery worker taking both queues (prefork, 8 children) "
                        "instead of the compose file's worker and pusher")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    results: dict[int, dict[str, float]] = {}
    world = push_world.running("webhooks", args.sqlite, args.one_worker)
    with world as (app, receiver, database_url):
        _endpoints(app, receiver, 1)
        publish(app, 0)  # warm-up: first builds, imports, connections
        receiver.take(1, timeout=30)
        time.sleep(1)
        number = 1
        for count, publishes in ((1, args.publishes), (50, args.publishes_many)):
            _endpoints(app, receiver, count)
            results[count] = push_world.latency(app, receiver, count, publishes, number)
            number += publishes
            print(f"latency, {count} endpoints: {results[count]}", flush=True)
    report = "\n".join(_report(args, database_url, results)) + "\n"
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)


def _report(args: argparse.Namespace, database_url: str,
            results: dict[int, dict[str, float]]) -> list[str]:
    db_kind = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    lines = [f"Webhooks benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {db_kind}, "
             f"{push_world.describe_roles(args.one_worker)}",
             f"command: python bench/webhooks.py --publishes {args.publishes} "
             f"--publishes-many {args.publishes_many}{' --sqlite' if args.sqlite else ''}"
             f"{' --one-worker' if args.one_worker else ''}", "",
             "publish -> POST received (ms)        POSTs   p50    p99    max   "
             "slowest endpoint p50/p99   target p99 <= 250"]
    for count, r in results.items():
        publishes = int(r["n"]) // count
        met = "met" if r["p99"] <= 250 else "NOT met"
        lines.append(f"  {count:>3} endpoint{'s' if count > 1 else ' '}, "
                     f"{publishes:>3} publishes {int(r['n']):>6} {r['p50']:>6.0f} "
                     f"{r['p99']:>6.0f} {r['max']:>6.0f}"
                     f"   {r['last_p50']:>6.0f}/{r['last_p99']:<6.0f}        {met}")
    return lines


if __name__ == "__main__":
    main()
