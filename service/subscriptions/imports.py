"""Importing a subscriber list from another service (a CSV file), with consent respected.

Columns (a header row; names in any case and order, unknown ones ignored): ``email``
(required), ``frequency`` (default ``daily``), ``tags`` and ``partners`` (names or slugs,
separated by commas, semicolons or ``|``; each made a slug, so "Earth Observation" is
``earth-observation``), ``language`` (empty: all),
``consent_at`` (when they agreed: ISO 8601, a date or a date and time, UTC unless it says
otherwise) and ``consent_source`` (how: a form, an event...; default: the import's name).

What each row does:

- with a consent record (``consent_at``): a new address is *created* confirmed, with the
  record; a known confirmed or pending one is *updated* to the row (or left *unchanged* if
  it already says the same);
- without one: a new address becomes a pending subscriber and is mailed a confirmation link
  (*confirmation*), exactly as a sign-up; a known one is *unchanged*;
- *skipped*, with the reason: a suppressed address, one that unsubscribed, bounced or was
  erased here (an import never brings anyone back), a repeated address, an invalid row.

Importing the same file again changes nothing and mails nobody twice. Rows are committed in
chunks; a file that is not a UTF-8 CSV with an ``email`` column is refused as a whole.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slugify import slugify

from service.database import db, utcnow
from service.jobs import enqueue_after_commit
from service.subscriptions import lifecycle, suppression
from service.subscriptions.models import Subscriber, SubscriberStatus

COLUMNS = ("email", "frequency", "tags", "partners", "language", "consent_at",
           "consent_source")
CHUNK = 500
MAX_ROWS = 1_000_000
_SEPARATORS = re.compile(r"[,;|]+")
SOURCE_MAX = 200


class ImportRefused(ValueError):
    """The file as a whole cannot be read (not UTF-8, not CSV, no email column...)."""


@dataclass(frozen=True)
class RowOutcome:
    line: int
    email: str  # as normalised, or as written when invalid
    outcome: str  # created, updated, confirmation, unchanged, skipped
    reason: str = ""


@dataclass
class ImportReport:
    rows: list[RowOutcome] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(r.outcome for r in self.rows))

    def summary(self) -> str:
        counts = self.counts
        return ", ".join(f"{counts.get(k, 0)} {k}" for k in
                         ("created", "updated", "confirmation", "unchanged", "skipped"))


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"the file is not UTF-8 text (byte {exc.start})") from None


def _rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, {column: value})`` for each data row; ImportRefused on a bad file."""
    if "\x00" in text:
        raise ImportRefused("the file holds NUL bytes: not a CSV file")
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportRefused("the file is empty")
        names = [h.strip().lower().replace(" ", "_") for h in header]
        if "email" not in names:
            raise ImportRefused("no 'email' column in the first row (the header)")
        for number, values in enumerate(reader, start=2):
            if number > MAX_ROWS + 1:
                raise ImportRefused(f"more than {MAX_ROWS} rows: split the file")
            if not any(v.strip() for v in values):
                continue
            yield reader.line_num, {n: v.strip() for n, v in zip(names, values, strict=False)
                                    if n in COLUMNS}
    except csv.Error as exc:
        raise ImportRefused(f"line {reader.line_num}: not valid CSV ({exc})") from None


def _topics(raw: str) -> list[str]:
    return [slugify(word) for word in _SEPARATORS.split(raw) if slugify(word)]


def _consent_time(raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"consent_at {raw[:40]!r} is not an ISO 8601 date or time") from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if when > utcnow():
        raise ValueError("consent_at is in the future")
    return when


def _unquote(value: str) -> str:
    """Undo the export's guard against spreadsheet formulas (a leading apostrophe)."""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@") else value


@dataclass(frozen=True)
class _Row:
    email: str
    preferences: lifecycle.Preferences
    consent_at: datetime | None
    consent_source: str | None


def _parse(values: dict[str, str], default_source: str) -> _Row:
    email = lifecycle.normalise_email(_unquote(values.get("email", "")))
    try:
        preferences = lifecycle.parse_preferences({
            "frequency": values.get("frequency", "").lower() or "daily",
            "tags": _topics(values.get("tags", "")),
            "partners": _topics(values.get("partners", "")),
            "language": values.get("language", "").lower() or None,
        })
    except lifecycle.InvalidPreferences as exc:
        raise ValueError(str(exc)) from None
    consent_at = _consent_time(values.get("consent_at", ""))
    source = (values.get("consent_source") or default_source)[:SOURCE_MAX]
    return _Row(email, preferences, consent_at, source if consent_at else None)


