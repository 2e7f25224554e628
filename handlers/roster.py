"""The office's people and places commands: observers, points, departments, invites.

Each command parses its arguments, calls one service with the acting admin (the
services check the admin's rights again) and answers in the group. Lists longer than
one Telegram message are split into several. Refusals that the services raise before
writing anything (an unknown code or id, a point already closed) are answered here
with a precise sentence; anything else goes to the error handler, which rolls back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, Protocol, TypeVar

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    MissingInput,
    NotFound,
    PointInactive,
)
from bot.domain.limits import TEXT_MAX, clean_text
from bot.domain.names import Name, split_names
from bot.domain.statuses import FocusDomain, HostKind, ObserverStatus
from bot.services.actors import Actor
from bot.services.context import Policy
from bot.services.people import InviteInfo, ObserverInfo, ObserverRecord, PeopleService
from bot.services.places import DepartmentInfo, PlaceService, PointInfo
from bot.services.privacy import Kept, PrivacyService
from bot.settings import Settings
from handlers import labels
from handlers.desks import Desks, from_data
from handlers.errors import explain
from handlers.keyboards import button
from handlers.office import office_router, usage
from handlers.privacy import (
    REMOVE,
    REMOVE_KEEP,
    REMOVE_SURE,
    PrivacyCb,
    anonymised_name,
    phone_button,
)
from handlers.ui import MESSAGE_MAX, N_, clip, day, esc, local_time, shown_length

_OBSERVER_STATUS: dict[ObserverStatus, str] = {
    ObserverStatus.NOMINATED: N_("nominated"),
    ObserverStatus.APPOINTED: N_("appointed"),
    ObserverStatus.SUSPENDED: N_("suspended"),
    ObserverStatus.DISMISSED: N_("dismissed"),
}
_OBSERVER_EMOJI: dict[ObserverStatus, str] = {
    ObserverStatus.NOMINATED: "🕓",
    ObserverStatus.APPOINTED: "🟢",
    ObserverStatus.SUSPENDED: "⏸",
    ObserverStatus.DISMISSED: "⚪",
}
_HOST: dict[HostKind, str] = {
    HostKind.SERVICE_CENTRE: N_("Service centre"),
    HostKind.TRADE_ASSOCIATION: N_("Trade association"),
    HostKind.CHAMBER_OF_COMMERCE: N_("Chamber of commerce"),
    HostKind.ENTERPRISE: N_("Enterprise"),
    HostKind.SCHOOL: N_("School"),
    HostKind.OTHER: N_("Other"),
}
_SLACK = 96  # room left in each message of a split list
_LINE_MAX = 600  # of one list line, so that any line fits a message


def observer_status(value: ObserverStatus) -> str:
    return _(_OBSERVER_STATUS[value])


def host_kind(value: HostKind) -> str:
    return _(_HOST[value])


def pages(head: str, lines: Sequence[str]) -> list[str]:
    """``head`` and the lines, split into messages Telegram accepts."""
    room = MESSAGE_MAX - _SLACK
    out: list[str] = []
    current = [head]
    used = shown_length(head)
    for line in lines:
        size = shown_length(line) + 1
        if used + size > room and len(current) > 1:
            out.append("\n".join(current))
            current, used = [], 0
        current.append(line)
        used += size
    out.append("\n".join(current))
    return out


def _point_label(point: PointInfo | None) -> str:
    if point is None:
        return "—"
    return f"{point.code} · {clip(labels.place(point.name), 60)}"


def _both_names(name: Name) -> str:
    """A place's name and its English name, as the office's lists show them."""
    return f"{name} / {name.en}" if name.en else str(name)


def _observer_line(
    observer: ObserverInfo, points: dict[int, PointInfo], items: dict[int, int]
) -> str:
    point = points.get(observer.point_id) if observer.point_id is not None else None
    return clip(
        "{emoji} #{id} {name} · {status} · {point} · {category} · {items}".format(
            emoji=_OBSERVER_EMOJI[observer.status],
            id=observer.id,
            name=clip(observer.name, 60),
            status=observer_status(observer.status),
            point=_point_label(point),
            category=labels.category(observer.category),
            items=_("items: {count}").format(count=items.get(observer.id, 0)),
        ),
        _LINE_MAX,
    )


def _observer_id(value: str) -> int | None:
    value = value.strip().lstrip("#")
    if not value.isdigit() or len(value) > 12:
        return None
    return int(value)


def unknown_point(code: str) -> str:
    return _("There is no observation point with the code {code}. /points lists them.").format(
        code=f"<code>{esc(clip(code, 20))}</code>"
    )


def unknown_department(code: str) -> str:
    return _("There is no department with the code {code}. /departments lists them.").format(
        code=f"<code>{esc(clip(code, 20))}</code>"
    )


def unknown_observer(observer_id: int) -> str:
    return _("There is no observer #{id}. /observers lists them.").format(id=observer_id)


def point_add_usage() -> str:
    domains = ", ".join(f"<code>{d.value}</code> ({esc(labels.domain(d))})" for d in FocusDomain)
    hosts = ", ".join(f"<code>{h.value}</code> ({esc(host_kind(h))})" for h in HostKind)
    return "\n".join(
        [
            usage("point_add"),
            _("DOMAIN is one of: {values}").format(values=domains),
            _("HOST is one of: {values}").format(values=hosts),
            _("CODE is up to 16 letters, digits, _ or -; NAME may contain spaces."),
            english_name_hint(),
            _("Example: {example}").format(
                example="<code>/point_add P03 business chamber 区工商联法治观测点 | "
                "District Federation of Industry and Commerce</code>"
            ),
        ]
    )


def english_name_hint() -> str:
    return _(
        "After the name, “| English name” gives it an English name, which people who "
        "read the bot in English see."
    )


def invite_text(what: str, link: str, invite: InviteInfo, policy: Policy) -> str:
    return "\n".join(
        [
            what,
            esc(link),
            _("Valid until {moment} ({zone}), for one person only.").format(
                moment=local_time(invite.expires_at, policy.tz), zone=esc(policy.tz.key)
            ),
            _("Send it privately to the person you are inviting."),
        ]
    )


async def deep_link(bot: Bot, code: str) -> str:
    me = await bot.me()
    return f"https://t.me/{me.username or me.id}?start={code}"


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("roster")
    desks = Desks(from_data(Desk))
    router.message.middleware(desks)
    router.callback_query.middleware(desks)
    router.callback_query.register(
        removing, PrivacyCb.filter(F.act.in_({REMOVE, REMOVE_SURE, REMOVE_KEEP}))
    )
    commands = {
        "observers": list_observers,
        "observer": show_observer,
        "suspend": suspend,
        "invite": invite,
        "liaison": liaison,
        "points": list_points,
        "point_add": add_point,
        "point_close": close_point,
        "departments": list_departments,
        "dept_add": add_department,
        "point_rename": rename_point,
        "dept_rename": rename_department,
    }
    for name, handler in commands.items():
        router.message.register(handler, Command(name))
    return router


@dataclass(frozen=True)
class Desk:
    """Who acts, the services and the bot: what each roster command is handed, by
    :class:`~handlers.desks.Desks`, besides the message and its arguments."""

    actor: Actor
    people: PeopleService
    places: PlaceService
    policy: Policy
    bot: Bot
    privacy: PrivacyService
    i18n: I18n
    settings: Settings


# ---- shared steps ---------------------------------------------------------------------


class _Place(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def active(self) -> bool: ...


_PlaceT = TypeVar("_PlaceT", bound=_Place)
_Made = TypeVar("_Made")


async def _took_arguments(message: Message, command: CommandObject, name: str) -> bool:
    """True once a command that takes no arguments was given some (and told so)."""
    if command.args and command.args.strip():
        await message.reply(usage(name))
        return True
    return False


async def _arguments(
    message: Message, command: CommandObject, count: int, how: str
) -> list[str] | None:
    """The command's ``count`` arguments, the last one the rest of the text; None once
    the admin has been told ``how`` to write the command."""
    parts = (command.args or "").split(maxsplit=count - 1)
    if len(parts) != count:
        await message.reply(how)
        return None
    return parts


async def _send_pages(message: Message, head: str, lines: Sequence[str]) -> None:
    for text in pages(head, lines):
        await message.answer(text)


async def _send_list(message: Message, title: str, head: str, lines: Sequence[str]) -> None:
    """A list under its ``head``, in as many messages as it takes; "none yet" under its
    ``title`` when it is empty."""
    if not lines:
        await message.reply(title + "\n" + _("None yet."))
        return
    await _send_pages(message, head, lines)


async def _active_one(
    message: Message,
    command: CommandObject,
    name: str,
    find: Callable[[str], Awaitable[_PlaceT]],
    unknown: Callable[[str], str],
    closed: Callable[[_PlaceT], str],
) -> _PlaceT | None:
    """The active point or department a command names by its code; None once the admin
    has been told why not."""
    args = (command.args or "").split()
    if len(args) != 1:
        await message.reply(usage(name))
        return None
    try:
        found = await find(args[0])
    except NotFound:
        await message.reply(unknown(args[0]))
        return None
    if not found.active:
        await message.reply(closed(found))
        return None
    return found


@dataclass(frozen=True)
class _Invites(Generic[_PlaceT]):
    """What /invite or /liaison names and makes: the command, how its place is found by
    its code (and what is said when it is not, or is closed), the words over the link,
    how the invite is made, and what the service refuses with once the place closed."""

    command: str
    find: Callable[[PlaceService, str], Awaitable[_PlaceT]]
    unknown: Callable[[str], str]
    closed: Callable[[_PlaceT], str]
    what: Callable[[_PlaceT], str]
    make: Callable[[PeopleService, Actor, int], Awaitable[InviteInfo]]
    refused: type[DomainError]


async def _invite(
    message: Message, command: CommandObject, desk: Desk, how: _Invites[_PlaceT]
) -> None:
    """Post a one-time invite link to the active place the command names."""
    find = partial(how.find, desk.places)
    place = await _active_one(message, command, how.command, find, how.unknown, how.closed)
    if place is None:
        return
    try:
        made = await how.make(desk.people, desk.actor, place.id)
    except how.refused:
        await message.reply(how.closed(place))
        return
    link = await deep_link(desk.bot, made.code)
    await message.reply(invite_text(how.what(place), link, made, desk.policy))


async def _add(
    message: Message,
    add: Callable[[], Awaitable[_Made]],
    done: Callable[[_Made], str],
    code: str,
    how: str,
    taken: str,
) -> None:
    """Add a point or a department and say ``done``; or why nothing was added: a bad
    code (with ``how`` to write the command), another refusal, or the code ``taken``."""
    try:
        made = await add()
    except InvalidInput as exc:
        if exc.context.get("field") == "code":
            await message.reply(bad_code(code) + "\n" + how)
        else:
            await message.reply(explain(exc))
        return
    except Conflict:
        await message.reply(taken)
        return
    await message.reply(done(made))


# ---- observers --------------------------------------------------------------------------


async def list_observers(message: Message, command: CommandObject, desk: Desk) -> None:
    args = (command.args or "").split()
    if len(args) > 1:
        await message.reply(usage("observers"))
        return
    point_id = None
    head = _("<b>Observers</b>")
    if args:
        try:
            point = await desk.places.point_by_code(args[0])
        except NotFound:
            await message.reply(unknown_point(args[0]))
            return
        point_id = point.id
        head = _("<b>Observers at {point}</b>").format(point=esc(_point_label(point)))
    observers = await desk.people.observers(desk.actor, point_id=point_id)
    if not observers:
        await message.reply(head + "\n" + _("Nobody yet."))
        return
    points = {p.id: p for p in await desk.places.points(active_only=False)}
    items = await desk.people.items_filed(desk.actor)
    lines = [esc(_observer_line(o, points, items)) for o in observers]
    await _send_pages(message, head + " (" + str(len(observers)) + ")", lines)


async def show_observer(message: Message, command: CommandObject, desk: Desk) -> None:
    args = (command.args or "").split()
    observer_id = _observer_id(args[0]) if len(args) == 1 else None
    if observer_id is None:
        await message.reply(usage("observer"))
        return
    shown = await _observer_view(desk, observer_id)
    if shown is None:
        await message.reply(unknown_observer(observer_id))
        return
    await message.reply(shown[0], reply_markup=shown[1])


async def _observer_view(
    desk: Desk, observer_id: int, *, asking: bool = False
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """/observer's text and buttons (``asking``: whether to remove them, for sure?);
    None for an observer not on file."""
    try:
        record = await desk.people.observer_record(desk.actor, observer_id)
    except NotFound:
        return None
    kept = await desk.privacy.kept(desk.actor, observer_id)
    points = {p.id: p for p in await desk.places.points(active_only=False)}
    point = points.get(record.info.point_id) if record.info.point_id is not None else None
    text = _observer_card(record, point, kept, desk.policy)
    if not asking:
        return text, _observer_markup(observer_id, kept)
    question = _(
        "Remove observer #{id} from the scheme and erase their name, phone number, résumé "
        "and Telegram account? Their items and the figures stay, under an anonymous name. "
        "This cannot be undone."
    ).format(id=observer_id)
    sure = PrivacyCb(act=REMOVE_SURE, of="o", id=observer_id).pack()
    keep = PrivacyCb(act=REMOVE_KEEP, of="o", id=observer_id).pack()
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("🗑 Yes, remove and anonymise"), sure)],
            [button(_("✖️ No, keep them"), keep)],
        ]
    )
    return f"{text}\n\n<b>{esc(question)}</b>", markup


def _observer_markup(observer_id: int, kept: Kept) -> InlineKeyboardMarkup | None:
    rows = [phone_button("o", observer_id)] if kept.phone else []
    if kept.anonymised_at is None:
        remove = PrivacyCb(act=REMOVE, of="o", id=observer_id).pack()
        rows.append([button(_("🗑 Remove and anonymise"), remove)])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def removing(query: CallbackQuery, callback_data: PrivacyCb, desk: Desk) -> None:
    """A step of removing an observer on their /observer card: asked, kept, done."""
    observer_id = callback_data.id
    said: str | None = None
    if callback_data.act == REMOVE_SURE:
        try:
            await desk.privacy.remove(
                desk.actor, observer_id, name=anonymised_name(desk.i18n, desk.settings)
            )
        except (Conflict, NotFound):
            said = _("Observer #{id} is anonymised already, or no longer on file.").format(
                id=observer_id
            )
        else:
            said = _("Observer #{id} is removed from the scheme and anonymised.").format(
                id=observer_id
            )
    elif callback_data.act == REMOVE_KEEP:
        said = _("Nothing was changed.")
    shown = await _observer_view(desk, observer_id, asking=callback_data.act == REMOVE)
    await query.answer(said)
    if shown is not None and isinstance(query.message, Message):
        await query.message.edit_text(shown[0], reply_markup=shown[1])


def _observer_card(
    record: ObserverRecord, point: PointInfo | None, kept: Kept, policy: Policy
) -> str:
    info = record.info
    point_text = _point_label(point)
    if point is not None and not point.active:
        point_text += " " + _("(closed)")
    phone = _("on file, shown by ☎️ below") if kept.phone else "—"
    lines = [
        f"{_OBSERVER_EMOJI[info.status]} <b>#{info.id} {esc(clip(info.name, 100))}</b>",
        _("<b>Status:</b> {status}").format(status=esc(observer_status(info.status))),
        _("<b>Phone:</b> {phone}").format(phone=esc(phone)),
        _("<b>Category:</b> {category}").format(category=esc(labels.category(info.category))),
        _("<b>Point:</b> {point}").format(point=esc(point_text)),
        _("<b>Recommending unit:</b> {unit}").format(
            unit=esc(clip(info.recommending_unit, 200) or "—")
        ),
        _("<b>Term:</b> {term}").format(term=_term(info)),
        _("<b>Appointed:</b> {moment}").format(
            moment=local_time(record.appointed_at, policy.tz) if record.appointed_at else "—"
        ),
    ]
    if record.suspended_at is not None and info.status is ObserverStatus.SUSPENDED:
        lines.append(
            _("<b>Suspended:</b> {moment}").format(
                moment=local_time(record.suspended_at, policy.tz)
            )
        )
    lines.append(_("<b>Items filed:</b> {count}").format(count=record.items_filed))
    lines.append(_personal_data(kept, policy))
    return "\n".join(lines)


def _personal_data(kept: Kept, policy: Policy) -> str:
    """What the office holds of the observer's personal data."""
    if kept.anonymised_at is not None:
        return _(
            "<b>Personal data:</b> anonymised {moment}; name, phone number, résumé and "
            "Telegram account erased, items and figures kept."
        ).format(moment=local_time(kept.anonymised_at, policy.tz))
    held = [_("name")]
    if kept.phone:
        held.append(_("phone number"))
    held.append(_("Telegram account") if kept.account else _("no Telegram account linked"))
    return _("<b>Personal data held:</b> {what}").format(what=esc(" · ".join(held)))


