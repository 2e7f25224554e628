"""The admin group's ground rules: who counts as the office, /help, and the guard.

Admin routers are built with :func:`office_router`: they see only the admin group and
only admins. Everything they do not take falls through to the guard at the end, which
answers an admin command typed anywhere else, or by anyone else, with one short line,
and a non-admin's press on an office button with an alert; nothing changes.
"""

from __future__ import annotations

import time

from aiogram import Bot, F, Router
from aiogram.filters import Command, MagicData
from aiogram.types import BotCommand, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.middlewares.people import CurrentUser
from bot.services.context import Clock, Policy
from handlers.conversation import IN_AN_OFFICE
from handlers.privacy import say_help
from handlers.ui import N_, esc

# Every office command, its arguments and what it does: /help, the usage messages and
# the command menu all come from here.
COMMANDS: dict[str, tuple[str, str]] = {
    "queue": ("", N_("Items awaiting a decision, oldest first")),
    "overdue": (
        "",
        N_(
            "Items past their deadline, waiting on the observer past their date, or "
            "reopened without a new due date"
        ),
    ),
    "show": (N_("REF"), N_("Show an item's card, e.g. /show WZ-2026-0001")),
    "find": (
        N_("TEXT"),
        N_("Search items by title, text, reference, observer, point or department"),
    ),
    "assign": (N_("REF DEPT"), N_("Assign an adopted item to a department")),
    "due": (
        N_("REF DATE"),
        N_("Set the due date of an adopted or implementing item (e.g. 2026-04-30, 4-30, 30.4)"),
    ),
    "note": (N_("REF TEXT"), N_("Add an internal note (never shown to the observer)")),
    "observers": (N_("[POINT]"), N_("List observers, all or one point's")),
    "observer": (N_("ID"), N_("Show one observer")),
    "invite": (N_("POINT"), N_("A one-time invite link for a new observer at a point")),
    "suspend": (N_("ID [REASON]"), N_("Suspend an observer (the reason is sent to them)")),
    "points": ("", N_("List the observation points")),
    "point_add": (N_("CODE DOMAIN HOST NAME [| ENGLISH NAME]"), N_("Add an observation point")),
    "point_rename": (
        N_("POINT NAME [| ENGLISH NAME]"),
        N_("Rename a point, or give it an English name"),
    ),
    "point_close": (N_("POINT"), N_("Close a point; its observers are asked to move")),
    "departments": ("", N_("List the departments")),
    "dept_add": (N_("CODE NAME [| ENGLISH NAME]"), N_("Add a department")),
    "dept_rename": (
        N_("DEPT NAME [| ENGLISH NAME]"),
        N_("Rename a department, or give it an English name"),
    ),
    "liaison": (N_("DEPT"), N_("A one-time invite link for a department's liaison")),
    "broadcast": (
        N_("[POINT] TEXT"),
        N_("Write to all active observers (or one point's), after a preview"),
    ),
    "stats": (
        N_("[PERIOD]"),
        N_("Figures for a period: 2026, 2026-06, 2026-Q2 or 30d (this year if none)"),
    ),
    "report": (
        N_("[PERIOD] [docx] [zh|en]"),
        N_("Charts for a period; with docx, the year's section for the work report (Word)"),
    ),
    "export": (N_("[PERIOD] [zh|en]"), N_("The period's data as an Excel workbook")),
    "holidays": (
        N_("[YEAR]"),
        N_("Show the year's holidays and make-up working days; send lines to import them"),
    ),
    "offices": ("", N_("The offices below this one, and whether each has its group")),
    "office_add": (
        N_("CODE NAME [| ENGLISH NAME]"),
        N_("Add an office below this one (a district); its group joins through the link"),
    ),
    "office_link": (N_("CODE"), N_("A new link for the group of an office below this one")),
    "rectify": (
        N_("CODE DATE TEXT"),
        N_("Raise a finding for an office below this one, to be put right by a date"),
    ),
    "rectifications": ("", N_("The open rectifications: this office's, and those it raised")),
    "rect_progress": (N_("ID TEXT"), N_("Report progress on a rectification")),
    "rect_done": (N_("ID TEXT"), N_("Mark a rectification done, saying how")),
    "rect_back": (N_("ID REASON"), N_("Send a rectification back: not put right yet")),
    "lang": (N_("[zh|en]"), N_("The language of this group (each admin keeps their own)")),
    "cancel": ("", N_("Cancel the move you are making")),
    "help": ("", N_("This list")),
}
# Commands that only the office may use (help and cancel mean something everywhere).
OFFICE_ONLY = tuple(name for name in COMMANDS if name not in ("help", "cancel"))


