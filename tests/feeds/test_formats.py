"""The three feed formats, read back by real parsers and held to their standards.

No W3C Feed Validator is to be had from PyPI, so "valid" means here:
- Atom: the normative RELAX NG schema of RFC 4287 Appendix B (tests/feeds/schemas/atom.rnc,
  turned into RNG by rnc2rng, checked by libxml2 through lxml), plus the two Schematron rules
  that schema carries as annotations, checked by XPath.
- RSS: each rule of the RSS Advisory Board's Best Practices Profile that applies to what we
  write, checked one by one.
- JSON Feed: a strict JSON Schema of version 1.1 (tests/feeds/schemas/), via jsonschema.
feedparser reads RSS and Atom back; feedparser 6.0 has no JSON Feed support, so JSON is read
back with the json module.
"""

from __future__ import annotations

import dataclasses
import email.utils
import html
import json
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import feedparser
import jsonschema
import pytest
import rnc2rng
from lxml import etree

from service.feeds.formats import (
    EMPTY_FEED_UPDATED,
    FORMATS,
    FeedItem,
    FeedMeta,
    render_atom,
    render_json,
    render_rss,
)

SCHEMAS = Path(__file__).parent / "schemas"
ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FH = "http://purl.org/syndication/history/1.0"
NS = {"atom": ATOM, "content": CONTENT, "dc": DC}
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$"
)

T0 = datetime(2024, 5, 1, 9, 30, 15, tzinfo=UTC)
TRICKY_TITLE = 'R&D <beta> > 3 & "AT&T" — إطلاق القمر الصناعي 🚀'
TRICKY_SUMMARY = "1 < 2 & 3 > 2; <script>alert(1)</script> — ملخص"
ILLEGAL = "\x00\x01\x08\x0b\x0c\x0e\x1f\x7f\x80\x9f\ud800\udfff\ufffe\uffff"


def make_meta(**changes: object) -> FeedMeta:
    meta = FeedMeta(
        id="tag:news.example.org,2024:feeds/tags/esa",
        title="ESA & Partners <news>",
        description="Announcements tagged ESA",
        home_url="https://news.example.org/tags/esa",
        self_urls={
            "rss": "https://news.example.org/feeds/tags/esa/rss.xml",
            "atom": "https://news.example.org/feeds/tags/esa/atom.xml",
            "json": "https://news.example.org/feeds/tags/esa/feed.json",
        },
        language="en",
        author_name="Partnerships Office",
    )
    return dataclasses.replace(meta, **changes)


def make_items() -> list[FeedItem]:
    """Newest first, as the caller hands them over."""
    return [
        FeedItem(
            id="urn:uuid:3f2c1e2a-9b1d-4c55-8d7e-000000000003",
            url="https://news.example.org/announcements/lunar-gateway",
            title=TRICKY_TITLE,
            summary=TRICKY_SUMMARY,
            content_html='<p>Body with <a href="https://esa.int/">a link</a> &amp; more.</p>',
            published=T0,
            updated=T0 + timedelta(hours=2),
            language="ar",
            categories=(("esa", "ESA"), ("moon", "Moon & Mars"), ("jaxa", "JAXA")),
            author_name="Ada Lovelace",
        ),
        FeedItem(
            id="urn:uuid:3f2c1e2a-9b1d-4c55-8d7e-000000000002",
            url="https://news.example.org/announcements/cubesat-call",
            title="CubeSat call for proposals",
            summary="Proposals are due in June.",
            content_html="<p>Proposals are due in <strong>June</strong>.</p>",
            published=T0 - timedelta(days=1),
            updated=T0 - timedelta(days=1),
            language="en",
            categories=(("esa", "ESA"),),
        ),
        FeedItem(
            id="urn:uuid:3f2c1e2a-9b1d-4c55-8d7e-000000000001",
            url="https://news.example.org/announcements/first",
            title="First announcement",
            summary="The first one.",
            content_html="<p>The first one.</p>",
            published=T0 - timedelta(days=30),
            updated=T0 - timedelta(days=30),
            language="en",
            categories=(),
        ),
    ]


