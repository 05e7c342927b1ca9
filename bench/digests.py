"""Digest benchmark: a daily digest to N confirmed subscribers, through real Celery workers.

Builds its own world: a fresh PostgreSQL database (SQLite with ``--sqlite``), a Redis database
of its own (``--redis``, default 127.0.0.1:6379/15; only its queue keys are cleared),
and Debian's ``smtp-sink`` (package ``postfix``; its daemon is never started) as the SMTP
server, fast enough not to be the bottleneck. For each size it:

1. measures the baseline: smtplib sending N pre-rendered copies of the same digest over one
   connection to the same sink (no database, no rendering, no bookkeeping), before and after
   each worker run; the median is the baseline;
2. for each worker setup (``--workers 1,2``: prefork pool processes), starts
   ``celery -A workers worker``, queues the ``digests.send`` task beat would queue, and times
   it until every copy is marked sent in the database (planning, claiming, rendering,
   the one commit per message and SMTP all included), reading each worker process's peak
   resident memory (VmHWM) at the end. Sizes up to ``--repeat-upto`` (20,000) run every setup
   ``--repeat`` (3) times, one setup after the other in each round, and show the median: a
   10,000 run lasts seconds, as long as a shared machine's swings. Two workers / one worker is
   also given round by round (each pair measured back to back).

3. after the smallest size, the same digest with ``MAIL_RATE`` set (``--mail-rate``, default
   300/s; 0 skips it) on two workers: the rate measured from the ledger (``sent_at`` of the
   first and last copy) must stay at or under it, within 5%.

Usage: ``python bench/digests.py [--sizes 10000,100000] [--workers 1,2] [--mail-rate 300]
[--repeat 3]``;
the table is printed and saved to bench/results/digests-latest.txt. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import harness  # bench/ is the script's own directory, first on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "digests-latest.txt"
SECRET = secrets.token_urlsafe(32)
BASE_URL = "https://newsroom.example"


@dataclass
class Row:
    size: int
    setup: str
    seconds: float
    rate: float
    baseline_rate: float
    peak_child_mb: float | None = None
    peak_total_mb: float | None = None
    note: str = ""
    cpu_ms: float | None = None  # CPU time per copy: the sender's (baseline) or the workers'
    spread: str = ""  # shown after the setup: the rounds' range, when there were several



class Sink:
    """postfix's smtp-sink on a free port; discards everything, answers 250 at once."""

    def __init__(self) -> None:
        binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        if not Path(binary).exists():
            raise SystemExit(
                "smtp-sink not found: apt-get install -y postfix "
                "(DEBIAN_FRONTEND=noninteractive; its daemon is not needed)"
            )
        self.port = harness.free_port()
        args = [binary]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        self.process = subprocess.Popen(
            [*args, f"127.0.0.1:{self.port}", "1000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            except OSError:
                return False
            return True

        harness.wait(answers, 10, "smtp-sink")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _env(database_url: str, redis_url: str, smtp_port: int, workdir: Path) -> dict[str, str]:
    return dict(
        os.environ,
        NEWSROOM_ENV="production",
        NEWSROOM_VAR_DIR=str(workdir),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        BASE_URL=BASE_URL,
        SECRET_KEY=SECRET,
        SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        MAIL_FROM="مكتب الشراكات <news@agency.example>",
        PYTHONUNBUFFERED="1",
    )


def _seed(app: Any, upto: int, period_end: datetime) -> None:
    """Confirmed daily subscribers up to ``upto`` in all (a third follow one topic only)."""
    import sqlalchemy as sa

    from service.database import db
    from service.subscriptions.models import Frequency, Subscriber, SubscriberStatus

    with app.app_context():
        have = db.session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) or 0
        since = period_end - timedelta(days=2)
        for start in range(have, upto, 5000):
            rows = [
                {
                    "email": f"reader{n}@example.org",
                    "status": SubscriberStatus.CONFIRMED,
                    "frequency": Frequency.DAILY,
                    "tags": ["observatory"] if n % 3 == 0 else [],
                    "partners": [],
                    "language": None,
                    "token_version": 0,
                    "since_at": since,
                    "created_at": since,
                    "requested_at": since,
                    "confirmed_at": since,
                }
                for n in range(start, min(start + 5000, upto))
            ]
            db.session.execute(sa.insert(Subscriber), rows)
            db.session.commit()
        db.session.remove()


def _publish_items(app: Any, period_end: datetime) -> None:
    from service.announcements import publishing
    from service.announcements.models import Status
    from service.database import db

    items = [
        ("Joint observatory primary mirror delivered", ["observatory"], "en"),
        ("مشروع الاستشعار عن بعد للمياه والغطاء النباتي", ["earth-observation"], "ar"),
        ("Astrophysics summer school with ESA: applications open", ["education"], "en"),
    ]
    with app.app_context():
        for n, (title, tags, language) in enumerate(items):
            publishing.create(
                title=title,
                tags=tags,
                language=language,
                status=Status.PUBLISHED,
                summary="A summary of a couple of sentences, as editors write "
                "them for feeds and emails. " * 2,
                published_at=period_end - timedelta(hours=3 + n),
            )
        db.session.commit()
        db.session.remove()


def _reset_mailings(app: Any) -> None:
    import sqlalchemy as sa

    from service.database import db
    from service.subscriptions.models import Delivery, MailBatch, Mailing

    with app.app_context():
        for model in (Delivery, MailBatch, Mailing):
            db.session.execute(sa.delete(model))
        db.session.commit()
        db.session.remove()


def _sample_message(app: Any) -> tuple[bytes, str]:
    """One real digest copy, as the workers build it: the baseline sends it pre-rendered."""
    from service.mail.messages import Template, sender_address
    from service.subscriptions import composing, contents

    with app.test_request_context():
        import sqlalchemy as sa
        from sqlalchemy.orm import selectinload

        from service.announcements.models import Announcement
        from service.database import db

        items = db.session.scalars(
            sa.select(Announcement).options(
                selectinload(Announcement.tags), selectinload(Announcement.partners)
            )
        ).all()
        views = [contents.item_view(item) for item in items]
        mail_from = app.config["SETTINGS"].mail_from
        template = Template(
            "digest",
            {"kind": "daily", "items": views, "more": 0, "base_url": BASE_URL},
            mail_from=mail_from,
            domain="newsroom.example",
        )
        from service.subscriptions.tokens import manage_token

        # A real copy's links: a signed token like the workers make, per subscriber.
        token = manage_token(12345, 0, "reader0@example.org")
        _, data = template.personalise(
            "reader0@example.org",
            composing.subscriber_links(sender_address(mail_from), token),
        )
        db.session.remove()
        return data, sender_address(mail_from)


def _baseline(port: int, data: bytes, sender: str, count: int) -> tuple[float, float]:
    """Copies per second, and CPU milliseconds per copy of this process."""
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=30)
    smtp.ehlo()
    options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(count):
        smtp.sendmail(sender, [f"reader{n}@example.org"], data, mail_options=options)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    smtp.quit()
    return count / elapsed, cpu * 1000 / count


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes so far (all their threads)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone (a PostgreSQL backend that closed): its time is not counted
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


