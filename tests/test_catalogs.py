"""Every message in the code is translated in zh_CN and en, and the check notices when
one is not."""

from __future__ import annotations

from pathlib import Path

from bot.catalog_check import fill_source_language, problems, used_messages
from bot.i18n import build_i18n


def test_the_catalogs_are_complete() -> None:
    assert problems() == []
    assert len(used_messages()) > 200


def test_every_message_reads_differently_in_chinese() -> None:
    i18n = build_i18n()
    same = [
        m
        for m in used_messages()
        if i18n.gettext(m, locale="zh_CN") == m and any(c.isalpha() for c in m)
    ]
    assert same == []


def write_po(path: Path, entries: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n' + entries,
        encoding="utf-8",
    )


def test_the_check_finds_missing_untranslated_fuzzy_and_broken_entries(tmp_path: Path) -> None:
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "talk.py").write_text(
        "from aiogram.utils.i18n import gettext as _\n"
        "_('Hello {name}')\n_('Missing one')\n_('Empty one')\n_('Fuzzy one')\n"
        "_('<b>Bold</b>')\n",
        encoding="utf-8",
    )
    write_po(
        tmp_path / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po",
        'msgid "Hello {name}"\nmsgstr "你好 {nom}"\n\n'
        'msgid "Empty one"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Fuzzy one"\nmsgstr "模糊"\n\n'
        'msgid "<b>Bold</b>"\nmsgstr "粗体"\n',
    )
    found = problems(tmp_path, locales=["zh_CN"])
    assert [line.split(" (")[0] for line in found] == [
        "zh_CN: placeholders differ in 'Hello {name}'",
        "zh_CN: missing 'Missing one'",
        "zh_CN: untranslated 'Empty one'",
        "zh_CN: fuzzy 'Fuzzy one'",
        "zh_CN: tags differ in '<b>Bold</b>'",
    ]


def test_english_is_filled_from_the_source_text(tmp_path: Path) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "m.py").write_text("_('Done')\n", encoding="utf-8")
    write_po(
        tmp_path / "locales" / "en" / "LC_MESSAGES" / "messages.po", 'msgid "Done"\nmsgstr ""\n'
    )
    assert problems(tmp_path, locales=["en"]) != []
    assert fill_source_language(tmp_path) == 1
    assert problems(tmp_path, locales=["en"]) == []
