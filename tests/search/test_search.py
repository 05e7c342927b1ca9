"""Public search on both databases: FTS5 on SQLite, tsvector on PostgreSQL, one behaviour."""

from __future__ import annotations

import importlib.util
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.announcements import publishing, queries
from service.announcements.models import Status
from service.database import db, utcnow
from service.search import postgres
from service.search import queries as search
from service.search.backend import Filters, terms
from tests import factories

_RESULT_TITLE = re.compile(r'<h3 id="result-\d+"><a href="/announcements/([^"]+)">')


def _slugs(client: FlaskClient, query: str) -> list[str]:
    page = client.get("/search", query_string={"q": query})
    assert page.status_code == 200, page.text
    return _RESULT_TITLE.findall(page.text)


def test_finds_words_of_title_summary_and_body_ranked_title_first(
        clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(clean_app, "Ground segment upgrade", slug="in-body",
                           body="The new antenna tracks the **observatory** from the south.")
    factories.announcement(clean_app, "Observatory first light", slug="in-title",
                           body="Commissioning is complete.")
    factories.announcement(clean_app, "Launch window", slug="in-summary",
                           summary="The observatory launches in May.")
    factories.announcement(clean_app, "Unrelated", slug="unrelated", body="Nothing here.")
    assert _slugs(client, "observatory") == ["in-title", "in-summary", "in-body"]


def test_snippets_highlight_matches_and_escape_everything_else(
        clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(
        clean_app, "Relay <b>agreement</b>",
        body="Partners sign the <script>alert(1)</script> relay & data treaty in Noordwijk.")
    page = client.get("/search?q=relay").text
    assert "<mark>Relay</mark> &lt;b&gt;agreement&lt;/b&gt;" in page
    assert "<mark>relay</mark> &amp; data treaty" in page
    # SQLite's snippet keeps the tag as text (escaped); PostgreSQL's headline drops tags.
    assert "<script>alert" not in page and "alert(1)" in page
    # The only markup in a result's title and snippet is the highlight.
    snippet = re.search(r'<p class="snippet">(.*?)</p>', page, re.S)
    assert snippet and set(re.findall(r"</?(\w+)", snippet.group(1))) == {"mark"}


def test_only_published_items_are_found(clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(clean_app, "Telescope published", slug="published")
    factories.announcement(clean_app, "Telescope draft", status=Status.DRAFT)
    factories.announcement(clean_app, "Telescope embargoed", status=Status.SCHEDULED)
    retracted = factories.announcement(clean_app, "Telescope retracted")
    with clean_app.app_context():
        item = queries.get(retracted)
        assert item is not None
        publishing.retract(item, "wrong figures")
        db.session.commit()
    assert _slugs(client, "telescope") == ["published"]


def test_edits_and_deletions_reach_the_index(ctx: Flask) -> None:
    item = publishing.create(title="Solar sail test", body="The sail deploys.",
                             status=Status.PUBLISHED)
    db.session.commit()
    assert [r.item.id for r in search.search("sail").results] == [item.id]
    publishing.update(item, {"title": "Ion thruster test", "body": "The thruster fires."})
    db.session.commit()
    assert search.search("sail").results == []
    assert [r.item.id for r in search.search("thruster").results] == [item.id]
    db.session.delete(item)
    db.session.commit()
    assert search.search("thruster").total == 0


def test_words_find_their_other_forms_and_phrases_their_order(ctx: Flask) -> None:
    publishing.create(title="Satellites for remote sensing", status=Status.PUBLISHED,
                      body="Two satellites will image the coast.")
    db.session.commit()
    assert search.search("satellite").total == 1  # stemming, on both databases
    assert search.search('"remote sensing"').total == 1
    assert search.search('"sensing remote"').total == 0
    assert search.search("satellite mars").total == 0  # every word must match


def test_arabic_text_is_found(ctx: Flask) -> None:
    publishing.create(title="توقيع اتفاقية محطة أرضية", language="ar", status=Status.PUBLISHED,
                      body="وقعت الوكالة اتفاقية مع وكالة الفضاء الأوروبية.")
    db.session.commit()
    found = search.search("اتفاقية")
    assert found.total == 1 and "<mark>" in found.results[0].title


def test_filters_by_tag_partner_and_language(clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(clean_app, "Orbit one", slug="esa-en", partners=["esa"],
                           tags=["agreements"])
    factories.announcement(clean_app, "Orbit two", slug="nasa-en", partners=["nasa"])
    factories.announcement(clean_app, "Orbit three", slug="esa-fr", partners=["esa"],
                           language="fr")
    assert sorted(_slugs(client, "orbit")) == ["esa-en", "esa-fr", "nasa-en"]

    def found(**args: str) -> list[str]:
        page = client.get("/search", query_string={"q": "orbit", **args})
        assert page.status_code == 200
        return sorted(_RESULT_TITLE.findall(page.text))

    assert found(partner="esa") == ["esa-en", "esa-fr"]
    assert found(tag="agreements") == ["esa-en"]
    assert found(language="fr") == ["esa-fr"]
    assert found(partner="esa", language="en") == ["esa-en"]
    assert found(partner="no-such-partner") == []


@pytest.mark.parametrize("query", [
    '"', '"unbalanced', "AND", "OR", "NOT", "NEAR(a b)", "*", "a*", "title:x", "-", "--x",
    "(((", ")", "^a", "'", "a'b", "a & b | !c", ":*", "<->", "\\", "_", "🛰️", "x" * 500,
    "satellite -moon", "a OR b", "{title}: x", "NEAR/2",
])
def test_no_query_is_an_error(clean_app: Flask, client: FlaskClient, query: str) -> None:
    factories.announcement(clean_app, "Satellite OR relay: NEAR the moon*")
    page = client.get("/search", query_string={"q": query})
    assert page.status_code == 200
    assert "Search announcements" in page.text


def test_words_operators_and_punctuation_are_plain_text() -> None:
    assert terms('moon "relay satellite" esa!') == ["moon", "relay satellite", "esa"]
    # Words joined by punctuation stay together, as a phrase (as the tokenizers split them).
    assert terms('NEAR(a b) title:x -moon "') == ["NEAR a", "b", "title x", "moon"]
    assert terms("*** ((( :") == []


def test_results_are_paginated(clean_app: Flask, client: FlaskClient) -> None:
    now = utcnow()
    for number in range(13):
        factories.announcement(clean_app, f"Comet report {number:02}",
                               published_at=now - timedelta(hours=number))
    first = client.get("/search?q=comet&tag=")
    assert first.text.count('class="card result"') == 10
    assert "13 results for" in first.text
    assert 'rel="next" href="/search?page=2&amp;q=comet"' in first.text
    second = client.get("/search?q=comet&page=2").text
    assert second.count('class="card result"') == 3 and 'rel="next"' not in second
    assert client.get("/search?q=comet&page=9").status_code == 200  # past the end: empty
    assert client.get("/search?q=comet&page=0").status_code == 404


def test_every_public_page_links_to_search(clean_app: Flask, client: FlaskClient) -> None:
    factories.announcement(clean_app, "Linked", slug="linked", tags=["agreements"],
                           partners=["esa"])
    for path in ("/", "/announcements/linked", "/tags/agreements", "/partners/esa", "/feeds",
                 "/subscribe", "/search"):
        page = client.get(path)
        assert page.status_code == 200
        assert 'href="/search"' in page.text, path


def test_search_filters_on_the_backend_directly(ctx: Flask) -> None:
    publishing.create(title="Lander", language="en", partners=["esa"], status=Status.PUBLISHED)
    db.session.commit()
    assert search.search("lander", Filters(language="ar")).total == 0
    assert search.search("lander", Filters(partner="esa")).total == 1


def test_the_migration_indexes_with_the_configurations_search_queries_in() -> None:
    path = Path(__file__).parents[2] / "migrations/versions/0012_search_and_translations.py"
    spec = importlib.util.spec_from_file_location("migration_0012", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module._PG_CONFIGS == postgres.CONFIGS


def _linked(app: Flask, first: int, second: int) -> None:
    from service.announcements import translations
    from service.announcements.models import Announcement

    with app.app_context():
        translations.link(db.session.get(Announcement, first), db.session.get(Announcement, second))
        db.session.commit()
        db.session.remove()


def test_translations_are_one_result_with_the_others_linked(
        clean_app: Flask, client: FlaskClient) -> None:
    """As listings show one card per translation group, a search lists a group once: its
    best-ranked matching version, with the group's other published versions under "Also in".
    Counts and pages count groups; a language filter finds each version."""
    english = factories.announcement(clean_app, "Lunar relay satellite", slug="relay-en",
                                     body="The relay serves the lunar far side.")
    french = factories.announcement(clean_app, "Satellite relais lunaire", slug="relay-fr",
                                    language="fr", body="Le relay sert la face cachée.")
    factories.announcement(clean_app, "Ground relay station", slug="station",
                           body="A relay on the ground.")
    _linked(clean_app, english, french)
    page = client.get("/search", query_string={"q": "relay"}).text
    shown = _RESULT_TITLE.findall(page)
    assert "2 results for" in page and len(shown) == 2 and "station" in shown
    [version] = [slug for slug in shown if slug != "station"]  # the better-ranked of the two
    other = {"relay-en": "relay-fr", "relay-fr": "relay-en"}[version]
    also = re.findall(r'<p class="also-in">Also in: (.*?)</p>', page, re.S)
    assert len(also) == 1 and f'href="/announcements/{other}"' in also[0]  # not the station
    with clean_app.app_context():
        first = search.search("relay", per_page=1)
        second = search.search("relay", per_page=1, page=2)
        assert (first.total, first.has_next, second.has_next) == (2, True, False)
        assert {r.item.slug for r in [*first.results, *second.results]} == {version, "station"}
        french_only = search.search("relay", Filters(language="fr"))
        assert ([r.item.slug for r in french_only.results], french_only.total) == (["relay-fr"], 1)
        db.session.remove()
    # A word only one version has finds that version, which then links the other.
    for word, found, linked in (("cachée", "relay-fr", "relay-en"),
                                ("serves", "relay-en", "relay-fr")):
        page = client.get("/search", query_string={"q": word}).text
        assert _RESULT_TITLE.findall(page) == [found], word
        assert f'<a href="/announcements/{linked}" hreflang=' in page, word
