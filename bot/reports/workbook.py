"""A streaming XLSX writer: safe cells, any number of rows, constant memory, fast.

The engine knows nothing of the bot: callers pass headers and values already
translated. What it does know is how a spreadsheet can bite the office that opens it:

* a text that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return)
  gets a leading apostrophe and stays a text cell, so no application ever evaluates
  what a citizen typed (OWASP's advice on formula injection); the writer never writes
  a formula at all;
* datetimes are shown in the office's time zone, without a zone Excel cannot store;
* characters XML refuses are dropped and over-long texts cut, instead of failing an
  export of a year's data on one odd message;
* a sheet that reaches Excel's row limit continues on "<title> (2)", "(3)"…, each with
  the header row, and a note beside the header saying where the rows go on (so does
  one whose XML nears 4 GB, which only zip64 could hold and LibreOffice not open).

It writes SpreadsheetML itself, with nothing but the standard library: each row is one
string of XML (inline strings, so nothing grows with the row count), compressed as it
is written into a temporary file per sheet; ``save`` puts the zip archive together
from those compressed streams, adding each sheet's head (its header row, which names
the continuation only known by then) and tail, without compressing anything twice. A
year of a busy city (45 million cells) is written at a few million cells a second, and
nothing but a buffer of rows is held in memory.

A column may be given a date format: numbers in it are Excel serial dates (days since
1899-12-30), which is how a caller that reads its dates straight from the database as
numbers (``LocalSerial`` turns UTC serials into local ones) gets them shown as dates.
"""

from __future__ import annotations

import enum
import functools
import math
import os
import re
import struct
import tempfile
import time
import unicodedata
import weakref
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
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
    "LocalSerial",
    "SheetWriter",
    "WorkbookWriter",
    "escape",
    "excel_serial",
    "steady_offset",
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
_NOTE_WIDTH: Final = 40

# Excel's serial dates count days from 1899-12-30 (its 1900 leap-year bug included).
_EPOCH_ORDINAL: Final = date(1899, 12, 30).toordinal()
_UNIX_EPOCH_SERIAL: Final = 25569  # 1970-01-01
_DAY_SECONDS: Final = 86_400
_NUDGE: Final = 1e-9
# Every zone's offset is a whole number of quarter hours, and changes on one: all
# moments of one quarter hour of UTC share an offset.
_BUCKETS_PER_DAY: Final = 96

# The cell styles of styles.xml, by index.
_STYLE_HEADER: Final = 1
_STYLE_DATETIME: Final = 2
_STYLE_DATE: Final = 3
_STYLE_NOTE: Final = 4
_FORMAT_STYLES: Final = {DATETIME_FORMAT: _STYLE_DATETIME, DATE_FORMAT: _STYLE_DATE}

# Rows are gathered into chunks of about this many characters before compression.
_CHUNK_CHARS: Final = 1 << 20
# zlib's level. On a year's export (220 MB of XML a 100,000 items): level 1 takes
# 0.5 s and makes 26 MB, level 3 0.6 s and 23.5 MB, level 6 (zlib's default) 1.4 s and
# 20.5 MB. The compression runs beside the rows' making, but it is CPU all the same.
COMPRESS_LEVEL: Final = 3
# Sizes from which a zip entry needs the zip64 extension (a module setting, so that a
# test can exercise that path without writing 4 GB). LibreOffice (7.4, Debian 12's)
# cannot open a zip64 archive: a sheet continues on another before its XML reaches
# 4 GB, so only an archive itself past 4 GB (some 30 million rows) needs it.
_ZIP64_LIMIT = 0xFFFFFFFF
# The most XML one sheet of the archive holds: a chunk's worth under 4 GiB.
_PART_BYTES_MAX = 0xFFFFFFFF - (64 << 20)

# A text written as it is: printable (no control characters, surrogates or
# non-characters), not starting like a formula or with a space, no markup, short
# enough that even in UTF-16 units it fits a cell.
_PLAIN_TEXT_MAX: Final = CELL_MAX_CHARS // 2
_ODD_STARTS: Final = frozenset("=+-@ ")
# Texts this short are remembered, this many a sheet: the words and names that repeat.
_SEEN_CHARS: Final = 32
_SEEN_MAX: Final = 10_000


