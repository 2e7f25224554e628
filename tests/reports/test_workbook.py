"""The streaming workbook writer, read back cell by cell with openpyxl."""

from __future__ import annotations

import enum
import gc
import io
import os
import random
import tempfile
import zipfile
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.reports import workbook
from bot.reports.workbook import (
    CELL_MAX_CHARS,
    DATE_FORMAT,
    DATETIME_FORMAT,
    LocalSerial,
    SheetWriter,
    WorkbookWriter,
    _crc32_combine,
    escape,
    excel_serial,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Colour(enum.Enum):
    RED = "red"


class Status(enum.StrEnum):
    OPEN = "open"


def read_back(writer: WorkbookWriter) -> Any:
    buffer = io.BytesIO()
    writer.save(buffer)
    buffer.seek(0)
    return load_workbook(buffer)


def values(worksheet: Any) -> list[tuple[object, ...]]:
    return [tuple(row) for row in worksheet.iter_rows(values_only=True)]


def one_row(row: list[object], headers: list[str] | None = None) -> Any:
    """The data row of a one-sheet workbook holding ``row``."""
    writer = WorkbookWriter(SHANGHAI)
    writer.sheet("Items", headers or [f"c{i}" for i in range(len(row))]).append(row)
    return read_back(writer)["Items"][2]


# The header row


def test_header_row_is_bold_frozen_and_filtered() -> None:
    writer = WorkbookWriter(SHANGHAI)
    sheet = writer.sheet("Items", ["Number", "Status", "Received"])
    sheet.extend([[1, "open", None], [2, "closed", None]])
    worksheet = read_back(writer)["Items"]

    assert [cell.value for cell in worksheet[1]] == ["Number", "Status", "Received"]
    assert all(cell.font.b for cell in worksheet[1])
    assert all(cell.data_type == "s" for cell in worksheet[1])
    assert not any(cell.font.b for cell in worksheet[2])
    assert worksheet.freeze_panes == "A2"
    assert worksheet.auto_filter.ref == "A1:C3"


def test_filter_of_a_sheet_without_rows_covers_the_header() -> None:
    writer = WorkbookWriter(SHANGHAI)
    writer.sheet("Empty", ["a", "b"])
    worksheet = read_back(writer)["Empty"]

    assert values(worksheet) == [("a", "b")]
    assert worksheet.auto_filter.ref == "A1:B1"


def test_widths_given_are_used() -> None:
    writer = WorkbookWriter(SHANGHAI)
    writer.sheet("Items", ["a", "b"], widths=[12, 40])
    dims = read_back(writer)["Items"].column_dimensions

    assert (dims["A"].width, dims["B"].width) == (12, 40)


def test_default_widths_follow_the_headers_and_count_cjk_double() -> None:
    writer = WorkbookWriter(SHANGHAI)
    writer.sheet("Items", ["n", "Received at the office", "受理日期受理日期", "x" * 200])
    dims = read_back(writer)["Items"].column_dimensions

    short, latin, cjk, huge = (dims[letter].width for letter in "ABCD")
    assert short == 10  # a floor, so a one-letter header still shows its filter button
    assert latin > len("Received at the office")
    assert cjk > 2 * len("受理日期受理日期")
    assert huge == 60  # a ceiling, so one long header does not push the rest off-screen


@pytest.mark.parametrize("widths", [[10], [10, 0], [10, 300]])
def test_bad_widths_are_rejected(widths: list[int]) -> None:
    with pytest.raises(ValueError, match="width"):
        WorkbookWriter(SHANGHAI).sheet("Items", ["a", "b"], widths=widths)


def test_headers_are_sanitised_like_cells() -> None:
    writer = WorkbookWriter(SHANGHAI)
    writer.sheet("Items", ["=total", "a\x00b"])

    assert values(read_back(writer)["Items"]) == [("'=total", "ab")]


def test_a_sheet_needs_columns() -> None:
    with pytest.raises(ValueError, match="column"):
        WorkbookWriter(SHANGHAI).sheet("Items", [])


# Values and their types


def test_plain_values_keep_their_types() -> None:
    row = one_row(["text", 42, -5, 1.5, Decimal("2.25"), True, False, None])

    assert [cell.value for cell in row] == ["text", 42, -5, 1.5, 2.25, True, False, None]
    assert [cell.data_type for cell in row] == ["s", "n", "n", "n", "n", "b", "b", "n"]


def test_aware_datetimes_are_shown_in_the_writers_zone() -> None:
    utc = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)
    moscow = datetime(2026, 1, 1, 5, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    first, second = one_row([utc, moscow])

    assert first.value == datetime(2026, 7, 1, 0, 30)
    assert first.is_date
    assert first.number_format == DATETIME_FORMAT == "yyyy-mm-dd hh:mm"
    assert second.value == datetime(2026, 1, 1, 10, 0)
    assert second.number_format == DATETIME_FORMAT


def test_fixed_offset_datetimes_are_converted_too() -> None:
    (cell,) = one_row([datetime(2026, 3, 1, 23, 15, tzinfo=timezone(timedelta(hours=-5)))])

    assert cell.value == datetime(2026, 3, 2, 12, 15)


def test_dates_get_a_date_format() -> None:
    (cell,) = one_row([date(2026, 2, 28)])

    assert cell.value == datetime(2026, 2, 28, 0, 0)
    assert cell.is_date
    assert cell.number_format == DATE_FORMAT == "yyyy-mm-dd"


def test_naive_datetime_is_rejected_and_leaves_the_sheet_as_it_was() -> None:
    writer = WorkbookWriter(SHANGHAI)
    sheet = writer.sheet("Items", ["n", "when"])
    sheet.append([1, None])

    with pytest.raises(ValueError, match="naive"):
        sheet.append([2, datetime(2026, 6, 30, 16, 30)])
    sheet.append([3, None])

    assert sheet.rows == 2
    assert values(read_back(writer)["Items"])[1:] == [(1, None), (3, None)]


def test_enums_are_written_as_their_values() -> None:
    row = one_row([Colour.RED, Status.OPEN])

    assert [(cell.value, cell.data_type) for cell in row] == [("red", "s"), ("open", "s")]


def test_enum_values_are_sanitised_like_other_text() -> None:
    class Sign(enum.Enum):
        MINUS = "-1"

    (cell,) = one_row([Sign.MINUS])

    assert cell.value == "'-1"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("-Infinity")])