def _term(info: ObserverInfo) -> str:
    if not (info.term_start or info.term_end):
        return "—"
    return "{start} – {end}".format(
        start=day(info.term_start) if info.term_start else "?",
        end=day(info.term_end) if info.term_end else "?",
    )


async def suspend(message: Message, command: CommandObject, desk: Desk) -> None:
    asked = await _suspension(message, command)
    if asked is None:
        return
    observer_id, reason = asked
    try:
        observer = await desk.people.observer(desk.actor, observer_id)
    except NotFound:
        await message.reply(unknown_observer(observer_id))
        return
    if observer.status is not ObserverStatus.APPOINTED:
        await message.reply(
            _("Observer {name} (#{id}) is {status}, not appointed: nothing was changed.").format(
                name=esc(clip(observer.name, 100)),
                id=observer.id,
                status=esc(observer_status(observer.status)),
            )
        )
        return
    await message.reply(_suspended(await desk.people.suspend(desk.actor, observer_id, reason)))


def _suspended(observer: ObserverInfo) -> str:
    told = (
        _("They will be told in their private chat.")
        if observer.user_id is not None
        else _("They have no Telegram account linked, so nobody was told.")
    )
    return (
        "⏸ "
        + _("Observer {name} (#{id}) is suspended.").format(
            name=esc(clip(observer.name, 100)), id=observer.id
        )
        + " "
        + told
    )


