"""Sign-up, double opt-in, managing and leaving: through the API, the form and real email."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from service.database import db, utcnow
from service.subscriptions import lifecycle, tokens
from service.subscriptions.models import Frequency, Subscriber, SubscriberStatus
from tests import factories
from tests.mail.smtp import SmtpServer
from tests.subscriptions.helpers import csrf_token, follow_confirm_link, links
from tests.waiting import wait_for


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
    pending = wait_for(lambda: _subscriber(clean_app, "reader@example.org"))  # a worker's row
    assert pending.status is SubscriberStatus.PENDING

    received = wait_for(lambda: smtp_server.to("reader@example.org"))
    msg = received[0].message
    assert msg["Subject"] == "Confirm your Newsroom subscription"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert links(msg, "html")["confirm"] == links(msg)["confirm"]

    page = follow_confirm_link(client, links(msg)["confirm"])
    assert page.status_code == 200 and b"You are subscribed" in page.data
    confirmed = _subscriber(clean_app, "reader@example.org")
    assert confirmed is not None and confirmed.status is SubscriberStatus.CONFIRMED
    assert (confirmed.frequency, confirmed.tags, confirmed.partners, confirmed.language) == (
        Frequency.WEEKLY, ["earth-observation"], ["esa"], "en")
    # A second click is harmless.
    assert follow_confirm_link(client, links(msg)["confirm"]).status_code == 200

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
    factories.subscriber(clean_app, "known@example.org", "daily")
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
    assert follow_confirm_link(client, links(msg)["confirm"]).status_code == 200
    assert _subscriber(clean_app, "known@example.org").frequency is Frequency.INSTANT


def _statements_of(app: Flask, request: Callable[[], Any]) -> list[str]:
    """The SQL statements (their text, without values) that one request runs in this thread
    (the session's worker runs in another thread of this process, on the same engine)."""
    seen: list[str] = []
    me = threading.get_ident()

    def note(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == me:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return seen


@pytest.mark.parametrize("via", ["api", "form"])
def test_a_sign_up_request_does_the_same_work_for_every_address(
    clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer, celery_worker: Any, via: str
) -> None:
    """Timing must not tell a new address from a known one: the request runs the very same
    statements for both (one outbox insert); looking the address up is a worker's job."""
    factories.subscriber(clean_app, "known@example.org", "daily")
    factories.subscriber(clean_app, "pending@example.org", "daily", status=SubscriberStatus.PENDING)
    token = csrf_token(client.get("/subscribe").data)

    def sign_up(address: str) -> Callable[[], Any]:
        def send() -> Any:
            if via == "api":
                response = _sign_up(client, email=address, frequency="daily")
                assert response.status_code == 202
            else:
                response = client.post("/subscribe", data={
                    "csrf_token": token, "email": address, "frequency": "daily"})
                assert response.status_code == 200
        return send

    work = {address: _statements_of(clean_app, sign_up(address))
            for address in ("new@example.org", "known@example.org", "pending@example.org")}
    assert work["new@example.org"] == work["known@example.org"] == work["pending@example.org"]
    assert not any("subscribers" in statement.lower() for statement in work["new@example.org"])
    for address in work:  # and every one still gets its confirmation, from the worker
        wait_for(lambda a=address: smtp_server.to(a))


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
    # The announcements API's shape: one {pointer, detail} per field (RFC 9457 extension).
    assert problem["status"] == 422
    assert any(e["pointer"].split("/")[1] == field for e in problem["errors"])
    assert all(set(e) == {"pointer", "detail"} for e in problem["errors"])


def test_not_json_gets_a_problem(client: FlaskClient) -> None:
    response = client.post("/api/v1/subscriptions", data="email=a@example.org")
    assert response.status_code == 415 and response.mimetype == "application/problem+json"
    response = client.post("/api/v1/subscriptions", data="{oops",
                           content_type="application/json")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_a_body_over_the_limit_gets_a_problem(clean_app: Flask, client: FlaskClient) -> None:
    limit = clean_app.config["MAX_CONTENT_LENGTH"]
    body = b'{"email": "a@example.org", "tags": ["' + b"x" * limit + b'"]}'
    response = client.post("/api/v1/subscriptions", data=body, content_type="application/json")
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 413 and str(limit) in problem["detail"]


@pytest.mark.parametrize("body", ["[" * 100_000, '{"email": ' + "[" * 100_000,
                                  '{"email": "a@example.org", "tags": ' + "{\"a\": " * 50_000])
def test_deeply_nested_json_gets_a_problem_not_a_500(client: FlaskClient, body: str) -> None:
    # json raises RecursionError here, not ValueError: neither the per-address rate-limit key
    # (read before the view) nor the view may let it through.
    response = client.post("/api/v1/subscriptions", data=body, content_type="application/json")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400


def test_rate_limited_per_address_and_per_client(clean_app: Flask) -> None:
    client = clean_app.test_client()
    for n in range(5):
        assert _sign_up(client, email="target@example.org").status_code == 202, n
    # From another client too: the address itself is protected.
    other = clean_app.test_client()
    response = other.post("/api/v1/subscriptions", json={"email": "TARGET@example.org"},
                          environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 429 and response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 429 and "Retry-After" in response.headers
    # Other addresses from the same client go on, up to the per-client limit.
    statuses = [_sign_up(client, email=f"r{n}@example.org").status_code for n in range(30)]
    assert statuses[:25] == [202] * 25 and statuses[-1] == 429


def test_html_form(clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer,
                   celery_worker: Any) -> None:
    page = client.get("/subscribe")
    assert page.status_code == 200
    token = csrf_token(page.data)
    assert client.post("/subscribe", data={"email": "x@example.org"}).status_code == 400  # no CSRF
    bad = client.post("/subscribe", data={"csrf_token": token, "email": "nope",
                                          "frequency": "daily"})
    assert bad.status_code == 400 and b"Please correct this" in bad.data
    done = client.post("/subscribe", data={"csrf_token": token, "email": "form@example.org",
                                           "frequency": "instant"})
    assert done.status_code == 200 and b"Check your inbox" in done.data
    msg = wait_for(lambda: smtp_server.to("form@example.org"))[0].message
    assert follow_confirm_link(client, links(msg)["confirm"]).status_code == 200
    subscriber = _subscriber(clean_app, "form@example.org")
    assert subscriber is not None and subscriber.frequency is Frequency.INSTANT


def test_manage_page_changes_preferences_and_resubscribes(clean_app: Flask,
                                                          client: FlaskClient) -> None:
    subscriber_id = factories.subscriber(clean_app, "m@example.org", "daily")
    with clean_app.app_context():
        path = f"/subscriptions/manage/{tokens.manage_token(subscriber_id, 0, 'm@example.org')}"
    page = client.get(path)
    assert page.status_code == 200 and b"m@example.org" in page.data
    token = csrf_token(page.data)
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


def _confirm_token_signed_ago(app: Flask, seconds: float, subscriber_id: int, email: str,
                              frequency: str = "daily") -> str:
    """A genuine confirmation token, signed ``seconds`` ago."""
    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - seconds)

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"],
                                        salt="newsroom.subscriptions.confirm", signer=Earlier)
    return serializer.dumps({"s": subscriber_id, "a": tokens.address_tag(email),
                             "p": {"frequency": frequency}})


def _after_the_second_of(moment: datetime) -> None:
    """Signing times are whole seconds: wait until one is past ``moment``."""
    wait_for(lambda: time.time() >= int(moment.timestamp()) + 1, timeout=3)


def test_forged_altered_expired_and_revoked_links(clean_app: Flask, client: FlaskClient) -> None:
    victim = factories.subscriber(clean_app, "victim@example.org", "daily")
    with clean_app.app_context():
        manage = tokens.manage_token(victim, 0, "victim@example.org")
        confirm = tokens.confirm_token(victim, "victim@example.org", {"frequency": "instant"})
        expired = _confirm_token_signed_ago(
            clean_app, tokens.CONFIRM_MAX_AGE.total_seconds() + 60, victim, "victim@example.org")
        tag = tokens.address_tag("victim@example.org")
        forged = URLSafeTimedSerializer("not-our-key", salt="newsroom.subscriptions.manage"
                                        ).dumps([victim, 0, tag])
        # Genuine, in the shape used before links named an address: refused as well.
        two_part = URLSafeTimedSerializer(clean_app.config["SECRET_KEY"],
                                          salt="newsroom.subscriptions.manage").dumps([victim, 0])
    altered = manage[:-2] + ("AA" if not manage.endswith("AA") else "BB")
    other_subscriber = manage.replace(manage.split(".")[0], "WzIsMF0")  # [2,0], same signature
    form_token = csrf_token(client.get("/subscribe").data)  # so POSTs reach the link check
    for path in (f"/subscriptions/unsubscribe/{altered}", f"/subscriptions/manage/{forged}",
                 f"/subscriptions/unsubscribe/{other_subscriber}",
                 f"/subscriptions/unsubscribe/{two_part}",
                 f"/subscriptions/unsubscribe/{confirm}",  # a token of another purpose
                 f"/subscriptions/confirm/{manage}", "/subscriptions/confirm/garbage"):
        response = client.post(path, data={"csrf_token": form_token, "action": "save",
                                           "List-Unsubscribe": "One-Click"})
        assert response.status_code == 400 and b"not valid" in response.data, path
        response = client.get(path)
        assert response.status_code == 400, path
        assert b"not valid" in response.data
    response = client.get(f"/subscriptions/confirm/{expired}")
    assert response.status_code == 400 and b"expired" in response.data
    assert _subscriber(clean_app, "victim@example.org").status is SubscriberStatus.CONFIRMED
    assert _subscriber(clean_app, "victim@example.org").frequency is Frequency.DAILY

    # Leaving revokes the confirmation links mailed before; coming back (with a link mailed
    # after leaving) revokes the manage links mailed before.
    assert client.post(f"/subscriptions/unsubscribe/{manage}").status_code == 200
    left = _subscriber(clean_app, "victim@example.org")
    assert left is not None and left.unsubscribed_at is not None
    assert client.get(f"/subscriptions/confirm/{confirm}").status_code == 404
    _after_the_second_of(left.unsubscribed_at)
    with clean_app.app_context():
        again = tokens.confirm_token(victim, "victim@example.org", {"frequency": "instant"})
    assert follow_confirm_link(client, f"/subscriptions/confirm/{again}").status_code == 200
    assert _subscriber(clean_app, "victim@example.org").status is SubscriberStatus.CONFIRMED
    response = client.get(f"/subscriptions/manage/{manage}")
    assert response.status_code == 404 and b"no longer valid" in response.data


def test_opening_a_confirmation_link_changes_nothing(
    clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer, celery_worker: Any
) -> None:
    """Mail scanners fetch every link: only the page's button (a POST) confirms."""
    factories.subscriber(clean_app, "known@example.org", "daily")
    for address in ("new@example.org", "known@example.org"):
        assert _sign_up(client, email=address, frequency="instant").status_code == 202
    scanner = clean_app.test_client(use_cookies=False)
    pages = {}
    for address in ("new@example.org", "known@example.org"):
        path = links(wait_for(lambda a=address: smtp_server.to(a))[0].message)["confirm"]
        pages[path] = scanner.get(path)
        scanner.get(path)  # and again
        assert scanner.post(path).status_code == 400  # a POST without the page's CSRF token
    pending = _subscriber(clean_app, "new@example.org")
    assert pending is not None and pending.status is SubscriberStatus.PENDING
    assert pending.confirmed_at is None
    known = _subscriber(clean_app, "known@example.org")
    assert known is not None and known.frequency is Frequency.DAILY
    for path, page in pages.items():  # what was shown: a form posting back, with a button
        assert page.status_code == 200 and b"Confirm my subscription</button>" in page.data
        assert f'<form method="post" action="{path}">'.encode() in page.data

    assert follow_confirm_link(client, path).status_code == 200  # known's link, pressed
    assert _subscriber(clean_app, "known@example.org").frequency is Frequency.INSTANT


def test_an_old_confirmation_link_cannot_bring_back_an_address_that_left(
    clean_app: Flask, client: FlaskClient, smtp_server: SmtpServer, celery_worker: Any
) -> None:
    assert _sign_up(client, email="leaver@example.org", frequency="daily").status_code == 202
    first = wait_for(lambda: smtp_server.to("leaver@example.org"))[0].message
    confirm = links(first)["confirm"]
    assert follow_confirm_link(client, confirm).status_code == 200
    # One click in the mail client (RFC 8058), no cookie.
    bare = clean_app.test_client(use_cookies=False)
    assert bare.post(links(first)["unsubscribe"], data="List-Unsubscribe=One-Click",
                     content_type="application/x-www-form-urlencoded").status_code == 200
    left = _subscriber(clean_app, "leaver@example.org")
    assert left is not None and left.status is SubscriberStatus.UNSUBSCRIBED

    # The old confirmation link, opened (a scanner) or posted (a replayed form): refused.
    page = client.get(confirm)
    assert page.status_code == 404 and b"no longer valid" in page.data
    form_token = csrf_token(client.get("/subscribe").data)
    page = client.post(confirm, data={"csrf_token": form_token})
    assert page.status_code == 404 and b"no longer valid" in page.data
    assert _subscriber(clean_app, "leaver@example.org").status is SubscriberStatus.UNSUBSCRIBED

    # Signing up again mails a new link, and that one works.
    assert left.unsubscribed_at is not None
    _after_the_second_of(left.unsubscribed_at)
    assert _sign_up(client, email="leaver@example.org", frequency="weekly").status_code == 202
    second = wait_for(lambda: smtp_server.to("leaver@example.org")[1:])[0].message
    assert links(second)["confirm"] != confirm
    assert follow_confirm_link(client, links(second)["confirm"]).status_code == 200
    back = _subscriber(clean_app, "leaver@example.org")
    assert back is not None and back.status is SubscriberStatus.CONFIRMED
    assert back.frequency is Frequency.WEEKLY


def test_a_confirmation_link_from_before_a_bounce_is_refused(clean_app: Flask,
                                                             client: FlaskClient) -> None:
    subscriber_id = factories.subscriber(clean_app, "gone@example.org", "daily")
    with clean_app.app_context():
        old = _confirm_token_signed_ago(clean_app, 60, subscriber_id, "gone@example.org",
                                        "instant")
        lifecycle.mark_bounced([subscriber_id])
        db.session.commit()
    response = client.get(f"/subscriptions/confirm/{old}")
    assert response.status_code == 404 and b"no longer valid" in response.data
    form_token = csrf_token(client.get("/subscribe").data)
    assert client.post(f"/subscriptions/confirm/{old}",
                       data={"csrf_token": form_token}).status_code == 404
    bounced = _subscriber(clean_app, "gone@example.org")
    assert bounced is not None and bounced.status is SubscriberStatus.BOUNCED


def test_links_name_an_address_so_a_reused_id_inherits_none(clean_app: Flask,
                                                             client: FlaskClient) -> None:
    """SQLite reuses the highest id after a delete: a purged sign-up's links must not reach
    whoever gets its id next."""
    first_id = factories.subscriber(clean_app, "first@example.org", "daily",
                              status=SubscriberStatus.PENDING)
    with clean_app.app_context():
        manage = tokens.manage_token(first_id, 0, "first@example.org")
        confirm = tokens.confirm_token(first_id, "first@example.org", {"frequency": "instant"})
        db.session.execute(sa.delete(Subscriber).where(Subscriber.id == first_id))
        now = utcnow()
        db.session.add(Subscriber(id=first_id, email="second@example.org",
                                  status=SubscriberStatus.CONFIRMED, frequency=Frequency.DAILY,
                                  tags=[], partners=[], confirmed_at=now, since_at=now))
        db.session.commit()
        own = tokens.manage_token(first_id, 0, "second@example.org")
        db.session.remove()

    form_token = csrf_token(client.get("/subscribe").data)
    for path in (f"/subscriptions/manage/{manage}", f"/subscriptions/unsubscribe/{manage}",
                 f"/subscriptions/confirm/{confirm}"):
        response = client.get(path)
        assert response.status_code == 404 and b"no longer valid" in response.data, path
        response = client.post(path, data={"csrf_token": form_token, "action": "save",
                                           "frequency": "weekly"})
        assert response.status_code == 404, path
    bare = clean_app.test_client(use_cookies=False)
    assert bare.post(f"/subscriptions/unsubscribe/{manage}", data="List-Unsubscribe=One-Click",
                     content_type="application/x-www-form-urlencoded").status_code == 404
    second = _subscriber(clean_app, "second@example.org")
    assert second is not None and second.id == first_id
    assert (second.status, second.frequency) == (SubscriberStatus.CONFIRMED, Frequency.DAILY)
    # Their own links work.
    assert client.get(f"/subscriptions/manage/{own}").status_code == 200


def test_pending_sign_ups_expire_and_are_purged(ctx: Flask) -> None:
    prefs = lifecycle.parse_preferences({"frequency": "daily"})
    lifecycle.subscribe("old@example.org", prefs, now=utcnow() - timedelta(hours=49))
    lifecycle.subscribe("fresh@example.org", prefs)
    db.session.commit()
    factories.subscriber(ctx, "kept@example.org", "daily")
    assert lifecycle.purge_pending() == 1
    assert sorted(db.session.scalars(db.select(Subscriber.email))) == [
        "fresh@example.org", "kept@example.org"]
