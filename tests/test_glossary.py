"""The catalogs speak the glossary's words (locales/glossary.toml, docs/glossary.md):
one term for each of the scheme's things, one style of quotation marks, and none of
the variants the glossary rules out (issue 19, point 16)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "locales" / "glossary.toml"
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Entry:
    """One catalog message: its English (the msgid) and its Chinese ("" if untranslated)."""

    en: str
    zh: str


def glossary() -> dict[str, Any]:
    with GLOSSARY.open("rb") as fp:
        return tomllib.load(fp)


def catalog_entries(root: Path = ROOT) -> list[Entry]:
    with (root / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp, locale="zh_CN")
    entries = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        entries.append(Entry(" ".join(map(str, ids)), " ".join(str(s or "") for s in strings)))
    return entries


def _text(message: str) -> str:
    """What a reader reads: HTML tags (whose attributes are quoted) left out."""
    return _TAG.sub("", message)


def problems(entries: Iterable[Entry], words: Mapping[str, Any]) -> list[str]:
    """Every place a catalog message strays from the glossary."""
    found: list[str] = []
    quotes = words["quotes"]
    for entry in entries:
        en, zh = _text(entry.en), _text(entry.zh)
        short = entry.en[:60]
        for language, text, (opening, closing) in (
            ("en", en, quotes["en"]),
            ("zh", zh, quotes["zh"]),
        ):
            for mark in [*quotes["avoid"], '"']:
                if mark in text:
                    found.append(f"{language}: {mark!r} in {short!r}: use {opening}…{closing}")
            if text.count(opening) != text.count(closing):
                found.append(f"{language}: unbalanced {opening}…{closing} in {short!r}")
        for term in words["term"]:
            for variant in term.get("avoid_zh", []):
                if variant in zh:
                    found.append(f"zh: {variant} in {short!r}: the glossary says {term['zh']}")
            for variant in term.get("avoid_en", []):
                if variant.lower() in en.lower():
                    found.append(f"en: {variant!r} in {short!r}: the glossary says {term['en']!r}")
            pattern = term.get("en_pattern")
            if not pattern or not zh or not re.search(pattern, en, re.IGNORECASE):
                continue
            said = [term["zh"], *term.get("zh_also", [])]
            if not any(word in zh for word in said):
                found.append(f"zh: {short!r} says {term['en']!r} but not {term['zh']}")
    return found


def test_the_catalogs_use_the_glossarys_words() -> None:
    assert problems(catalog_entries(), glossary()) == []


def test_the_check_finds_a_variant_a_quotation_mark_and_a_missing_term() -> None:
    entries = [
        Entry("<b>Department:</b> {department}", "<b>承办单位：</b>{department}"),
        Entry("{reference} «{title}»", "{reference}「{title}」"),
        Entry("Taken up for analysis and judgement.", "已受理。"),
        Entry("Kept for reference.", "存档。"),
        Entry('Press "Send".', "请点击“发送”。"),
        Entry('→ <a href="{link}">the current card</a>', '→ <a href="{link}">查看最新卡片</a>'),
        Entry("Not yet translated: the observer", ""),
    ]
    found = problems(entries, glossary())
    assert found == [
        "zh: 承办单位 in '<b>Department:</b> {department}': the glossary says 责任单位",
        "en: '«' in '{reference} «{title}»': use “…”",
        "en: '»' in '{reference} «{title}»': use “…”",
        "zh: '「' in '{reference} «{title}»': use “…”",
        "zh: '」' in '{reference} «{title}»': use “…”",
        "en: 'analysis and judgement' in 'Taken up for analysis and judgement.': "
        "the glossary says 'review'",
        "zh: 'Kept for reference.' says 'kept for reference' but not 留作参考",
        "en: '\"' in 'Press \"Send\".': use “…”",
    ]


def test_the_glossary_page_lists_every_term() -> None:
    page = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    words = glossary()
    missing = [
        term["key"]
        for term in words["term"]
        if f"| {term['en']} |" not in page or term["zh"] not in page
    ]
    assert missing == []
    for pattern in (term.get("en_pattern") for term in words["term"]):
        if pattern:
            re.compile(pattern)