def escape(value: str) -> str:
    """Return ``value`` so that no spreadsheet takes it for a formula.

    Only the first character matters: "a=b" is left alone, "=1" becomes "'=1".
    """
    if value and value[0] in _FORMULA_STARTS:
        return "'" + value
    return value


def excel_serial(moment: datetime, tz: ZoneInfo) -> float:
    """An aware datetime as the serial date Excel shows as its time in ``tz``."""
    local = moment.astimezone(tz).replace(tzinfo=None)
    delta = local - datetime(1899, 12, 30)
    return delta.days + (delta.seconds + delta.microseconds / 1_000_000) / _DAY_SECONDS


class LocalSerial:
    """UTC serial dates (days since 1899-12-30, in UTC) made local to ``tz``.

    The zone's offset is looked up once per quarter hour of UTC met, not per value: a
    year of moments falls in some 35,000 quarter hours, and a million time-zone
    conversions would cost seconds.
    """

    def __init__(self, tz: ZoneInfo) -> None:
        self._tz = tz
        self._offsets: dict[int, float] = {}

    def __call__(self, utc: float | None) -> float | None:
        if utc is None:
            return None
        bucket = int(utc * _BUCKETS_PER_DAY)
        offset = self._offsets.get(bucket)
        if offset is None:
            offset = self._offsets[bucket] = self._offset(bucket)
        return utc + offset

    def _offset(self, bucket: int) -> float:
        seconds = (bucket / _BUCKETS_PER_DAY - _UNIX_EPOCH_SERIAL) * _DAY_SECONDS
        moment = datetime.fromtimestamp(round(seconds), UTC)
        shift = moment.astimezone(self._tz).utcoffset() or timedelta(0)
        return shift.total_seconds() / _DAY_SECONDS


def _serial_text(serial: float) -> str:
    """A serial date as written: a little above the value (by 1e-9 of a day, 86 µs, to
    9 decimals), so that an application that truncates to the minute (LibreOffice does)
    shows the minute meant, not the one before, whatever the last bits of a float (the
    database's Julian days are good to 20 µs); one that reads to the millisecond reads
    the millisecond meant. Also what a float is written in cheapest."""
    return f"{serial + _NUDGE:.9f}"


@functools.lru_cache(maxsize=16)
def steady_offset(tz: ZoneInfo) -> timedelta | None:
    """The zone's one offset from UTC from 2000 to 2100, or None if it has more (summer
    time, or a change of its standard time): then moments are made local one by one
    (:class:`LocalSerial`), else by adding it. Summer time spans July or January, and
    a change shows between two of them."""
    offsets = {
        datetime(year, month, 15, tzinfo=UTC).astimezone(tz).utcoffset()
        for year in range(2000, 2101)
        for month in (1, 7)
    }
    return offsets.pop() if len(offsets) == 1 else None


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


def _xml(text: str) -> str:
    """Text for an XML element or attribute (XML-clean already)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\r" in text:
        # A parser turns a bare carriage return into a line feed.
        text = text.replace("\r", "&#13;")
    return text


def _inline(ref: str, text: str, style: str = "") -> str:
    """A text cell for any text: the slow path of ``SheetWriter``'s rows."""
    text = _text(text)
    if not text:
        return ""
    space = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{_xml(text)}</t></is></c>'


def _display_width(text: str) -> int:
    # CJK ideographs and full-width forms take two columns of a monospace grid, which is
    # about what they take in Excel's default font too.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _default_width(header: str) -> int:
    return min(max(_display_width(header) + _HEADER_PADDING, _MIN_WIDTH), _MAX_WIDTH)


def _column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _safe_title(title: str) -> str:
    """A sheet title Excel accepts, as close to the caller's as possible."""
    title = _TITLE_ILLEGAL_CHARS.sub("", title)
    title = _TITLE_FORBIDDEN.sub("_", title)
    # Excel quotes sheet names with apostrophes in references, so it refuses one at
    # either end of a name.
    title = title.strip().strip("'").strip()
    title = _cut(title, SHEET_TITLE_MAX_CHARS).rstrip().rstrip("'").rstrip()
    return title or "Sheet"