async def _suspension(message: Message, command: CommandObject) -> tuple[int, str] | None:
    """The observer's id and the reason /suspend was given; None once the admin has been
    told what is wrong with them."""
    parts = (command.args or "").strip().split(maxsplit=1)
    observer_id = _observer_id(parts[0]) if parts else None
    if observer_id is None:
        await message.reply(usage("suspend"))
        return None
    try:
        reason = clean_text(parts[1] if len(parts) > 1 else "", TEXT_MAX, field="reason",
                            required=False)  # fmt: skip
    except (InvalidInput, MissingInput) as exc:
        await message.reply(explain(exc))
        return None
    return observer_id, reason


async def invite(message: Message, command: CommandObject, desk: Desk) -> None:
    await _invite(message, command, desk, _OBSERVER_INVITES)


async def liaison(message: Message, command: CommandObject, desk: Desk) -> None:
    await _invite(message, command, desk, _LIAISON_INVITES)


def _observer_invite(point: PointInfo) -> str:
    return "🔗 " + _("One-time invite link for a new observer at {point}:").format(
        point=f"<b>{esc(_point_label(point))}</b>"
    )


def _liaison_invite(department: DepartmentInfo) -> str:
    return "🔗 " + _("One-time invite link for a liaison of {department}:").format(
        department=f"<b>{esc(_department_label(department))}</b>"
    )


