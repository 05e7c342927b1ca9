"""The suppression list: addresses no mail goes to, kept as hashes with why, who and when.

An address lands here after a hard bounce, a complaint, an operator's decision or an import's
list of unsubscribed addresses; :func:`suppress` is what those callers use. What it means:

- **Sending** (digests, instant mail) skips a suppressed address: its copy is cancelled when
  the batch is claimed (``contents.targets`` leaves it out), whatever the subscriber's status.
- **Signing up again** mails a confirmation link as for anyone; only following a link mailed
  *after* the address was suppressed lifts the suppression (``lifecycle.confirm``). A link
  mailed before it is refused, and so is resubscribing from an old manage link: that mails a
  fresh confirmation instead. So nobody gets around the list without reading the mailbox now.
- **Imports** skip suppressed addresses and say so in their report.
- **Admins** see the entries (reason, source, time) under ``/editor/admin/suppressions``, can
  look an address up, add one and lift one (:func:`lift`).

Only the SHA-256 of the normalised address is stored (:func:`address_hash`), so an erased
subscriber's address is not kept, yet the address stays suppressed if it was. Every function
changes rows in the caller's session; the caller commits.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from service.database import among, utcnow
from service.subscriptions.models import Suppression

REASON_MAX = 500
SOURCE_MAX = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]+")
# The common address, ASCII letters, digits and ``._+-`` only: its normal form is its lower
# case, whatever the validator says of it (valid: only the case changes; invalid: lower-cased
# anyway), so the validator (most of a batch's planning time) is skipped for it.
_PLAIN = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+")

AnySession = Session | scoped_session[Any]  # db.session, or a session of one's own


def normal_form(email: str) -> str:
    """The address as subscriptions store it (lower case, IDN domain in ASCII).

    Addresses from bounces and reports may not pass the sign-up rules; those are only
    stripped and lower-cased, so the same text always gives the same hash.
    """
    raw = email.strip().strip("<>").strip()
    if _PLAIN.fullmatch(raw):
        return raw.lower()
    try:
        result = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return raw.lower()
    return (result.ascii_email or raw).lower()


def address_hash(email: str) -> str:
    """SHA-256 (hex) of the normalised address: what the list stores."""
    return hashlib.sha256(normal_form(email).encode()).hexdigest()


def _one_line(text: str, limit: int) -> str:
    return _CONTROL.sub(" ", text).strip()[:limit]


def suppress(session: AnySession, email: str, reason: str, source: str,
             now: datetime | None = None) -> Suppression:
    """Suppress ``email`` (again): a second call keeps one entry with the latest reason,
    source and time. ``reason`` is one line (cut to 500 characters), ``source`` a short word
    such as ``bounce``, ``complaint``, ``admin`` or ``import``."""
    source_word = _one_line(source, SOURCE_MAX)
    if not source_word:
        raise ValueError("a suppression needs a source")
    digest = address_hash(email)
    values = {"reason": _one_line(reason, REASON_MAX) or "(no reason given)",
              "source": source_word, "suppressed_at": now or utcnow()}
    entry = _entry(session, digest)
    if entry is None:
        try:
            with session.begin_nested():
                entry = Suppression(address_hash=digest, **values)
                session.add(entry)
            return entry
        except IntegrityError:  # suppressed at the same moment by someone else
            entry = _entry(session, digest)
            assert entry is not None
    for name, value in values.items():
        setattr(entry, name, value)
    return entry


def _entry(session: AnySession, digest: str) -> Suppression | None:
    return session.scalars(
        sa.select(Suppression).where(Suppression.address_hash == digest)).first()


def entry_for(session: AnySession, email: str) -> Suppression | None:
    """The entry suppressing ``email``, if any (why, who, when)."""
    return _entry(session, address_hash(email))


def is_suppressed(session: AnySession, email: str) -> bool:
    return entry_for(session, email) is not None


def suppressed_among(session: AnySession, emails: Iterable[str]) -> set[str]:
    """Which of these addresses are suppressed: one query for a whole batch."""
    by_hash = {address_hash(e): e for e in emails}
    if not by_hash:
        return set()
    dialect = session.get_bind().dialect.name  # one array parameter on PostgreSQL
    found = session.scalars(sa.select(Suppression.address_hash)
                            .where(among(Suppression.address_hash, "hashes", dialect)),
                            {"hashes": list(by_hash)})
    return {by_hash[h] for h in found}


def lift(session: AnySession, email: str) -> bool:
    """Take ``email`` off the list; False when it was not on it."""
    result = session.execute(
        sa.delete(Suppression).where(Suppression.address_hash == address_hash(email)))
    return bool(result.rowcount)  # type: ignore[attr-defined]