def _close_all(packer: _Packer, files: list[IO[bytes]]) -> None:
    """Stop the packer and close every sheet's temporary file (they are nameless:
    closed, they are gone)."""
    packer.stop()
    for file in files:
        file.close()


class WorkbookWriter:
    """One XLSX workbook, written a row at a time and saved once.

    ``max_rows`` is the number of rows a sheet may hold, its header row included; past
    it a sheet continues on a new one. Lower it only to test that continuation.
    ``continues`` and ``continued`` are the notes put beside the header row of a sheet
    that goes on to another and of one that goes on from another (``{sheet}`` is the
    other's title); the caller translates them.
    """

    def __init__(
        self,
        tz: ZoneInfo,
        *,
        max_rows: int = EXCEL_MAX_ROWS,
        continues: str = "Continued on the sheet “{sheet}”.",
        continued: str = "Continued from the sheet “{sheet}”.",
        level: int = COMPRESS_LEVEL,
    ) -> None:
        if not 2 <= max_rows <= EXCEL_MAX_ROWS:
            raise ValueError(f"max_rows must be between 2 and {EXCEL_MAX_ROWS}, not {max_rows}")
        self._tz = tz
        self._max_rows = max_rows
        self._notes = (continues, continued)
        self._level = level
        self._sheets: list[SheetWriter] = []
        self._parts: list[_Part] = []
        self._titles: set[str] = set(_RESERVED_TITLES)
        self._closed = False
        self._packer = _Packer()
        self._files: list[IO[bytes]] = []
        # Holds the files, not this writer (nor anything that leads back to it): an
        # export abandoned on an error still gets its temporary files closed, and so
        # removed.
        self._finalizer = weakref.finalize(self, _close_all, self._packer, self._files)

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    @property
    def closed(self) -> bool:
        """True once the workbook is saved or discarded; it takes no more rows then."""
        return self._closed

    @property
    def compressed_size(self) -> int:
        """About how large the workbook is so far: its rows compressed until now (the
        last megabyte or so of rows may still be on its way)."""
        return sum(part.compressed for part in self._parts)

    def sheet(
        self,
        title: str,
        headers: Sequence[str],
        widths: Sequence[int] | None = None,
        formats: Sequence[str | None] | None = None,
    ) -> SheetWriter:
        """Add a sheet with a bold, frozen, filterable header row.

        ``title`` is made valid and unique (see ``SheetWriter.title`` for the result).
        ``widths`` are column widths in characters, one per header; without them each
        column is as wide as its header needs, within reason. ``formats`` may give a
        column ``DATETIME_FORMAT`` or ``DATE_FORMAT``: its numbers are serial dates.
        """
        self._check_open()
        if isinstance(headers, str):
            raise TypeError("headers must be a sequence of strings, not one string")
        header_row = tuple(headers)
        if not header_row:
            raise ValueError("a sheet needs at least one column")
        if len(header_row) >= EXCEL_MAX_COLUMNS:
            # One column is kept for the note of a sheet that continues.
            raise ValueError(f"a sheet holds fewer than {EXCEL_MAX_COLUMNS} columns")
        if widths is None:
            column_widths = tuple(_default_width(header) for header in header_row)
        else:
            column_widths = tuple(widths)
            if len(column_widths) != len(header_row):
                raise ValueError(f"{len(column_widths)} widths given for {len(header_row)} columns")
            if any(not 0 < width <= _EXCEL_MAX_WIDTH for width in column_widths):
                raise ValueError(f"column widths must be between 1 and {_EXCEL_MAX_WIDTH}")
        styles = [0] * len(header_row)
        if formats is not None:
            if len(formats) != len(header_row):
                raise ValueError(f"{len(formats)} formats given for {len(header_row)} columns")
            for index, number_format in enumerate(formats):
                if number_format is not None and number_format not in _FORMAT_STYLES:
                    raise ValueError(f"no such number format: {number_format!r}")
                styles[index] = _FORMAT_STYLES.get(number_format or "", 0)
        sheet = SheetWriter(self, _safe_title(title), header_row, column_widths, tuple(styles))
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
            self._packer.wait()
            if isinstance(target, str | os.PathLike):
                with open(target, "wb") as out:
                    self._write(out)
            else:
                self._write(target)
        finally:
            self._finalizer()

    def discard(self) -> None:
        """Give up an unsaved workbook and remove its temporary files.

        An export that fails half-way should call this, so that a million rows of
        compressed XML go at once rather than when the writer is garbage-collected.
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

    def _new_part(self, sheet: SheetWriter, title: str) -> _Part:
        part = _Part(sheet, title, self._level, self._packer)
        self._parts.append(part)
        self._files.append(part.stream.file)
        return part

    # ---- the archive ------------------------------------------------------------------

    def _ordered_parts(self) -> list[_Part]:
        """Each sheet's parts, next to each other, in the order the sheets were made."""
        return [part for sheet in self._sheets for part in sheet._parts]

    def _write(self, out: IO[bytes]) -> None:
        parts = self._ordered_parts()
        archive = _Zip(out)
        archive.add_bytes("[Content_Types].xml", _content_types(len(parts)))
        archive.add_bytes("_rels/.rels", _ROOT_RELS)
        archive.add_bytes("xl/workbook.xml", _workbook_xml(parts))
        archive.add_bytes("xl/_rels/workbook.xml.rels", _workbook_rels(len(parts)))
        archive.add_bytes("xl/styles.xml", _STYLES)
        for number, part in enumerate(parts, start=1):
            head, tail = part.head_and_tail(self._notes)
            archive.add_stream(f"xl/worksheets/sheet{number}.xml", *part.packed(head, tail))
        archive.finish()