# ---- points -----------------------------------------------------------------------------


async def list_points(message: Message, command: CommandObject, desk: Desk) -> None:
    if await _took_arguments(message, command, "points"):
        return
    points = await desk.places.points(active_only=False)
    appointed = _appointed(await desk.people.observers(desk.actor)) if points else {}
    title = _("<b>Observation points</b>")
    head = _("<b>Observation points</b> ({count})").format(count=len(points))
    await _send_list(message, title, head, [_point_line(p, appointed) for p in points])


def _appointed(observers: Sequence[ObserverInfo]) -> dict[int, int]:
    """How many appointed observers each point has."""
    appointed: dict[int, int] = {}
    for observer in observers:
        if observer.status is ObserverStatus.APPOINTED and observer.point_id is not None:
            appointed[observer.point_id] = appointed.get(observer.point_id, 0) + 1
    return appointed


def _point_line(point: PointInfo, appointed: dict[int, int]) -> str:
    line = "{mark} <b>{code}</b> · {name} · {domain} · {host} · {count}".format(
        mark="🟢" if point.active else "⚪",
        code=esc(point.code),
        name=esc(clip(_both_names(point.name), 200)),
        domain=esc(labels.domain(point.domain)),
        host=esc(host_kind(point.host_kind)),
        count=esc(_("observers: {count}").format(count=appointed.get(point.id, 0))),
    )
    return line if point.active else _noted(line, _("closed"))