def test_numbers_excel_cannot_hold_are_rejected(value: object) -> None:
    sheet = WorkbookWriter(SHANGHAI).sheet("Items", ["n"])

    with pytest.raises(ValueError, match="number"):
        sheet.append([value])


@pytest.mark.parametrize("value", [b"bytes", [1], object(), timedelta(hours=1)])
def test_unknown_types_are_rejected(value: object) -> None:
    sheet = WorkbookWriter(SHANGHAI).sheet("Items", ["n"])

    with pytest.raises(TypeError, match="cannot write"):
        sheet.append([value])


def test_rows_may_be_short_but_not_long() -> None:
    writer = WorkbookWriter(SHANGHAI)
    sheet = writer.sheet("Items", ["a", "b", "c"])
    sheet.append(["only"])

    with pytest.raises(ValueError, match="4 values for 3 columns"):
        sheet.append([1, 2, 3, 4])
    with pytest.raises(TypeError, match="not one string"):
        sheet.append("abc")
    assert values(read_back(writer)["Items"])[1:] == [("only", None, None)]


# Formula injection

INJECTIONS = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_escape_prefixes_formula_starts(text: str) -> None:
    assert escape(text) == "'" + text


@pytest.mark.parametrize("text", ["a=b", "1+1", "", " =1", "'already", "e-mail", "5-3"])
def test_escape_leaves_other_text_alone(text: str) -> None:
    assert escape(text) == text


def test_formula_like_texts_come_back_as_text() -> None:
    writer = WorkbookWriter(SHANGHAI)
    sheet = writer.sheet("Items", ["text", "number"])
    for text in INJECTIONS:
        sheet.append([text, -5])
    sheet.append(["a=b", -5])
    buffer = io.BytesIO()
    writer.save(buffer)
    worksheet = load_workbook(io.BytesIO(buffer.getvalue()))["Items"]

    texts = [worksheet.cell(row=row, column=1) for row in range(2, len(INJECTIONS) + 3)]
    assert [cell.value for cell in texts] == [*("'" + text for text in INJECTIONS), "a=b"]
    assert all(cell.data_type == "s" for cell in texts)
    numbers = [worksheet.cell(row=row, column=2) for row in range(2, len(INJECTIONS) + 3)]
    assert all((cell.value, cell.data_type) == (-5, "n") for cell in numbers)
    assert not any(cell.data_type == "f" for row in worksheet.iter_rows() for cell in row)
    # No formula element anywhere in the file, whatever a reader makes of it.
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    assert "<f " not in sheet_xml


