"""What a search asks and answers, whatever the database: the backend interface.

A backend gets the reader's words as typed and must never fail on them: no query syntax of
the database's reaches it unescaped (``terms`` splits the text into words and quoted phrases,
the only syntax we offer). Only published announcements are found (a retracted, scheduled or
draft one never), ranked best first, each with its title and one snippet in which the backend
wrapped the matched words in ``snippets.START`` / ``snippets.STOP``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

MAX_QUERY = 200  # characters of the query that count; the rest is ignored
MAX_TERMS = 12


@dataclass(frozen=True)
class Filters:
    tag: str | None = None  # slugs
    partner: str | None = None
    language: str | None = None  # BCP 47 tag, exactly as announcements carry it


@dataclass(frozen=True)
class Hit:
    announcement_id: int
    rank: float  # larger is better, comparable within one search only
    title: str  # with the markers around matched words
    snippet: str  # from the body, else the summary; with the markers; may be ""


@dataclass(frozen=True)
class Found:
    hits: list[Hit]
    total: int
    terms: list[str] = field(default_factory=list)


class SearchBackend(Protocol):
    """One database's full-text search over title, summary and body."""

    def search(self, terms: list[str], filters: Filters, *, offset: int, limit: int) -> Found:
        """Published announcements matching every term (a phrase: its words in order)."""
        ...


_TERM = re.compile(r'"([^"]*)"|(\S+)')
_WORD_CHARS = re.compile(r"[\w\-']+")


def terms(text: str) -> list[str]:
    """``'moon "relay satellite" esa!'`` -> ``["moon", "relay satellite", "esa"]``.

    Quoted text stays one phrase, and so do words joined by punctuation (``title:x`` is the
    phrase "title x", as the tokenizers split it); only word characters count, so operators and
    stray punctuation (``AND``, ``*``, ``(``, ``:``, ``-``) are words or nothing, never syntax.
    """
    out: list[str] = []
    for phrase, word in _TERM.findall(text[:MAX_QUERY]):
        words = _WORD_CHARS.findall(phrase if phrase else word)
        cleaned = " ".join(w.strip("-'") for w in words if w.strip("-'"))
        if cleaned and cleaned not in out:
            out.append(cleaned)
    return out[:MAX_TERMS]


def best_snippet(summary: str | None, body: str | None, start: str = "\ue000") -> str:
    """The body's snippet when it holds a match, else the summary's, else the body's start."""
    for text in (body, summary):
        if text and start in text:
            return text
    return body or summary or ""
