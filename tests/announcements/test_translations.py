"""Translation groups: linking merges, one version per language, unlinking dissolves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from service.announcements import publishing, translations
from service.announcements.models import Announcement, Status
from service.database import db, utcnow


def _item(title: str, language: str, **fields: object) -> Announcement:
    item = publishing.create(title=title, language=language, **fields)  # type: ignore[arg-type]
    db.session.flush()
    return item


def test_linking_merges_groups_one_version_per_language(ctx: Flask) -> None:
    en, ar, fr = _item("Relay", "en"), _item("ترحيل", "ar"), _item("Relais", "fr")
    translations.link(ar, en)
    assert ar.translation_group == en.translation_group is not None
    translations.link(fr, ar)
    db.session.commit()
    assert [v.language for v in translations.versions(en)] == ["ar", "en", "fr"]
    assert [v.id for v in translations.others(fr)] == [ar.id, en.id]

    second_en = _item("Relay again", "en")
    with pytest.raises(translations.NotLinkable, match="both in 'en'"):
        translations.link(second_en, fr)
    with pytest.raises(translations.NotLinkable, match="its own translation"):
        translations.link(en, en)
    assert second_en.translation_group is None


def test_a_language_taken_in_the_group_cannot_be_chosen_by_an_edit(ctx: Flask) -> None:
    en, ar = _item("Relay", "en"), _item("ترحيل", "ar")
    translations.link(ar, en)
    db.session.commit()
    with pytest.raises(translations.NotLinkable, match="already in 'en'"):
        publishing.update(ar, {"language": "en"})
    assert publishing.update(ar, {"language": "ar-EG"}).fields == {"language"}


def test_unlinking_the_last_but_one_dissolves_the_group(ctx: Flask) -> None:
    en, ar, fr = _item("Relay", "en"), _item("ترحيل", "ar"), _item("Relais", "fr")
    translations.link(ar, en)
    translations.link(fr, en)
    translations.unlink(fr)
    assert fr.translation_group is None and en.translation_group is not None
    translations.unlink(ar)
    assert en.translation_group is None and ar.translation_group is None


def test_readers_see_published_versions_only(ctx: Flask) -> None:
    en = _item("Relay", "en", status=Status.PUBLISHED)
    ar = _item("ترحيل", "ar")
    translations.link(ar, en)
    assert translations.public_versions(en) == []  # the only other is a draft
    publishing.publish(ar)
    assert [v.language for v in translations.public_versions(en)] == ["ar", "en"]


def test_the_first_published_version_is_the_one_for_every_language(ctx: Flask) -> None:
    now = utcnow()
    ar = _item("ترحيل", "ar", status=Status.PUBLISHED, published_at=now - timedelta(hours=2))
    en = _item("Relay", "en", status=Status.PUBLISHED, published_at=now - timedelta(hours=1))
    alone = _item("Alone", "en", status=Status.PUBLISHED)
    translations.link(en, ar)
    assert translations.first_published_ids([ar, en, alone]) == {ar.id, alone.id}
    assert translations.first_published_ids([en]) == set()
