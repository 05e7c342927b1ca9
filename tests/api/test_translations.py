"""Translations by API: ``translation_of`` on create and PATCH, ``translations`` in answers."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.api.conftest import create, pointers, post, problem
from tests.factories import EditorInfo

API = "/api/v1/announcements"


def test_create_links_and_every_version_lists_the_others(client: FlaskClient,
                                                         editor: EditorInfo) -> None:
    en = create(client, editor, title="Relay agreement", status="published")
    ar = create(client, editor, title="اتفاقية الترحيل", language="ar", status="published",
                translation_of=en["id"])
    assert [t["id"] for t in ar["translations"]] == [en["id"]]
    fr = create(client, editor, title="Accord relais", language="fr", translation_of=ar["id"])
    ar = client.get(f"{API}/{ar['id']}", headers=editor.auth).get_json()
    assert [(t["language"], t["status"]) for t in ar["translations"]] == [
        ("en", "published"), ("fr", "draft")]
    assert ar["translations"][0]["url"].endswith("/announcements/relay-agreement")
    seen = client.get(f"{API}/{en['id']}", headers=editor.auth).get_json()
    assert [t["id"] for t in seen["translations"]] == [ar["id"], fr["id"]]
    # Anonymous callers see the published versions only, in the list too.
    anonymous = client.get(f"{API}/{en['id']}").get_json()
    assert [t["id"] for t in anonymous["translations"]] == [ar["id"]]
    listed = {i["id"]: i["translations"] for i in client.get(API).get_json()["items"]}
    assert [t["id"] for t in listed[ar["id"]]] == [en["id"]]


def test_a_language_taken_is_409_and_an_unknown_id_422(client: FlaskClient,
                                                       editor: EditorInfo) -> None:
    en = create(client, editor, title="Relay agreement")
    problem(post(client, editor, title="Relay, English again", translation_of=en["id"]), 409,
            "translation-conflict")
    body = problem(post(client, editor, title="Orphan", language="ar", translation_of=999999),
                   422, "validation")
    assert pointers(body) == {"#/translation_of": "there is no announcement with id 999999"}
    assert [i["title"] for i in client.get(API, headers=editor.auth).get_json()["items"]] == [
        "Relay agreement"]  # the refused ones were not created


def test_patch_links_unlinks_and_the_etag_follows_the_translations(
        client: FlaskClient, editor: EditorInfo) -> None:
    en = create(client, editor, title="Relay agreement", status="published")
    ar = create(client, editor, title="اتفاقية الترحيل", language="ar")
    before = client.get(f"{API}/{en['id']}").headers["ETag"]
    linked = client.patch(f"{API}/{ar['id']}", json={"translation_of": en["id"]},
                          headers=editor.auth)
    assert linked.status_code == 200
    assert [t["id"] for t in linked.get_json()["translations"]] == [en["id"]]
    # The draft is invisible anonymously; publishing it changes the English one's ETag.
    assert client.get(f"{API}/{en['id']}", headers={"If-None-Match": before}).status_code \
        in (200, 304)
    seen = client.get(f"{API}/{en['id']}").headers["ETag"]
    assert client.post(f"{API}/{ar['id']}/publish", headers=editor.auth).status_code == 200
    fresh = client.get(f"{API}/{en['id']}", headers={"If-None-Match": seen})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != seen
    assert [t["id"] for t in fresh.get_json()["translations"]] == [ar["id"]]
    problem(client.patch(f"{API}/{ar['id']}", json={"language": "en"}, headers=editor.auth),
            409, "translation-conflict")
    unlinked = client.patch(f"{API}/{ar['id']}", json={"translation_of": None},
                            headers=editor.auth)
    assert unlinked.status_code == 200 and unlinked.get_json()["translations"] == []
    assert client.get(f"{API}/{en['id']}").get_json()["translations"] == []


def test_an_author_cannot_link_to_what_they_may_not_edit(
        client: FlaskClient, editor: EditorInfo, author: EditorInfo) -> None:
    en = create(client, editor, title="Relay agreement", status="published")
    problem(post(client, author, title="ترجمة", language="ar", translation_of=en["id"]), 403,
            "forbidden")
    assert client.get(f"{API}/{en['id']}").get_json()["translations"] == []