# Text Excel or XML would refuse


def test_illegal_control_characters_are_removed() -> None:
    (cell,) = one_row(["a\x00b\x07c\x0bd\x1fe\ufffef"])

    assert cell.value == "abcdef"


def test_tab_newline_and_carriage_return_inside_text_are_kept() -> None:
    (cell,) = one_row(["line one\nline\ttwo\r\nend"])

    assert cell.value == "line one\nline\ttwo\r\nend"


def test_a_formula_hidden_behind_a_control_character_is_still_escaped() -> None:
    (cell,) = one_row(["\x01=1+1"])

    assert cell.value == "'=1+1"


def test_lone_surrogates_do_not_break_the_save() -> None:
    (cell,) = one_row(["a\ud800b"])

    assert cell.value == "ab"


def test_over_long_text_is_truncated_with_an_ellipsis() -> None:
    (cell,) = one_row(["x" * 40_000])

    assert len(cell.value) <= CELL_MAX_CHARS == 32_767
    assert cell.value.endswith("…")
    assert cell.value.startswith("x" * 30_000)


def test_text_at_the_limit_is_kept_whole() -> None:
    (cell,) = one_row(["y" * CELL_MAX_CHARS])

    assert cell.value == "y" * CELL_MAX_CHARS


def test_truncation_counts_astral_characters_as_excel_does() -> None:
    # Excel counts UTF-16 units: 20,000 emoji are 40,000 units, too many for a cell.
    (cell,) = one_row(["😀" * 20_000])

    assert cell.value.endswith("…")
    assert len(cell.value.encode("utf-16-le")) // 2 <= CELL_MAX_CHARS


def test_escaped_text_still_fits_the_limit() -> None:
    (cell,) = one_row(["=" * CELL_MAX_CHARS])

    assert cell.value.startswith("'=")
    assert len(cell.value) <= CELL_MAX_CHARS


# Sheets that fill up


def test_a_full_sheet_continues_on_numbered_sheets() -> None:
    writer = WorkbookWriter(SHANGHAI, max_rows=4)
    sheet = writer.sheet("Items", ["n", "name"])
    sheet.extend([n, f"item {n}"] for n in range(1, 8))
    book = read_back(writer)

    assert book.sheetnames == ["Items", "Items (2)", "Items (3)"]
    assert sheet.rows == 7
    assert sheet.titles == ("Items", "Items (2)", "Items (3)")
    rows: list[tuple[object, ...]] = []
    for worksheet in book.worksheets:
        assert worksheet.max_row <= 4
        assert values(worksheet)[0][:2] == ("n", "name")
        assert all(cell.font.b for cell in worksheet[1][:2])
        assert worksheet.freeze_panes == "A2"
        rows.extend(row[:2] for row in values(worksheet)[1:])
    assert rows == [(n, f"item {n}") for n in range(1, 8)]
    assert [ws.auto_filter.ref for ws in book.worksheets] == ["A1:B4", "A1:B4", "A1:B2"]


def test_a_sheet_that_continues_says_where_beside_its_header() -> None:
    writer = WorkbookWriter(SHANGHAI, max_rows=3, continues="→ “{sheet}”", continued="← “{sheet}”")
    writer.sheet("Items", ["n", "name"]).extend([n, f"item {n}"] for n in range(1, 6))
    writer.sheet("Other", ["n"]).append([1])
    book = read_back(writer)

    first, middle, last, other = (book[title] for title in book.sheetnames)
    assert first["C1"].value == "→ “Items (2)”"
    assert first["C1"].font.i
    assert not first["C1"].font.b
    assert middle["C1"].value == "← “Items” → “Items (3)”"
    assert last["C1"].value == "← “Items (2)”"
    assert other["B1"].value is None  # a sheet that does not continue says nothing
    # The note is beside the filter, not in it, and has room.
    assert first.auto_filter.ref == "A1:B3"
    assert first.column_dimensions["C"].width == 40


