"""Bounds on what people type."""

from __future__ import annotations

import pytest

from bot.domain import limits
from bot.domain.errors import InvalidInput, MissingInput
from bot.domain.limits import clean_text


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("hello", 10, "hello"),
        ("  hello  ", 10, "hello"),
        ("\n\thello world\r\n", 11, "hello world"),
        ("line one\nline two", 100, "line one\nline two"),  # inner newlines kept
        ("a" * 10, 10, "a" * 10),  # exactly at the limit
        ("  " + "a" * 10 + "  ", 10, "a" * 10),  # spaces do not count
        ("道路维修", 4, "道路维修"),  # characters, not bytes
        ("\u3000全角空格\u3000", 4, "全角空格"),  # ideographic spaces stripped too
    ],
)
def test_clean_text_strips_and_keeps(value: str, limit: int, expected: str):
    assert clean_text(value, limit, field="text") == expected
    assert clean_text(value, limit, field="text", required=False) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "\n\t ", "\u3000"])
def test_required_text_missing(value: str | None):
    with pytest.raises(MissingInput) as caught:
        clean_text(value, 10, field="reason")
    assert caught.value.context["field"] == "reason"


@pytest.mark.parametrize("value", [None, "", "   ", "\n\t "])
def test_optional_text_empty_is_empty(value: str | None):
    assert clean_text(value, 10, field="comment", required=False) == ""


@pytest.mark.parametrize("required", [True, False])
@pytest.mark.parametrize(
    ("value", "limit"),
    [("a" * 11, 10), ("道路维修!", 4), ("x" * (limits.TEXT_MAX + 1), limits.TEXT_MAX)],
)
def test_over_the_limit_is_invalid(value: str, limit: int, required: bool):
    with pytest.raises(InvalidInput) as caught:
        clean_text(value, limit, field="title", required=required)
    assert caught.value.context == {"field": "title", "limit": limit}


def test_bounds_fit_a_telegram_message():
    # A card shows title, body, location and a reason; with labels it fits 4096.
    assert limits.TITLE_MAX + limits.BODY_MAX + limits.LOCATION_MAX < 4096
    assert limits.TEXT_MAX < 4096
    assert limits.COMMENT_MAX < limits.TEXT_MAX
    assert 0 < limits.ATTACHMENTS_MAX <= 10  # one Telegram media group
    assert limits.NAME_MAX > 0