async def add_point(message: Message, command: CommandObject, desk: Desk) -> None:
    parts = await _arguments(message, command, 4, point_add_usage())
    if parts is None:
        return
    code, domain_value, host_value, names = parts
    name, name_en = split_names(names)
    domains = {d.value: d for d in FocusDomain}
    hosts = {h.value: h for h in HostKind}
    domain, host = domains.get(domain_value.lower()), hosts.get(host_value.lower())
    if domain is None or host is None:
        wrong = domain_value if domain is None else host_value
        await message.reply(
            _("{value} is not one of the allowed values.").format(
                value=f"<code>{esc(clip(wrong, 40))}</code>"
            )
            + "\n"
            + point_add_usage()
        )
        return
    add = partial(
        desk.places.add_point,
        desk.actor,
        code=code,
        name=name,
        name_en=name_en,
        domain=domain,
        host_kind=host,
    )
    taken = _("A point with the code {code} already exists.").format(
        code=f"<code>{esc(code.upper())}</code>"
    )
    await _add(message, add, _point_added, code, point_add_usage(), taken)


def _point_added(point: PointInfo) -> str:
    return (
        "✅ "
        + _("Point added: {point} · {domain} · {host}.").format(
            point=f"<b>{esc(_point_label(point))}</b>",
            domain=esc(labels.domain(point.domain)),
            host=esc(host_kind(point.host_kind)),
        )
        + "\n"
        + _("/invite {code} makes an invite link for its observers.").format(code=esc(point.code))
    )


