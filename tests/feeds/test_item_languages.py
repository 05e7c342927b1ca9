"""Each item in its own language in all three formats: Atom xml:lang, RSS dc:language, JSON
Feed ``language``; and the built feeds carry an Arabic translation as Arabic."""

from __future__ import annotations

import json

import feedparser
from flask import Flask

from service.announcements import publishing, translations
from service.announcements.models import Status
from service.database import db
from service.feeds import build, documents, scopes
from service.feeds.formats import render_rss
from tests.feeds.test_formats import NS, XML_LANG, assert_valid_atom, make_items, make_meta, xml


def test_rss_items_in_another_language_say_so_with_dc_language() -> None:
    meta = make_meta()
    arabic, english, _ = make_items()
    rss = xml(render_rss(meta, [arabic, english]))
    assert rss.find("channel/language").text == "en"  # type: ignore[union-attr]
    languages = [item.findtext("dc:language", namespaces=NS)
                 for item in rss.iterfind("channel/item")]
    assert languages == ["ar", None]  # only where it differs from the channel
    parsed = feedparser.parse(render_rss(meta, [arabic, english]))
    assert not parsed.bozo and parsed.entries[0].language == "ar"


def test_built_feeds_carry_each_translation_in_its_language(ctx: Flask) -> None:
    english = publishing.create(title="Ground station agreement", status=Status.PUBLISHED,
                                body="Signed today.")
    arabic = publishing.create(title="اتفاقية محطة أرضية", language="ar",
                               status=Status.PUBLISHED, body="وقعت اليوم.")
    translations.link(arabic, english)
    db.session.commit()
    # Places them in the history under the scope's lock, as the feeds consumer does (the
    # session's worker may be handling the same events at this moment).
    build.rebuild_scope(scopes.ALL)
    rendered = documents.render_scope(scopes.ALL)
    atom = assert_valid_atom(rendered["atom"][1])
    by_title = {e.findtext("{http://www.w3.org/2005/Atom}title"): e.get(XML_LANG)
                for e in atom.iterfind("{http://www.w3.org/2005/Atom}entry")}
    assert by_title == {"اتفاقية محطة أرضية": "ar", "Ground station agreement": None}
    rss = xml(rendered["rss"][1])
    assert [i.findtext("dc:language", namespaces=NS) for i in rss.iterfind("channel/item")
            if i.findtext("title") == "اتفاقية محطة أرضية"] == ["ar"]
    feed = json.loads(rendered["json"][1])
    assert {i["title"]: i["language"] for i in feed["items"]} == {
        "اتفاقية محطة أرضية": "ar", "Ground station agreement": "en"}
    assert feed["language"] == "en"
