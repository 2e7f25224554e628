"""Telegram's HTML rules, as strict as Telegram applies them to parse_mode=HTML."""

from __future__ import annotations

import functools
import html
import re

ALLOWED = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "tg-spoiler", "span", "blockquote", "tg-emoji",
}  # fmt: skip
_TOKEN = re.compile(
    r"<(?P<close>/?)(?P<tag>[a-zA-Z][a-zA-Z-]*)(?P<attrs>[^<>]*)>"
    r"|&(?P<entity>#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot);"
    r"|(?P<bad>[<>&])"
)


class BadHTML(ValueError):
    pass


# Every message is read several times (checked, answered, looked at by the test): the
# text it shows is worked out once.
@functools.lru_cache(maxsize=4096)
def plain_text(markup: str) -> str:
    """The text Telegram would show, or BadHTML where Telegram would refuse it."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(markup):
        out.append(markup[pos : match.start()])
        pos = match.end()
        if match.group("bad"):
            raise BadHTML(f"unescaped {match.group('bad')!r} at {match.start()}: {markup!r}")
        if match.group("entity"):
            out.append(html.unescape(match.group(0)))
            continue
        tag = match.group("tag").lower()
        if tag not in ALLOWED:
            raise BadHTML(f"unsupported tag <{tag}> in {markup!r}")
        if match.group("close"):
            if not stack or stack[-1] != tag:
                raise BadHTML(f"unbalanced </{tag}> in {markup!r}")
            stack.pop()
        else:
            stack.append(tag)
    out.append(markup[pos:])
    if stack:
        raise BadHTML(f"unclosed <{stack[-1]}> in {markup!r}")
    return "".join(out)


def telegram_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