SERVERS = ("postgres", "smtp-sink", "redis-server")


def _server_pids() -> dict[str, list[int]]:
    """PostgreSQL's processes (every database's: other work on the machine counts too), the
    sink's and Redis's, by name."""
    found: dict[str, list[int]] = {name: [] for name in SERVERS}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if name in found:
                found[name].append(int(entry.name))
    return found


def _server_cpu() -> dict[str, float]:
    return {name: _cpu_seconds(pids) for name, pids in _server_pids().items()}


def _peak_rss_mb(pids: list[int]) -> dict[int, float]:
    peaks = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks[pid] = int(line.split()[1]) / 1024
    return peaks


def _run_workers(app: Any, env: dict[str, str], size: int, processes: int, threads: int,
                 workdir: Path) -> tuple[float, float, float, float]:
    """Start ``processes`` workers (``threads`` each), queue the digest, time it to the end;
    ``(seconds, peak MB per worker, peak MB in all, worker CPU ms per copy)``."""
    import sqlalchemy as sa

    from service.database import db
    from service.subscriptions.models import Delivery, DeliveryStatus, MailBatch

    logs = [open(workdir / f"worker-{size}-{processes}-{n}.log", "w")  # noqa: SIM115 (closed below)
            for n in range(processes)]
    workers = [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers", "worker", "--pool=threads",
         f"--concurrency={threads}", "--loglevel=WARNING", "--without-mingle",
         "--without-gossip", "--without-heartbeat", "-n", f"bench{n}@%h"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    ) for n, log in enumerate(logs)]
    celery = app.extensions["celery"]
    try:
        harness.wait(lambda: len(celery.control.ping(timeout=0.5)) == processes, 60, "the workers",
              interval=0.5)

        def counts() -> dict[str, int]:
            with app.app_context():
                rows = db.session.execute(sa.select(Delivery.status, sa.func.count())
                                          .group_by(Delivery.status)).all()
                db.session.remove()
            return {status.value: n for status, n in rows}

        def batches_open() -> int | None:
            """Batches not done (None before the plan exists): a query on a few hundred rows,
            where counting the copies would scan the whole ledger ten times a second and
            take the workers' CPU on a two-core machine."""
            with app.app_context():
                total, done = db.session.execute(
                    sa.select(sa.func.count(), sa.func.count(MailBatch.done_at))).one()
                db.session.remove()
            return total - done if total else None

        pids = [worker.pid for worker in workers]
        cpu, servers = _cpu_seconds(pids), _server_cpu()
        started, started_at = time.perf_counter(), datetime.now(UTC)
        celery.send_task("digests.send", args=["daily"])  # what beat queues
        checked = started
        while True:
            if batches_open() == 0:
                current = counts()
                if current.get(DeliveryStatus.SENT.value, 0) >= size:
                    break
            elif time.perf_counter() - checked > 5:  # a look at the copies now and then
                current, checked = counts(), time.perf_counter()
            else:
                current = {}
            problems = {k: v for k, v in current.items() if k in ("failed", "uncertain")}
            if problems:
                raise SystemExit(f"copies went wrong: {current} (see {workdir})")
            if time.perf_counter() - started > 3600:
                raise SystemExit(f"too slow: {counts()}")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(pids) - cpu
        used = {name: (seconds - servers.get(name, 0.0)) * 1000 / size
                for name, seconds in _server_cpu().items()}
        print(f"{size}: CPU ms per copy: workers {cpu * 1000 / size:.3f}, "
              + ", ".join(f"{name} {ms:.3f}" for name, ms in used.items())
              + f" ({elapsed:.1f} s on {os.cpu_count()} cores)", flush=True)
        print(f"{size}: {_timeline(app, started_at)}", flush=True)
        peaks = _peak_rss_mb(pids)
        return elapsed, max(peaks.values()), sum(peaks.values()), cpu * 1000 / size
    finally:
        for worker in workers:
            os.killpg(worker.pid, 15)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
                worker.wait()
        for log in logs:
            log.close()


