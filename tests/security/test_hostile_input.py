"""NUL bytes, control characters and bidirectional overrides: refused alike everywhere.

PostgreSQL cannot hold NUL, so these run on both databases (the ``app`` fixture's two params):
what SQLite shrugged off was a 500 on PostgreSQL. The editor and the API share one set of text
rules (``service.announcements.text_rules``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from service.announcements.models import Announcement
from tests.editor.conftest import csrf, post
from tests.factories import EditorInfo
from tests.fixtures.data import count

NEW = "/editor/announcements/new"


def _announcements(client: FlaskClient) -> int:
    with client.application.app_context():
        return count(Announcement)


@pytest.mark.parametrize("path", [
    "/tags/a%00b", "/announcements/a%00b", "/partners/a%00b",
    "/feeds/tags/a%00b/rss.xml", "/feeds/partners/a%00b/atom.xml", "/feeds/a%00b",
    "/subscriptions/manage/a%00b", "/api/v1/announcements/a%00b",
])
def test_a_nul_in_the_path_is_a_404(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/?page=1%00", "/api/v1/announcements?tag=a%00b",
                                  "/subscribe?x=%00"])
def test_a_nul_in_the_query_is_a_422(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 422
    if path.startswith("/api/"):
        assert response.mimetype == "application/problem+json"


def test_editor_search_and_save_with_nul(client: FlaskClient,
                                         signed_in: Callable[[str], EditorInfo]) -> None:
    signed_in("editor")
    assert client.get("/editor/announcements?q=%00").status_code == 422
    response = post(client, NEW, NEW, title="Nul\x00title", summary="", body="", language="en",
                    tags="", partners="", save="Save")
    assert response.status_code == 422
    assert _announcements(client) == 0


def test_sign_in_and_sign_up_with_nul(client: FlaskClient) -> None:
    token = csrf(client, "/editor/login")
    response = client.post("/editor/login", data={"csrf_token": token, "email": "a\x00@x.org",
                                                  "password": "whatever-password"})
    assert response.status_code == 422
    token = csrf(client, "/subscribe")
    response = client.post("/subscribe", data={"csrf_token": token, "email": "a\x00@x.org",
                                               "frequency": "daily"})
    assert response.status_code == 422
    response = client.post("/api/v1/subscriptions", json={"email": "a\x00@example.org"})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


HOSTILE_TITLES = {
    "escape": "Launch \x1b[31mred\x1b[0m",
    "bell": "Launch\x07",
    "line separator": "Launch\u2028Reply-To: x",
    "right-to-left override": "Launch \u202egnp.exe",
    "left-to-right embedding": "Launch \u202aok",
    "first strong isolate": "Launch \u2068isolated\u2069",
}


@pytest.mark.parametrize("title", HOSTILE_TITLES.values(), ids=HOSTILE_TITLES.keys())
def test_the_editor_refuses_what_the_api_refuses(
    client: FlaskClient, signed_in: Callable[[str], EditorInfo], title: str
) -> None:
    editor = signed_in("editor")
    api = client.post("/api/v1/announcements", headers=editor.auth,
                      json={"title": title, "status": "draft"})
    assert api.status_code == 422, api.get_json()
    assert api.get_json()["errors"][0]["pointer"] == "#/title"
    form = post(client, NEW, NEW, title=title, summary="", body="", language="en", tags="",
                partners="", save="Save")
    assert form.status_code == 200 and "must" in form.text  # the form again, with its error
    assert _announcements(client) == 0


@pytest.mark.parametrize("field", ["summary", "body"])
def test_control_characters_in_summary_and_body(
    client: FlaskClient, signed_in: Callable[[str], EditorInfo], field: str
) -> None:
    editor = signed_in("editor")
    api = client.post("/api/v1/announcements", headers=editor.auth,
                      json={"title": "Fine", field: "text \x1b here"})
    assert api.status_code == 422
    data = {"title": "Fine", "summary": "", "body": "", "language": "en", "tags": "",
            "partners": "", "save": "Save", field: "text \x1b here"}
    form = post(client, NEW, NEW, **data)
    assert form.status_code == 200 and "control characters" in form.text
    assert _announcements(client) == 0
    # Tabs, newlines and right-to-left text itself are fine.
    data[field] = "سطر أول\n\tسطر ثان"
    assert post(client, NEW, NEW, **data).status_code == 303
