"""The webhook pages: admins add, change, disable, rotate, test, redeliver and delete endpoints.

Every change goes through the real forms (CSRF token from the page) and is read back from the
database in an app context of its own. No worker is needed: a queued task only has to exist
after commit. When a session worker does run (the whole suite), it may already be trying a
message to the refused loopback port these endpoints use; the assertions allow for that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.database import db, utcnow
from service.outbound.models import OPEN, OutboundDelivery, OutboundStatus
from service.webhooks.models import MessageStatus, WebhookAttempt, WebhookEndpoint, WebhookMessage
from tests import factories
from tests.editor.conftest import csrf, post
from tests.factories import EditorInfo
from tests.fixtures.processes import settle_session_worker

LIST = "/editor/admin/webhooks"
URL = "http://127.0.0.1:9/newsroom"  # the discard port: refused at once, should a worker try
_SECRET = re.compile(r'id="new-secret">([^<]+)<')


@pytest.fixture(autouse=True)
def _settled(clean_app: Flask) -> Iterator[None]:
    """A session worker (if one runs) finishes what a test queued before tables are emptied."""
    yield
    settle_session_worker(clean_app)


def page(endpoint_id: int) -> str:
    return f"{LIST}/{endpoint_id}"


def rows(app: Flask, model: Any, **where: Any) -> list[Any]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(model).filter_by(**where).order_by(model.id)))
        db.session.expunge_all()
        db.session.remove()
    return found


def add(client: FlaskClient, **data: Any) -> TestResponse:
    return client.post(LIST, data={"csrf_token": csrf(client, LIST), **data})


def edit(client: FlaskClient, endpoint_id: int, **data: Any) -> TestResponse:
    return client.post(page(endpoint_id),
                       data={"csrf_token": csrf(client, page(endpoint_id)), **data})


@pytest.mark.parametrize("role", ["editor", "author"])
def test_only_admins_reach_the_webhook_pages(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo],
        role: str) -> None:
    hook = factories.webhook_endpoint(clean_app, URL)
    message = factories.webhook_message(clean_app, hook, MessageStatus.FAILED)
    signed_in(role)
    for path in (LIST, page(hook), f"{page(hook)}/delete"):
        assert client.get(path).status_code == 403
    token = csrf(client, "/editor/")
    for path in (LIST, page(hook), *(f"{page(hook)}/{action}" for action in
                 ("disable", "enable", "rotate", "test", "delete",
                  f"messages/{message}/redeliver"))):
        answer = client.post(path, data={"csrf_token": token, "url": "https://x.example/",
                                         "events": ["webhook.test"]})
        assert answer.status_code == 403, path
    assert len(rows(clean_app, WebhookEndpoint)) == 1
    assert rows(clean_app, WebhookEndpoint)[0].secret not in client.get(page(hook)).text
    assert "Webhooks</a>" not in client.get("/editor/").text


def test_adding_an_endpoint_shows_its_secret_once(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    assert "Webhooks</a>" in client.get("/editor/").text
    answer = add(client, url="  https://hooks.example.org/newsroom ",
                 events=["announcement.published", "announcement.retracted"],
                 description="Partner portal (ESA)")
    assert answer.status_code == 303
    (stored,) = rows(clean_app, WebhookEndpoint)
    assert answer.headers["Location"].endswith(page(stored.id))
    assert stored.url == "https://hooks.example.org/newsroom"
    assert stored.events == ["announcement.published", "announcement.retracted"]
    assert stored.description == "Partner portal (ESA)" and stored.enabled
    with client.session_transaction() as waiting:  # the cookie says what to show, not the secret
        assert stored.secret not in repr(dict(waiting))
    first = client.get(page(stored.id))
    shown = _SECRET.search(first.text)
    assert shown and shown.group(1) == stored.secret and stored.secret.startswith("whsec_")
    assert "will not be shown again" in first.text
    assert "Added https://hooks.example.org/newsroom" in first.text
    assert stored.secret not in client.get(page(stored.id)).text  # never again
    listing = client.get(LIST).text
    assert "https://hooks.example.org/newsroom" in listing and stored.secret not in listing


@pytest.mark.parametrize(("data", "problem"), [
    ({"url": "ftp://hooks.example.org/", "events": ["webhook.test"]},
     "must be an absolute http or https URL"),
    ({"url": "https://user:pw@hooks.example.org/", "events": ["webhook.test"]},
     "must not hold credentials"),
    ({"url": "https://hooks.example.org:99999/", "events": ["webhook.test"]}, "is not a URL"),
    ({"url": "https://hooks.example.org/" + "a" * 2000, "events": ["webhook.test"]},
     "at most 2000"),
    ({"url": "", "events": ["webhook.test"]}, "enter the receiver"),
    ({"url": "https://hooks.example.org/"}, "choose at least one event"),
    ({"url": "https://hooks.example.org/", "events": ["announcement.unscheduled"]},
     "not a valid choice"),
    ({"url": "https://hooks.example.org/", "events": ["webhook.test"],
      "description": "two\nlines"}, "single line"),
])
def test_a_bad_endpoint_is_a_form_error_and_nothing_is_stored(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo],
        data: dict[str, Any], problem: str) -> None:
    signed_in("admin")
    answer = add(client, **data)
    assert answer.status_code == 200
    assert 'class="error"' in answer.text and problem in answer.text
    assert "Nothing was added" in answer.text
    assert rows(clean_app, WebhookEndpoint) == []


def test_editing_an_endpoint(clean_app: Flask, client: FlaskClient,
                             signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    hook = factories.webhook_endpoint(clean_app, URL, description="Old")
    form = client.get(page(hook)).text
    ticked = re.findall(r'<input checked[^>]*value="([a-z.]+)"', form)
    assert ticked == ["announcement.published", "announcement.updated",
                      "announcement.retracted", "announcement.scheduled"]
    assert 'value="Old"' in form
    answer = edit(client, hook, url="https://portal.example.org/hooks",
                  events=["announcement.updated", "webhook.test"], description="Portal")
    assert answer.status_code == 303 and answer.headers["Location"].endswith(page(hook))
    (stored,) = rows(clean_app, WebhookEndpoint)
    assert (stored.url, stored.events, stored.description) == (
        "https://portal.example.org/hooks", ["announcement.updated", "webhook.test"], "Portal")
    refused = edit(client, hook, url="https://portal.example.org/hooks")
    assert refused.status_code == 200 and "choose at least one event" in refused.text
    assert rows(clean_app, WebhookEndpoint)[0].events == ["announcement.updated",
                                                          "webhook.test"]


def test_disabling_shows_the_reason_and_enabling_clears_it(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    me = signed_in("admin")
    hook = factories.webhook_endpoint(clean_app, URL)
    refused = post(client, f"{page(hook)}/disable", page(hook), reason="two\nlines")
    assert refused.status_code == 200 and "single line" in refused.text
    assert f'value="{URL}"' in refused.text  # the settings form as stored, not this POST
    assert rows(clean_app, WebhookEndpoint)[0].enabled
    answer = post(client, f"{page(hook)}/disable", page(hook),
                  reason="partner portal down for maintenance")
    assert answer.status_code == 303
    (stored,) = rows(clean_app, WebhookEndpoint)
    assert not stored.enabled
    assert stored.disabled_reason.startswith(f"disabled by {me.email} on ")
    assert stored.disabled_reason.endswith(": partner portal down for maintenance")
    shown = client.get(page(hook)).text
    assert 'id="disabled-reason"' in shown and "partner portal down for maintenance" in shown
    assert "partner portal down for maintenance" in client.get(LIST).text
    assert post(client, f"{page(hook)}/enable", page(hook)).status_code == 303
    (stored,) = rows(clean_app, WebhookEndpoint)
    assert stored.enabled and stored.disabled_reason is None
    assert 'id="disabled-reason"' not in client.get(page(hook)).text


def test_an_endpoint_disabled_by_a_410_says_why_and_offers_no_redelivery(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    reason = "the endpoint answered 410 Gone on 2025-03-01 10:00:00 UTC (msg_abc)"
    hook = factories.webhook_endpoint(clean_app, URL, enabled=False, disabled_reason=reason)
    gone = factories.webhook_message(clean_app, hook, MessageStatus.GONE, attempts=[(410, None)])
    for path in (LIST, page(hook)):
        assert reason in client.get(path).text
    shown = client.get(page(hook)).text
    assert "enable the endpoint to redeliver" in shown
    assert f"messages/{gone}/redeliver" not in shown and "Send test event" not in shown
    refused = post(client, f"{page(hook)}/messages/{gone}/redeliver", page(hook))
    assert refused.status_code == 303
    assert "enable it first" in client.get(page(hook)).text
    assert post(client, f"{page(hook)}/test", page(hook)).status_code == 303
    (message,) = rows(clean_app, WebhookMessage)
    assert message.status is MessageStatus.GONE  # neither redelivered nor a test message made
    assert rows(clean_app, OutboundDelivery)[0].status is OutboundStatus.GONE


def test_rotating_shows_the_new_secret_once_and_until_when_the_old_one_signs(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    hook = factories.webhook_endpoint(clean_app, URL)
    (before,) = rows(clean_app, WebhookEndpoint)
    assert post(client, f"{page(hook)}/rotate", page(hook)).status_code == 303
    (after,) = rows(clean_app, WebhookEndpoint)
    assert after.secret != before.secret and after.previous_secret == before.secret
    shown = client.get(page(hook)).text
    match = _SECRET.search(shown)
    assert match and match.group(1) == after.secret and before.secret not in shown
    until = after.previous_secret_expires_at
    assert until is not None
    assert f"keeps signing beside it until <strong><time datetime=\"{until.isoformat()}\">" \
        in shown
    again = client.get(page(hook)).text
    assert after.secret not in again and "Rotating: the previous secret also signs" in again


def test_a_test_event_makes_a_webhook_test_message(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    hook = factories.webhook_endpoint(clean_app, URL, events=["announcement.published"])
    answer = post(client, f"{page(hook)}/test", page(hook))
    assert answer.status_code == 303
    (message,) = rows(clean_app, WebhookMessage)
    assert message.type == "webhook.test" and message.endpoint_id == hook
    assert message.payload()["data"]["endpoint_id"] == hook
    (row,) = rows(clean_app, OutboundDelivery)
    assert (row.kind, row.owner_id, row.version) == ("webhook", message.id, message.msg_id)
    shown = client.get(page(hook)).text
    assert f"Queued a test event ({message.msg_id})" in shown and message.msg_id in shown


def test_recent_deliveries_are_listed_newest_first_with_their_attempts(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    hook = factories.webhook_endpoint(clean_app, URL,
                                      failing_since=utcnow() - timedelta(hours=3))
    other = factories.webhook_endpoint(clean_app, "https://other.example.org/")
    failed = factories.webhook_message(
        clean_app, hook, MessageStatus.FAILED,
        attempts=[(503, "HTTP 503"), (None, "ConnectError: connection refused")])
    delivered = factories.webhook_message(clean_app, hook, MessageStatus.DELIVERED,
                                          kind="announcement.updated", attempts=[(200, None)])
    factories.webhook_message(clean_app, other, MessageStatus.FAILED)
    shown = client.get(page(hook)).text
    assert 'id="failing-since"' in shown
    ids = {m.id: m.msg_id for m in rows(clean_app, WebhookMessage)}
    assert shown.index(ids[delivered]) < shown.index(ids[failed])  # newest first
    assert ids[max(ids)] not in shown  # the other endpoint's
    failed_row = shown[shown.index(f'id="message-{failed}"'):]
    assert failed_row.count("<li value=") == 2
    assert "HTTP 503" in failed_row and "ConnectError: connection refused" in failed_row
    assert "HTTP 503: HTTP 503" not in failed_row  # the code, not said twice
    delivered_row = shown[shown.index(f'id="message-{delivered}"'):
                          shown.index(f'id="message-{failed}"')]
    assert "announcement.updated" in delivered_row and "HTTP 200" in delivered_row
    for message in (failed, delivered):
        assert f"messages/{message}/redeliver" in shown
    listing = client.get(LIST).text
    assert "1 delivered" in listing and "1 failed" in listing


def test_the_page_lists_the_latest_fifty_messages(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    hook = factories.webhook_endpoint(clean_app, URL)
    made = [factories.webhook_message(clean_app, hook) for _ in range(51)]
    shown = client.get(page(hook)).text
    assert shown.count('id="message-') == 50
    assert f'id="message-{made[0]}"' not in shown and f'id="message-{made[-1]}"' in shown


def test_redelivering_a_failed_message_keeps_its_webhook_id(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    hook = factories.webhook_endpoint(clean_app, URL)
    failed = factories.webhook_message(clean_app, hook, MessageStatus.FAILED,
                                       attempts=[(500, "HTTP 500")])
    (before,) = rows(clean_app, WebhookMessage)
    (row_before,) = rows(clean_app, OutboundDelivery)
    assert row_before.status is OutboundStatus.FAILED
    answer = post(client, f"{page(hook)}/messages/{failed}/redeliver", page(hook))
    assert answer.status_code == 303 and answer.headers["Location"].endswith(page(hook))
    (after,) = rows(clean_app, WebhookMessage)
    assert after.status is MessageStatus.PENDING and after.msg_id == before.msg_id
    (row,) = rows(clean_app, OutboundDelivery)
    assert row.id == row_before.id and (row.kind, row.owner_id) == ("webhook", failed)
    assert row.version == before.msg_id
    # Pending; a session worker, should one run, may already be trying it (refused port).
    assert row.status in OPEN
    assert len(rows(clean_app, WebhookAttempt, message_id=failed)) >= 1  # history kept
    shown = client.get(page(hook)).text
    assert f"Redelivering {before.msg_id}, with the same webhook-id" in shown


def test_a_pending_message_is_not_redelivered_and_a_strange_one_is_404(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    hook = factories.webhook_endpoint(clean_app, URL)
    other = factories.webhook_endpoint(clean_app, "https://other.example.org/")
    pending = factories.webhook_message(clean_app, hook, MessageStatus.PENDING)
    theirs = factories.webhook_message(clean_app, other, MessageStatus.FAILED)
    assert f"messages/{pending}/redeliver" not in client.get(page(hook)).text
    assert post(client, f"{page(hook)}/messages/{pending}/redeliver", page(hook)
                ).status_code == 303
    assert "still on its way" in client.get(page(hook)).text
    assert post(client, f"{page(hook)}/messages/{theirs}/redeliver", page(hook)
                ).status_code == 404
    assert post(client, f"{page(hook)}/messages/999999/redeliver", page(hook)
                ).status_code == 404
    assert rows(clean_app, WebhookMessage, id=theirs)[0].status is MessageStatus.FAILED


def test_deleting_asks_first_then_removes_the_endpoint_and_its_history(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    hook = factories.webhook_endpoint(clean_app, URL)
    kept = factories.webhook_endpoint(clean_app, "https://other.example.org/")
    factories.webhook_message(clean_app, hook, MessageStatus.FAILED, attempts=[(500, None)])
    factories.webhook_message(clean_app, kept, MessageStatus.DELIVERED)
    confirm = client.get(f"{page(hook)}/delete")
    assert confirm.status_code == 200 and "Its 1 message and their delivery history" in confirm.text
    assert len(rows(clean_app, WebhookEndpoint)) == 2  # asking deletes nothing
    answer = post(client, f"{page(hook)}/delete", f"{page(hook)}/delete")
    assert answer.status_code == 303 and answer.headers["Location"].endswith(LIST)
    assert [e.id for e in rows(clean_app, WebhookEndpoint)] == [kept]
    assert [m.endpoint_id for m in rows(clean_app, WebhookMessage)] == [kept]
    assert len(rows(clean_app, OutboundDelivery)) == 1 and rows(clean_app, WebhookAttempt) == []
    assert "Deleted the endpoint" in client.get(LIST).text
    assert client.get(page(hook)).status_code == 404


def test_a_change_without_the_csrf_token_is_refused(
        clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    hook = factories.webhook_endpoint(clean_app, URL)
    message = factories.webhook_message(clean_app, hook, MessageStatus.FAILED)
    (before,) = rows(clean_app, WebhookEndpoint)
    answer = client.post(LIST, data={"url": "https://x.example.org/", "events": ["webhook.test"]})
    assert answer.status_code == 400 and "The form could not be accepted" in answer.text
    for action in ("disable", "rotate", "test", "delete", f"messages/{message}/redeliver"):
        assert client.post(f"{page(hook)}/{action}", data={"csrf_token": "forged"}
                           ).status_code == 400, action
    assert client.post(page(hook), data={"url": "https://x.example.org/",
                                         "events": ["webhook.test"]}).status_code == 400
    (after,) = rows(clean_app, WebhookEndpoint)
    assert (after.url, after.enabled, after.secret) == (before.url, True, before.secret)
    assert len(rows(clean_app, WebhookMessage)) == 1
    assert rows(clean_app, WebhookMessage)[0].status is MessageStatus.FAILED


def test_an_unknown_endpoint_is_404(client: FlaskClient,
                                    signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("admin")
    for path in (page(999999), f"{page(999999)}/delete", page(2147483648)):
        assert client.get(path).status_code == 404
    for action in ("disable", "enable", "rotate", "test", "delete", "messages/1/redeliver"):
        assert post(client, f"{page(999999)}/{action}", LIST).status_code == 404
