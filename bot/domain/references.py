"""Human references for items, like ``WZ-2026-0042``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.errors import InvalidInput

_PATTERN = re.compile(r"^\s*([A-Za-z]{2,6})-(\d{4})-(\d{1,9})\s*$")
_CODE = re.compile(r"^[A-Z]{2,6}$")


@dataclass(frozen=True, slots=True, order=True)
class Reference:
    jurisdiction: str
    year: int
    number: int

    def __str__(self) -> str:
        # Four digits keep references sortable and readable for a district's year;
        # a busier year simply grows a digit.
        return f"{self.jurisdiction}-{self.year}-{self.number:04d}"


_WITHIN = re.compile(r"\b([A-Za-z]{2,6})-(\d{4})-(\d{1,9})\b")


def references_in(text: str) -> list[Reference]:
    """The item references a text names (a finding's "see FL-2026-0003"), in order,
    each once."""
    found: list[Reference] = []
    for code, year, number in _WITHIN.findall(text):
        reference = Reference(code.upper(), int(year), int(number))
        if reference not in found:
            found.append(reference)
    return found


def make_reference(jurisdiction: str, year: int, number: int) -> Reference:
    if not _CODE.match(jurisdiction):
        raise InvalidInput(f"jurisdiction code {jurisdiction!r} must be 2-6 capital letters")
    if not 2000 <= year <= 9999:
        raise InvalidInput(f"year {year} out of range")
    if number < 1:
        raise InvalidInput("reference numbers start at 1")
    return Reference(jurisdiction, year, number)


def parse_reference(text: str) -> Reference:
    """Parse a reference typed by a person: case and padding do not matter."""
    match = _PATTERN.match(text)
    if match is None:
        raise InvalidInput(f"not a reference: {text!r}")
    code, year, number = match.groups()
    return make_reference(code.upper(), int(year), int(number))
