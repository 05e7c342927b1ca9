"""What a caller of the outbound mechanism (WebSub, webhooks) supplies, and what it gets.

A :class:`Handler` says what to send for rows (read at send time, so the newest version
goes) and what an HTTP status means (``classify``: both callers say 2xx ok, 410 gone, else
retry); ``service.outbound.sending`` does the rest once for both.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from service.outbound.models import OutboundDelivery


class Outcome(enum.Enum):
    OK = "ok"
    GONE = "gone"
    RETRY = "retry"


@dataclass(frozen=True)
class Outgoing:
    """One request to make for a row; ``version`` is what delivering it delivers."""

    url: str
    body: bytes
    version: str | None
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"


def classify(status: int) -> Outcome:
    """What both callers make of an answer (WebSub 7, Standard Webhooks): 2xx is delivered,
    410 Gone ends the owner, anything else (3xx not followed, 4xx, 429, 5xx) is retried."""
    if 200 <= status < 300:
        return Outcome.OK
    return Outcome.GONE if status == 410 else Outcome.RETRY


class Handler(Protocol):
    kind: str
    task: str  # the Celery task that sends rows of this kind (takes a row id or a list)

    def prepare_many(self, rows: Sequence[OutboundDelivery]) -> dict[int, Outgoing | None]:
        """What to send now per row id, or None when nothing is due any more (the row is
        cancelled). Given many rows at once so a fan-out reads what they share once."""

    def classify(self, status: int) -> Outcome: ...

    def on_gone(self, row: OutboundDelivery) -> None:
        """The receiver answered that it is gone for good: end the owner (same transaction)."""

    def on_recorded(self, results: dict[int, str]) -> None:
        """Outcomes just recorded (row id -> ``delivered``, ``retrying``, ``failed``, ``gone``
        or ``capped``), in the transaction that records them, before its commit: a batch
        may record in several steps (a slow callback), and a retry queued by one step can
        run before the batch ends, so what the caller keeps of an attempt is written here."""
