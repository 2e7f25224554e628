"""A streaming XLSX writer: safe cells, any number of rows, constant memory.

The engine knows nothing of the bot: callers pass headers and values already
translated. What it does know is how a spreadsheet can bite the office that opens it:

* a text that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return)
  gets a leading apostrophe and stays a text cell, so no application ever evaluates
  what a citizen typed (OWASP's advice on formula injection);
* datetimes are shown in the office's time zone, without a zone Excel cannot store;
* characters XML refuses are dropped and over-long texts cut, instead of failing an
  export of a year's data on one odd message;
* a sheet that reaches Excel's row limit continues on "<title> (2)", "(3)"…

Rows go through openpyxl's write-only mode: each sheet streams to a temporary file
and nothing but the current row is held in memory. openpyxl (10 MB) is imported by the
first workbook made, not with this module: a bot never asked for an export never loads
it.
"""

from __future__ import annotations

import contextlib
import enum
import math
import os
import re
import unicodedata
import weakref
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any, Final
from zoneinfo import ZoneInfo

from bot.reports.text import xml_safe

__all__ = [
    "CELL_MAX_CHARS",
    "DATETIME_FORMAT",
    "DATE_FORMAT",
    "EXCEL_MAX_COLUMNS",
    "EXCEL_MAX_ROWS",
    "SHEET_TITLE_MAX_CHARS",
    "SheetWriter",
    "WorkbookWriter",
    "escape",
]

#: Rows in one Excel sheet, the header row included.
EXCEL_MAX_ROWS: Final = 1_048_576
EXCEL_MAX_COLUMNS: Final = 16_384
#: Excel counts a cell's characters in UTF-16 units, so an emoji counts twice.
CELL_MAX_CHARS: Final = 32_767
SHEET_TITLE_MAX_CHARS: Final = 31
DATETIME_FORMAT: Final = "yyyy-mm-dd hh:mm"
DATE_FORMAT: Final = "yyyy-mm-dd"

_FORMULA_STARTS: Final = frozenset("=+-@\t\r")
# A title is one line; Excel refuses these in sheet names.
_TITLE_ILLEGAL_CHARS: Final = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff]")
_TITLE_FORBIDDEN: Final = re.compile(r"[\[\]:*?/\\]")
# Excel keeps "History" for its change tracking and will not open a sheet of that name.
_RESERVED_TITLES: Final = frozenset({"history"})
_ELLIPSIS: Final = "…"

_MIN_WIDTH: Final = 10
_MAX_WIDTH: Final = 60
# The header is bold and carries the filter's drop-down button.
_HEADER_PADDING: Final = 4
_EXCEL_MAX_WIDTH: Final = 255


def escape(value: str) -> str:
    """Return ``value`` so that no spreadsheet takes it for a formula.

    Only the first character matters: "a=b" is left alone, "=1" becomes "'=1".
    """
    if value and value[0] in _FORMULA_STARTS:
        return "'" + value
    return value