def _timeline(app: Any, started_at: datetime) -> str:
    """Where a run's time went, from the rows it left: the plan (the mailing's creation to its
    batches' commit), the first and the last copy sent, the first and the last batch done."""
    import sqlalchemy as sa

    from service.database import db
    from service.subscriptions.models import Delivery, MailBatch, Mailing

    with app.app_context():
        created = db.session.scalar(sa.select(sa.func.max(Mailing.created_at)))
        queued, first_done, last_done = db.session.execute(sa.select(
            sa.func.max(MailBatch.queued_at), sa.func.min(MailBatch.done_at),
            sa.func.max(MailBatch.done_at))).one()
        first, last = db.session.execute(sa.select(sa.func.min(Delivery.sent_at),
                                                   sa.func.max(Delivery.sent_at))).one()
        db.session.remove()

    def at(moment: datetime | None) -> str:
        if moment is None:
            return "-"
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return f"{(moment - started_at).total_seconds():.2f} s"

    return (f"mailing created {at(created)}, batches queued {at(queued)}, copies sent "
            f"{at(first)} to {at(last)}, batches done {at(first_done)} to {at(last_done)} "
            "(from queueing digests.send)")


def _ledger_rate(app: Any) -> float:
    """Copies per second between the first and the last copy marked sent (``sent_at``)."""
    import sqlalchemy as sa

    from service.database import db
    from service.subscriptions.models import Delivery

    with app.app_context():
        first, last, count = db.session.execute(
            sa.select(sa.func.min(Delivery.sent_at), sa.func.max(Delivery.sent_at),
                      sa.func.count()).where(Delivery.sent_at.is_not(None))).one()
        db.session.remove()
    if first is None or last is None or count < 2:
        raise SystemExit("the MAIL_RATE run sent fewer than two copies: no rate to measure")
    return (count - 1) / (last - first).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--workers", default="1,2", help="worker processes per run")
    parser.add_argument("--threads", type=int, default=8,
                        help="threads per worker (-P threads): batches sent at once")
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--mail-rate", type=float, default=300.0,
                        help="MAIL_RATE for the rate run (2 workers, smallest size); 0: skip")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of every worker setup at sizes up to --repeat-upto, the "
                        "median shown: such runs last seconds, as long as the machine's swings")
    parser.add_argument("--repeat-upto", type=int, default=20000)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    setups = [int(w) for w in args.workers.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="bench-digests-"))
    sink = Sink()
    database_url, db_name = harness.database(args.sqlite, workdir, "digests")
    env = _env(database_url, args.redis, sink.port, workdir)
    os.environ.update(
        {
            k: env[k]
            for k in (
                "NEWSROOM_ENV",
                "NEWSROOM_VAR_DIR",
                "DATABASE_URL",
                "REDIS_URL",
                "BASE_URL",
                "SECRET_KEY",
                "SMTP_URL",
                "MAIL_FROM",
            )
        }
    )
    rows: list[Row] = []
    round_ratios: dict[int, list[float]] = {}  # size -> 2 workers / 1 worker, round by round
    try:
        from flask_migrate import upgrade

        from service import create_app
        from service.subscriptions.digests import period
        from service.subscriptions.models import MailingKind

        app = create_app()
        app.extensions["redis"].delete("celery", "mail")  # stale work of an earlier, aborted run
        with app.app_context():
            upgrade()
        settings = app.config["SETTINGS"]
        period_end = period(
            MailingKind.DAILY, datetime.now(UTC), settings.digest_hour, settings.digest_weekday
        )[1]
        _publish_items(app, period_end)
        message, sender = _sample_message(app)
        for size in sizes:
            _seed(app, size, period_end)
            # The baseline is measured before and after every worker run, and the median
            # taken: the machine is shared, and its load drifts over a run of minutes.
            baselines = [_baseline(sink.port, message, sender, size)]
            print(f"{size}: baseline {baselines[-1][0]:.0f}/s", flush=True)
            rounds = args.repeat if size <= args.repeat_upto else 1
            runs: dict[int, list[tuple[float, float, float, float]]] = {p: [] for p in setups}
            for round_number in range(rounds):
                for processes in setups:
                    _reset_mailings(app)
                    run = _run_workers(app, env, size, processes, args.threads, workdir)
                    runs[processes].append(run)
                    elapsed, peak_mb, _, cpu_ms = run
                    print(f"{size}: {_setup(processes, args.threads)} (round {round_number + 1}"
                          f" of {rounds}): {size / elapsed:.0f}/s, peak {peak_mb:.0f} MB per "
                          f"worker, {cpu_ms:.3f} CPU ms per copy", flush=True)
                    baselines.append(_baseline(sink.port, message, sender, size))
                    print(f"{size}: baseline {baselines[-1][0]:.0f}/s", flush=True)
            measured = [_median_row(size, _setup(processes, args.threads), runs[processes])
                        for processes in setups]
            if 1 in runs and 2 in runs and rounds > 1:
                round_ratios[size] = [one[0] / two[0]
                                      for one, two in zip(runs[1], runs[2], strict=True)]
            baseline = statistics.median(rate for rate, _ in baselines)
            spread = f"{min(baselines)[0]:.0f}-{max(baselines)[0]:.0f}/s"
            rows.append(Row(size, f"baseline: smtplib (median of {len(baselines)}: {spread})",
                            size / baseline, baseline, baseline,
                            cpu_ms=statistics.median(cpu for _, cpu in baselines)))
            rows.extend(replace(row, baseline_rate=baseline) for row in measured)
            if args.mail_rate and size == sizes[0]:
                _reset_mailings(app)
                stale = app.extensions["redis"].keys("newsroom:mail:*")  # an earlier run's
                if stale:
                    app.extensions["redis"].delete(*stale)
                rated = dict(env, MAIL_RATE=str(args.mail_rate))
                elapsed, peak_mb, total_mb, cpu_ms = _run_workers(app, rated, size, 2,
                                                                  args.threads, workdir)
                ledger = _ledger_rate(app)
                note = (f"MAIL_RATE={args.mail_rate:g}: ledger {ledger:.1f}/s = "
                        f"{ledger / args.mail_rate:.1%} of it")
                print(f"{size}: {note}", flush=True)
                rows.append(Row(size, f"2 workers x {args.threads} threads, MAIL_RATE", elapsed,
                                size / elapsed, baseline, peak_mb, total_mb, note, cpu_ms))
    finally:
        sink.stop()
        harness.drop_database(db_name)
        shutil.rmtree(workdir, ignore_errors=True)
    report = _table(rows, args, database_url, round_ratios)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)