def usage(name: str) -> str:
    """The usage line of one command, in the current locale."""
    args, what = COMMANDS[name]
    shown = f"/{name} {_(args)}" if args else f"/{name}"
    return _("Usage: {command}").format(command=f"<code>{esc(shown)}</code>") + "\n" + _(what)


def help_text() -> str:
    lines = [_("<b>The office's commands</b>")]
    for name, (args, what) in COMMANDS.items():
        shown = f"/{name} {_(args)}" if args else f"/{name}"
        lines.append(f"<code>{esc(shown)}</code> — {esc(_(what))}")
    lines.append("")
    lines.append(
        _(
            "Each new item and application arrives here as a card; its buttons make the "
            "moves its state allows. A move that needs words asks for them: reply to the "
            "bot's question, or press Cancel."
        )
    )
    return "\n".join(lines)


def office_commands() -> list[BotCommand]:
    return [
        BotCommand(command=name, description=_(what)[:256]) for name, (_a, what) in COMMANDS.items()
    ]


def office_router(name: str) -> Router:
    """A router for the office: its admins, in its group. Others fall through."""
    router = Router(name=name)
    router.message.filter(IN_AN_OFFICE, MagicData(F.user.admin.is_(True)))
    router.callback_query.filter(IN_AN_OFFICE, MagicData(F.user.admin.is_(True)))
    return router


async def show_help(
    message: Message, policy: Policy, clock: Clock, user: CurrentUser | None = None
) -> None:
    if user is not None and user.admin:
        # With how many members are not admins: Telegram is asked after the commit.
        say_help(message, help_text(), policy, clock)
        return
    await message.answer(help_text())


def setup_help(_i18n: I18n) -> Router:
    """/help in an office's group, for whoever asks there."""
    router = Router(name="office-help")
    router.message.filter(IN_AN_OFFICE)
    router.message.register(show_help, Command("help"))
    return router


class _Told:
    """Whom the group told lately that they may not: told again after ``every``."""

    def __init__(self, every: float = 600.0, keep: int = 10_000) -> None:
        self._every = every
        self._keep = keep
        self._at: dict[int, float] = {}

    def first(self, user_id: int) -> bool:
        now = time.monotonic()
        if len(self._at) > self._keep:
            self._at = {u: t for u, t in self._at.items() if now - t < self._every}
        last = self._at.get(user_id)
        if last is not None and now - last < self._every:
            return False
        self._at[user_id] = now
        return True

    async def not_an_admin(self, message: Message) -> None:
        """An office command typed in the admin group by someone who is not an admin."""
        # Once in a while per person: the group takes twenty messages a minute, and the
        # office's cards must not queue behind answers to someone who keeps trying.
        if message.from_user is not None and self.first(message.from_user.id):
            await message.reply(_("Only this office's admins can use this command."))


async def not_here(message: Message) -> None:
    await message.reply(_("This command works only in an office's admin group."))


async def not_an_admin_button(query: CallbackQuery) -> None:
    await query.answer(
        _("Only this office's admins can do this. Nothing was changed."),
        show_alert=True,
    )


def _not_an_admin(_query: CallbackQuery, office_admin: bool = False) -> bool:
    # An admin's press nobody took is a stale or forged button: the fallback says so.
    return not office_admin


async def unknown_command(message: Message, bot: Bot) -> None:
    # Only commands meant for us: in a group, "/x@otherbot" belongs to another bot.
    command = (message.text or "/").split()[0]
    if "@" in command:
        me = await bot.me()
        if command.split("@", 1)[1].lower() != (me.username or "").lower():
            return
    await message.reply(_("Unknown command. /help lists the office's commands."))


def setup_guard(_i18n: I18n) -> Router:
    """The office's commands and buttons, reached by someone who may not use them."""
    router = Router(name="office-guard")
    # Each guard remembers whom it told, for itself.
    router.message.register(_Told().not_an_admin, Command(*OFFICE_ONLY), IN_AN_OFFICE)
    router.message.register(not_here, Command(*OFFICE_ONLY))
    router.callback_query.register(not_an_admin_button, IN_AN_OFFICE, _not_an_admin)
    router.message.register(unknown_command, IN_AN_OFFICE, F.text.startswith("/"))
    return router
