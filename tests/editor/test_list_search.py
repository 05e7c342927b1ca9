"""The editors' list searches summaries and bodies too, in every status."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from service.announcements.models import Status
from tests import factories
from tests.factories import EditorInfo


def test_list_search_finds_words_of_the_summary_and_body(
    clean_app: Flask, client: FlaskClient, signed_in: Callable[[str], EditorInfo]
) -> None:
    factories.announcement(clean_app, "Draft one", status=Status.DRAFT,
                           body="The **Kourou** launch site hosts the campaign.")
    factories.announcement(clean_app, "Published two", summary="From Kourou, in May.")
    factories.announcement(clean_app, "Unrelated three", body="Baikonur.")
    signed_in("editor")

    def titles(query: str) -> list[str]:
        response = client.get("/editor/announcements", query_string={"q": query})
        assert response.status_code == 200
        return sorted(re.findall(r'<th scope="row"><a [^>]*>([^<]*)</a>', response.text))

    assert titles("kourou") == ["Draft one", "Published two"]
    assert titles("launch site") == ["Draft one"]
    assert titles("**Kourou**") == ["Draft one"]  # the Markdown as written
    assert titles("baikonur") == ["Unrelated three"]
