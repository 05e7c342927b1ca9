"""What a subscriber does: sign up, confirm, change preferences, leave; and what mail does to them.

Signing up never changes a confirmed subscription: it only mails a confirmation link that
carries the preferences asked for. So the answer to a sign-up is the same whatever state the
address is in (no enumeration), and nobody can subscribe, re-subscribe or reconfigure an address
whose mailbox they cannot read. The request itself does the same work for every address, too
(:func:`request_subscription` records one outbox event and reads nothing), so its timing tells
no one either; a worker then looks the address up (:func:`subscribe`). Every function changes
rows in the caller's transaction; the caller commits.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError

from service import outbox
from service.announcements import text_rules
from service.database import db, utcnow
from service.jobs import enqueue_after_commit
from service.subscriptions import suppression, tokens
from service.subscriptions.models import Frequency, Subscriber, SubscriberStatus

CONFIRMATION_TASK = "subscriptions.send_confirmation"
SIGN_UP_EVENT = "subscription.requested"
SLUG = re.compile(text_rules.SLUG_PATTERN)  # the announcements' own rules, defined once
LANGUAGE = re.compile(text_rules.LANGUAGE_PATTERN)
MAX_TOPICS = 50


class InvalidPreferences(ValueError):
    """Field name -> what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class LinkNotValid(Exception):
    """The link names no current subscriber (purged, or its links were revoked)."""


@dataclass(frozen=True)
class Preferences:
    frequency: Frequency
    tags: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    language: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"frequency": self.frequency.value, "tags": list(self.tags),
                "partners": list(self.partners), "language": self.language}


