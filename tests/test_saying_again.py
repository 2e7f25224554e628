"""What the bot writes in the admin group's language and says to one admin alone is said
again in that admin's language, from the same catalog messages (bot.i18n.Catalogs)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import build_i18n

MOVED = (
    "{reference} has already moved: it is now “{status}”. Nothing was changed; "
    "the card shows where it stands."
)


def test_a_message_and_a_filled_in_message_are_said_again() -> None:
    i18n = build_i18n("zh_CN")
    with i18n.context(), i18n.use_locale("zh_CN"), i18n.hearing() as heard:
        toast = _("Taken for review.")
        alert = _(MOVED).format(reference="WZ-2026-0001", status=_("Under review"))
        two_lines = _("Adopted.") + "\n" + _("Closed.")
        unknown = "WZ-2026-0001"
    assert toast == "已受理，进入分析研判。"
    assert i18n.again(heard, toast, "en") == "Taken for review."
    # The status inside the alert is one of the messages too: said again as well.
    assert i18n.again(heard, alert, "en") == (
        "WZ-2026-0001 has already moved: it is now “Under review”. Nothing was changed; "
        "the card shows where it stands."
    )
    assert i18n.again(heard, two_lines, "en") == "Adopted.\nClosed."
    # What no message made stays as it was.
    assert i18n.again(heard, unknown, "en") == unknown


def test_only_what_was_said_while_hearing_counts() -> None:
    i18n = build_i18n("zh_CN")
    with i18n.context(), i18n.use_locale("zh_CN"):
        before = _("Adopted.")
        with i18n.hearing() as heard:
            pass
        after = _("Closed.")
    assert heard.lookups == []
    assert i18n.again(heard, before, "en") == before
    assert i18n.again(heard, after, "en") == after