class SheetWriter:
    """The rows of one sheet; made by ``WorkbookWriter.sheet``."""

    def __init__(
        self,
        book: WorkbookWriter,
        title: str,
        headers: tuple[str, ...],
        widths: tuple[int, ...],
        styles: tuple[int, ...],
    ) -> None:
        self._book = book
        self._headers = headers
        self._widths = widths
        self._styles = styles
        letters = [_column_letter(index) for index in range(1, len(headers) + 1)]
        self._letters = tuple(letters)
        # For each column: its letter, what goes between the reference and a number, and
        # whether its numbers are dates.
        self._columns = tuple(
            (letter, f'" s="{style}"><v>' if style else '"><v>', bool(style))
            for letter, style in zip(letters, styles, strict=True)
        )
        # Short plain texts met in the sheet, as their cells end: looked up, not checked.
        self._seen: dict[str, str] = {}
        self._capacity = book._max_rows - 1
        self._rows = 0
        self._parts: list[_Part] = []
        self._title = book._claim_title(title)
        self._part = self._open_part(self._title)

    @property
    def title(self) -> str:
        """The title the first part got, after making it valid and unique."""
        return self._title

    @property
    def titles(self) -> tuple[str, ...]:
        """The titles of every part, the first one's included."""
        return tuple(part.title for part in self._parts)

    @property
    def rows(self) -> int:
        """Data rows written so far, across all parts."""
        return self._rows

    def append(self, row: Sequence[object]) -> None:
        """Write one row; it may be shorter than the header row, not longer."""
        self.extend((row,))

    def extend(self, rows: Iterable[Sequence[object]]) -> None:
        """Write each row in turn; a generator is consumed as it is written.

        A row with a value no cell can hold raises before any of it is written, so a
        caller may skip that row and go on.
        """
        self._book._check_open()
        width = len(self._headers)
        cells = self._cells
        part = self._part
        capacity = self._capacity
        for row in rows:
            if isinstance(row, str | bytes):
                raise TypeError("a row must be a sequence of values, not one string")
            if len(row) > width:
                raise ValueError(f"a row of {len(row)} values for {width} columns")
            full = part.rows >= capacity or part.sent >= _PART_BYTES_MAX
            number = "2" if full else str(part.rows + 2)
            xml = f'<row r="{number}">{cells(row, number)}</row>'
            if full:
                part = self._part = self._open_part(
                    self._book._claim_title(self._title, len(self._parts) + 1)
                )
            part.add(xml)
            self._rows += 1

    def _cells(self, row: Sequence[Any], number: str) -> str:
        """One row's cells as XML: the common values written in place, the rest (and
        any text that needs escaping) by ``_cell``."""
        out: list[str] = []
        add = out.append
        odd, plain_max, nudge = _ODD_STARTS, _PLAIN_TEXT_MAX, _NUDGE
        seen = self._seen
        for (letter, numeric, dated), value in zip(self._columns, row, strict=False):
            if value is None:
                continue
            kind = type(value)
            if kind is str:
                # A short text met before (a status, a name, a code: most cells).
                tail = seen.get(value)
                if tail is not None:
                    add(f'<c r="{letter}{number}{tail}')
                elif not value:
                    continue
                elif (
                    value.isprintable()
                    and value[0] not in odd
                    and value[-1] != " "
                    and "&" not in value
                    and "<" not in value
                    and ">" not in value
                    and len(value) <= plain_max
                ):
                    tail = f'" t="inlineStr"><is><t>{value}</t></is></c>'
                    if len(value) <= _SEEN_CHARS and len(seen) < _SEEN_MAX:
                        seen[value] = tail
                    add(f'<c r="{letter}{number}{tail}')
                else:
                    add(_inline(letter + number, value))
            elif kind is float:
                if value - value != 0:
                    raise ValueError(f"a number a spreadsheet cannot hold: {value!r}")
                if dated:
                    # As _serial_text, in place: this runs for millions of cells.
                    add(f'<c r="{letter}{number}{numeric}{value + nudge:.9f}</v></c>')
                else:
                    add(f'<c r="{letter}{number}{numeric}{value!r}</v></c>')
            elif kind is int:
                add(f'<c r="{letter}{number}{numeric}{value}</v></c>')
            else:
                add(self._cell(letter + number, numeric, value))
        return "".join(out)

    def _cell(self, ref: str, numeric: str, value: object) -> str:
        if isinstance(value, enum.Enum):
            value = value.value
            if isinstance(value, enum.Enum):
                raise TypeError(f"an enum whose value is an enum: {value!r}")
        if value is None:
            return ""
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, str):
            return _inline(ref, str(value))
        if isinstance(value, int):
            return f'<c r="{ref}{numeric}{int(value)}</v></c>'
        if isinstance(value, float | Decimal):
            if not math.isfinite(value):
                # Excel has no NaN or infinity: it would call the whole file corrupt.
                raise ValueError(f"a number a spreadsheet cannot hold: {value!r}")
            return f'<c r="{ref}{numeric}{value}</v></c>'
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"a naive datetime has no place in a report: {value!r}")
            serial = _serial_text(excel_serial(value, self._book._tz))
            return f'<c r="{ref}" s="{_STYLE_DATETIME}"><v>{serial}</v></c>'
        if isinstance(value, date):
            serial_day = value.toordinal() - _EPOCH_ORDINAL
            return f'<c r="{ref}" s="{_STYLE_DATE}"><v>{serial_day}</v></c>'
        raise TypeError(f"cannot write a {type(value).__name__} to a workbook cell")

    def _open_part(self, title: str) -> _Part:
        if self._parts:
            self._part.flush()
        part = self._book._new_part(self, title)
        self._parts.append(part)
        return part

    def _finish(self) -> None:
        self._part.flush()


