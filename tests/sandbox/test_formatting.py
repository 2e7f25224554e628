"""Telegram's HTML: what parses, what it shows, and what it refuses."""

from __future__ import annotations

import pytest

from sandbox.formatting import FormattingError, command_entities, parse_html, utf16_length


@pytest.mark.parametrize(
    ("markup", "plain", "entities"),
    [
        ("plain", "plain", []),
        (
            "<b>bold</b> and <i>it</i>",
            "bold and it",
            [
                {"type": "bold", "offset": 0, "length": 4},
                {"type": "italic", "offset": 9, "length": 2},
            ],
        ),
        (
            "<strong>s</strong><em>e</em><ins>i</ins><u>u</u>",
            "seiu",
            [
                {"type": "bold", "offset": 0, "length": 1},
                {"type": "italic", "offset": 1, "length": 1},
                {"type": "underline", "offset": 2, "length": 1},
                {"type": "underline", "offset": 3, "length": 1},
            ],
        ),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [
                {"type": "strikethrough", "offset": 0, "length": 1},
                {"type": "strikethrough", "offset": 1, "length": 1},
                {"type": "strikethrough", "offset": 2, "length": 1},
            ],
        ),
        ("&lt;tag&gt; &amp; &quot;q&quot; &#20013;&#x6587;", '<tag> & "q" 中文', []),
        (
            '<a href="https://example.com/?a=1&amp;b=2">link</a>',
            "link",
            [
                {
                    "type": "text_link",
                    "url": "https://example.com/?a=1&b=2",
                    "offset": 0,
                    "length": 4,
                },
            ],
        ),
        (
            '<a href="tg://user?id=1000">Alice</a>',
            "Alice",
            [
                {"type": "text_mention", "user": {"id": 1000}, "offset": 0, "length": 5},
            ],
        ),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [
                {"type": "pre", "language": "python", "offset": 0, "length": 5},
            ],
        ),
        ("<code>a&lt;b</code>", "a<b", [{"type": "code", "offset": 0, "length": 3}]),
        (
            '<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>',
            "xy",
            [
                {"type": "spoiler", "offset": 0, "length": 1},
                {"type": "spoiler", "offset": 1, "length": 1},
            ],
        ),
        (
            "<blockquote>q</blockquote><blockquote expandable>e</blockquote>",
            "qe",
            [
                {"type": "blockquote", "offset": 0, "length": 1},
                {"type": "expandable_blockquote", "offset": 1, "length": 1},
            ],
        ),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
            "👍",
            [
                {
                    "type": "custom_emoji",
                    "custom_emoji_id": "5368324170671202286",
                    "offset": 0,
                    "length": 2,
                },
            ],
        ),
        # Offsets count UTF-16 code units: the emoji before takes two.
        ("😀<b>x</b>", "😀x", [{"type": "bold", "offset": 2, "length": 1}]),
        ("<B>upper</B>", "upper", [{"type": "bold", "offset": 0, "length": 5}]),
        (
            "<b><i>nested</i></b>",
            "nested",
            [
                {"type": "bold", "offset": 0, "length": 6},
                {"type": "italic", "offset": 0, "length": 6},
            ],
        ),
        ("a > b", "a > b", []),  # Telegram lets a bare > through
    ],
)
def test_valid_html_gives_the_plain_text_and_its_entities(
    markup: str, plain: str, entities: list[dict[str, object]]
) -> None:
    assert parse_html(markup) == (plain, entities)


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<br/>", 'Unsupported start tag "br" at byte offset 0'),
        ("a &foo; b", 'Unsupported HTML entity "&foo;" at byte offset 2'),
        ("fish & chips", "Character '&' at byte offset 5 must be escaped as &amp;"),
        ("1 < 2 and 3 > 2", "Unsupported start tag at byte offset 2"),
        ("1 < 2", "Unclosed start tag at byte offset 2"),
        ("x <b", "Unclosed start tag at byte offset 2"),
        ('<span class="other">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("中<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("中 <i", "Unclosed start tag at byte offset 4"),  # byte offsets are UTF-8
    ],
)
def test_malformed_html_is_refused_with_a_reason(markup: str, reason: str) -> None:
    with pytest.raises(FormattingError) as refused:
        parse_html(markup)
    assert str(refused.value) == reason


def test_a_link_without_href_is_plain_text() -> None:
    assert parse_html("<a>x</a>") == ("x", [])


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_length("abc") == 3
    assert utf16_length("中文") == 2
    assert utf16_length("😀") == 2


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("/start", 6),
        ("/start payload", 6),
        ("/queue@outpost_bot", 18),
        ("/show WZ-2026-0001", 5),
        ("hello /start", None),
        ("/", None),
        ("/" + "a" * 33, None),
    ],
)
def test_a_leading_command_gets_a_bot_command_entity(text: str, length: int | None) -> None:
    expected = [] if length is None else [{"type": "bot_command", "offset": 0, "length": length}]
    assert command_entities(text) == expected
