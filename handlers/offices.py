"""The offices below an office (a city's districts), and binding a group to one.

A city's admins add a district's office in their group (``/office_add``); it is born
without a group, and the reply carries its one-time link,
``t.me/<bot>?startgroup=<code>``. An administrator of the district's group opens it and
picks that group: Telegram adds the bot there and sends ``/start@<bot> <code>``, which
:func:`bind_group` turns into the district's admin group (or says why not, and leaves);
the city's group hears of it through the outbox (``Notice.OFFICE_BOUND``). With privacy
mode on, a command typed in a group the bot is not in could not reach it: the link is
how a group is chosen. ``/office_link`` makes a fresh link, ``/offices`` lists them.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, MagicData
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.commands import set_office_menu
from bot.domain.errors import (
    Conflict,
    InvalidInput,
    InviteExpired,
    InviteInvalid,
    InviteUsed,
    MissingInput,
)
from bot.domain.offices import OfficeInfo
from bot.services.actors import Actor
from bot.services.context import Policy
from bot.services.offices import NewOffice, OfficeService
from bot.settings import Settings
from handlers import labels, rectifications
from handlers.conversation import IN_AN_OFFICE
from handlers.errors import explain
from handlers.office import usage
from handlers.privacy import Anonymous, refuse_anonymous
from handlers.roster import english_name_hint, pages
from handlers.ui import clip, esc, local_time, reading

_GROUPS = frozenset({"group", "supergroup"})
# Of an office's name in a line: any line of /offices fits a message.

# ---- what is said ------------------------------------------------------------------------


def bad_office_code(code: str) -> str:
    return _("{code} is not a valid office code: 2 to 6 Latin letters, such as FL.").format(
        code=f"<code>{esc(clip(code, 40))}</code>"
    )


def office_taken(code: str) -> str:
    return _("An office with the code {code} already exists.").format(
        code=f"<code>{esc(clip(code, 40).upper())}</code>"
    )


def _add_usage() -> str:
    return "\n".join(
        [
            usage("office_add"),
            _("CODE is 2 to 6 Latin letters; it starts the references of the office's items."),
            english_name_hint(),
            _("Example: {example}").format(example="<code>/office_add FL 涪陵区 | Fuling</code>"),
        ]
    )


def _link_text(made: NewOffice, link: str, policy: Policy) -> str:
    """The one-time link of an office's group, and what to do with it."""
    code = esc(made.office.code)
    return "\n".join(
        [
            _(
                "To give {office} its admin group, an administrator of that group opens "
                "this link and picks the group:"
            ).format(office=f"<b>{labels.office(made.office)}</b>"),
            esc(link),
            _("Valid until {moment} ({zone}), for one group only.").format(
                moment=local_time(made.expires_at, policy.tz), zone=esc(policy.tz.key)
            ),
            _(
                "The link adds the bot to the group, and the group's administrators become "
                "the office's admins. /office_link {code} makes a new link if this one "
                "expires or is lost."
            ).format(code=code),
        ]
    )


def _office_line(office: OfficeInfo) -> str:
    """One office in /offices: its code, its name, and whether it has its group."""
    if office.bound:
        mark, state = "🟢", _("has its admin group")
    else:
        mark = "🕓"
        state = _("waiting for its group (/office_link {code})").format(code=office.code)
    name = clip(office.name.name_for(reading()), 100)
    return f"{mark} <b>{esc(office.code)}</b> · {esc(name)} · {esc(state)}"


def bound_text(office: OfficeInfo) -> str:
    """Said in a group that has just become an office's."""
    return "✅ " + _(
        "This group is now the admin group of {office}. Its administrators are the "
        "office's admins; /help lists the commands."
    ).format(office=f"<b>{labels.office(office)}</b>")


def _refused_binding() -> str:
    return _(
        "Only an administrator of this group can make it an office's admin group: ask one "
        "of them to open the link. Nothing was changed."
    )


def _leaving(reason: str) -> str:
    return reason + "\n" + _("The bot is leaving this group.")


def _not_bound(error: InviteInvalid | InviteUsed | InviteExpired) -> str:
    if isinstance(error, InviteExpired):
        return _(
            "This link has expired. Ask the office that sent it for a new one "
            "(/office_link in its group)."
        )
    if isinstance(error, InviteUsed):
        return _(
            "This link has been used already: another group is the office's admin group. "
            "If this group should be it instead, ask the office that sent the link for a "
            "new one (/office_link in its group)."
        )
    return _(
        "This link is not valid: a newer one may have replaced it. Ask the office that "
        "sent it for a new one (/office_link in its group)."
    )


def _already_an_office(office_code: str) -> str:
    return _(
        "This group is already the admin group of office {code}: one group serves one "
        "office. Open the link in the new office's own group. Nothing was changed."
    ).format(code=f"<b>{esc(office_code)}</b>")


# ---- the office's commands ---------------------------------------------------------------