def parse_feed(data: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


@cache
def atom_schema() -> etree.RelaxNG:
    rng = rnc2rng.dumps(rnc2rng.load(str(SCHEMAS / "atom.rnc")))
    # rnc2rng 2.7 declares the RNC's `namespace local = ""` as xmlns:local="", which XML
    # namespaces forbid. Nothing refers to the prefix (it becomes <nsName ns=""/>), so drop it.
    rng = rng.replace(' xmlns:local=""', "")
    return etree.RelaxNG(xml(rng.encode("utf-8")))


def assert_valid_atom(data: bytes) -> etree._Element:
    root = xml(data)
    schema = atom_schema()
    assert schema.validate(root), schema.error_log
    # The schema's Schematron rules, which RELAX NG validation skips.
    entries = root.findall(f"{{{ATOM}}}entry")
    if root.find(f"{{{ATOM}}}author") is None:
        assert all(e.find(f"{{{ATOM}}}author") is not None for e in entries)
    for entry in entries:
        assert entry.xpath("atom:link[@rel='alternate' or not(@rel)] or atom:content",
                           namespaces=NS)
    return root


@cache
def json_feed_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def assert_valid_json_feed(data: bytes) -> dict:
    feed = json.loads(data.decode("utf-8"))
    errors = [e.message for e in json_feed_validator().iter_errors(feed)]
    assert not errors, errors
    return feed


def rfc822(text: str) -> datetime:
    """An RSS date the way the profile wants it: RFC 822, 4-digit year, +0000, right weekday."""
    assert RFC822.match(text), text
    moment = email.utils.parsedate_to_datetime(text)
    assert moment.utcoffset() == timedelta(0)
    assert moment.strftime("%a") == text[:3], f"wrong day of the week in {text!r}"
    return moment


def check_rss_profile(data: bytes, meta: FeedMeta, items: list[FeedItem]) -> etree._Element:
    """The RSS Best Practices Profile's rules for the elements we write."""
    # Plain text writes & < > as hex character references, never as &amp; &lt; &gt;.
    for named in (b"&amp;", b"&lt;", b"&gt;"):
        assert named not in data
    root = xml(data)
    assert root.tag == "rss" and root.get("version") == "2.0"
    # Namespace prefixes as the profile recommends them.
    assert root.nsmap["atom"] == ATOM and root.nsmap["content"] == CONTENT
    if any(item.author_name for item in items):
        assert root.nsmap["dc"] == DC
    [channel] = root.findall("channel")
    # No element is empty but atom:link, <enclosure> and media:content, whose data is in their
    # attributes, and RFC 5005's <fh:archive/>, whose presence is its meaning.
    for el in root.iter():
        if len(el) == 0 and el.tag not in (f"{{{ATOM}}}link", f"{{{FH}}}archive", "enclosure",
                                           "{http://search.yahoo.com/mrss/}content"):
            assert el.text and el.text.strip(), f"empty <{el.tag}>"

    def one(parent: etree._Element, path: str) -> str:
        found = parent.findall(path, NS)
        assert len(found) == 1, f"{len(found)} x {path}"
        return found[0].text

    assert one(channel, "title") == meta.title
    assert one(channel, "link") == meta.home_url
    assert one(channel, "description") == meta.description
    assert one(channel, "language") == meta.language
    assert one(channel, "generator") == meta.generator
    assert one(channel, "docs") == "https://www.rssboard.org/rss-specification"
    links = channel.findall("atom:link", NS)
    [self_link] = [link for link in links if link.get("rel") == "self"]
    assert self_link.attrib == {"href": meta.self_urls["rss"], "rel": "self",
                                "type": "application/rss+xml"}
    for link in links:  # the others: WebSub hubs and RFC 5005 history, each once
        assert link.get("rel") in ("self", "hub", "current", "prev-archive", "next-archive")
        assert link.get("href", "").startswith("http"), link.attrib
    rels = [link.get("rel") for link in links if link.get("rel") != "hub"]
    assert len(rels) == len(set(rels)), rels
    last_build = rfc822(one(channel, "lastBuildDate"))
    channel_pub = rfc822(one(channel, "pubDate"))
    assert channel_pub <= last_build

    rss_items = channel.findall("item")
    assert len(rss_items) == len(items)
    for el, item in zip(rss_items, items, strict=True):
        assert one(el, "title") == item.title
        assert one(el, "link") == item.url
        assert one(el, "description") == html.escape(item.summary, quote=False)
        assert one(el, "content:encoded") == item.content_html
        [guid] = el.findall("guid")
        assert guid.text == item.id and guid.attrib == {"isPermaLink": "false"}
        assert rfc822(one(el, "pubDate")) == item.published
        assert [c.text for c in el.findall("category")] == [name for _, name in item.categories]
        assert all(not c.attrib for c in el.findall("category"))
        assert el.find("author") is None  # <author> must be an email address
        creators = [c.text for c in el.findall("dc:creator", NS)]
        assert creators == ([item.author_name] if item.author_name else [])
    return root


# --- Atom ---------------------------------------------------------------------------------


def test_atom_reads_back_exactly_with_feedparser() -> None:
    meta, items = make_meta(), make_items()
    parsed = parse_feed(render_atom(meta, items))
    assert parsed.version == "atom10"
    feed = parsed.feed
    assert feed.id == meta.id
    assert feed.title == meta.title
    assert feed.subtitle == meta.description
    assert feed.language == "en"
    assert feed.author == meta.author_name
    assert feed.generator == "Newsroom"
    assert feed.updated_parsed == (T0 + timedelta(hours=2)).utctimetuple()
    links = {(link.rel, link.type): link.href for link in feed.links}
    assert links == {
        ("alternate", "text/html"): meta.home_url,
        ("self", "application/atom+xml"): meta.self_urls["atom"],
    }
    assert [e.id for e in parsed.entries] == [item.id for item in items]
    for entry, item in zip(parsed.entries, items, strict=True):
        assert entry.title == item.title
        assert entry.title_detail.type == "text/plain"
        assert entry.title_detail.language == item.language
        assert entry.summary == item.summary
        assert entry.summary_detail.type == "text/plain"
        [content] = entry.content
        assert content.type == "text/html"
        assert content.value == item.content_html
        assert [(link.rel, link.type, link.href) for link in entry.links] == [
            ("alternate", "text/html", item.url)
        ]
        assert entry.published_parsed == item.published.utctimetuple()
        assert entry.updated_parsed == item.updated.utctimetuple()
        assert [(t.term, t.label) for t in entry.get("tags", [])] == list(item.categories)
        if item.author_name:
            assert entry.author == item.author_name


def test_atom_is_valid_against_the_rfc_4287_relax_ng_schema() -> None:
    meta = make_meta(icon_url="https://news.example.org/icon.png")
    root = assert_valid_atom(render_atom(meta, make_items()))
    entries = root.findall(f"{{{ATOM}}}entry")
    # xml:lang only where the entry differs from the feed.
    assert root.get(XML_LANG) == "en"
    assert [e.get(XML_LANG) for e in entries] == ["ar", None, None]
    for entry in entries:
        [link] = entry.findall(f"{{{ATOM}}}link")
        assert link.attrib == {"href": link.get("href"), "rel": "alternate", "type": "text/html"}
        assert entry.find(f"{{{ATOM}}}title").get("type") == "text"
        assert entry.find(f"{{{ATOM}}}summary").get("type") == "text"
        assert entry.find(f"{{{ATOM}}}content").get("type") == "html"
    assert root.findtext(f"{{{ATOM}}}icon") == "https://news.example.org/icon.png"
    generator = root.find(f"{{{ATOM}}}generator")
    assert generator.text == "Newsroom" and not generator.attrib


def test_the_atom_schema_does_reject_invalid_documents() -> None:
    """The validator is not vacuous: each of these breaks one rule of RFC 4287."""
    good = render_atom(make_meta(), make_items())
    breakages = [
        (b"<id>tag:news.example.org,2024:feeds/tags/esa</id>", b""),  # feed without id
        (b"<updated>2024-05-01T11:30:15.000+00:00</updated>", b"<updated>May 1st</updated>"),
        (b'<entry xml:lang="ar">', b'<entry xml:lang="not a tag">'),
        (b'<title type="text">First', b'<title type="markdown">First'),
        (b"<generator>", b"<generator><name>x</name>"),
    ]
    schema = atom_schema()
    for old, new in breakages:
        assert old in good, old
        assert not schema.validate(xml(good.replace(old, new, 1))), new


def test_atom_empty_feed_is_valid_and_dated_by_the_caller() -> None:
    retracted_at = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    root = assert_valid_atom(render_atom(make_meta(updated=retracted_at), []))
    assert root.findtext(f"{{{ATOM}}}updated") == "2024-06-01T08:00:00.000+00:00"
    assert root.find(f"{{{ATOM}}}author/{{{ATOM}}}name").text == "Partnerships Office"
    # Without a caller's time the fallback is fixed, so the ETag still holds.
    data = render_atom(make_meta(), [])
    assert_valid_atom(data)
    epoch = EMPTY_FEED_UPDATED.isoformat(timespec="milliseconds")
    assert xml(data).findtext(f"{{{ATOM}}}updated") == epoch
    parsed = parse_feed(data)
    assert parsed.version == "atom10" and parsed.entries == []


# --- RSS ----------------------------------------------------------------------------------


def test_rss_reads_back_exactly_with_feedparser() -> None:
    meta, items = make_meta(), make_items()
    parsed = parse_feed(render_rss(meta, items))
    assert parsed.version == "rss20"
    feed = parsed.feed
    assert feed.title == meta.title
    assert feed.title_detail.type == "text/plain"
    assert feed.link == meta.home_url
    assert feed.subtitle == meta.description
    assert feed.language == "en"
    assert feed.generator == "Newsroom"
    assert feed.updated_parsed == (T0 + timedelta(hours=2)).utctimetuple()  # lastBuildDate
    assert feed.published_parsed == T0.utctimetuple()  # pubDate: newest publication
    assert [e.id for e in parsed.entries] == [item.id for item in items]
    for entry, item in zip(parsed.entries, items, strict=True):
        assert entry.guidislink is False
        assert entry.title == item.title
        assert entry.title_detail.type == "text/plain"
        assert entry.link == item.url
        # <description> is HTML to every RSS reader, so the plain summary arrives escaped.
        assert entry.summary_detail.type == "text/html"
        assert html.unescape(entry.summary) == item.summary
        assert [c.value for c in entry.content] == [item.content_html]
        assert entry.published_parsed == item.published.utctimetuple()
        assert [t.term for t in entry.get("tags", [])] == [name for _, name in item.categories]
        assert entry.get("author") == item.author_name


def test_rss_follows_the_rss_profile() -> None:
    meta, items = make_meta(), make_items()
    root = check_rss_profile(render_rss(meta, items), meta, items)
    channel = root.find("channel")
    assert channel.findtext("lastBuildDate") == "Wed, 01 May 2024 11:30:15 +0000"
    assert channel.findtext("pubDate") == "Wed, 01 May 2024 09:30:15 +0000"
    assert channel.find("image") is None


def test_rss_channel_image_repeats_the_channel_title_and_link() -> None:
    meta = make_meta(icon_url="https://news.example.org/icon.png")
    root = check_rss_profile(render_rss(meta, make_items()), meta, make_items())
    channel = root.find("channel")
    [image] = channel.findall("image")
    assert image.findtext("url") == meta.icon_url
    assert image.findtext("title") == channel.findtext("title")
    assert image.findtext("link") == channel.findtext("link")


def test_rss_empty_feed_follows_the_profile() -> None:
    retracted_at = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    meta = make_meta(updated=retracted_at)
    data = render_rss(meta, [])
    root = check_rss_profile(data, meta, [])
    assert root.find("channel/lastBuildDate").text == "Sat, 01 Jun 2024 08:00:00 +0000"
    assert "dc" not in root.nsmap  # no item has an author, so no dc: declaration
    parsed = parse_feed(data)
    assert parsed.version == "rss20" and parsed.entries == []
    check_rss_profile(render_rss(make_meta(), []), make_meta(), [])


def test_rss_without_a_summary_still_describes_the_item() -> None:
    meta = make_meta()
    item = dataclasses.replace(make_items()[1], summary="")
    root = xml(render_rss(meta, [item]))
    [el] = root.findall("channel/item")
    # feedgen moves the full HTML into <description> rather than leave it empty.
    assert el.findtext("description") == item.content_html
    assert el.find("content:encoded", NS) is None


def test_rss_channel_description_is_never_empty() -> None:
    meta = make_meta(description="   ")
    root = xml(render_rss(meta, make_items()))
    assert root.findtext("channel/description") == meta.title


# --- JSON Feed ----------------------------------------------------------------------------


def test_json_feed_reads_back_exactly_and_matches_the_schema() -> None:
    meta, items = make_meta(icon_url="https://news.example.org/icon.png"), make_items()
    feed = assert_valid_json_feed(render_json(meta, items))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == meta.title
    assert feed["home_page_url"] == meta.home_url
    assert feed["feed_url"] == meta.self_urls["json"]
    assert feed["description"] == meta.description
    assert feed["language"] == "en"
    assert feed["icon"] == meta.icon_url
    assert feed["authors"] == [{"name": "Partnerships Office"}]
    assert [i["id"] for i in feed["items"]] == [item.id for item in items]
    for out, item in zip(feed["items"], items, strict=True):
        assert out["url"] == item.url
        assert out["title"] == item.title
        assert out["summary"] == item.summary
        assert out["content_html"] == item.content_html
        assert datetime.fromisoformat(out["date_published"]) == item.published
        assert datetime.fromisoformat(out["date_modified"]) == item.updated
        assert out.get("tags", []) == [name for _, name in item.categories]
        assert out["language"] == item.language
        assert out.get("authors") == ([{"name": item.author_name}] if item.author_name else None)


def test_json_feed_is_utf8_without_ascii_escapes() -> None:
    data = render_json(make_meta(), make_items())
    assert "إطلاق القمر الصناعي 🚀".encode() in data
    assert b"\\u" not in data


def test_the_json_feed_schema_does_reject_invalid_feeds() -> None:
    good = json.loads(render_json(make_meta(), make_items()))
    validator = json_feed_validator()
    assert validator.is_valid(good)
    broken = [
        {k: v for k, v in good.items() if k != "version"},
        {**good, "version": "https://jsonfeed.org/version/1"},
        {**good, "items": [{k: v for k, v in good["items"][0].items() if k != "id"}]},
        {**good, "items": [{**good["items"][0], "date_published": "1 May 2024"}]},
        {**good, "items": [{**good["items"][0], "tags": "ESA"}]},
        {**good, "items": [{**good["items"][0], "date_publised": "2024-05-01T00:00:00Z"}]},
        {**good, "items": [{"id": "x", "title": "no content"}]},
        {**good, "home_page_url": "/relative"},
    ]
    for feed in broken:
        assert not validator.is_valid(feed)
    assert validator.is_valid({**good, "_newsroom": {"any": "extension"}})


def test_json_empty_feed_is_valid() -> None:
    feed = assert_valid_json_feed(render_json(make_meta(), []))
    assert feed["items"] == []


# --- All formats --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_output_is_deterministic(fmt: str) -> None:
    render = FORMATS[fmt][1]
    first = render(make_meta(), make_items())
    assert render(make_meta(), make_items()) == first
    # Same instants given in another zone, and with sub-millisecond noise, say the same thing.
    cairo = timezone(timedelta(hours=3))
    shifted = [
        dataclasses.replace(
            item,
            published=item.published.astimezone(cairo).replace(microsecond=250),
            updated=item.updated.astimezone(cairo),
        )
        for item in make_items()
    ]
    assert render(make_meta(), shifted) == first


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_editing_an_old_item_moves_the_feed(fmt: str) -> None:
    render = FORMATS[fmt][1]
    items = make_items()
    before = render(make_meta(), items)
    edited_at = T0 + timedelta(days=3)
    items[-1] = dataclasses.replace(items[-1], updated=edited_at)
    after = render(make_meta(), items)
    assert after != before  # so the ETag moves
    if fmt == "atom":
        assert parse_feed(after).feed.updated_parsed == edited_at.utctimetuple()
    elif fmt == "rss":
        assert parse_feed(after).feed.updated_parsed == edited_at.utctimetuple()
        assert parse_feed(after).feed.published_parsed == T0.utctimetuple()
    else:
        assert json.loads(after)["items"][-1]["date_modified"] == "2024-05-04T09:30:15.000Z"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feed_updated_never_goes_below_the_callers_time(fmt: str) -> None:
    retracted_at = T0 + timedelta(days=1)
    parsed = parse_feed(FORMATS[fmt][1](make_meta(updated=retracted_at), make_items()))
    assert parsed.feed.updated_parsed == retracted_at.utctimetuple()


def test_times_keep_milliseconds_in_atom_and_json_but_not_rss() -> None:
    """Items published within one second keep distinct times where the format can say so."""
    first, second = make_items()[:2]
    burst = [
        dataclasses.replace(first, published=T0.replace(microsecond=123_456),
                            updated=T0.replace(microsecond=123_456)),
        dataclasses.replace(second, published=T0.replace(microsecond=120_999),
                            updated=T0.replace(microsecond=120_999)),
    ]
    meta = make_meta()
    root = assert_valid_atom(render_atom(meta, burst))
    entries = root.findall(f"{{{ATOM}}}entry")
    times = [(e.findtext(f"{{{ATOM}}}published"), e.findtext(f"{{{ATOM}}}updated"))
             for e in entries]
    assert times == [("2024-05-01T09:30:15.123+00:00",) * 2,
                     ("2024-05-01T09:30:15.120+00:00",) * 2]
    assert root.findtext(f"{{{ATOM}}}updated") == "2024-05-01T09:30:15.123+00:00"
    rfc3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|\+00:00)$")
    for published, updated in times:
        assert rfc3339.match(published) and rfc3339.match(updated)
    parsed = parse_feed(render_atom(meta, burst))
    assert [e.published for e in parsed.entries] == [t for t, _ in times]
    feed = assert_valid_json_feed(render_json(meta, burst))
    assert [(i["date_published"], i["date_modified"]) for i in feed["items"]] == [
        ("2024-05-01T09:30:15.123Z",) * 2, ("2024-05-01T09:30:15.120Z",) * 2]
    for out, item in zip(feed["items"], burst, strict=True):
        assert rfc3339.match(out["date_published"])
        assert datetime.fromisoformat(out["date_published"]) == item.published.replace(
            microsecond=item.published.microsecond // 1000 * 1000)
    rss = check_rss_profile(render_rss(meta, burst), meta,
                            [dataclasses.replace(i, published=T0) for i in burst])
    assert {el.text for el in rss.iterfind("channel/item/pubDate")} == {
        "Wed, 01 May 2024 09:30:15 +0000"}
    # A time on a whole second still shows its three digits.
    whole = render_json(meta, [dataclasses.replace(first, published=T0, updated=T0)])
    assert json.loads(whole)["items"][0]["date_published"] == "2024-05-01T09:30:15.000Z"


def test_characters_xml_forbids_are_dropped_everywhere() -> None:
    meta = make_meta(title=f"ESA{ILLEGAL} news", description=f"About{ILLEGAL} ESA")
    dirty = dataclasses.replace(
        make_items()[0],
        title=f"Launch{ILLEGAL} — إطلاق 🚀",
        summary=f"Sum{ILLEGAL}mary\twith tab\nand newline",
        content_html=f"<p>Body{ILLEGAL}</p>",
        categories=(("esa", f"ESA{ILLEGAL}"), (f"{ILLEGAL}", "only junk slug")),
        author_name=f"Ada{ILLEGAL}",
    )
    clean = dataclasses.replace(
        dirty,
        title="Launch — إطلاق 🚀",
        summary="Summary\twith tab\nand newline",
        content_html="<p>Body</p>",
        categories=(("esa", "ESA"),),
        author_name="Ada",
    )
    clean_meta = make_meta(title="ESA news", description="About ESA")
    check_rss_profile(render_rss(meta, [dirty]), clean_meta, [clean])
    assert render_rss(meta, [dirty]) == render_rss(clean_meta, [clean])
    assert render_atom(meta, [dirty]) == render_atom(clean_meta, [clean])
    assert render_json(meta, [dirty]) == render_json(clean_meta, [clean])
    assert_valid_atom(render_atom(meta, [dirty]))
    assert parse_feed(render_atom(meta, [dirty])).entries[0].title == clean.title
    assert_valid_json_feed(render_json(meta, [dirty]))


def test_repeated_categories_and_blank_authors_are_dropped() -> None:
    meta = make_meta()
    item = dataclasses.replace(
        make_items()[0],
        categories=(("esa", "ESA"), ("moon", "Moon"), ("esa", "ESA"), ("esa-agency", "ESA")),
        author_name="  ",
        language="en",  # the feed's: no dc:language either
    )
    atom = assert_valid_atom(render_atom(meta, [item]))
    [entry] = atom.findall(f"{{{ATOM}}}entry")
    terms = [(c.get("term"), c.get("label")) for c in entry.findall(f"{{{ATOM}}}category")]
    assert terms == [("esa", "ESA"), ("moon", "Moon"), ("esa-agency", "ESA")]
    assert entry.find(f"{{{ATOM}}}author") is None  # the feed's author stands in
    rss = xml(render_rss(meta, [item]))
    assert [c.text for c in rss.iterfind("channel/item/category")] == ["ESA", "Moon"]
    assert rss.find("channel/item/dc:creator", NS) is None
    assert "dc" not in rss.nsmap
    feed = assert_valid_json_feed(render_json(meta, [item]))
    assert feed["items"][0]["tags"] == ["ESA", "Moon"]
    assert "authors" not in feed["items"][0]


def test_naive_times_are_refused() -> None:
    item = dataclasses.replace(make_items()[0], published=datetime(2024, 5, 1, 9, 30))
    for _, render in FORMATS.values():
        with pytest.raises(ValueError, match="timezone-aware"):
            render(make_meta(), [item])


def test_formats_table_names_the_media_types() -> None:
    expected = {
        "rss": ("application/rss+xml; charset=utf-8", render_rss),
        "atom": ("application/atom+xml; charset=utf-8", render_atom),
        "json": ("application/feed+json; charset=utf-8", render_json),
    }
    assert expected == FORMATS


def test_fifty_items_in_three_formats_render_quickly() -> None:
    """A guard against accidental quadratic work, not a benchmark (about 10 ms here)."""
    template = make_items()[0]
    items = [
        dataclasses.replace(template, id=f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
                            content_html="<p>" + "Partnership news. " * 120 + "</p>",
                            published=T0 - timedelta(hours=i), updated=T0 - timedelta(hours=i))
        for i in range(50)
    ]
    start = time.perf_counter()
    for _, render in FORMATS.values():
        render(make_meta(), items)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_items_made_once_per_process_still_follow_every_change(fmt: str) -> None:
    """Each item's element (or JSON) is built once per process and reused by every document
    showing it: a changed item is a different item, and the same item in a feed of another
    language says its own language there."""
    _, render = FORMATS[fmt]
    items = make_items()
    first = render(make_meta(), items)
    assert render(make_meta(), items) == first  # the reused items: the very same bytes
    edited = [dataclasses.replace(items[0], title="Gateway module renamed"), *items[1:]]
    again = render(make_meta(), edited)
    assert b"Gateway module renamed" in again and again != first
    assert render(make_meta(), items) == first  # and back
    french = render(make_meta(language="fr"), items)
    assert french != first
    if fmt == "atom":
        langs = {e.get(XML_LANG) for e in xml(french).iterfind(f"{{{ATOM}}}entry")}
        assert "en" in langs  # an English item in a French feed now says so