class _Packer:
    """The one thread that compresses and stores a workbook's rows.

    zlib and file writes let go of the interpreter's lock, so the rows' compression
    runs beside the making of the next rows instead of after it. But each time the
    thread wants the lock back it waits its turn (up to 5 ms while the rows are being
    made): so it is not handed each chunk as it comes, but all those made while it was
    busy, in one piece, up to ``_BATCH_MAX`` bytes; past that, the writer waits for
    it rather than fill memory.
    """

    _BATCH_MAX: Final = 8 << 20

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._running: Future[None] | None = None
        self._stream: _Stream | None = None
        self._batch: list[bytes] = []
        self._batch_bytes = 0

    def submit(self, stream: _Stream, data: bytes) -> None:
        """Compress ``data`` into ``stream``, after everything submitted before."""
        if stream is not self._stream:
            self._send()
            self._stream = stream
        self._batch.append(data)
        self._batch_bytes += len(data)
        busy = self._running is not None and not self._running.done()
        if not busy or self._batch_bytes >= self._BATCH_MAX:
            self._send()

    def _send(self) -> None:
        if not self._batch:
            return
        assert self._stream is not None
        if self._running is not None:
            self._running.result()  # one at a time, and its failure raised here
        data = self._batch[0] if len(self._batch) == 1 else b"".join(self._batch)
        self._batch, self._batch_bytes = [], 0
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outpost-xlsx")
        self._running = self._pool.submit(self._stream.pack, data)

    def wait(self) -> None:
        """Until everything is stored; a failure, if any, is raised."""
        self._send()
        if self._running is not None:
            self._running.result()

    def stop(self) -> None:
        """Let what is in hand finish, whatever becomes of it, and end the thread."""
        self._batch = []
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class _Stream:
    """A sheet's rows compressed into a nameless temporary file, then its tail: what
    the packer's thread works on. It leads back to no sheet and no workbook, so a
    workbook abandoned while rows are on their way still goes.

    The compressor writes gzip, for gzip's trailer carries the CRC, computed by zlib as
    it compresses (a CRC of its own would cost another call, and another wait for the
    interpreter's lock); the archive takes the deflate stream within, without the
    gzip header and trailer.
    """

    _GZIP_HEADER: Final = 10
    _GZIP_TRAILER: Final = 8

    def __init__(self, level: int) -> None:
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + 15)
        self._header_left = self._GZIP_HEADER
        # Nameless: nothing is left behind, whatever becomes of the process.
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="outpost-sheet-")  # noqa: SIM115
        self.size = 0  # uncompressed bytes
        self.compressed = 0

    def pack(self, data: bytes) -> None:
        """Compress and store rows (in the packer's thread)."""
        self.size += len(data)
        self._store(self._compressor.compress(data))

    def finish(self, tail: bytes) -> int:
        """Compress and store the tail, and end the stream; the CRC of all it holds."""
        self.size += len(tail)
        rest = self._compressor.compress(tail) + self._compressor.flush(zlib.Z_FINISH)
        crc, size = struct.unpack("<II", rest[-self._GZIP_TRAILER :])
        if size != self.size & 0xFFFFFFFF:  # pragma: no cover - a bug, not a condition
            raise RuntimeError(f"the sheet's stream holds {size} bytes, not {self.size}")
        self._store(rest[: -self._GZIP_TRAILER])
        return int(crc)

    def _store(self, packed: bytes) -> None:
        if self._header_left:
            cut = min(self._header_left, len(packed))
            packed = packed[cut:]
            self._header_left -= cut
        if packed:
            self.file.write(packed)
            self.compressed += len(packed)

    def chunks(self) -> Iterator[bytes]:
        self.file.seek(0)
        while chunk := self.file.read(1 << 20):
            yield chunk
        self.file.close()


