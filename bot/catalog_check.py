"""Check the gettext catalogs against the source: ``python -m bot.catalog_check``.

Fails (exit 1) when a message used in the code is missing from a catalog, left
untranslated or marked fuzzy in zh_CN or en, or when a translation drops or invents a
``{placeholder}`` or an HTML tag (either would break the message at run time).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("zh_CN", "en")
SOURCES = ("bot", "handlers")  # as babel.cfg says
KEYWORDS = {"_": None, "__": None, "N_": None}
_PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
_TAG = re.compile(r"</?[a-z-]+")


def used_messages(root: Path = ROOT) -> dict[str, str]:
    """Every message the code marks for translation, with where it is used."""
    found: dict[str, str] = {}
    for source in SOURCES:
        if not (root / source).is_dir():
            continue
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(root / source), method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            text = message if isinstance(message, str) else message[0]
            found.setdefault(text, f"{source}/{filename}:{lineno}")
    return found


def load(locale: str, root: Path = ROOT) -> Catalog:
    with (root / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp, locale=locale)


def problems(root: Path = ROOT, locales: Iterable[str] = LOCALES) -> list[str]:
    used = used_messages(root)
    found: list[str] = []
    for locale in locales:
        catalog = load(locale, root)
        for msgid, where in sorted(used.items(), key=lambda item: item[1]):
            entry = catalog.get(msgid)
            short = msgid[:60].replace("\n", " ")
            if entry is None:
                found.append(f"{locale}: missing {short!r} ({where})")
            elif not entry.string:
                found.append(f"{locale}: untranslated {short!r} ({where})")
            elif entry.fuzzy:
                found.append(f"{locale}: fuzzy {short!r} ({where})")
            else:
                string = entry.string if isinstance(entry.string, str) else entry.string[0]
                for name, pattern in (("placeholders", _PLACEHOLDER), ("tags", _TAG)):
                    if sorted(pattern.findall(msgid)) != sorted(pattern.findall(string)):
                        found.append(f"{locale}: {name} differ in {short!r} ({where})")
    return found


def fill_source_language(root: Path = ROOT) -> int:
    """English is the language the messages are written in: its catalog repeats them.
    Returns how many entries were filled."""
    catalog = load("en", root)
    filled = 0
    for entry in catalog:
        if entry.id and not entry.string:
            entry.string = entry.id
            filled += 1
        if entry.id and entry.fuzzy:
            entry.flags.discard("fuzzy")
            entry.string = entry.id
            filled += 1
    with (root / "locales" / "en" / "LC_MESSAGES" / "messages.po").open("wb") as fp:
        write_po(fp, catalog, ignore_obsolete=True)
    return filled


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--fill-en"]:
        print(f"en: {fill_source_language()} message(s) filled from the source text")
        return 0
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    if found:
        print(f"catalogs: {len(found)} problem(s); run `make i18n` and translate", file=sys.stderr)
        return 1
    print(f"catalogs: {len(used_messages())} messages, complete in {', '.join(LOCALES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
