"""Random JSON thrown at the write endpoints: any answer but a 5xx, and errors as problems."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_from_bytes

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import PROBLEM, create
from tests.factories import EditorInfo

API = "/api/v1/announcements"
FIELDS = ["title", "summary", "body", "language", "tags", "partners", "status", "publish_at",
          "slug", "id", "created_at"]

# Any Unicode, lone surrogates and control characters included.
text = st.text(st.characters(exclude_categories=()), max_size=40)
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False) | text)
plausible = st.sampled_from([
    "draft", "scheduled", "published", "retracted", "en", "pt-BR", "remote-sensing", "esa", "",
    " ", "x" * 301, "2030-01-01T00:00:00Z", "2030-01-01T00:00:00", "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00", (datetime.now(UTC) + timedelta(days=3)).isoformat(),
])
json_values = st.recursive(
    scalars | plausible,
    lambda inner: st.lists(inner, max_size=25) | st.dictionaries(text, inner, max_size=5),
    max_leaves=30,
)
payloads = st.dictionaries(st.sampled_from(FIELDS) | text, json_values, max_size=8) | json_values
FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _check(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.mimetype == PROBLEM
        assert response.get_json()["status"] == response.status_code


@FUZZ
@given(payload=payloads)
def test_post_never_5xx(client: FlaskClient, editor: EditorInfo, payload: Any) -> None:
    _check(client.post(API, data=json.dumps(payload), headers={
        **editor.auth, "Content-Type": "application/json"}))


@FUZZ
@given(payload=payloads, action=st.sampled_from(["", "/publish", "/schedule", "/unschedule",
                                                 "/retract"]))
def test_patch_and_actions_never_5xx(
    client: FlaskClient, editor: EditorInfo, payload: Any, action: str
) -> None:
    item = _fixed_item(client, editor)
    method = client.patch if action == "" else client.post
    _check(method(f"{API}/{item}{action}", data=json.dumps(payload),
                  headers={**editor.auth, "Content-Type": "application/json"}))


@FUZZ
@given(raw=st.binary(max_size=200), content_type=st.sampled_from(
    ["application/json", "application/merge-patch+json", "text/plain", ""]))
def test_raw_bytes_never_5xx(
    client: FlaskClient, editor: EditorInfo, raw: bytes, content_type: str
) -> None:
    _check(client.post(API, data=raw, headers={**editor.auth, "Content-Type": content_type}))


names = st.sampled_from([b"page", b"per_page", b"status", b"tag", b"partner"]) | st.binary(
    max_size=8)
values = st.sampled_from([b"1", b"0", b"-1", b"100", b"101", b"1e3", b"99999999999999999999",
                          b"draft", b"esa", b""]) | st.binary(max_size=12)


@FUZZ
@given(pairs=st.lists(st.tuples(names, values), max_size=5))
def test_listing_query_never_5xx(client: FlaskClient, editor: EditorInfo,
                                 pairs: list[tuple[bytes, bytes]]) -> None:
    # Raw bytes, percent-encoded: invalid UTF-8 in a query string is fair game too.
    query = "&".join(f"{quote_from_bytes(k)}={quote_from_bytes(v)}" for k, v in pairs)
    _check(client.get(f"{API}?{query}", headers=editor.auth))
    _check(client.get(f"{API}?{query}"))


_items: dict[str, int] = {}


def _fixed_item(client: FlaskClient, editor: EditorInfo) -> int:
    """One announcement per test (per editor token), created on the first example."""
    if editor.token not in _items:
        _items[editor.token] = create(client, editor, title="Fuzz target")["id"]
    return _items[editor.token]