class _Part:
    """One sheet of the archive: a sheet's rows, or a continuation's. Its rows are
    compressed as they come; its head and tail are made when the workbook is saved,
    when it is known where the rows go on."""

    def __init__(self, sheet: SheetWriter, title: str, level: int, packer: _Packer) -> None:
        self.sheet = sheet
        self.title = title
        self.rows = 0
        self.sent = 0  # bytes of XML handed to the packer
        self._pending: list[str] = []
        self._pending_chars = 0
        self._level = level
        self._packer = packer
        self.stream = _Stream(level)

    @property
    def compressed(self) -> int:
        return self.stream.compressed

    def add(self, row_xml: str) -> None:
        self._pending.append(row_xml)
        self.rows += 1
        self._pending_chars += len(row_xml)
        if self._pending_chars >= _CHUNK_CHARS:
            self.flush()

    def flush(self) -> None:
        """The rows so far to the packer."""
        if not self._pending:
            return
        data = "".join(self._pending).encode("utf-8")
        self._pending.clear()
        self._pending_chars = 0
        self.sent += len(data)
        self._packer.submit(self.stream, data)

    def head_and_tail(self, notes: tuple[str, str]) -> tuple[bytes, bytes]:
        sheet = self.sheet
        siblings = sheet._parts
        index = siblings.index(self)
        said = []
        if index > 0:
            said.append(notes[1].format(sheet=siblings[index - 1].title))
        if index + 1 < len(siblings):
            said.append(notes[0].format(sheet=siblings[index + 1].title))
        columns = len(sheet._headers)
        last = sheet._letters[-1]
        bottom = self.rows + 1
        widths = list(sheet._widths)
        if said:
            widths.append(_NOTE_WIDTH)
        cols = "".join(
            f'<col min="{n}" max="{n}" width="{width}" customWidth="1"/>'
            for n, width in enumerate(widths, start=1)
        )
        header = "".join(
            _inline(f"{letter}1", str(text), f' s="{_STYLE_HEADER}"')
            for letter, text in zip(sheet._letters, sheet._headers, strict=True)
        )
        if said:
            header += _inline(
                f"{_column_letter(columns + 1)}1", " ".join(said), f' s="{_STYLE_NOTE}"'
            )
        selected = ' tabSelected="1"' if self is sheet._book._ordered_parts()[0] else ""
        head = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            f'<dimension ref="A1:{_column_letter(columns + (1 if said else 0))}{bottom}"/>'
            f'<sheetViews><sheetView{selected} workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            "</sheetView></sheetViews>"
            '<sheetFormatPr defaultRowHeight="15"/>'
            f"<cols>{cols}</cols>"
            f'<sheetData><row r="1">{header}</row>'
        )
        tail = (
            f'</sheetData><autoFilter ref="A1:{last}{bottom}"/>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
            'footer="0.3"/></worksheet>'
        )
        return head.encode("utf-8"), tail.encode("utf-8")

    def packed(self, head: bytes, tail: bytes) -> tuple[int, int, int, Iterator[bytes]]:
        """The whole sheet's CRC, size, compressed size and compressed bytes: the head,
        compressed on its own (ending on a byte boundary, a sync flush, so that another
        deflate stream may follow), then the rows' stream with the tail."""
        stream = self.stream
        head_z = zlib.compressobj(self._level, zlib.DEFLATED, -15)
        head_bytes = head_z.compress(head) + head_z.flush(zlib.Z_SYNC_FLUSH)
        rest_crc = stream.finish(tail)
        crc = _crc32_combine(zlib.crc32(head), rest_crc, stream.size)
        size = len(head) + stream.size
        packed = len(head_bytes) + stream.compressed
        return crc, size, packed, self._chunks(head_bytes)

    def _chunks(self, head: bytes) -> Iterator[bytes]:
        yield head
        yield from self.stream.chunks()