async def close_point(message: Message, command: CommandObject, desk: Desk) -> None:
    point = await _active_one(
        message, command, "point_close", desk.places.point_by_code, unknown_point, point_closed
    )
    if point is None:
        return
    try:
        told = await desk.places.close_point(desk.actor, point.id)
    except Conflict:
        await message.reply(point_closed(point))
        return
    await message.reply(
        "⚪ "
        + _("Point {point} is closed.").format(point=f"<b>{esc(_point_label(point))}</b>")
        + "\n"
        + _("Observers asked to choose another point: {count}.").format(count=len(told))
    )


# ---- departments ------------------------------------------------------------------------


async def list_departments(message: Message, command: CommandObject, desk: Desk) -> None:
    if await _took_arguments(message, command, "departments"):
        return
    counts = await desk.places.liaison_counts(desk.actor)
    departments = await desk.places.departments(active_only=False)
    title = _("<b>Departments</b>")
    head = _("<b>Departments</b> ({count})").format(count=len(departments))
    await _send_list(message, title, head, [_department_line(d, counts) for d in departments])


def _department_line(department: DepartmentInfo, counts: Mapping[int, int]) -> str:
    line = "{mark} <b>{code}</b> · {name} · {count}".format(
        mark="🏢" if department.active else "⚪",
        code=esc(department.code),
        name=esc(clip(_both_names(department.name), 250)),
        count=esc(_("liaisons: {count}").format(count=counts.get(department.id, 0))),
    )
    return line if department.active else _noted(line, _("inactive"))


