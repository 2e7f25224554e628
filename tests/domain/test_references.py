"""Human references like ``WZ-2026-0042``."""

from __future__ import annotations

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.references import Reference, make_reference, parse_reference


@pytest.mark.parametrize(
    ("code", "year", "number", "text"),
    [
        ("WZ", 2026, 1, "WZ-2026-0001"),
        ("WZ", 2026, 42, "WZ-2026-0042"),
        ("WZ", 2026, 999, "WZ-2026-0999"),
        ("WZ", 2026, 9999, "WZ-2026-9999"),
        ("WZ", 2026, 10000, "WZ-2026-10000"),  # a busy year grows a digit
        ("WZ", 2026, 123456, "WZ-2026-123456"),
        ("CQWZ", 2027, 7, "CQWZ-2027-0007"),
        ("ABCDEF", 2000, 1, "ABCDEF-2000-0001"),
    ],
)
def test_format_and_round_trip(code: str, year: int, number: int, text: str):
    ref = make_reference(code, year, number)
    assert str(ref) == text
    assert ref == Reference(code, year, number)
    assert parse_reference(text) == ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WZ-2026-0042", Reference("WZ", 2026, 42)),
        ("wz-2026-0042", Reference("WZ", 2026, 42)),
        ("Wz-2026-42", Reference("WZ", 2026, 42)),
        ("  wz-2026-42  ", Reference("WZ", 2026, 42)),
        ("\tWZ-2026-0042\n", Reference("WZ", 2026, 42)),
        ("WZ-2026-000000042", Reference("WZ", 2026, 42)),
        ("WZ-2026-12345", Reference("WZ", 2026, 12345)),
        ("cqwz-2030-1", Reference("CQWZ", 2030, 1)),
        # Full-width digits, as a Chinese input method may type them, read as digits.
        ("WZ-２０２６-００４２", Reference("WZ", 2026, 42)),
    ],
)
def test_parse_forgives_case_spaces_and_padding(text: str, expected: Reference):
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "WZ",
        "WZ-2026",
        "WZ-2026-",
        "WZ-2026-0000",  # numbers start at 1
        "WZ-1999-0001",  # year out of range
        "WZ-26-0001",  # two-digit year
        "WZ-20260-0001",
        "W-2026-0001",  # code too short
        "ABCDEFG-2026-0001",  # code too long
        "W1-2026-0001",
        "WZ 2026 0042",
        "WZ-2026-0042x",
        "WZ-2026-00-42",
        "WZ-2026--42",
        "WZ-2026-1234567890",  # more than nine digits
        "WZ—2026—0042",  # em dashes
        "ＷＺ-2026-0042",  # full-width letters
        "#WZ-2026-0042",
        "WZ - 2026 - 0042",
        "WZ-2026-0042\nWZ-2026-0043",
    ],
)
def test_parse_rejects(text: str):
    with pytest.raises(InvalidInput):
        parse_reference(text)


@pytest.mark.parametrize(
    ("code", "year", "number"),
    [
        ("wz", 2026, 1),  # codes are stored in capitals
        ("W", 2026, 1),
        ("ABCDEFG", 2026, 1),
        ("W1", 2026, 1),
        ("", 2026, 1),
        ("WZ", 1999, 1),
        ("WZ", 10000, 1),
        ("WZ", 2026, 0),
        ("WZ", 2026, -5),
    ],
)
def test_make_rejects(code: str, year: int, number: int):
    with pytest.raises(InvalidInput):
        make_reference(code, year, number)


def test_ordering_is_by_code_then_year_then_number():
    refs = [
        make_reference("WZ", 2026, 10000),
        make_reference("WZ", 2027, 1),
        make_reference("AB", 2030, 5),
        make_reference("WZ", 2026, 2),
        make_reference("WZ", 2026, 10),
    ]
    assert sorted(refs) == [
        Reference("AB", 2030, 5),
        Reference("WZ", 2026, 2),
        Reference("WZ", 2026, 10),
        Reference("WZ", 2026, 10000),
        Reference("WZ", 2027, 1),
    ]
    # Numeric, not textual: 0010 sorts after 0002, and 10000 after 9999.
    assert make_reference("WZ", 2026, 9999) < make_reference("WZ", 2026, 10000)
    assert str(make_reference("WZ", 2026, 9999)) > str(make_reference("WZ", 2026, 10000))


def test_references_are_values():
    ref = make_reference("WZ", 2026, 42)
    assert hash(ref) == hash(parse_reference("wz-2026-42"))
    assert len({ref, parse_reference("WZ-2026-0042")}) == 1
    with pytest.raises(AttributeError):
        ref.number = 43  # type: ignore[misc]