def test_the_notes_by_default_are_english() -> None:
    writer = WorkbookWriter(SHANGHAI, max_rows=2)
    writer.sheet("Items", ["n"]).extend([[1], [2]])

    assert read_back(writer)["Items"]["B1"].value == "Continued on the sheet “Items (2)”."


def test_a_sheet_exactly_full_opens_no_empty_continuation() -> None:
    writer = WorkbookWriter(SHANGHAI, max_rows=3)
    writer.sheet("Items", ["n"]).extend([[1], [2]])

    assert read_back(writer).sheetnames == ["Items"]


def test_continuations_stay_next_to_their_sheet() -> None:
    writer = WorkbookWriter(SHANGHAI, max_rows=2)
    items = writer.sheet("Items", ["n"])
    places = writer.sheet("Places", ["p"])
    items.append([1])
    places.append(["a"])
    items.append([2])
    places.append(["b"])

    assert read_back(writer).sheetnames == ["Items", "Items (2)", "Places", "Places (2)"]


def test_continuation_skips_a_title_already_taken() -> None:
    writer = WorkbookWriter(SHANGHAI, max_rows=2)
    items = writer.sheet("Items", ["n"])
    writer.sheet("Items (2)", ["other"])
    items.extend([[1], [2]])

    assert read_back(writer).sheetnames == ["Items", "Items (3)", "Items (2)"]


def test_continuation_of_a_long_title_fits_excels_limit() -> None:
    writer = WorkbookWriter(SHANGHAI, max_rows=2)
    sheet = writer.sheet("A" * 40, ["n"])
    sheet.extend([[1], [2]])

    first, second = read_back(writer).sheetnames
    assert first == "A" * 31
    assert second == "A" * 27 + " (2)"


@pytest.mark.parametrize("max_rows", [0, 1, 1_048_577])
def test_max_rows_must_be_sensible(max_rows: int) -> None:
    with pytest.raises(ValueError, match="max_rows"):
        WorkbookWriter(SHANGHAI, max_rows=max_rows)


# Sheet titles


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Q1/2026: [draft]*?", "Q1_2026_ _draft___"),
        ("back\\slash", "back_slash"),
        ("x" * 40, "x" * 31),
        ("  padded  ", "padded"),
        ("'quoted'", "quoted"),
        ("tab\there", "tabhere"),
        ("", "Sheet"),
        ("[]", "__"),
        ("'", "Sheet"),
        ("History", "History (2)"),
        ("Обращения за период", "Обращения за период"),
    ],
)
def test_unsafe_titles_are_made_safe(given: str, expected: str) -> None:
    writer = WorkbookWriter(SHANGHAI)
    sheet = writer.sheet(given, ["a"])

    assert sheet.title == expected
    assert read_back(writer).sheetnames == [expected]


def test_duplicate_titles_are_numbered_regardless_of_case() -> None:
    writer = WorkbookWriter(SHANGHAI)
    titles = [writer.sheet(title, ["a"]).title for title in ["Items", "items", "ITEMS", "Items"]]

    assert titles == ["Items", "items (2)", "ITEMS (3)", "Items (4)"]
    assert read_back(writer).sheetnames == titles


def test_sanitised_titles_that_collide_are_numbered() -> None:
    writer = WorkbookWriter(SHANGHAI)
    first = writer.sheet("a/b", ["x"])
    second = writer.sheet("a:b", ["x"])

    assert (first.title, second.title) == ("a_b", "a_b (2)")


# Saving


def test_save_to_a_path(tmp_path: Path) -> None:
    writer = WorkbookWriter(SHANGHAI)
    writer.sheet("Items", ["n"]).append([1])
    target = tmp_path / "report.xlsx"
    writer.save(target)

    assert values(load_workbook(target)["Items"]) == [("n",), (1,)]


def test_save_to_a_string_path(tmp_path: Path) -> None:
    writer = WorkbookWriter(SHANGHAI)
    writer.sheet("Items", ["n"]).append([1])
    target = str(tmp_path / "report.xlsx")
    writer.save(target)

    assert values(load_workbook(target)["Items"]) == [("n",), (1,)]


