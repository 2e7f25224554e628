"""Loading the gettext catalogs and choosing a person's language.

The Makefile compiles ``.mo`` files; when one is missing or older than its ``.po``
(a fresh clone, a catalog just edited) the catalog is compiled in memory instead, so
the bot and the tests never run with stale or missing translations.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from gettext import GNUTranslations
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
    def gettext(
        self, singular: str, plural: str | None = None, n: int = 1, locale: str | None = None
    ) -> str:
        said = super().gettext(singular, plural, n, locale)
        heard = _HEARD.get()
        if heard is not None and heard.open and (locale is None or locale == self.current_locale):
            heard.lookups.append((singular, plural, n, said))
        return said

    @contextmanager
    def hearing(self) -> Iterator[Heard]:
        """Note every message looked up in the current language meanwhile, so that what
        was said with them can be said again in another (:meth:`again`)."""
        heard = Heard()
        token = _HEARD.set(heard)
        try:
            yield heard
        finally:
            heard.open = False
            _HEARD.reset(token)

    def again(self, heard: Heard, text: str, locale: str) -> str:
        """``text``, written in the current language with the messages ``heard`` looked
        up, said in ``locale``: a message as a whole, or a message whose placeholders
        were filled in (each value said again too, when it is one of those messages),
        line by line. What matches none of them is left as it was."""
        known = {
            said: self._in(locale, singular, plural, n)
            for singular, plural, n, said in reversed(heard.lookups)
        }
        whole = self._again(heard, known, text, locale)
        if whole is not None or "\n" not in text:
            return whole if whole is not None else text
        lines = [self._again(heard, known, line, locale) for line in text.split("\n")]
        if all(line is None for line in lines):
            return text
        return "\n".join(
            line if line is not None else old
            for line, old in zip(lines, text.split("\n"), strict=True)
        )

    def _in(self, locale: str, singular: str, plural: str | None, n: int) -> str:
        # Not noted: this is saying again, not saying.
        return I18n.gettext(self, singular, plural, n, locale)

    def _again(self, heard: Heard, known: dict[str, str], text: str, locale: str) -> str | None:
        if text in known:
            return known[text]
        best: tuple[int, str] | None = None
        for singular, plural, n, said in heard.lookups:
            template = _template(said)
            if template is None:
                continue
            pattern, literal = template
            found = pattern.fullmatch(text)
            if found is None or (best is not None and best[0] >= literal):
                continue
            values = {name: known.get(value, value) for name, value in found.groupdict().items()}
            try:
                best = (literal, self._in(locale, singular, plural, n).format(**values))
            except (KeyError, IndexError, ValueError):
                continue
        return best[1] if best is not None else None

    @contextmanager
    def context(self) -> Generator[I18n, None, None]:
        # aiogram's gettext() looks up I18n's own context variable; a subclass would
        # otherwise get a variable of its own that gettext() never reads.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, GNUTranslations]:
        found: dict[str, GNUTranslations] = {}
        for folder in sorted(self.path.iterdir()):
            po = folder / "LC_MESSAGES" / f"{self.domain}.po"
            mo = po.with_suffix(".mo")
            if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
                with mo.open("rb") as fp:
                    found[folder.name] = GNUTranslations(fp)
            elif po.exists():
                found[folder.name] = GNUTranslations(compile_po(po))
        return found


@dataclass
class Heard:
    """The messages an update looked up (id, plural, n, and what it read)."""

    lookups: list[tuple[str, str | None, int, str]] = field(default_factory=list)
    # Closed when the update is done: work it left behind (a card drawn after commit)
    # runs in a copy of its context and adds nothing.
    open: bool = True


_HEARD: ContextVar[Heard | None] = ContextVar("outpost_heard", default=None)
# A placeholder ({name}, {name:spec}) or a doubled brace.
_FIELD = re.compile(r"\{\{|\}\}|\{(\w+)(?::[^{}]*)?\}|[{}]")


def _template(said: str) -> tuple[re.Pattern[str], int] | None:
    """A message with placeholders as a pattern that finds their values in a text
    written with it, and how many of its characters are fixed; None for a message
    without placeholders, or with ones a pattern cannot tell apart."""
    parts: list[str] = []
    names: set[str] = set()
    literal, start = 0, 0
    for found in _FIELD.finditer(said):
        fixed = said[start : found.start()]
        parts.append(re.escape(fixed))
        literal += len(fixed)
        start = found.end()
        token = found.group(0)
        if token in ("{{", "}}"):
            parts.append(re.escape(token[0]))
            literal += 1
        elif found.group(1) is None or found.group(1).isdigit():
            return None
        elif found.group(1) in names:
            parts.append(f"(?P={found.group(1)})")
        else:
            names.add(found.group(1))
            parts.append(f"(?P<{found.group(1)}>.+?)")
    if not names:
        return None
    fixed = said[start:]
    parts.append(re.escape(fixed))
    literal += len(fixed)
    return re.compile("".join(parts), re.DOTALL), literal


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
