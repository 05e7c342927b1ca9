"""Revisions side by side: lines aligned, changed words marked, unchanged runs folded."""

from __future__ import annotations

from service.announcements.word_diff import CONTEXT, side_by_side, words


def test_only_the_changed_words_are_marked() -> None:
    old, new = words("The launch is set for 14 May 2027 at Baikonur.",
                     "The launch is set for 21 May 2027 at Kourou.")
    assert [t for k, t in old if k == "del"] == ["14", "Baikonur"]
    assert [t for k, t in new if k == "add"] == ["21", "Kourou"]
    assert "".join(t for _, t in old) == "The launch is set for 14 May 2027 at Baikonur."
    assert "".join(t for _, t in new) == "The launch is set for 21 May 2027 at Kourou."


def test_an_added_paragraph_is_on_the_right_only_and_a_removed_one_on_the_left() -> None:
    rows = side_by_side("First.\nSecond.\nThird.", "First.\nSecond.\nAdded.\nThird.")
    [added] = [r for r in rows if r.changed]
    assert added.old.number is None and added.new == added.new.__class__(3, (("add", "Added."),))
    rows = side_by_side("First.\nGone.\nThird.", "First.\nThird.")
    [removed] = [r for r in rows if r.changed]
    assert removed.old.number == 2 and removed.old.segments == (("del", "Gone."),)
    assert removed.new.number is None


def test_long_unchanged_runs_fold_and_keep_context_around_changes() -> None:
    before = [f"Paragraph {n}." for n in range(1, 21)]
    after = list(before)
    after[9] = "Paragraph ten, revised."
    rows = side_by_side("\n".join(before), "\n".join(after))
    shown = [r.old.number for r in rows if not r.folded]
    assert shown == list(range(10 - CONTEXT, 10 + CONTEXT + 1))
    assert [r.folded for r in rows if r.folded] == [10 - CONTEXT - 1, 20 - 10 - CONTEXT]


def test_right_to_left_text_and_markup_are_compared_as_text() -> None:
    old, new = words("وكالة الفضاء <b>ESA</b>", "وكالة الفضاء <b>NASA</b>")
    assert ("del", "ESA") in old and ("add", "NASA") in new
    assert old[0] == ("same", "وكالة الفضاء <b>") and old[-1] == ("same", "</b>")
