"""The office's people and places commands: observers, points, departments, invites.

Each command parses its arguments, calls one service with the acting admin (the
services check the admin's rights again) and answers in the group. Lists longer than
one Telegram message are split into several. Refusals that the services raise before
writing anything (an unknown code or id, a point already closed) are answered here
with a precise sentence; anything else goes to the error handler, which rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import Conflict, InvalidInput, MissingInput, NotFound, PointInactive
from bot.domain.limits import TEXT_MAX, clean_text
from bot.domain.statuses import FocusDomain, HostKind, ObserverStatus
from bot.services.actors import Actor
from bot.services.context import Policy
from bot.services.people import InviteInfo, ObserverInfo, PeopleService
from bot.services.places import DepartmentInfo, PlaceService, PointInfo
from bot.settings import Settings
from handlers import labels
from handlers.errors import explain
from handlers.office import office_router, usage
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
    return f"{point.code} · {clip(point.name, 60)}"


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
            _("Example: {example}").format(
                example="<code>/point_add P03 business chamber 区工商联法治观测点</code>"
            ),
        ]
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
    router = office_router("roster", settings.admin_chat_id)

    # ---- observers ----------------------------------------------------------------

    @router.message(Command("observers"))
    async def list_observers(
        message: Message,
        command: CommandObject,
        actor: Actor,
        people: PeopleService,
        places: PlaceService,
    ) -> None:
        args = (command.args or "").split()
        if len(args) > 1:
            await message.reply(usage("observers"))
            return
        point_id = None
        head = _("<b>Observers</b>")
        if args:
            try:
                point = await places.point_by_code(args[0])
            except NotFound:
                await message.reply(unknown_point(args[0]))
                return
            point_id = point.id
            head = _("<b>Observers at {point}</b>").format(point=esc(_point_label(point)))
        observers = await people.observers(actor, point_id=point_id)
        if not observers:
            await message.reply(head + "\n" + _("Nobody yet."))
            return
        points = {p.id: p for p in await places.points(active_only=False)}
        items = await people.items_filed(actor)
        lines = [esc(_observer_line(o, points, items)) for o in observers]
        head += " (" + str(len(observers)) + ")"
        for text in pages(head, lines):
            await message.answer(text)

    @router.message(Command("observer"))
    async def show_observer(
        message: Message,
        command: CommandObject,
        actor: Actor,
        people: PeopleService,
        places: PlaceService,
        policy: Policy,
    ) -> None:
        args = (command.args or "").split()
        observer_id = _observer_id(args[0]) if len(args) == 1 else None
        if observer_id is None:
            await message.reply(usage("observer"))
            return
        try:
            record = await people.observer_record(actor, observer_id)
        except NotFound:
            await message.reply(unknown_observer(observer_id))
            return
        info = record.info
        points = {p.id: p for p in await places.points(active_only=False)}
        point = points.get(info.point_id) if info.point_id is not None else None
        point_text = _point_label(point)
        if point is not None and not point.active:
            point_text += " " + _("(closed)")
        term = "—"
        if info.term_start or info.term_end:
            term = "{start} – {end}".format(
                start=day(info.term_start) if info.term_start else "?",
                end=day(info.term_end) if info.term_end else "?",
            )
        lines = [
            f"{_OBSERVER_EMOJI[info.status]} <b>#{info.id} {esc(clip(info.name, 100))}</b>",
            _("<b>Status:</b> {status}").format(status=esc(observer_status(info.status))),
            _("<b>Phone:</b> {phone}").format(phone=esc(info.phone or "—")),
            _("<b>Category:</b> {category}").format(category=esc(labels.category(info.category))),
            _("<b>Point:</b> {point}").format(point=esc(point_text)),
            _("<b>Recommending unit:</b> {unit}").format(
                unit=esc(clip(info.recommending_unit, 200) or "—")
            ),
            _("<b>Term:</b> {term}").format(term=term),
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
        if info.user_id is None:
            lines.append(_("No Telegram account linked."))
        await message.reply("\n".join(lines))

    @router.message(Command("suspend"))
    async def suspend(
        message: Message, command: CommandObject, actor: Actor, people: PeopleService
    ) -> None:
        parts = (command.args or "").strip().split(maxsplit=1)
        observer_id = _observer_id(parts[0]) if parts else None
        if observer_id is None:
            await message.reply(usage("suspend"))
            return
        try:
            reason = clean_text(parts[1] if len(parts) > 1 else "", TEXT_MAX, field="reason",
                                required=False)  # fmt: skip
        except (InvalidInput, MissingInput) as exc:
            await message.reply(explain(exc))
            return
        try:
            observer = await people.observer(actor, observer_id)
        except NotFound:
            await message.reply(unknown_observer(observer_id))
            return
        if observer.status is not ObserverStatus.APPOINTED:
            await message.reply(
                _(
                    "Observer {name} (#{id}) is {status}, not appointed: nothing was changed."
                ).format(
                    name=esc(clip(observer.name, 100)),
                    id=observer.id,
                    status=esc(observer_status(observer.status)),
                )
            )
            return
        suspended = await people.suspend(actor, observer_id, reason)
        told = (
            _("They will be told in their private chat.")
            if suspended.user_id is not None
            else _("They have no Telegram account linked, so nobody was told.")
        )
        await message.reply(
            "⏸ "
            + _("Observer {name} (#{id}) is suspended.").format(
                name=esc(clip(suspended.name, 100)), id=suspended.id
            )
            + " "
            + told
        )

    @router.message(Command("invite"))
    async def invite(
        message: Message,
        command: CommandObject,
        actor: Actor,
        people: PeopleService,
        places: PlaceService,
        policy: Policy,
        bot: Bot,
    ) -> None:
        args = (command.args or "").split()
        if len(args) != 1:
            await message.reply(usage("invite"))
            return
        try:
            point = await places.point_by_code(args[0])
        except NotFound:
            await message.reply(unknown_point(args[0]))
            return
        if not point.active:
            await message.reply(point_closed(point))
            return
        try:
            invite = await people.invite_observer(actor, point.id)
        except PointInactive:
            await message.reply(point_closed(point))
            return
        what = "🔗 " + _("One-time invite link for a new observer at {point}:").format(
            point=f"<b>{esc(_point_label(point))}</b>"
        )
        await message.reply(invite_text(what, await deep_link(bot, invite.code), invite, policy))

    @router.message(Command("liaison"))
    async def liaison(
        message: Message,
        command: CommandObject,
        actor: Actor,
        people: PeopleService,
        places: PlaceService,
        policy: Policy,
        bot: Bot,
    ) -> None:
        args = (command.args or "").split()
        if len(args) != 1:
            await message.reply(usage("liaison"))
            return
        try:
            department = await places.department_by_code(args[0])
        except NotFound:
            await message.reply(unknown_department(args[0]))
            return
        if not department.active:
            await message.reply(department_inactive(department))
            return
        try:
            invite = await people.invite_liaison(actor, department.id)
        except NotFound:
            await message.reply(department_inactive(department))
            return
        what = "🔗 " + _("One-time invite link for a liaison of {department}:").format(
            department=f"<b>{esc(_department_label(department))}</b>"
        )
        await message.reply(invite_text(what, await deep_link(bot, invite.code), invite, policy))

    # ---- points -------------------------------------------------------------------

    @router.message(Command("points"))
    async def list_points(
        message: Message, command: CommandObject, actor: Actor, people: PeopleService,
        places: PlaceService,
    ) -> None:  # fmt: skip
        if command.args and command.args.strip():
            await message.reply(usage("points"))
            return
        points = await places.points(active_only=False)
        if not points:
            await message.reply(_("<b>Observation points</b>") + "\n" + _("None yet."))
            return
        appointed: dict[int, int] = {}
        for observer in await people.observers(actor):
            if observer.status is ObserverStatus.APPOINTED and observer.point_id is not None:
                appointed[observer.point_id] = appointed.get(observer.point_id, 0) + 1
        lines = []
        for point in points:
            line = "{mark} <b>{code}</b> · {name} · {domain} · {host} · {count}".format(
                mark="🟢" if point.active else "⚪",
                code=esc(point.code),
                name=esc(clip(point.name, 100)),
                domain=esc(labels.domain(point.domain)),
                host=esc(host_kind(point.host_kind)),
                count=esc(_("observers: {count}").format(count=appointed.get(point.id, 0))),
            )
            if not point.active:
                line += " · <i>" + esc(_("closed")) + "</i>"
            lines.append(line)
        head = _("<b>Observation points</b> ({count})").format(count=len(points))
        for text in pages(head, lines):
            await message.answer(text)

    @router.message(Command("point_add"))
    async def add_point(
        message: Message, command: CommandObject, actor: Actor, places: PlaceService
    ) -> None:
        parts = (command.args or "").split(maxsplit=3)
        if len(parts) != 4:
            await message.reply(point_add_usage())
            return
        code, domain_value, host_value, name = parts
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
        try:
            point = await places.add_point(
                actor, code=code, name=name, domain=domain, host_kind=host
            )
        except InvalidInput as exc:
            if exc.context.get("field") == "code":
                await message.reply(bad_code(code) + "\n" + point_add_usage())
            else:
                await message.reply(explain(exc))
            return
        except Conflict:
            await message.reply(
                _("A point with the code {code} already exists.").format(
                    code=f"<code>{esc(code.upper())}</code>"
                )
            )
            return
        await message.reply(
            "✅ "
            + _("Point added: {point} · {domain} · {host}.").format(
                point=f"<b>{esc(_point_label(point))}</b>",
                domain=esc(labels.domain(point.domain)),
                host=esc(host_kind(point.host_kind)),
            )
            + "\n"
            + _("/invite {code} makes an invite link for its observers.").format(
                code=esc(point.code)
            )
        )

    @router.message(Command("point_close"))
    async def close_point(
        message: Message, command: CommandObject, actor: Actor, places: PlaceService
    ) -> None:
        args = (command.args or "").split()
        if len(args) != 1:
            await message.reply(usage("point_close"))
            return
        try:
            point = await places.point_by_code(args[0])
        except NotFound:
            await message.reply(unknown_point(args[0]))
            return
        if not point.active:
            await message.reply(point_closed(point))
            return
        try:
            told = await places.close_point(actor, point.id)
        except Conflict:
            await message.reply(point_closed(point))
            return
        await message.reply(
            "⚪ "
            + _("Point {point} is closed.").format(point=f"<b>{esc(_point_label(point))}</b>")
            + "\n"
            + _("Observers asked to choose another point: {count}.").format(count=len(told))
        )

    # ---- departments --------------------------------------------------------------

    @router.message(Command("departments"))
    async def list_departments(
        message: Message, command: CommandObject, actor: Actor, places: PlaceService
    ) -> None:
        if command.args and command.args.strip():
            await message.reply(usage("departments"))
            return
        counts = await places.liaison_counts(actor)
        departments = await places.departments(active_only=False)
        if not departments:
            await message.reply(_("<b>Departments</b>") + "\n" + _("None yet."))
            return
        lines = []
        for department in departments:
            line = "{mark} <b>{code}</b> · {name} · {count}".format(
                mark="🏢" if department.active else "⚪",
                code=esc(department.code),
                name=esc(clip(department.name, 150)),
                count=esc(_("liaisons: {count}").format(count=counts.get(department.id, 0))),
            )
            if not department.active:
                line += " · <i>" + esc(_("inactive")) + "</i>"
            lines.append(line)
        head = _("<b>Departments</b> ({count})").format(count=len(departments))
        for text in pages(head, lines):
            await message.answer(text)

    @router.message(Command("dept_add"))
    async def add_department(
        message: Message, command: CommandObject, actor: Actor, places: PlaceService
    ) -> None:
        parts = (command.args or "").split(maxsplit=1)
        if len(parts) != 2:
            await message.reply(usage("dept_add"))
            return
        code, name = parts
        try:
            department = await places.add_department(actor, code=code, name=name)
        except InvalidInput as exc:
            if exc.context.get("field") == "code":
                await message.reply(bad_code(code) + "\n" + usage("dept_add"))
            else:
                await message.reply(explain(exc))
            return
        except Conflict:
            await message.reply(
                _("A department with the code {code} already exists.").format(
                    code=f"<code>{esc(code.upper())}</code>"
                )
            )
            return
        await message.reply(
            "✅ "
            + _("Department added: {department}.").format(
                department=f"<b>{esc(_department_label(department))}</b>"
            )
            + "\n"
            + _("/liaison {code} makes an invite link for its liaison.").format(
                code=esc(department.code)
            )
        )

    return router


def _department_label(department: DepartmentInfo) -> str:
    return f"{department.code} · {clip(department.name, 100)}"


def point_closed(point: PointInfo) -> str:
    return _("Point {point} is closed already.").format(point=esc(_point_label(point)))


def department_inactive(department: DepartmentInfo) -> str:
    return _("Department {department} is no longer active.").format(
        department=esc(_department_label(department))
    )


def bad_code(code: str) -> str:
    return _(
        "{code} is not a valid code: up to 16 letters (A–Z), digits, _ or -, "
        "starting with a letter or a digit."
    ).format(code=f"<code>{esc(clip(code, 40))}</code>")
