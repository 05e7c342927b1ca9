"""Sign-up, double opt-in, managing and leaving: through the API, the form and real email."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from service.database import db, utcnow
from service.subscriptions import lifecycle, tokens
from service.subscriptions.models import Frequency, Subscriber, SubscriberStatus
from tests.conftest import wait_for
from tests.mail.smtp import SmtpServer
from tests.subscriptions.helpers import add_subscriber, links


def _subscriber(app: Flask, email: str) -> Subscriber | None:
    with app.app_context():
        row = db.session.query(Subscriber).filter_by(email=email).first()
        db.session.expunge_all()
        db.session.remove()
        return row


def _sign_up(client: FlaskClient, **body: Any) -> Any:
    return client.post("/api/v1/subscriptions", json=body)


def test_subscribe_confirm_manage_and_leave_by_email(
    clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer, celery_worker: Any
) -> None:
    response = _sign_up(client, email=" Reader@Example.ORG ", frequency="weekly",
                        tags=["earth-observation"], partners=["esa"], language="en")
    assert response.status_code == 202, response.get_json()
    pending = _subscriber(clean_app, "reader@example.org")
    assert pending is not None and pending.status is SubscriberStatus.PENDING

    received = wait_for(lambda: smtp_server.to("reader@example.org"))
    msg = received[0].message
    assert msg["Subject"] == "Confirm your Newsroom subscription"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert links(msg, "html")["confirm"] == links(msg)["confirm"]

    page = client.get(links(msg)["confirm"])
    assert page.status_code == 200 and b"You are subscribed" in page.data
    confirmed = _subscriber(clean_app, "reader@example.org")
    assert confirmed is not None and confirmed.status is SubscriberStatus.CONFIRMED
    assert (confirmed.frequency, confirmed.tags, confirmed.partners, confirmed.language) == (
        Frequency.WEEKLY, ["earth-observation"], ["esa"], "en")
    assert client.get(links(msg)["confirm"]).status_code == 200  # a second click is harmless

    manage = links(msg)["manage"]
    assert client.get(manage).status_code == 200
    # A link scanner's GET of the unsubscribe link changes nothing...
    page = client.get(links(msg)["unsubscribe"])
    assert page.status_code == 200 and b"<form" in page.data
    assert _subscriber(clean_app, "reader@example.org").status is SubscriberStatus.CONFIRMED
    # ...the RFC 8058 one-click POST, with no cookie and no CSRF token, unsubscribes at once.
    bare = clean_app.test_client(use_cookies=False)
    response = bare.post(links(msg)["unsubscribe"], data="List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert _subscriber(clean_app, "reader@example.org").status is SubscriberStatus.UNSUBSCRIBED
    assert bare.post(links(msg)["unsubscribe"], data="List-Unsubscribe=One-Click",
                     content_type="application/x-www-form-urlencoded").status_code == 200


def test_the_answer_is_the_same_for_new_pending_and_confirmed(
    clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer, celery_worker: Any
) -> None:
    add_subscriber(clean_app, "known@example.org", "daily")
    answers = []
    for address in ("new@example.org", "new@example.org", "known@example.org"):
        response = _sign_up(client, email=address, frequency="instant")
        answers.append((response.status_code, response.get_data()))
    assert len(set(answers)) == 1 and answers[0][0] == 202
    # A confirmed subscription is not changed by someone signing its address up again: only
    # a link mailed to the address, carrying the new choice, can change it.
    wait_for(lambda: smtp_server.to("known@example.org"))
    known = _subscriber(clean_app, "known@example.org")
    assert known is not None and known.frequency is Frequency.DAILY
    msg = smtp_server.to("known@example.org")[0].message
    assert msg["Subject"] == "Confirm your new Newsroom subscription settings"
    assert client.get(links(msg)["confirm"]).status_code == 200
    assert _subscriber(clean_app, "known@example.org").frequency is Frequency.INSTANT


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": "a@example.org", "frequency": "hourly"}, "frequency"),
        ({"email": "a@example.org", "tags": "esa"}, "tags"),
        ({"email": "a@example.org", "partners": ["Not A Slug"]}, "partners"),
        ({"email": "a@example.org", "language": "english!"}, "language"),
        ({"email": "a@example.org", "admin": True}, "admin"),
        ({}, "email"),
    ],
)
def test_invalid_requests_get_problem_details(client: FlaskClient, body: dict[str, Any],
                                              field: str) -> None:
    response = _sign_up(client, **body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 422 and field in [e["field"] for e in problem["errors"]]


def test_not_json_gets_a_problem(client: FlaskClient) -> None:
    response = client.post("/api/v1/subscriptions", data="email=a@example.org")
    assert response.status_code == 415 and response.mimetype == "application/problem+json"
    response = client.post("/api/v1/subscriptions", data="{oops",
                           content_type="application/json")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_rate_limited_per_address_and_per_client(clean_app: Flask) -> None:
    client = clean_app.test_client()
    for n in range(5):
        assert _sign_up(client, email="target@example.org").status_code == 202, n
    # From another client too: the address itself is protected.
    other = clean_app.test_client()
    response = other.post("/api/v1/subscriptions", json={"email": "TARGET@example.org"},
                          environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 429 and response.mimetype == "application/problem+json"
    # Other addresses from the same client go on, up to the per-client limit.
    statuses = [_sign_up(client, email=f"r{n}@example.org").status_code for n in range(30)]
    assert statuses[:25] == [202] * 25 and statuses[-1] == 429


def _csrf(page: bytes) -> str:
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no CSRF token in the form"
    return match.group(1).decode()


def test_html_form(clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer,
                   celery_worker: Any) -> None:
    page = client.get("/subscribe")
    assert page.status_code == 200
    token = _csrf(page.data)
    assert client.post("/subscribe", data={"email": "x@example.org"}).status_code == 400  # no CSRF
    bad = client.post("/subscribe", data={"csrf_token": token, "email": "nope",
                                          "frequency": "daily"})
    assert bad.status_code == 400 and b"Please correct this" in bad.data
    done = client.post("/subscribe", data={"csrf_token": token, "email": "form@example.org",
                                           "frequency": "instant"})
    assert done.status_code == 200 and b"Check your inbox" in done.data
    msg = wait_for(lambda: smtp_server.to("form@example.org"))[0].message
    assert client.get(links(msg)["confirm"]).status_code == 200
    subscriber = _subscriber(clean_app, "form@example.org")
    assert subscriber is not None and subscriber.frequency is Frequency.INSTANT


def test_manage_page_changes_preferences_and_resubscribes(clean_app: Flask,
                                                          client: FlaskClient) -> None:
    subscriber_id = add_subscriber(clean_app, "m@example.org", "daily")
    with clean_app.app_context():
        path = f"/subscriptions/manage/{tokens.manage_token(subscriber_id, 0)}"
    page = client.get(path)
    assert page.status_code == 200 and b"m@example.org" in page.data
    token = _csrf(page.data)
    saved = client.post(path, data={"csrf_token": token, "action": "save",
                                    "frequency": "weekly", "language": ""})
    assert saved.status_code == 200 and b"Saved." in saved.data
    assert _subscriber(clean_app, "m@example.org").frequency is Frequency.WEEKLY
    assert client.post(path, data={"action": "save", "frequency": "daily"}).status_code == 400
    client.post(path.replace("manage", "unsubscribe"))
    assert _subscriber(clean_app, "m@example.org").status is SubscriberStatus.UNSUBSCRIBED
    again = client.post(path, data={"csrf_token": token, "action": "resubscribe"})
    assert again.status_code == 200
    assert _subscriber(clean_app, "m@example.org").status is SubscriberStatus.CONFIRMED


def _expired_confirm_token(app: Flask, subscriber_id: int) -> str:
    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - tokens.CONFIRM_MAX_AGE.total_seconds() - 60)

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"],
                                        salt="newsroom.subscriptions.confirm", signer=LongAgo)
    return serializer.dumps({"s": subscriber_id, "p": {"frequency": "daily"}})


def test_forged_altered_expired_and_revoked_links(clean_app: Flask, client: FlaskClient) -> None:
    victim = add_subscriber(clean_app, "victim@example.org", "daily")
    with clean_app.app_context():
        manage = tokens.manage_token(victim, 0)
        confirm = tokens.confirm_token(victim, {"frequency": "instant"})
        expired = _expired_confirm_token(clean_app, victim)
        forged = URLSafeTimedSerializer("not-our-key", salt="newsroom.subscriptions.manage"
                                        ).dumps([victim, 0])
    altered = manage[:-2] + ("AA" if not manage.endswith("AA") else "BB")
    other_subscriber = manage.replace(manage.split(".")[0], "WzIsMF0")  # [2,0], same signature
    for path in (f"/subscriptions/unsubscribe/{altered}", f"/subscriptions/manage/{forged}",
                 f"/subscriptions/unsubscribe/{other_subscriber}",
                 f"/subscriptions/unsubscribe/{confirm}",  # a token of another purpose
                 f"/subscriptions/confirm/{manage}", "/subscriptions/confirm/garbage"):
        assert client.post(path).status_code in (400, 405), path
        response = client.get(path)
        assert response.status_code == 400, path
        assert b"not valid" in response.data
    response = client.get(f"/subscriptions/confirm/{expired}")
    assert response.status_code == 400 and b"expired" in response.data
    assert _subscriber(clean_app, "victim@example.org").status is SubscriberStatus.CONFIRMED
    assert _subscriber(clean_app, "victim@example.org").frequency is Frequency.DAILY

    # Leaving and coming back revokes the links mailed before.
    client.post(f"/subscriptions/unsubscribe/{manage}")
    assert client.get(f"/subscriptions/confirm/{confirm}").status_code == 200
    response = client.get(f"/subscriptions/manage/{manage}")
    assert response.status_code == 404 and b"no longer valid" in response.data


def test_pending_sign_ups_expire_and_are_purged(ctx: Flask) -> None:
    prefs = lifecycle.parse_preferences({"frequency": "daily"})
    lifecycle.subscribe("old@example.org", prefs, now=utcnow() - timedelta(hours=49))
    lifecycle.subscribe("fresh@example.org", prefs)
    db.session.commit()
    add_subscriber(ctx, "kept@example.org", "daily")
    assert lifecycle.purge_pending() == 1
    assert sorted(db.session.scalars(db.select(Subscriber.email))) == [
        "fresh@example.org", "kept@example.org"]