def test_nothing_is_written_after_save() -> None:
    writer = WorkbookWriter(SHANGHAI)
    sheet = writer.sheet("Items", ["n"])
    writer.save(io.BytesIO())

    assert writer.closed
    with pytest.raises(RuntimeError, match="already saved"):
        writer.save(io.BytesIO())
    with pytest.raises(RuntimeError, match="already saved"):
        sheet.append([1])
    with pytest.raises(RuntimeError, match="already saved"):
        sheet.extend([[1]])
    with pytest.raises(RuntimeError, match="already saved"):
        writer.sheet("More", ["n"])


def test_a_workbook_without_sheets_is_not_saved() -> None:
    writer = WorkbookWriter(SHANGHAI)

    with pytest.raises(ValueError, match="at least one sheet"):
        writer.save(io.BytesIO())
    assert not writer.closed


def _open_files() -> int:
    gc.collect()  # the files of earlier tests' writers, abandoned, are closed first
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the sheets are compressed to, watched on its own."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("counts the process's open files in /proc/self/fd (Linux)")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _fill(writer: WorkbookWriter) -> SheetWriter:
    sheet = writer.sheet("Items", ["n"])
    sheet.extend([n] for n in range(100))
    writer.sheet("Other", ["n"]).append([1])
    return sheet


def test_the_sheets_files_have_no_names_and_discard_closes_them(temp_dir: Path) -> None:
    before = _open_files()
    writer = WorkbookWriter(SHANGHAI)
    sheet = _fill(writer)
    # Nameless temporary files: nothing to find, nothing left should the process die.
    assert list(temp_dir.iterdir()) == []
    assert _open_files() == before + 2

    writer.discard()

    assert _open_files() == before
    with pytest.raises(RuntimeError):
        sheet.append([1])
    writer.discard()  # twice is harmless


def test_save_leaves_no_file_open(temp_dir: Path) -> None:
    before = _open_files()
    writer = WorkbookWriter(SHANGHAI)
    _fill(writer)
    writer.save(io.BytesIO())

    assert _open_files() == before
    assert list(temp_dir.iterdir()) == []


def test_a_failed_save_leaves_no_file_open(temp_dir: Path) -> None:
    before = _open_files()
    writer = WorkbookWriter(SHANGHAI)
    _fill(writer)

    with pytest.raises(FileNotFoundError):
        writer.save(temp_dir / "missing" / "report.xlsx")
    assert _open_files() == before
    assert list(temp_dir.iterdir()) == []


def test_an_abandoned_writer_closes_its_files(temp_dir: Path) -> None:
    # An export that raised half-way is simply dropped by its caller.
    before = _open_files()
    writer = WorkbookWriter(SHANGHAI, max_rows=10)
    _fill(writer)
    assert _open_files() == before + 13  # 100 rows at 9 a sheet, and "Other"
    del writer
    gc.collect()

    assert _open_files() == before


# Serial dates, as the export reads them from the database


def test_numbers_in_a_date_column_are_serial_dates() -> None:
    writer = WorkbookWriter(SHANGHAI)
    sheet = writer.sheet(
        "Items", ["moment", "day", "plain"], formats=[DATETIME_FORMAT, DATE_FORMAT, None]
    )
    sheet.append([46113.4166666667, 46113, 46113.5])
    sheet.append([excel_serial(datetime(2026, 6, 30, 16, 30, 15, tzinfo=UTC), SHANGHAI), 1, 0.1])
    worksheet = read_back(writer)["Items"]
    moment, day, plain = worksheet[2]

    assert (moment.value, moment.number_format) == (datetime(2026, 4, 1, 10, 0), DATETIME_FORMAT)
    assert (day.value, day.number_format) == (datetime(2026, 4, 1), DATE_FORMAT)
    assert (plain.value, plain.is_date) == (46113.5, False)
    assert worksheet["A3"].value == datetime(2026, 7, 1, 0, 30, 15)


