"""Whole numbers from URLs: ASCII digits within an integer column's range, nothing else."""

from __future__ import annotations

import pytest

from service.url_numbers import MAX_INT, positive_int

BAD = ["", "0", "-1", "+1", " 1", "1 ", "1.0", "1e3", "x", "²", "٣", "0x10",
       str(MAX_INT + 1), "99999999999999999999", "9" * 5000]


@pytest.mark.parametrize(("value", "expected"), [
    ("1", 1), ("20", 20), ("007", 7), (str(MAX_INT), MAX_INT),
])
def test_positive_ascii_numbers_within_range(value: str, expected: int) -> None:
    assert positive_int(value) == expected


@pytest.mark.parametrize("value", BAD)
def test_anything_else_is_none(value: str) -> None:
    assert positive_int(value, default=1) is None


def test_absent_is_the_default_and_maximum_is_inclusive() -> None:
    assert positive_int(None) is None
    assert positive_int(None, default=1) == 1
    assert positive_int("10", maximum=10) == 10
    assert positive_int("11", maximum=10) is None