def normalise_email(raw: object) -> str:
    """The canonical form of an address (lower case, IDN domain in ASCII), or ValueError.

    No DNS look-up: deliverability is what the confirmation email proves. Internationalised
    local parts (SMTPUTF8) are refused, so every stored address is plain ASCII.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("an email address is required")
    if len(raw) > 254:
        raise ValueError("the address is too long")
    try:
        result = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    address = result.ascii_email
    if address is None:  # only without allow_smtputf8=False; refused above
        raise ValueError("the address is not plain ASCII")
    return address.lower()


def _slugs(field: str, raw: object, errors: dict[str, str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple) or not all(isinstance(s, str) for s in raw):
        errors[field] = "must be a list of slugs"
        return ()
    if len(raw) > MAX_TOPICS:
        errors[field] = f"at most {MAX_TOPICS} items"
        return ()
    bad = [s for s in raw if not SLUG.match(s) or len(s) > text_rules.TERM_MAX]
    if bad:
        errors[field] = f"not slugs (lower-case letters, digits, hyphens): {bad[:5]}"
        return ()
    return tuple(sorted(set(raw)))


def parse_preferences(data: dict[str, Any], default_frequency: str = "daily") -> Preferences:
    """Validate preferences from a form or JSON body; raises :class:`InvalidPreferences`."""
    errors: dict[str, str] = {}
    frequency = data.get("frequency") or default_frequency
    if frequency not in Frequency.__members__.values():
        errors["frequency"] = f"must be one of {', '.join(f.value for f in Frequency)}"
    tags = _slugs("tags", data.get("tags"), errors)
    partners = _slugs("partners", data.get("partners"), errors)
    language = data.get("language") or None
    if language is not None and (not isinstance(language, str)
                                 or len(language) > text_rules.LANGUAGE_MAX
                                 or not LANGUAGE.match(language)):
        errors["language"] = "must be a language tag such as 'en' or 'ar', or empty for all"
    if errors:
        raise InvalidPreferences(errors)
    return Preferences(Frequency(frequency), tags, partners, language)


def request_subscription(email: str, preferences: Preferences) -> None:
    """What a sign-up request does: one outbox event, whatever state the address is in.

    The row and the confirmation email are a worker's (``events.handle_sign_up`` calls
    :func:`subscribe`); if the broker is down at commit, the outbox relay hands the event over
    later, so no sign-up is lost.
    """
    outbox.record(SIGN_UP_EVENT, {"email": email, "preferences": preferences.as_dict(),
                                  "requested_at": utcnow().isoformat()})


def subscribe(email: str, preferences: Preferences, now: datetime | None = None) -> None:
    """Record a sign-up and mail a confirmation link; the same outcome for every address.

    A new address becomes a pending subscriber; any other (pending, confirmed, unsubscribed,
    bounced) is left as it is. Either way the link mailed carries these preferences and
    applies them only when followed.
    """
    now = now or utcnow()
    subscriber = for_address(email)
    if subscriber is None:
        try:
            with db.session.begin_nested():
                subscriber = Subscriber(
                    email=email, status=SubscriberStatus.PENDING, frequency=preferences.frequency,
                    tags=list(preferences.tags), partners=list(preferences.partners),
                    language=preferences.language, created_at=now, requested_at=now,
                )
                db.session.add(subscriber)
        except IntegrityError:  # the same address signed up in a concurrent request
            subscriber = db.session.scalars(
                sa.select(Subscriber).where(Subscriber.email == email)).one()
    if subscriber.status is SubscriberStatus.PENDING:
        subscriber.requested_at = now  # the clock for purging starts again
    enqueue_after_commit(db.session(), CONFIRMATION_TASK, subscriber.id, preferences.as_dict())


@dataclass(frozen=True)
class Confirmation:
    """What following a confirmation link does: this subscriber gets these preferences."""

    subscriber: Subscriber
    preferences: Preferences


def _same_address(tag: str, subscriber: Subscriber) -> bool:
    return hmac.compare_digest(tag, tokens.address_tag(subscriber.email))


def for_confirm_token(token: str) -> Confirmation:
    """What a confirmation link would do, changing nothing: its page shows this and a button.

    Raises :class:`tokens.InvalidToken` (or ``ExpiredToken``), :class:`InvalidPreferences`,
    and :class:`LinkNotValid` when the link names no current subscriber at the address it was
    mailed to, or was mailed before that address unsubscribed or bounced: an old link must not
    bring back an address that left (a new sign-up mails a new link). The signing time is
    rounded down to the second, so a link mailed in the very second the address left counts
    as older: the safe side.
    """
    asked = tokens.load_confirm_token(token)
    subscriber = db.session.get(Subscriber, asked.subscriber_id)
    if subscriber is None or not _same_address(asked.address, subscriber):
        raise LinkNotValid(token)  # purged after it expired, or the id now names someone else
    suppressed = suppression.entry_for(db.session, subscriber.email)
    if any(left is not None and asked.issued_at < left
           for left in (subscriber.unsubscribed_at, subscriber.bounced_at,
                        suppressed.suppressed_at if suppressed else None)):
        raise LinkNotValid(token)
    return Confirmation(subscriber, parse_preferences(asked.preferences))


def confirm(token: str, now: datetime | None = None) -> Subscriber:
    """Follow a confirmation link (a POST from its page): the address is confirmed with the
    preferences it carries.

    Raises what :func:`for_confirm_token` raises. Confirming twice is harmless. A link
    mailed after the address was suppressed lifts the suppression: it is the fresh proof
    that the mailbox's reader wants the mail (see ``suppression``).
    """
    confirmation = for_confirm_token(token)
    subscriber = confirmation.subscriber
    now = now or utcnow()
    suppression.lift(db.session, subscriber.email)
    if subscriber.status is not SubscriberStatus.CONFIRMED:
        if subscriber.status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED):
            subscriber.token_version += 1  # links from before leaving stop working
        subscriber.status = SubscriberStatus.CONFIRMED
        subscriber.confirmed_at = now
        subscriber.since_at = now
    change_preferences(subscriber, confirmation.preferences, now)
    return subscriber


def for_manage_token(token: str) -> Subscriber:
    """The subscriber a manage or unsubscribe link names; raises if forged or revoked.

    Revoked: the subscriber is gone, their ``token_version`` has moved on, or the row with
    that id now holds another address (ids can be reused after a delete).
    """
    named = tokens.load_manage_token(token)
    subscriber = db.session.get(Subscriber, named.subscriber_id)
    if (subscriber is None or subscriber.token_version != named.version
            or not _same_address(named.address, subscriber)):
        raise LinkNotValid(token)
    return subscriber


def for_address(email: str) -> Subscriber | None:
    """The subscriber with this (normalised) address, if any."""
    return db.session.scalars(sa.select(Subscriber).where(Subscriber.email == email)).first()


def change_preferences(subscriber: Subscriber, preferences: Preferences,
                       now: datetime | None = None) -> None:
    if subscriber.frequency is not preferences.frequency:
        # A new rhythm starts now: the first digest does not repeat what was mailed before.
        subscriber.since_at = now or utcnow()
    subscriber.frequency = preferences.frequency
    subscriber.tags = list(preferences.tags)
    subscriber.partners = list(preferences.partners)
    subscriber.language = preferences.language


def unsubscribe(subscriber: Subscriber, now: datetime | None = None) -> None:
    """Stop all mail at once; doing it again changes nothing (RFC 8058 clients may retry)."""
    if subscriber.status is SubscriberStatus.UNSUBSCRIBED:
        return
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    subscriber.unsubscribed_at = now or utcnow()


def resubscribe(subscriber: Subscriber, now: datetime | None = None) -> bool:
    """Back in from the manage page (its link proves the mailbox is theirs); True if so.

    A suppressed address needs a fresh confirmation instead (a manage link may be older than
    the suppression): one is mailed, the subscriber is left as it is, and False returned.
    """
    if suppression.is_suppressed(db.session, subscriber.email):
        enqueue_after_commit(db.session(), CONFIRMATION_TASK, subscriber.id,
                             Preferences(subscriber.frequency, tuple(subscriber.tags),
                                         tuple(subscriber.partners),
                                         subscriber.language).as_dict())
        return False
    if subscriber.status is SubscriberStatus.CONFIRMED:
        return True
    now = now or utcnow()
    subscriber.status = SubscriberStatus.CONFIRMED
    subscriber.confirmed_at = now
    subscriber.since_at = now
    return True


def mark_bounced(subscriber_ids: Iterable[int], now: datetime | None = None) -> None:
    """The mail server refused these addresses for good: stop mailing them."""
    ids = list(subscriber_ids)
    if ids:
        db.session.execute(
            sa.update(Subscriber)
            .where(Subscriber.id.in_(ids), Subscriber.status == SubscriberStatus.CONFIRMED)
            .values(status=SubscriberStatus.BOUNCED, bounced_at=now or utcnow())
        )


def purge_pending(now: datetime | None = None) -> int:
    """Delete sign-ups never confirmed within the link's lifetime; returns how many."""
    cutoff = (now or utcnow()) - tokens.CONFIRM_MAX_AGE
    result = db.session.execute(
        sa.delete(Subscriber).where(Subscriber.status == SubscriberStatus.PENDING,
                                    Subscriber.requested_at < cutoff)
    )
    db.session.commit()
    return result.rowcount or 0  # type: ignore[attr-defined]