def test_an_unknown_number_format_is_refused() -> None:
    with pytest.raises(ValueError, match="number format"):
        WorkbookWriter(SHANGHAI).sheet("Items", ["a"], formats=["0.00%"])
    with pytest.raises(ValueError, match="formats"):
        WorkbookWriter(SHANGHAI).sheet("Items", ["a", "b"], formats=[None])


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "America/St_Johns", "UTC"])
def test_local_serials_follow_the_zone_across_its_changes(zone: str) -> None:
    tz = ZoneInfo(zone)
    local = LocalSerial(tz)
    utc = ZoneInfo("UTC")
    start = datetime(2026, 3, 28, tzinfo=UTC)  # Berlin's clocks go forward on the 29th
    for minutes in range(0, 4 * 24 * 60, 7):
        moment = start + timedelta(minutes=minutes, seconds=13)
        shown = local(excel_serial(moment, utc))
        assert shown is not None
        assert abs(shown - excel_serial(moment, tz)) < 1e-9, moment
    assert local(None) is None


# The archive


def test_crc_of_joined_streams() -> None:
    rng = random.Random(5)
    for _ in range(50):
        a = rng.randbytes(rng.randrange(0, 3000))
        b = rng.randbytes(rng.randrange(0, 3000))
        assert _crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def _many_rows(writer: WorkbookWriter, n: int) -> list[tuple[object, ...]]:
    rows = [
        (i, f"第{i}条 & <事项> ]]> ", f"  {i} spaced", 1.25 * i, i % 3 == 0, None, "x" * (i % 50))
        for i in range(n)
    ]
    sheet = writer.sheet("Big", ["n", "text", "spaced", "f", "b", "none", "pad"])
    sheet.extend(rows)
    return rows


def test_many_rows_come_back_exactly_and_the_archive_checks_out() -> None:
    writer = WorkbookWriter(SHANGHAI)
    # Enough for several compressed chunks.
    rows = _many_rows(writer, 30_000)
    buffer = io.BytesIO()
    writer.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        assert archive.testzip() is None  # every entry's CRC
        assert archive.namelist()[0] == "[Content_Types].xml"
    book = load_workbook(buffer, read_only=True)
    back = list(book["Big"].iter_rows(min_row=2, values_only=True))
    expected = [tuple(value if value != "" else None for value in row) for row in rows]
    assert back == expected


def test_a_sheet_continues_before_its_xml_needs_zip64(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if 20 kB of XML were 4 GB: LibreOffice opens no zip64 archive.
    monkeypatch.setattr(workbook, "_PART_BYTES_MAX", 20_000)
    monkeypatch.setattr(workbook, "_CHUNK_CHARS", 1_000)
    writer = WorkbookWriter(SHANGHAI)
    rows = _many_rows(writer, 1_000)
    buffer = io.BytesIO()
    writer.save(buffer)
    book = load_workbook(buffer)

    assert len(book.sheetnames) > 3
    assert book.sheetnames[1] == "Big (2)"
    back = [row for ws in book.worksheets for row in ws.iter_rows(min_row=2, values_only=True)]
    assert [row[0] for row in back] == [row[0] for row in rows]
    with zipfile.ZipFile(buffer) as archive:
        sizes = [info.file_size for info in archive.infolist() if "worksheets" in info.filename]
    assert max(sizes) < 20_000 + 1_000 + 2_000  # a chunk and the head over


def test_zip64_where_sizes_call_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # As every entry and the directory would be past 4 GB.
    monkeypatch.setattr(workbook, "_ZIP64_LIMIT", 0)
    writer = WorkbookWriter(SHANGHAI)
    rows = _many_rows(writer, 2_000)
    buffer = io.BytesIO()
    writer.save(buffer)
    data = buffer.getvalue()
    assert b"PK\x06\x06" in data
    assert b"PK\x06\x07" in data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
    back = list(load_workbook(io.BytesIO(data))["Big"].iter_rows(min_row=2, values_only=True))
    assert len(back) == len(rows)


def test_the_size_so_far_grows_as_rows_are_written() -> None:
    writer = WorkbookWriter(SHANGHAI)
    sheet = writer.sheet("Big", ["text"])
    rng = random.Random(3)
    before = writer.compressed_size
    # Text that does not compress away: megabytes of it.
    sheet.extend([rng.randbytes(300).hex()] for _ in range(10_000))
    writer.save(io.BytesIO())
    assert before == 0
    assert writer.compressed_size > 3_000_000


def test_text_needing_markup_escapes_is_kept_as_written() -> None:
    texts = ["a & b", "<b>bold</b>", "]]>", " lead", "trail ", "\u3000全角空格", "x\r\ny", "é"]
    row = one_row(texts)
    assert [cell.value for cell in row] == texts