def _setup(processes: int, threads: int) -> str:
    return f"{processes} worker{'s' if processes > 1 else ''} x {threads} threads"


def _median_row(size: int, setup: str, runs: list[tuple[float, float, float, float]]) -> Row:
    """One row for a setup's rounds: the median time (and its CPU), the highest memory."""
    ordered = sorted(runs)
    elapsed, _, _, cpu_ms = ordered[len(ordered) // 2]
    slowest, fastest = size / ordered[-1][0], size / ordered[0][0]
    spread = f" (median of {len(runs)}: {slowest:.0f}-{fastest:.0f}/s)" if len(runs) > 1 else ""
    return Row(size, setup, elapsed, size / elapsed, 0.0, max(r[1] for r in runs),
               max(r[2] for r in runs), cpu_ms=cpu_ms, spread=spread)


def _table(rows: list[Row], args: argparse.Namespace, database_url: str,
           round_ratios: dict[int, list[float]]) -> str:
    lines = [
        f"Digest benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{'SQLite' if database_url.startswith('sqlite') else 'PostgreSQL'}, smtp-sink",
        "",
        f"{'subscribers':>11}  {'setup':<56} {'seconds':>8} {'emails/s':>9} {'of baseline':>11}"
        f" {'peak MB/worker':>15} {'peak MB total':>13} {'CPU ms/copy':>11}",
    ]
    for row in rows:
        child = f"{row.peak_child_mb:.0f}" if row.peak_child_mb else "-"
        total = f"{row.peak_total_mb:.0f}" if row.peak_total_mb else "-"
        cpu = f"{row.cpu_ms:.3f}" if row.cpu_ms else "-"
        lines.append(
            f"{row.size:>11}  {row.setup + row.spread:<56} {row.seconds:>8.1f} {row.rate:>9.0f} "
            f"{row.rate / row.baseline_rate:>10.0%} {child:>15} {total:>13} {cpu:>11}"
            + (f"  {row.note}" if row.note else "")
        )
    by_setup: dict[str, dict[int, float]] = {}
    for row in rows:
        if row.peak_child_mb and not row.note:
            by_setup.setdefault(row.setup, {})[row.size] = row.peak_child_mb
    sizes = sorted({row.size for row in rows})
    for size in sizes:
        rates = {row.setup.split(" x ")[0]: row.rate for row in rows
                 if row.size == size and not row.note and "worker" in row.setup}
        if "1 worker" in rates and "2 workers" in rates:
            each = (f" (round by round: {', '.join(f'{r:.2f}x' for r in round_ratios[size])})"
                    if size in round_ratios else "")
            lines.append(f"{size}: 2 workers / 1 worker: "
                         f"{rates['2 workers'] / rates['1 worker']:.2f}x{each}")
    if len(sizes) > 1:
        lines.append("")
        for setup, peaks in by_setup.items():
            if sizes[0] in peaks and sizes[-1] in peaks:
                lines.append(
                    f"peak memory per worker, {sizes[-1]} vs {sizes[0]} subscribers, "
                    f"{setup}: {peaks[sizes[-1]] / peaks[sizes[0]]:.2f}x"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
