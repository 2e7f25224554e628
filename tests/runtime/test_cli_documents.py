"""`outpost export` and `outpost report` on the server: the sample district's year
written to a workbook and a Word section, read back; and the one-line refusals."""

from __future__ import annotations

from pathlib import Path

import docx
import openpyxl

from storage import migrate
from tests.storage.test_migrations import run_cli


def _seeded(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/o.db"
    migrate.upgrade(url)
    seeded = run_cli("seed-demo", cwd=tmp_path, DATABASE_URL=url)
    assert seeded.returncode == 0, seeded.stderr
    return url


def test_export_and_report_write_the_districts_documents(tmp_path: Path) -> None:
    url = _seeded(tmp_path)
    out = tmp_path / "year.xlsx"
    done = run_cli(
        "export",
        "--period",
        "365d",
        "--out",
        str(out),
        "--lang",
        "en",
        cwd=tmp_path,
        DATABASE_URL=url,
    )
    assert done.returncode == 0, done.stderr
    # The database it read named first, as by every command that opens one.
    assert done.stdout.startswith(
        f"wrote {out} from the database at {url}: 365d: 15 items, 65 events"
    )
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Items", "Events", "Observers", "Points", "Departments", "Ratings"]
    assert book["Items"].max_row == 16  # the header and the 15 items
    assert book["Points"].max_row == 17
    assert book["Observers"]["B1"].value == "Name"

    word = tmp_path / "year.docx"
    done = run_cli("report", "--year", "2026", "--out", str(word), cwd=tmp_path, DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    text = "\n".join(p.text for p in docx.Document(str(word)).paragraphs)
    # The office's language by default: Chinese.
    assert "2026年度法治观测点和法治观察员工作情况" in text
    assert "一、总体情况" in text


def test_a_bad_period_or_a_missing_directory_says_so_in_one_line(tmp_path: Path) -> None:
    url = _seeded(tmp_path)
    bad = run_cli(
        "export",
        "--period",
        "someday",
        "--out",
        str(tmp_path / "x.xlsx"),
        cwd=tmp_path,
        DATABASE_URL=url,
    )
    assert bad.returncode == 2
    assert bad.stderr == (
        "outpost export: 'someday' is not a period (2026, 2026-06, 2026-Q2, 30d)\n"
    )
    nowhere = run_cli(
        "report",
        "--year",
        "2026",
        "--out",
        str(tmp_path / "no" / "x.docx"),
        cwd=tmp_path,
        DATABASE_URL=url,
    )
    assert nowhere.returncode == 2
    assert nowhere.stderr.startswith("outpost report: --out: no directory")
    assert not (tmp_path / "x.xlsx").exists()


def test_each_office_s_documents_hold_its_own_items(tmp_path: Path) -> None:
    url = _seeded(tmp_path)  # the sample city: its districts FL and QJ beside WZ
    out = tmp_path / "fl.xlsx"
    done = run_cli(
        "export", "--period", "365d", "--out", str(out), "--office", "fl", "--lang", "en",
        cwd=tmp_path, DATABASE_URL=url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert ": 365d: 6 items," in done.stdout
    book = openpyxl.load_workbook(out)
    references = [row[0].value for row in book["Items"].iter_rows(min_row=2)]
    assert references
    assert all(str(ref).startswith("FL-2026-") for ref in references)

    unknown = run_cli(
        "report", "--year", "2026", "--out", str(tmp_path / "x.docx"), "--office", "XX",
        cwd=tmp_path, DATABASE_URL=url,
    )  # fmt: skip
    assert unknown.returncode == 2
    assert unknown.stderr == "outpost report: no office 'XX': `outpost offices` lists them\n"
