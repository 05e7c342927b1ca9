"""Ids past what an integer column holds are a 404 problem for every method a path supports.

werkzeug's ``int`` converter with ``max`` failed only the first rule it tried, and the router
went on to the path's other rules: ``PATCH /announcements/2147483648`` answered 405 (GET
allowed), as if the announcement existed but could not be edited.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.url_numbers import MAX_INT
from tests.api.conftest import create, problem
from tests.factories import EditorInfo

TOO_BIG = [str(MAX_INT + 1), "9" * 30]


def _id_routes(app: Flask) -> list[tuple[str, str]]:
    """(path template, method) of every API route with an id in its path."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and "<int:" in rule.rule:
            template = re.sub(r"<int:\w+>", "{id}", rule.rule)
            routes += [(template, m) for m in sorted(rule.methods - {"OPTIONS"})]
    return routes


@pytest.mark.parametrize("number", TOO_BIG)
def test_an_id_past_the_bound_is_a_404_for_every_supported_method(
    clean_app: Flask, client: FlaskClient, editor: EditorInfo, number: str
) -> None:
    routes = _id_routes(clean_app)
    assert ("/api/v1/announcements/{id}", "PATCH") in routes and len(routes) >= 7
    for template, method in routes:
        path = template.format(id=number)
        response = client.open(path, method=method, json={}, headers=editor.auth)
        if method == "HEAD":
            assert response.status_code == 404, (method, path)
            continue
        assert problem(response, 404)["instance"] == path, (method, path)


def test_the_largest_id_is_an_ordinary_404_and_other_methods_stay_405(
    client: FlaskClient, editor: EditorInfo
) -> None:
    base = "/api/v1/announcements"
    problem(client.patch(f"{base}/{MAX_INT}", json={"title": "x"}, headers=editor.auth), 404)
    problem(client.post(f"{base}/{MAX_INT}/publish", headers=editor.auth), 404)
    for number in (MAX_INT, MAX_INT + 1):
        wrong = client.delete(f"{base}/{number}", headers=editor.auth)
        problem(wrong, 405)
        assert {"GET", "PATCH"} <= set(wrong.headers["Allow"].split(", "))
        problem(client.get(f"{base}/{number}/publish", headers=editor.auth), 405)
    item = create(client, editor, title="Still editable")
    assert client.patch(f"{base}/{item['id']}", json={"summary": "s"},
                        headers=editor.auth).status_code == 200
