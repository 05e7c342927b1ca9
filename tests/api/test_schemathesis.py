"""Schemathesis against the generated OpenAPI document, through the WSGI app, with a token.

The document is the API's contract; this is the standing check that the app keeps it: cases
generated from the document (valid and invalid ones) must never get a 5xx, and every answer
must be a documented status with the documented content type, headers and body schema.
The budget is fixed (``MAX_EXAMPLES`` per operation, valid and invalid together, no example
database) so a run has the same size every time: about 320 cases on SQLite and PostgreSQL,
well under a minute of test time.

The schema is loaded at import time from :func:`standalone_document` (the served document,
checked equal below), not through ``schemathesis.pytest.from_fixture``: schemathesis 4.32's
lazy fixture loader reads ``Node._nodeid``, which pytest 9.2 no longer has.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi import checks as openapi_checks

from service.api.openapi import standalone_document
from tests.api.conftest import create
from tests.factories import EditorInfo

# Per operation; NEWSROOM_SCHEMATHESIS_EXAMPLES=500 for a longer exploratory run.
MAX_EXAMPLES = int(os.environ.get("NEWSROOM_SCHEMATHESIS_EXAMPLES", "20"))
CHECKS: list[CheckFunction] = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]
# The base URL only names the server in the document; cases go to the app in-process.
DOCUMENT: dict[str, Any] = standalone_document("http://newsroom.test")
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict({
    "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "database": "none"},
}))


def test_the_checked_document_is_the_served_one(client: FlaskClient) -> None:
    served = client.get("/api/v1/openapi.json").get_json()
    assert {**served, "servers": DOCUMENT["servers"]} == DOCUMENT


@schema.parametrize()
# The fixtures hold for the whole run of an operation on purpose: the rows accumulate.
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
def test_the_api_keeps_its_document(case: Case, clean_app: Flask, editor: EditorInfo) -> None:
    if case.operation.path.startswith("/api/v1/announcements/"):
        # Something for the generated ids to find now and then.
        create(clean_app.test_client(), editor, title=f"Seed {case.id}", status="published")
    case.call_and_validate(app=clean_app, headers=editor.auth, checks=CHECKS)
