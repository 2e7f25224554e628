"""Telegram's text formatting: parse_mode=HTML into plain text and message entities.

Telegram (tdlib) refuses malformed HTML with "can't parse entities: ..." and counts a
message's length after the markup is parsed out, in UTF-16 code units; so must we.
The sandbox is a little stricter than Telegram on one point, on purpose: a bare ``&``
that does not start one of the supported entities is refused (Telegram's docs demand
escaping it; tdlib happens to let some through), so a bot that forgets to escape user
text fails here rather than in production on the one message that matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# tag -> entity type; tags needing attributes are handled below.
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
}
SUPPORTED_TAGS = frozenset({*_SIMPLE_TAGS, "a", "span", "tg-emoji"})

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(
    r"&(?:#(?P<dec>[0-9]{1,7})|#[xX](?P<hex>[0-9a-fA-F]{1,6})|(?P<name>[a-zA-Z]+));"
)
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]*")
_COMMAND = re.compile(r"/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?")


class FormattingError(ValueError):
    """The text Telegram would refuse; str() is the reason after "can't parse entities: "."""


def utf16_length(text: str) -> int:
    # A lone surrogate (a JSON text can carry "\ud800") is one UTF-16 unit, as in JSON.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class _Open:
    tag: str
    entity: dict[str, Any] | None
    start: int  # UTF-16 offset into the plain text
    byte_offset: int
    order: int  # the n-th tag opened: outer entities come first among equal ranges


@dataclass
class _Parser:
    markup: str
    pos: int = 0
    out: list[str] = field(default_factory=list)
    length: int = 0  # UTF-16 units emitted so far
    stack: list[_Open] = field(default_factory=list)
    entities: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    opened: int = 0

    def byte_offset(self, index: int) -> int:
        return len(self.markup[:index].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.length += utf16_length(text)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        text = self.markup
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "<":
                self.tag()
            elif ch == "&":
                self.emit(self.entity(self.pos))
            else:
                nxt = min(
                    (i for i in (text.find("<", self.pos), text.find("&", self.pos)) if i >= 0),
                    default=len(text),
                )
                self.emit(text[self.pos : nxt])
                self.pos = nxt
        if self.stack:
            raise FormattingError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        self.entities.sort(key=lambda e: (e[1]["offset"], -e[1]["length"], e[0]))
        return "".join(self.out), [entity for _, entity in self.entities]

    def entity(self, start: int) -> str:
        """Decode the entity at ``start``, moving past it."""
        match = _ENTITY.match(self.markup, start)
        if match is None:
            raise FormattingError(
                f"Character '&' at byte offset {self.byte_offset(start)} must be escaped as &amp;"
            )
        self.pos = match.end()
        if match.group("name"):
            name = match.group("name")
            if name not in _NAMED_ENTITIES:
                raise FormattingError(
                    f'Unsupported HTML entity "&{name};" at byte offset {self.byte_offset(start)}'
                )
            return _NAMED_ENTITIES[name]
        code = int(match.group("dec")) if match.group("dec") else int(match.group("hex"), 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise FormattingError(
                f"Invalid character entity at byte offset {self.byte_offset(start)}"
            )
        return chr(code)

    def tag(self) -> None:
        text = self.markup
        begin = self.pos
        end = text.find(">", begin)
        if end < 0:
            raise FormattingError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        if text[begin + 1 : begin + 2] == "/":
            self.end_tag(begin, end)
            return
        name_match = _TAG_NAME.match(text, begin + 1)
        if name_match is None:
            raise FormattingError(f"Unsupported start tag at byte offset {self.byte_offset(begin)}")
        name = name_match.group(0).lower()
        if name not in SUPPORTED_TAGS:
            raise FormattingError(
                f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}'
            )
        attrs, end = self.attributes(name, name_match.end())
        self.pos = end + 1
        self.stack.append(
            _Open(
                name,
                self.entity_for(name, attrs, begin),
                self.length,
                self.byte_offset(begin),
                self.opened,
            )
        )
        self.opened += 1

    def attributes(self, tag: str, pos: int) -> tuple[dict[str, str], int]:
        """Attributes of a start tag from ``pos``; returns them and the index of ``>``."""
        text = self.markup
        attrs: dict[str, str] = {}
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                raise FormattingError(f'Unclosed start tag "{tag}"')
            if text[pos] == ">":
                return attrs, pos
            if text[pos] == "/" and text[pos + 1 : pos + 2] == ">":
                raise FormattingError(f'Self-closing tag "{tag}" is not supported')
            name_match = _ATTR_NAME.match(text, pos)
            if name_match is None:
                raise FormattingError(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{self.byte_offset(pos)}"
                )
            name = name_match.group(0).lower()
            pos = name_match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text) or text[pos] != "=":
                # A bare attribute, like <blockquote expandable>.
                attrs[name] = ""
                continue
            pos += 1
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos < len(text) and text[pos] in "\"'":
                quote = text[pos]
                close = text.find(quote, pos + 1)
                if close < 0:
                    raise FormattingError(f'Unclosed end of attribute value in the tag "{tag}"')
                raw = text[pos + 1 : close]
                pos = close + 1
            else:
                start = pos
                while pos < len(text) and not text[pos].isspace() and text[pos] != ">":
                    pos += 1
                raw = text[start:pos]
            if "<" in raw:
                raise FormattingError(f'Unexpected "<" in an attribute of the tag "{tag}"')
            attrs[name] = _decode_attribute(raw)

    def entity_for(self, tag: str, attrs: dict[str, str], begin: int) -> dict[str, Any] | None:
        if tag in _SIMPLE_TAGS:
            kind = _SIMPLE_TAGS[tag]
            if tag == "blockquote" and "expandable" in attrs:
                kind = "expandable_blockquote"
            if tag == "code" and self.stack and self.stack[-1].tag == "pre":
                language = attrs.get("class", "")
                if language.startswith("language-") and len(language) > len("language-"):
                    parent = self.stack[-1].entity
                    if parent is not None:
                        parent["language"] = language[len("language-") :]
                return None  # <pre><code> is one pre entity, as Telegram makes it
            return {"type": kind}
        if tag == "a":
            href = attrs.get("href")
            if not href:
                return None
            user = re.fullmatch(r"tg://user\?id=([0-9]{1,15})", href)
            if user:
                return {"type": "text_mention", "user": {"id": int(user.group(1))}}
            return {"type": "text_link", "url": href}
        if tag == "span":
            if attrs.get("class") != "tg-spoiler":
                raise FormattingError('Tag "span" must have class "tg-spoiler"')
            return {"type": "spoiler"}
        if tag == "tg-emoji":
            emoji_id = attrs.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise FormattingError(
                    "Custom emoji entity must contain a valid custom emoji identifier"
                )
            return {"type": "custom_emoji", "custom_emoji_id": emoji_id}
        raise FormattingError(  # pragma: no cover - SUPPORTED_TAGS and this agree
            f'Unsupported start tag "{tag}" at byte offset {self.byte_offset(begin)}'
        )

    def end_tag(self, begin: int, end: int) -> None:
        name = self.markup[begin + 2 : end].strip().lower()
        if not self.stack:
            raise FormattingError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        top = self.stack[-1]
        if name != top.tag:
            raise FormattingError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{top.tag}>", found "</{name}>"'
            )
        self.stack.pop()
        self.pos = end + 1
        if top.entity is not None and self.length > top.start:
            self.entities.append(
                (top.order, {**top.entity, "offset": top.start, "length": self.length - top.start})
            )


def _decode_attribute(raw: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group("name"):
            return _NAMED_ENTITIES.get(match.group("name"), match.group(0))
        code = int(match.group("dec")) if match.group("dec") else int(match.group("hex"), 16)
        return chr(code) if 0 < code <= 0x10FFFF else match.group(0)

    return _ENTITY.sub(one, raw)


def parse_html(markup: str) -> tuple[str, list[dict[str, Any]]]:
    """The plain text Telegram shows for ``markup`` and its entities (UTF-16 offsets).

    Raises FormattingError with tdlib's kind of reason where Telegram would refuse it.
    """
    return _Parser(markup).run()


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram attaches to a message starting with /command."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    end = match.end()
    if end < len(text) and re.match(r"[A-Za-z0-9_@/]", text[end]):
        return []  # longer than Telegram allows a command to be
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(match.group(0))}]