def _utf16_units(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _cut(text: str, limit: int, marker: str = "") -> str:
    """``text`` within ``limit`` UTF-16 units, ending in ``marker`` if it was cut."""
    # Even a text of astral characters only fits when it has half the limit.
    if len(text) * 2 <= limit or _utf16_units(text) <= limit:
        return text
    budget = limit - _utf16_units(marker)
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > budget:
            return text[:index] + marker
    return text  # pragma: no cover - the length check above returned already


def _text(value: str) -> str:
    """A caller's text made fit for a cell: XML-clean, not a formula, not too long."""
    return _cut(escape(xml_safe(value)), CELL_MAX_CHARS, _ELLIPSIS)


def _display_width(text: str) -> int:
    # CJK ideographs and full-width forms take two columns of a monospace grid, which is
    # about what they take in Excel's default font too.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _default_width(header: str) -> int:
    return min(max(_display_width(header) + _HEADER_PADDING, _MIN_WIDTH), _MAX_WIDTH)


def _release(book: Any) -> None:
    """Close the sheets' streams of an unsaved workbook and remove their files.

    Reaches into openpyxl's write-only internals: each started sheet holds an open
    temporary file that openpyxl would remove only once saved, or at the process's exit.
    """
    from openpyxl.worksheet import _writer as openpyxl_sheet_writer  # type: ignore[import-untyped]

    registered: list[str] = openpyxl_sheet_writer.ALL_TEMP_FILES
    for worksheet in book.worksheets:
        writer: Any = getattr(worksheet, "_writer", None)
        path = getattr(writer, "out", None)
        if not isinstance(path, str) or path not in registered:
            continue  # saved already, and removed by openpyxl
        # The rows' stream is nested in the sheet's: closed the other way round, or left
        # to the garbage collector, lxml complains of elements closed out of order.
        rows = getattr(worksheet, "_rows", None)
        with contextlib.suppress(Exception):
            if rows is not None:
                rows.close()
            writer.close()
        with contextlib.suppress(OSError):
            os.remove(path)
        registered.remove(path)


def _safe_title(title: str) -> str:
    """A sheet title Excel accepts, as close to the caller's as possible."""
    title = _TITLE_ILLEGAL_CHARS.sub("", title)
    title = _TITLE_FORBIDDEN.sub("_", title)
    # Excel quotes sheet names with apostrophes in references, so it refuses one at
    # either end of a name.
    title = title.strip().strip("'").strip()
    title = _cut(title, SHEET_TITLE_MAX_CHARS).rstrip().rstrip("'").rstrip()
    return title or "Sheet"


class WorkbookWriter:
    """One XLSX workbook, written a row at a time and saved once.

    ``max_rows`` is the number of rows a sheet may hold, its header row included; past
    it a sheet continues on a new one. Lower it only to test that continuation.
    """

    def __init__(self, tz: ZoneInfo, *, max_rows: int = EXCEL_MAX_ROWS) -> None:
        if not 2 <= max_rows <= EXCEL_MAX_ROWS:
            raise ValueError(f"max_rows must be between 2 and {EXCEL_MAX_ROWS}, not {max_rows}")
        from openpyxl import Workbook  # type: ignore[import-untyped]

        self._tz = tz
        self._max_rows = max_rows
        self._book: Any = Workbook(write_only=True)
        self._sheets: list[SheetWriter] = []
        self._titles: set[str] = set(_RESERVED_TITLES)
        self._closed = False
        # Holds the openpyxl workbook, not this writer: an export abandoned on an error
        # still gets its streams closed in order and its temporary files removed.
        self._finalizer = weakref.finalize(self, _release, self._book)

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    @property
    def closed(self) -> bool:
        """True once the workbook is saved or discarded; it takes no more rows then."""
        return self._closed

    def sheet(
        self, title: str, headers: Sequence[str], widths: Sequence[int] | None = None
    ) -> SheetWriter:
        """Add a sheet with a bold, frozen, filterable header row.

        ``title`` is made valid and unique (see ``SheetWriter.title`` for the result).
        ``widths`` are column widths in characters, one per header; without them each
        column is as wide as its header needs, within reason.
        """
        self._check_open()
        if isinstance(headers, str):
            raise TypeError("headers must be a sequence of strings, not one string")
        header_row = tuple(headers)
        if not header_row:
            raise ValueError("a sheet needs at least one column")
        if len(header_row) > EXCEL_MAX_COLUMNS:
            raise ValueError(f"a sheet holds at most {EXCEL_MAX_COLUMNS} columns")
        if widths is None:
            column_widths = tuple(_default_width(header) for header in header_row)
        else:
            column_widths = tuple(widths)
            if len(column_widths) != len(header_row):
                raise ValueError(f"{len(column_widths)} widths given for {len(header_row)} columns")
            if any(not 0 < width <= _EXCEL_MAX_WIDTH for width in column_widths):
                raise ValueError(f"column widths must be between 1 and {_EXCEL_MAX_WIDTH}")
        sheet = SheetWriter(self, _safe_title(title), header_row, column_widths)
        self._sheets.append(sheet)
        return sheet

    def save(self, target: str | os.PathLike[str] | IO[bytes]) -> None:
        """Write the workbook to a path or a binary file; only once."""
        self._check_open()
        if not self._sheets:
            raise ValueError("a workbook needs at least one sheet")
        self._closed = True
        try:
            for sheet in self._sheets:
                sheet._finish()
            self._book.save(target)
        finally:
            # openpyxl removes each sheet's temporary file once it is in the archive;
            # a failed save would leave the rest behind.
            self._finalizer()

    def discard(self) -> None:
        """Give up an unsaved workbook and remove its temporary files.

        An export that fails half-way should call this, so that a million rows of
        temporary XML go at once rather than when the writer is garbage-collected.
        Does nothing once saved or discarded.
        """
        if self._closed:
            return
        self._closed = True
        self._finalizer()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the workbook is already saved or discarded")

    def _claim_title(self, base: str, first_number: int | None = None) -> str:
        """``base``, or ``base (n)`` from ``first_number`` on, whichever is free."""
        # Excel compares sheet names without regard to case.
        if first_number is None:
            if base.casefold() not in self._titles:
                self._titles.add(base.casefold())
                return base
            first_number = 2
        number = first_number
        while True:
            suffix = f" ({number})"
            candidate = _cut(base, SHEET_TITLE_MAX_CHARS - len(suffix)).rstrip() + suffix
            if candidate.casefold() not in self._titles:
                self._titles.add(candidate.casefold())
                return candidate
            number += 1

    def _create_sheet(self, title: str, after: Any | None) -> Any:
        index = None if after is None else self._book.worksheets.index(after) + 1
        return self._book.create_sheet(title=title, index=index)


class SheetWriter:
    """The rows of one sheet; made by ``WorkbookWriter.sheet``."""

    def __init__(
        self,
        book: WorkbookWriter,
        title: str,
        headers: tuple[str, ...],
        widths: tuple[int, ...],
    ) -> None:
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

        # Kept at hand: each date in the sheet is one, and an export may hold millions.
        self._new_cell: Any = WriteOnlyCell
        self._book = book
        self._headers = headers
        self._widths = widths
        self._capacity = book._max_rows - 1
        self._rows = 0
        self._parts: list[tuple[Any, int]] = []
        self._part_rows = 0
        self._worksheet: Any = None
        self._title = book._claim_title(title)
        self._open_part(self._title)

    @property
    def title(self) -> str:
        """The title the first part got, after making it valid and unique."""
        return self._title

    @property
    def titles(self) -> tuple[str, ...]:
        """The titles of every part, the first one's included."""
        return (*(worksheet.title for worksheet, _ in self._parts), self._worksheet.title)

    @property
    def rows(self) -> int:
        """Data rows written so far, across all parts."""
        return self._rows

    def append(self, row: Sequence[object]) -> None:
        """Write one row; it may be shorter than the header row, not longer."""
        self._book._check_open()
        if isinstance(row, str | bytes):
            raise TypeError("a row must be a sequence of values, not one string")
        if len(row) > len(self._headers):
            raise ValueError(f"a row of {len(row)} values for {len(self._headers)} columns")
        # Converting first means a bad value rejects the whole row and leaves the sheet
        # as it was, so a caller may skip the row and go on.
        cells = [self._cell(value) for value in row]
        if self._part_rows >= self._capacity:
            self._open_part(self._book._claim_title(self._title, len(self._parts) + 2))
        self._worksheet.append(cells)
        self._part_rows += 1
        self._rows += 1

    def extend(self, rows: Iterable[Sequence[object]]) -> None:
        """Write each row in turn; a generator is consumed as it is written."""
        append = self.append
        for row in rows:
            append(row)

    def _open_part(self, title: str) -> None:
        from openpyxl.styles import Font  # type: ignore[import-untyped]
        from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

        previous = self._worksheet
        if previous is not None:
            self._finish()
            self._parts.append((previous, self._part_rows))
        worksheet = self._book._create_sheet(title, after=previous)
        # Write-only sheets take their views and columns before the first row.
        worksheet.freeze_panes = "A2"
        for index, width in enumerate(self._widths, start=1):
            worksheet.column_dimensions[get_column_letter(index)].width = width
        header_cells = []
        bold = Font(bold=True)
        for header in self._headers:
            cell = self._new_cell(worksheet, value=_text(str(header)))
            cell.font = bold
            header_cells.append(cell)
        worksheet.append(header_cells)
        self._worksheet = worksheet
        self._part_rows = 0

    def _finish(self) -> None:
        from openpyxl.utils import get_column_letter

        # The filter goes after the rows in the sheet's XML, so it can cover them all.
        last = get_column_letter(len(self._headers))
        self._worksheet.auto_filter.ref = f"A1:{last}{self._part_rows + 1}"

    def _cell(self, value: object) -> object:
        """A value openpyxl writes as we mean it: a plain value or a styled cell."""
        # The common types first, by exact type: this runs for every cell of the export.
        if type(value) is str:
            return _text(value)
        if value is None or type(value) is int or type(value) is bool:
            return value
        if isinstance(value, enum.Enum):
            value = value.value
            if isinstance(value, enum.Enum):
                raise TypeError(f"an enum whose value is an enum: {value!r}")
        return self._other_cell(value)

    def _other_cell(self, value: object) -> object:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return _text(str(value))
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float | Decimal):
            if not math.isfinite(value):
                # Excel has no NaN or infinity: it would call the whole file corrupt.
                raise ValueError(f"a number a spreadsheet cannot hold: {value!r}")
            return value
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"a naive datetime has no place in a report: {value!r}")
            local = value.astimezone(self._book._tz).replace(tzinfo=None)
            return self._styled(local, DATETIME_FORMAT)
        if isinstance(value, date):
            return self._styled(value, DATE_FORMAT)
        raise TypeError(f"cannot write a {type(value).__name__} to a workbook cell")

    def _styled(self, value: date, number_format: str) -> Any:
        cell = self._new_cell(self._worksheet, value=value)
        cell.number_format = number_format
        return cell