# ---- CRC-32 of two streams joined, from the CRCs of each (zlib's crc32_combine) -----------


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    index = 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


def _crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B, given A's CRC, B's CRC and B's length."""
    if length2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)
        if length2 & 1:
            crc1 = _gf2_times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _gf2_square(even)
        if length2 & 1:
            crc1 = _gf2_times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2


# ---- the zip archive ------------------------------------------------------------------------


class _Zip:
    """A zip archive written front to back (no seeking: a pipe will do) from entries
    already compressed with raw deflate, zip64 where sizes call for it."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._offset = 0
        self._entries: list[tuple[bytes, int, int, int, int]] = []
        now = time.localtime()
        self._time = (now.tm_hour << 11) | (now.tm_min << 5) | (now.tm_sec // 2)
        self._date = ((max(now.tm_year, 1980) - 1980) << 9) | (now.tm_mon << 5) | now.tm_mday

    def _put(self, data: bytes) -> None:
        self._out.write(data)
        self._offset += len(data)

    def add_bytes(self, name: str, data: bytes) -> None:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = compressor.compress(data) + compressor.flush()
        self.add_stream(name, zlib.crc32(data), len(data), len(packed), iter((packed,)))

    def add_stream(
        self, name: str, crc: int, size: int, packed: int, chunks: Iterator[bytes]
    ) -> None:
        encoded = name.encode("ascii")
        offset = self._offset
        big = size >= _ZIP64_LIMIT or packed >= _ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, size, packed) if big else b""
        self._put(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                45 if big else 20,
                0,
                8,  # deflate
                self._time,
                self._date,
                crc,
                0xFFFFFFFF if big else packed,
                0xFFFFFFFF if big else size,
                len(encoded),
                len(extra),
            )
            + encoded
            + extra
        )
        written = 0
        for chunk in chunks:
            self._put(chunk)
            written += len(chunk)
        if written != packed:  # pragma: no cover - a bug, not a condition
            raise RuntimeError(f"{name}: {written} bytes written, {packed} announced")
        self._entries.append((encoded, crc, size, packed, offset))

    def finish(self) -> None:
        start = self._offset
        for encoded, crc, size, packed, offset in self._entries:
            fields = []
            if size >= _ZIP64_LIMIT or packed >= _ZIP64_LIMIT:
                fields += [size, packed]
            if offset >= _ZIP64_LIMIT:
                fields.append(offset)
            extra = (
                struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
            )
            big = bool(fields)
            self._put(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    45 if big else 20,
                    45 if big else 20,
                    0,
                    8,
                    self._time,
                    self._date,
                    crc,
                    0xFFFFFFFF if size >= _ZIP64_LIMIT or packed >= _ZIP64_LIMIT else packed,
                    0xFFFFFFFF if size >= _ZIP64_LIMIT or packed >= _ZIP64_LIMIT else size,
                    len(encoded),
                    len(extra),
                    0,
                    0,
                    0,
                    0,
                    0xFFFFFFFF if offset >= _ZIP64_LIMIT else offset,
                )
                + encoded
                + extra
            )
        directory = self._offset - start
        count = len(self._entries)
        if count >= 0xFFFF or directory >= _ZIP64_LIMIT or start >= _ZIP64_LIMIT:
            record = self._offset
            self._put(
                struct.pack(
                    "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, directory, start
                )
            )
            self._put(struct.pack("<IIQI", 0x07064B50, 0, record, 1))
            self._put(
                struct.pack(
                    "<IHHHHIIH",
                    0x06054B50,
                    0,
                    0,
                    0xFFFF,
                    0xFFFF,
                    0xFFFFFFFF,
                    0xFFFFFFFF,
                    0,
                )
            )
        else:
            self._put(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, directory, start, 0))
        self._out.flush()


# ---- the package's fixed parts ----------------------------------------------------------------

_MAIN_NS: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_ROOT_RELS: Final = (
    _XML_DECLARATION + f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
).encode()

_STYLES: Final = (
    _XML_DECLARATION + f'<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="2">'
    f'<numFmt numFmtId="164" formatCode="{DATETIME_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{DATE_FORMAT}"/>'
    "</numFmts>"
    '<fonts count="3">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><i/><sz val="11"/><color rgb="FF595959"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
).encode()


def _content_types(sheets: int) -> bytes:
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{kind}.worksheet+xml"/>'
        for n in range(1, sheets + 1)
    )
    return (
        _XML_DECLARATION
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{kind}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{kind}.styles+xml"/>'
        f"{overrides}</Types>"
    ).encode()


def _workbook_xml(parts: list[_Part]) -> bytes:
    sheets = "".join(
        f'<sheet name="{_xml(part.title)}" sheetId="{n}" r:id="rId{n}"/>'
        for n, part in enumerate(parts, start=1)
    )
    # The filters, as Excel itself names them.
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{n}" hidden="1">'
        + _xml("'" + part.title.replace("'", "''") + "'")
        + f"!$A$1:${part.sheet._letters[-1]}${part.rows + 1}</definedName>"
        for n, part in enumerate(parts)
    )
    return (
        _XML_DECLARATION + f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{sheets}</sheets><definedNames>{names}</definedNames></workbook>"
    ).encode("utf-8")


def _workbook_rels(sheets: int) -> bytes:
    kind = f"{_REL_NS}/worksheet"
    links = "".join(
        f'<Relationship Id="rId{n}" Type="{kind}" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, sheets + 1)
    )
    styles = f'<Relationship Id="rId{sheets + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
    return (
        _XML_DECLARATION + f'<Relationships xmlns="{_PKG_REL_NS}">{links}{styles}</Relationships>'
    ).encode()