def _noted(line: str, note: str) -> str:
    return line + " · <i>" + esc(note) + "</i>"


async def add_department(message: Message, command: CommandObject, desk: Desk) -> None:
    parts = await _arguments(message, command, 2, usage("dept_add"))
    if parts is None:
        return
    code, names = parts
    name, name_en = split_names(names)
    add = partial(desk.places.add_department, desk.actor, code=code, name=name, name_en=name_en)
    taken = _("A department with the code {code} already exists.").format(
        code=f"<code>{esc(code.upper())}</code>"
    )
    await _add(message, add, _department_added, code, usage("dept_add"), taken)


def _department_added(department: DepartmentInfo) -> str:
    return (
        "✅ "
        + _("Department added: {department}.").format(
            department=f"<b>{esc(_department_label(department))}</b>"
        )
        + "\n"
        + _("/liaison {code} makes an invite link for its liaison.").format(
            code=esc(department.code)
        )
    )


def _department_label(department: DepartmentInfo) -> str:
    return f"{department.code} · {clip(labels.place(department.name), 100)}"


def point_closed(point: PointInfo) -> str:
    return _("Point {point} is closed already.").format(point=esc(_point_label(point)))


def department_inactive(department: DepartmentInfo) -> str:
    return _("Department {department} is no longer active.").format(
        department=esc(_department_label(department))
    )


# ---- names ------------------------------------------------------------------------------


async def rename_point(message: Message, command: CommandObject, desk: Desk) -> None:
    parts = await _arguments(message, command, 2, _rename_usage("point_rename"))
    if parts is None:
        return
    code, names = parts
    try:
        point = await desk.places.point_by_code(code)
    except NotFound:
        await message.reply(unknown_point(code))
        return
    name, name_en = split_names(names)
    try:
        renamed = await desk.places.rename_point(desk.actor, point.id, name=name, name_en=name_en)
    except (InvalidInput, MissingInput) as exc:
        await message.reply(explain(exc) + "\n" + _rename_usage("point_rename"))
        return
    await message.reply("✅ " + _named(renamed.code, renamed.name))


async def rename_department(message: Message, command: CommandObject, desk: Desk) -> None:
    parts = await _arguments(message, command, 2, _rename_usage("dept_rename"))
    if parts is None:
        return
    code, names = parts
    try:
        department = await desk.places.department_by_code(code)
    except NotFound:
        await message.reply(unknown_department(code))
        return
    name, name_en = split_names(names)
    try:
        renamed = await desk.places.rename_department(
            desk.actor, department.id, name=name, name_en=name_en
        )
    except (InvalidInput, MissingInput) as exc:
        await message.reply(explain(exc) + "\n" + _rename_usage("dept_rename"))
        return
    await message.reply("✅ " + _named(renamed.code, renamed.name))


def _rename_usage(command: str) -> str:
    return usage(command) + "\n" + english_name_hint()


def _named(code: str, name: Name) -> str:
    if name.en is None:
        return _("{code} is now named {name}, with no English name.").format(
            code=f"<b>{esc(code)}</b>", name=f"<b>{esc(name)}</b>"
        )
    return _("{code} is now named {name}; in English, {name_en}.").format(
        code=f"<b>{esc(code)}</b>", name=f"<b>{esc(name)}</b>", name_en=f"<b>{esc(name.en)}</b>"
    )


def bad_code(code: str) -> str:
    return _(
        "{code} is not a valid code: up to 16 letters (A–Z), digits, _ or -, "
        "starting with a letter or a digit."
    ).format(code=f"<code>{esc(clip(code, 40))}</code>")


_OBSERVER_INVITES = _Invites(
    "invite", PlaceService.point_by_code, unknown_point, point_closed, _observer_invite,
    PeopleService.invite_observer, PointInactive,
)  # fmt: skip
_LIAISON_INVITES = _Invites(
    "liaison", PlaceService.department_by_code, unknown_department, department_inactive,
    _liaison_invite, PeopleService.invite_liaison, NotFound,
)  # fmt: skip
