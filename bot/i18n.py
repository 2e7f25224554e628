"""Loading the gettext catalogs and choosing a person's language.

The Makefile compiles ``.mo`` files; when one is missing or older than its ``.po``
(a fresh clone, a catalog just edited) the catalog is compiled in memory instead, so
the bot and the tests never run with stale or missing translations.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
ZH, EN = "zh_CN", "en"
SUPPORTED = (ZH, EN)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


log = logging.getLogger(__name__)


class Catalogs(I18n):
    @contextmanager
    def context(self) -> Generator[I18n, None, None]:
        # aiogram's gettext() looks up I18n's own context variable; a subclass would
        # otherwise get a variable of its own that gettext() never reads.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        found: dict[str, gettext.GNUTranslations] = {}
        for folder in sorted(self.path.iterdir()):
            po = folder / "LC_MESSAGES" / f"{self.domain}.po"
            mo = po.with_suffix(".mo")
            if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
                with mo.open("rb") as fp:
                    found[folder.name] = gettext.GNUTranslations(fp)
            elif po.exists():
                found[folder.name] = gettext.GNUTranslations(compile_po(po))
        return found


def compile_po(po: Path) -> io.BytesIO:
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=po.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return buffer


def build_i18n(default_locale: str = ZH, path: Path = LOCALES_DIR) -> Catalogs:
    return Catalogs(path=path, default_locale=default_locale, domain=DOMAIN)


def locale_for(chosen: str | None, language_code: str | None, default: str) -> str:
    """The person's own choice, else what their Telegram client reports, else the default."""
    if chosen in SUPPORTED:
        return chosen
    if language_code:
        return ZH if language_code.lower().startswith("zh") else EN
    return default


def every_translation(i18n: I18n, message: str) -> frozenset[str]:
    """A label in every language: a keyboard sent in one language still works after
    the person switches to the other."""
    return frozenset({message} | {i18n.gettext(message, locale=loc) for loc in SUPPORTED})