def _same(subscriber: Subscriber, row: _Row) -> bool:
    return (subscriber.status is SubscriberStatus.CONFIRMED
            and subscriber.preferences == row.preferences.as_dict()
            and subscriber.consent_at == row.consent_at
            and subscriber.consent_source == row.consent_source)


def _apply(row: _Row, now: datetime) -> tuple[str, str]:
    """Do what one valid row asks; ``(outcome, reason)``."""
    if suppression.is_suppressed(db.session, row.email):
        return "skipped", "suppressed (an admin can lift it, or they confirm a new sign-up)"
    subscriber = lifecycle.for_address(row.email)
    if subscriber is not None and subscriber.status in (
            SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED, SubscriberStatus.ERASED):
        return "skipped", f"{subscriber.status.value} here: an import does not bring them back"
    if row.consent_at is None:
        if subscriber is not None:
            return "unchanged", ("no consent record; already subscribed"
                                 if subscriber.status is SubscriberStatus.CONFIRMED
                                 else "no consent record; awaiting confirmation")
        pending = Subscriber(email=row.email, status=SubscriberStatus.PENDING,
                             frequency=row.preferences.frequency, tags=list(row.preferences.tags),
                             partners=list(row.preferences.partners),
                             language=row.preferences.language, created_at=now,
                             requested_at=now)
        db.session.add(pending)
        db.session.flush()
        enqueue_after_commit(db.session(), lifecycle.CONFIRMATION_TASK, pending.id,
                             row.preferences.as_dict())
        return "confirmation", "no consent record: a confirmation link is mailed"
    if subscriber is not None and _same(subscriber, row):
        return "unchanged", ""
    created = subscriber is None
    if subscriber is None:
        subscriber = Subscriber(email=row.email, created_at=now, requested_at=now)
        db.session.add(subscriber)
    if subscriber.status is not SubscriberStatus.CONFIRMED:
        subscriber.status = SubscriberStatus.CONFIRMED
        subscriber.confirmed_at = subscriber.since_at = now
    lifecycle.change_preferences(subscriber, row.preferences, now)
    subscriber.consent_at, subscriber.consent_source = row.consent_at, row.consent_source
    return ("created", "") if created else ("updated", "")


def import_rows(data: bytes | str, name: str = "import") -> ImportReport:
    """Import a CSV file's bytes (or text); commits as it goes. Raises :class:`ImportRefused`
    for a file that cannot be read at all, before anything is changed."""
    text = _decode(data)
    rows = list(_rows(text))  # a broken file is refused whole, before any change
    report = ImportReport()
    seen: dict[str, int] = {}
    default_source = f"import of {name}"[:SOURCE_MAX]
    now = utcnow()
    for done, (line, values) in enumerate(rows, start=1):
        report.rows.append(_one(line, values, default_source, seen, now))
        if done % CHUNK == 0:
            db.session.commit()
    db.session.commit()
    return report


def _one(line: int, values: dict[str, str], default_source: str, seen: dict[str, int],
         now: datetime) -> RowOutcome:
    written = values.get("email", "")
    try:
        row = _parse(values, default_source)
    except ValueError as exc:
        return RowOutcome(line, written[:254], "skipped", f"invalid: {exc}")
    if row.email in seen:
        return RowOutcome(line, row.email, "skipped", f"repeats line {seen[row.email]}")
    seen[row.email] = line
    outcome, reason = _apply(row, now)
    return RowOutcome(line, row.email, outcome, reason)


def report_lines(report: ImportReport, limit: int | None = None) -> Iterable[str]:
    """The report as text lines: every row not unchanged, then the counts."""
    shown = [r for r in report.rows if r.outcome != "unchanged" or r.reason]
    for r in shown[:limit]:
        yield f"line {r.line}: {r.email or '(no address)'}: {r.outcome}" + (
            f" ({r.reason})" if r.reason else "")
    if limit is not None and len(shown) > limit:
        yield f"... and {len(shown) - limit} more"
    yield report.summary()