async def add_office(
    message: Message,
    command: CommandObject,
    office: OfficeInfo,
    actor: Actor,
    offices: OfficeService,
    policy: Policy,
    bot: Bot,
) -> None:
    parts = (command.args or "").split(maxsplit=1)
    if len(parts) != 2:
        await message.reply(_add_usage())
        return
    code, names = parts
    try:
        made = await offices.create(actor, code, names, parent=office)
    except InvalidInput as exc:
        if exc.context.get("field") == "name":
            await message.reply(explain(exc) + "\n" + _add_usage())
        else:
            await message.reply(bad_office_code(code) + "\n" + _add_usage())
        return
    except MissingInput:
        await message.reply(_add_usage())
        return
    except Conflict:
        await message.reply(office_taken(code))
        return
    added = "✅ " + _("Office added: {office}, below {parent}.").format(
        office=f"<b>{labels.office(made.office)}</b>", parent=labels.office(office)
    )
    await message.reply(added + "\n\n" + _link_text(made, await startgroup_link(bot, made), policy))


async def office_link(
    message: Message,
    command: CommandObject,
    office: OfficeInfo,
    actor: Actor,
    offices: OfficeService,
    policy: Policy,
    bot: Bot,
) -> None:
    args = (command.args or "").split()
    if len(args) != 1:
        await message.reply(usage("office_link"))
        return
    wanted = args[0].upper()
    below = next((o for o in (await offices.tree()).children(office) if o.code == wanted), None)
    if below is None:
        await message.reply(labels.unknown_office(args[0]))
        return
    made = await offices.new_link(actor, below)
    text = _link_text(made, await startgroup_link(bot, made), policy)
    if below.bound:
        text += "\n" + _(
            "{office} has its admin group already: opening this link in another group "
            "makes that group its admin group instead."
        ).format(office=labels.office(below))
    await message.reply(text)


async def list_offices(
    message: Message, command: CommandObject, office: OfficeInfo, offices: OfficeService
) -> None:
    if command.args and command.args.strip():
        await message.reply(usage("offices"))
        return
    below = (await offices.tree()).children(office)
    if not below:
        await message.reply(
            _("<b>Offices below {office}</b>").format(office=labels.office(office))
            + "\n"
            + _("None yet. /office_add adds one.")
        )
        return
    head = _("<b>Offices below {office}</b> ({count})").format(
        office=labels.office(office), count=len(below)
    )
    for text in pages(head, [_office_line(o) for o in below]):
        await message.answer(text)


async def startgroup_link(bot: Bot, made: NewOffice) -> str:
    me = await bot.me()
    return f"https://t.me/{me.username or me.id}?startgroup={made.bind_code}"


# ---- binding a group ---------------------------------------------------------------------


async def bind_group(
    message: Message,
    command: CommandObject,
    offices: OfficeService,
    bot: Bot,
    i18n: I18n,
    group_admin: bool = False,
) -> None:
    """``/start <code>`` in a group that is no office's: the office's link, opened by
    someone who picked this group."""
    who = message.from_user
    if not group_admin or who is None:
        await message.reply(_refused_binding())
        return
    try:
        bound = await offices.bind((command.args or "").strip(), message.chat.id, who.id)
    except (InviteInvalid, InviteUsed, InviteExpired) as exc:
        await message.reply(_leaving(_not_bound(exc)))
        await bot.leave_chat(message.chat.id)
        return
    except Conflict as exc:
        # The group became an office's meanwhile (another process bound it): the bot
        # serves that office here, and stays.
        await message.reply(_already_an_office(str(exc.context.get("code", "?"))))
        return
    await message.reply(bound_text(bound))
    await set_group_menu(bot, i18n, message.chat.id)


async def start_in_an_office(message: Message, office: OfficeInfo) -> None:
    """An office's link opened in a group that is an office's already."""
    await message.reply(_already_an_office(office.code))


async def set_group_menu(bot: Bot, i18n: I18n, chat_id: int) -> None:
    """The office's command menu in its new group, as the home group's is set at start
    (bot.commands). The calls are made after the commit (bot.effects); a failure costs
    only the menu."""
    await set_office_menu(bot, i18n, chat_id)


def setup(_i18n: I18n, _settings: Settings) -> Router:
    """The office's commands about the offices below it, for its admins in its group
    (as :func:`~handlers.office.office_router`'s are); and an office's link opened in a
    group, the ``/start <code>`` Telegram sends there (bot.middlewares.standing lets it
    through from a group that is no office's). One flat router: see bot.routing."""
    router = Router(name="offices")
    office_admin = (IN_AN_OFFICE, MagicData(F.user.admin.is_(True)))
    router.message.register(add_office, Command("office_add"), *office_admin)
    router.message.register(office_link, Command("office_link"), *office_admin)
    router.message.register(list_offices, Command("offices"), *office_admin)
    # Rectification: between an office and those below it.
    rectifications.register(router, *office_admin)
    link = (CommandStart(deep_link=True), F.chat.type.in_(_GROUPS))
    # Whoever writes as the group cannot be told apart from its members: no binding.
    router.message.register(refuse_anonymous, *link, Anonymous())
    router.message.register(bind_group, *link, MagicData(F.office.is_(None)))
    router.message.register(start_in_an_office, *link, IN_AN_OFFICE)
    return router
