"""Markdown rendering: what editors write comes out as HTML with nothing executable left."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from service.announcements.rendering import is_rtl, render_markdown, sanitize_html

ATTACKS = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    '[click](javascript:alert(1))',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<svg onload="alert(1)"><circle/></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div onclick="alert(1)">x</div>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    "<object data='x.swf'></object>",
    "<form action='https://evil.example'><input name=a></form>",
]


class _Markup(HTMLParser):
    """Collects every tag and attribute, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((name, (value or "").strip().lower()) for name, value in attrs)


def _markup(html: str) -> _Markup:
    parser = _Markup()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("attack", ATTACKS)
def test_nothing_executable_survives(attack: str) -> None:
    html = render_markdown(f"Text before.\n\n{attack}\n\nText after.")
    markup = _markup(html)
    assert not {"script", "iframe", "svg", "object", "form", "input", "style"} & set(markup.tags)
    for name, value in markup.attrs:
        assert not name.startswith("on"), name
        assert name != "style"
        assert not value.startswith(("javascript:", "data:", "vbscript:")), value
    assert "Text before." in html and "Text after." in html


def test_markdown_features_render() -> None:
    html = render_markdown(
        "## Heading\n\n* one\n* two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "> quoted\n\n[ESA](https://www.esa.int/) and <abbr title=\"Synthetic Aperture Radar\">SAR"
        "</abbr>"
    )
    assert "<h2>Heading</h2>" in html
    assert "<li>one</li>" in html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<blockquote>" in html
    assert '<a href="https://www.esa.int/" rel="noopener noreferrer">ESA</a>' in html
    assert '<abbr title="Synthetic Aperture Radar">SAR</abbr>' in html


def test_arabic_and_entities_are_kept() -> None:
    html = render_markdown("مرحبا & <b>bold</b> 5 < 6")
    assert "مرحبا &amp; <b>bold</b> 5 &lt; 6" in html


def test_sanitize_is_idempotent() -> None:
    once = sanitize_html('<p><a href="https://x.org" onclick="y">x</a></p>')
    assert sanitize_html(once) == once


@pytest.mark.parametrize("language", ["ar", "AR", "ar-EG", "ckb", "fa-IR", "he", "ur", "Yi"])
def test_right_to_left_languages(language: str) -> None:
    assert is_rtl(language)


@pytest.mark.parametrize("language", ["en", "fr", "en-GB", "ru", "zh-Hant", "arn", "", "x-ar"])
def test_left_to_right_languages(language: str) -> None:
    assert not is_rtl(language)

