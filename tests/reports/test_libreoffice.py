"""The workbook opened by an office application: LibreOffice Calc, headless, turns each
sheet into CSV as it shows it (dates in their formats), and the CSV is checked.

openpyxl reads what it is given generously; Calc is what an office may open the file
with (and, like Excel, it is strict about the package, the styles and the zip). Debian's
``libreoffice-calc-nogui`` gives ``soffice`` (``make test`` installs it); without it
these tests skip, unless OUTPOST_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.reports.workbook import DATE_FORMAT, DATETIME_FORMAT, WorkbookWriter, excel_serial
from tests.conftest import unavailable
from tests.runtime.test_cli_documents import _seeded
from tests.storage.test_migrations import run_cli

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Comma, double quote, UTF-8, from line 1, -, -, not all quoted, -, as shown, no
# formulas, -, every sheet to a file of its own ("<name>-<sheet>.csv").
ALL_SHEETS = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        unavailable(
            "LibreOffice is not installed (Debian's libreoffice-calc-nogui, which "
            "`make test` installs): the workbook cannot be opened in Calc"
        )
    assert found is not None
    return found


def as_csv(book: Path, tmp_path: Path) -> dict[str, list[list[str]]]:
    """Each sheet of ``book`` as Calc shows it, by sheet name."""
    out = tmp_path / "csv"
    out.mkdir()
    done = subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--headless",
            "--norestore",
            "--convert-to",
            ALL_SHEETS,
            "--outdir",
            str(out),
            str(book),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sheets = {}
    for path in sorted(out.glob(f"{book.stem}-*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            sheets[path.stem.removeprefix(f"{book.stem}-")] = list(csv.reader(f))
    assert sheets, f"Calc wrote nothing: {done.stdout} {done.stderr}"
    return sheets


def _write(tmp_path: Path) -> Path:
    writer = WorkbookWriter(SHANGHAI, max_rows=4)
    items = writer.sheet(
        "Items",
        ["No.", "Title", "Filed", "Due", "Done", "Share"],
        formats=[None, None, DATETIME_FORMAT, DATE_FORMAT, None, None],
    )
    filed = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 July in Shanghai
    items.extend(
        [
            [1, "路灯不亮 & <东门>", filed, date(2026, 7, 8), True, 0.25],
            [2, '=HYPERLINK("http://x","y")', excel_serial(filed, SHANGHAI), 46211, False, None],
            [3, "line one\nline two", None, None, None, 1],
            [4, "  spaced  ", None, None, None, None],
        ]
    )
    writer.sheet("Points", ["Code", "Name"]).append(["P01", "城区便民服务中心"])
    path = tmp_path / "book.xlsx"
    writer.save(path)
    return path


def test_calc_reads_every_sheet_as_written(tmp_path: Path) -> None:
    sheets = as_csv(_write(tmp_path), tmp_path)

    assert sorted(sheets) == ["Items", "Items (2)", "Points"]
    first, second = sheets["Items"], sheets["Items (2)"]
    assert first[0] == [
        "No.",
        "Title",
        "Filed",
        "Due",
        "Done",
        "Share",
        "Continued on the sheet “Items (2)”.",
    ]
    assert first[1] == [
        "1",
        "路灯不亮 & <东门>",
        "2026-07-01 00:30",
        "2026-07-08",
        "TRUE",
        "0.25",
        "",
    ]
    # Never a formula: the text as typed, behind an apostrophe.
    assert first[2][:5] == [
        "2",
        '\'=HYPERLINK("http://x","y")',
        "2026-07-01 00:30",
        "2026-07-08",
        "FALSE",
    ]
    assert first[3][:2] == ["3", "line one\nline two"]
    assert second[0][:2] == ["No.", "Title"]
    assert second[0][-1] == "Continued from the sheet “Items”."
    assert second[1][:2] == ["4", "  spaced  "]
    assert sheets["Points"] == [["Code", "Name"], ["P01", "城区便民服务中心"]]


def test_calc_reads_the_districts_export(tmp_path: Path) -> None:
    # The sample district's year as `outpost export` writes it (what /export sends).
    url = _seeded(tmp_path)
    out = tmp_path / "year.xlsx"
    done = run_cli(
        "export", "--period", "365d", "--out", str(out), "--lang", "en",
        cwd=tmp_path, DATABASE_URL=url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sheets = as_csv(out, tmp_path)

    assert sorted(sheets) == ["Departments", "Events", "Items", "Observers", "Points", "Ratings"]
    items = sheets["Items"]
    assert items[0][:4] == ["Reference", "Filed", "Kind", "Domain"]
    assert len(items) == 16  # the header and the 15 items
    assert all(len(row[1]) == len("2026-07-01 00:30") for row in items[1:])
    assert len(sheets["Events"]) == 66
