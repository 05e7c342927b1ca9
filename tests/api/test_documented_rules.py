"""The OpenAPI document states the bounds and text rules the API enforces, and states them right.

A client (or schemathesis) should learn from the document, not from a 422, that ids stop at
2**31 - 1, what a title may hold and how publish_at and scheduling work. Each stated rule is
checked against the code that enforces it, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from service.announcements import text_rules
from service.api import documented_rules as rules
from service.url_numbers import MAX_INT
from tests.api.conftest import pointers, problem
from tests.factories import EditorInfo

# Any character, weighted towards the ones the rules are about.
SPECIAL = "\x00\t\n\r\x1f\x7f\x85\xa0\u2028\u2029\u202a\u202e\u2066\u2069\u200f\ufeff \ud800"
chars = st.characters(codec=None, exclude_categories=()) | st.sampled_from(SPECIAL)
texts = st.text(chars, max_size=12)


def _document(client: FlaskClient) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def _schema(document: dict[str, Any], name: str) -> jsonschema.Validator:
    return jsonschema.Draft202012Validator({**document, "$ref": f"#/components/schemas/{name}"},
                                           format_checker=jsonschema.FormatChecker())


def test_ids_and_pages_state_their_maximum(client: FlaskClient) -> None:
    document = _document(client)
    id_params = [p for ops in document["paths"].values() for op in ops.values()
                 for p in op["parameters"] if p["in"] == "path"]
    assert len(id_params) >= 6
    for param in id_params:
        assert param["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_INT}
        assert str(MAX_INT) in param["description"]
    listing = {p["name"]: p["schema"] for p in
               document["paths"]["/api/v1/announcements"]["get"]["parameters"]}
    assert listing["page"]["maximum"] == 1_000_000 and listing["per_page"]["maximum"] == 100
    schemas = document["components"]["schemas"]
    assert schemas["Announcement"]["properties"]["id"]["maximum"] == MAX_INT
    assert schemas["AnnouncementPage"]["properties"]["page"]["maximum"] == 1_000_000


def test_title_publish_at_and_scheduling_rules_are_stated(client: FlaskClient) -> None:
    document = _document(client)
    create = document["components"]["schemas"]["AnnouncementCreate"]
    title = create["properties"]["title"]
    assert (title["minLength"], title["maxLength"]) == (1, 300)
    assert title["pattern"] == rules.TITLE_PATTERN and "U+202E" in title["description"]
    for model in ("AnnouncementUpdate", "ScheduleRequest"):
        publish_at = document["components"]["schemas"][model]["properties"]["publish_at"]
        assert publish_at["pattern"] == rules.TIMESTAMP_PATTERN
        assert "later than the server's clock" in publish_at["description"]
    validator = _schema(document, "AnnouncementCreate")
    soon = "2999-01-31T09:00:00Z"
    assert validator.is_valid({"title": "Embargoed", "status": "scheduled", "publish_at": soon})
    assert validator.is_valid({"title": "Draft", "publish_at": None})
    assert not validator.is_valid({"title": "No time", "status": "scheduled"})
    assert not validator.is_valid({"title": "Time, no schedule", "publish_at": soon})
    assert not validator.is_valid({"title": "No offset", "status": "scheduled",
                                   "publish_at": "2999-01-31T09:00:00"})
    assert not validator.is_valid({"title": "Over\u202eride"})
    assert not validator.is_valid({"title": "Two\nlines"})
    assert not validator.is_valid({"title": "x" * 301})


@pytest.mark.parametrize(("fields", "pointer"), [
    ({"title": "No time", "status": "scheduled"}, "#/publish_at"),
    ({"title": "Time, no schedule", "publish_at": "2999-01-31T09:00:00Z"}, "#/publish_at"),
    ({"title": "Past", "status": "scheduled", "publish_at": "2000-01-31T09:00:00Z"},
     "#/publish_at"),
    ({"title": "No offset", "status": "scheduled", "publish_at": "2999-01-31T09:00:00"},
     "#/publish_at"),
    ({"title": "Over\u202eride"}, "#/title"),
    ({"title": "Iso\u2066late"}, "#/title"),
])
def test_what_the_document_refuses_the_api_refuses(
    client: FlaskClient, editor: EditorInfo, fields: dict[str, Any], pointer: str
) -> None:
    response = client.post("/api/v1/announcements", json=fields, headers=editor.auth)
    assert pointer in pointers(problem(response, 422, "validation"))


@settings(max_examples=400, deadline=None, database=None)
@given(value=texts)
def test_the_title_pattern_is_the_title_rule(value: str) -> None:
    # For titles sent without surrounding whitespace (the server strips it; the document asks
    # for none), the pattern and the enforced rule agree exactly.
    stated = re.fullmatch(rules.TITLE_PATTERN, value) is not None
    enforced = value == value.strip() and value != "" and text_rules.title_problem(value) is None
    assert stated == enforced


@settings(max_examples=400, deadline=None, database=None)
@given(value=texts)
def test_the_text_pattern_is_the_summary_and_body_rule(value: str) -> None:
    stated = re.fullmatch(rules.TEXT_PATTERN, value) is not None
    assert stated == (text_rules.text_problem(value) is None)


@pytest.mark.parametrize(("value", "valid"), [
    ("2030-01-31T09:00:00Z", True), ("2030-01-31t09:00:00.123456789+05:30", True),
    ("2030-01-31T09:00:00-00:00", True), ("2030-01-31T09:00:00", False),
    ("2030-01-31", False), ("1893456000", False), ("2030-01-31T09:00Z", False),
])
def test_the_timestamp_pattern_is_rfc_3339_with_an_offset(value: str, valid: bool) -> None:
    assert (re.fullmatch(rules.TIMESTAMP_PATTERN, value) is not None) == valid
