"""The confirmation email: the signed link a sign-up (or a suppressed address asking back in)
is mailed, sent within the shared sending rate (``service.mail.throttle``)."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from redis.exceptions import RedisError

from service import urls
from service.database import db
from service.extensions import get_redis
from service.mail import mailer, throttle, verp
from service.mail.messages import Links, Template, sender_address
from service.subscriptions import tokens
from service.subscriptions.lifecycle import parse_preferences
from service.subscriptions.models import Subscriber, SubscriberStatus


def confirm_url(subscriber_id: int, email: str, preferences: dict[str, Any]) -> str:
    return urls.confirm(tokens.confirm_token(subscriber_id, email, preferences))


def send_confirmation(subscriber_id: int, preferences: dict[str, Any]) -> bool:
    """Mail the confirmation link; False when there is no one to mail or the server refused.

    Raises :class:`mailer.Deferred` when the server cannot take it now (the task retries).
    A confirmation lost to an uncertain send is not retried: the reader can ask again.
    """
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        db.session.rollback()
        return False
    base_url = current_app.config["BASE_URL"]
    mail_from = current_app.config["SETTINGS"].mail_from
    senders = verp.Senders(sender_address(mail_from))
    wanted = parse_preferences(preferences)
    manage = tokens.manage_token(subscriber.id, subscriber.token_version, subscriber.email)
    template = Template(
        "confirm",
        {"confirm_url": confirm_url(subscriber.id, subscriber.email, wanted.as_dict()),
         "preferences": wanted,
         "already": subscriber.status is SubscriberStatus.CONFIRMED, "base_url": base_url,
         "max_age_hours": int(tokens.CONFIRM_MAX_AGE.total_seconds() // 3600)},
        mail_from=mail_from, domain=urlsplit(base_url).hostname or "localhost",
    )
    links = Links(manage=urls.manage(manage), unsubscribe=urls.unsubscribe(manage),
                  unsubscribe_mailto=urls.unsubscribe_mailto(senders.unsubscribe_address, manage))
    _, data = template.personalise(subscriber.email, links)
    address = subscriber.email
    sender = senders.make(subscriber.id, None, address)  # VERP: a bounce names the subscriber
    db.session.rollback()
    limits = throttle.Throttle(get_redis(), throttle.configured_rates())
    try:
        limits.wait_turn(address)
    except RedisError as exc:
        raise mailer.Deferred(f"the sending rate cannot be checked (Redis): {exc}") from exc
    try:
        with mailer.open_transport() as transport:
            return transport.send(data, sender, address, eight_bit=template.eight_bit)
    except mailer.Deferred as exc:
        if exc.slow_down:
            with contextlib.suppress(RedisError):
                limits.slow_down()
        raise
    except mailer.Rejected as exc:
        current_app.logger.warning("confirmation to subscriber %d refused: %s", subscriber_id, exc)
        return False
    except mailer.Uncertain as exc:
        current_app.logger.warning("confirmation to subscriber %d uncertain: %s", subscriber_id,
                                   exc)
        return False
