"""Times as the office reads them: in ``TIMEZONE`` (default UTC), with UTC beside, and the
schedule fields read in that zone too. Stored times stay UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def zone_name() -> str:
    return str(current_app.config["SETTINGS"].timezone)


def _zone() -> ZoneInfo:
    return ZoneInfo(zone_name())


def show(moment: datetime | None) -> str:
    """``01 May 2099 11:30 Europe/Paris (09:30 UTC)``; only the UTC form when the office is UTC."""
    if moment is None:
        return ""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    if zone_name() == "UTC":
        return utc.strftime("%d %b %Y %H:%M UTC")
    local = moment.astimezone(_zone())
    return f"{local:%d %b %Y %H:%M} {zone_name()} ({utc:%H:%M} UTC{_day_shift(local, utc)})"


def _day_shift(local: datetime, utc: datetime) -> str:
    return "" if local.date() == utc.date() else f" on {utc:%d %b}"


def from_office(value: datetime) -> datetime:
    """A wall-clock time typed in the office's zone, as an aware UTC datetime."""
    return value.replace(tzinfo=_zone()).astimezone(UTC)


def to_office(moment: datetime) -> datetime:
    """A stored time as the office's wall clock (naive), for a ``datetime-local`` field."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone()).replace(tzinfo=None)
