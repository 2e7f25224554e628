"""Observers, applications, invites and liaisons: who takes part in the scheme."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm.exc import StaleDataError

from bot.domain.errors import (
    AlreadyMoved,
    Conflict,
    InvalidInput,
    InviteExpired,
    InviteInvalid,
    InviteUsed,
    NotFound,
    NotPermitted,
    PointInactive,
)
from bot.domain.limits import NAME_MAX, TEXT_MAX, clean_text
from bot.domain.names import Name, carry
from bot.domain.notices import Notice
from bot.domain.permissions import Manage, require_manage
from bot.domain.point_requests import RequestMove, RequestStatus, settle
from bot.domain.roles import Role
from bot.domain.statuses import (
    ApplicationStatus,
    InviteKind,
    ObserverCategory,
    ObserverStatus,
)
from bot.services import notify
from bot.services.actors import Actor
from bot.services.cards import APPLICATION, RESYNC_GRACE, CardService
from bot.services.context import Service
from storage.models import Application, Invite, Liaison, Observer, Point, PointRequest
from storage.repositories.arrival import Rank

# Telegram deep-link payloads allow 64 characters of [A-Za-z0-9_-]; 16 random bytes
# give 22 of them and cannot be guessed.
_INVITE_BYTES = 16
_PHONE_CHARS = set("0123456789+- ()")
_PHONE_MAX = 32  # the width of the phone columns
_RESUME_MAX = 1000
# A mainland mobile number: 11 digits from 13x to 19x, after an optional +86 / 0086.
_MOBILE = re.compile(r"(?:\+?86|0086)?1[3-9]\d{9}")
_ACTIVE = (ObserverStatus.APPOINTED, ObserverStatus.SUSPENDED)


class Joined(StrEnum):
    """How the person of a settled application became an observer (kept as its
    ``reason``)."""

    INVITE = "invite"
    APPROVAL = "approval"  # another application of theirs was approved
    APPOINTMENT = "appointment"  # the office appointed them on file
    BEFORE = "before"  # found an observer already when the office came to decide


class AlreadyJoined(Conflict):
    """The applicant is an observer already: there is nothing to approve."""

    def __init__(self, observer_id: int) -> None:
        super().__init__("the applicant is an observer already", observer_id=observer_id)
        self.observer_id = observer_id


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    # Could be a number (a landline, a number abroad), but not a mainland mobile.
    OTHER = "other"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    first_name: str
    language_code: str | None
    # What the person chose with /lang; None means "follow the client".
    locale: str | None
    blocked: bool


@dataclass(frozen=True, slots=True)
class ObserverInfo:
    id: int
    name: str
    phone: str
    category: ObserverCategory
    point_id: int | None
    recommending_unit: str
    status: ObserverStatus
    term_start: date | None
    term_end: date | None
    user_id: int | None

    @classmethod
    def of(cls, row: Observer) -> ObserverInfo:
        return cls(
            row.id,
            row.name,
            row.phone,
            row.category,
            row.point_id,
            row.recommending_unit,
            row.status,
            row.term_start,
            row.term_end,
            row.user_id,
        )


@dataclass(frozen=True, slots=True)
class ApplicationInfo:
    id: int
    user_id: int
    name: str
    phone: str
    recommending_unit: str
    category: ObserverCategory
    desired_point_id: int | None
    resume: str
    status: ApplicationStatus
    reason: str | None
    observer_id: int | None
    version: int

    @classmethod
    def of(cls, row: Application) -> ApplicationInfo:
        return cls(
            row.id,
            row.user_id,
            row.name,
            row.phone,
            row.recommending_unit,
            row.category,
            row.desired_point_id,
            row.resume,
            row.status,
            row.reason,
            row.observer_id,
            row.version,
        )


@dataclass(frozen=True, slots=True)
class ApplicationView:
    """An application as the office's card shows it."""

    info: ApplicationInfo
    applied_at: datetime
    # "P01 · name" of the desired point, and whether it is still open.
    desired_point: str | None
    desired_point_active: bool
    decided_at: datetime | None
    decided_by: str | None
    # Where the applicant was appointed, once approved.
    appointed_point: str | None


@dataclass(frozen=True, slots=True)
class ObserverRecord:
    """One observer as the office's /observer shows them."""

    info: ObserverInfo
    appointed_at: datetime | None
    suspended_at: datetime | None
    items_filed: int


@dataclass(frozen=True, slots=True)
class InviteInfo:
    code: str
    kind: InviteKind
    expires_at: datetime
    point_id: int | None
    department_id: int | None


@dataclass(frozen=True, slots=True)
class Redeemed:
    kind: InviteKind
    observer_id: int | None = None
    liaison_id: int | None = None
    department_id: int | None = None
    point_id: int | None = None


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a Telegram user stands in the scheme, for greeting them."""

    observer: ObserverInfo | None
    point_name: Name | None
    pending_application: ApplicationInfo | None
    liaison_departments: tuple[Name, ...]

    @property
    def stranger(self) -> bool:
        active = self.observer is not None and self.observer.status in (
            ObserverStatus.APPOINTED,
            ObserverStatus.SUSPENDED,
        )
        return not active and not self.liaison_departments


def phone_kind(value: str) -> PhoneKind:
    """What a typed phone number is: a mainland mobile, another plausible number (a
    landline with its area code, a local landline, a number abroad), or none at all
    (too short, "12345", letters)."""
    phone = value.strip()
    if not phone or set(phone) - _PHONE_CHARS or len(phone) > _PHONE_MAX:
        return PhoneKind.INVALID
    if "+" in phone[1:]:
        return PhoneKind.INVALID
    digits = "".join(ch for ch in phone if ch.isdigit())
    plus = phone.startswith("+")
    if _MOBILE.fullmatch(("+" if plus else "") + digits):
        return PhoneKind.MOBILE
    abroad = plus or digits.startswith("00")
    if abroad and 8 <= len(digits) <= 17:
        return PhoneKind.OTHER
    if digits.startswith("0") and 10 <= len(digits) <= 12:  # area code and number
        return PhoneKind.OTHER
    if digits[:1] not in ("", "0", "1") and 7 <= len(digits) <= 8:  # no area code
        return PhoneKind.OTHER
    return PhoneKind.INVALID


def clean_phone(value: str) -> str:
    phone = value.strip()
    digits = sum(ch.isdigit() for ch in phone)
    if not phone or set(phone) - _PHONE_CHARS or not 5 <= digits <= 20 or len(phone) > _PHONE_MAX:
        raise InvalidInput(f"not a phone number: {value!r}", field="phone")
    return phone


# The subject of a point change request's card in the admin group.
POINT_REQUEST = "point_request"


class AlreadyAsked(Conflict):
    """The observer's pending request is for that very point."""


@dataclass(frozen=True, slots=True)
class PointRequestView:
    """A request to move to another point, as its card and the observer see it."""

    id: int
    observer_id: int
    observer_name: str
    # "P01 · name" of the point left (None: none) and of the one asked for.
    from_point: str | None
    to_point: str
    to_point_id: int
    to_point_active: bool
    status: RequestStatus
    asked_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    version: int


@dataclass(frozen=True, slots=True)
class Asked:
    """What asking to move came to: a request for the office to decide, or (from a
    closed point, or none) the move itself, made at once."""

    request: PointRequestView | None = None
    moved: ObserverInfo | None = None


class PeopleService(Service):
    # ---- Telegram users -------------------------------------------------------------

    async def register(
        self,
        user_id: int,
        *,
        first_name: str = "",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> UserInfo:
        row = await self.store.users.upsert(
            user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            at=self.now(),
        )
        return UserInfo(row.id, row.first_name, row.language_code, row.locale, row.blocked)

    async def arriving(self, user_id: int) -> Rank | None:
        """Read, in one statement, the acting person's record (so that registering them
        reads it no more) and their standing (see ``identify``); None if unknown."""
        return await self.store.observers.person(user_id)

    async def set_locale(self, user_id: int, locale: str | None) -> None:
        user = await self.store.users.get(user_id)
        if user is None:
            raise NotFound("unknown user", user_id=user_id)
        user.locale = locale
        await self.store.flush()

    async def standing(self, user_id: int) -> Standing:
        row = await self.store.observers.by_user(user_id)
        observer = ObserverInfo.of(row) if row is not None else None
        point = await self.store.points.get(row.point_id) if row and row.point_id else None
        pending = await self.store.applications.pending_for_user(user_id)
        departments = []
        for liaison in await self.store.liaisons.for_user(user_id):
            department = await self.store.departments.get(liaison.department_id)
            if department is not None and department.active:
                departments.append(department.naming)
        return Standing(
            observer,
            point.naming if point else None,
            ApplicationInfo.of(pending) if pending else None,
            tuple(departments),
        )

    # ---- observers ------------------------------------------------------------------

    async def add_observer(
        self,
        actor: Actor,
        *,
        name: str,
        category: ObserverCategory,
        point_id: int | None,
        phone: str = "",
        recommending_unit: str = "",
        resume: str = "",
    ) -> ObserverInfo:
        """Put a nominated person on file (推荐); appointment is a separate step."""
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        if point_id is not None:
            await self._active_point(point_id)
        row = await self.store.observers.add(
            Observer(
                office_id=self.policy.office_id,
                name=clean_text(name, NAME_MAX, field="name"),
                phone=clean_phone(phone) if phone.strip() else "",
                category=category,
                point_id=point_id,
                recommending_unit=clean_text(recommending_unit, 200, field="unit", required=False),
                resume=clean_text(resume, _RESUME_MAX, field="resume", required=False),
                status=ObserverStatus.NOMINATED,
                created_at=self.now(),
            )
        )
        return ObserverInfo.of(row)

    async def appoint(
        self,
        actor: Actor,
        observer_id: int,
        *,
        point_id: int | None = None,
        term_start: date | None = None,
        term_end: date | None = None,
    ) -> ObserverInfo:
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        observer = await self._observer(observer_id)
        if observer.status is ObserverStatus.DISMISSED:
            raise Conflict("a dismissed observer cannot be appointed again")
        point = await self._active_point(point_id or observer.point_id or 0)
        self._appoint(observer, point, term_start, term_end)
        await self.store.flush()
        await self._joined(observer, Joined.APPOINTMENT, by=actor.user_id)
        if observer.user_id is not None:
            await notify.to_user(
                self.store,
                observer.user_id,
                Notice.OBSERVER_APPOINTED,
                {**carry("point", point.naming), "code": point.code},
                at=self.now(),
            )
        return ObserverInfo.of(observer)

    async def suspend(self, actor: Actor, observer_id: int, reason: str = "") -> ObserverInfo:
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        observer = await self._observer(observer_id)
        if observer.status is not ObserverStatus.APPOINTED:
            raise Conflict(f"observer is {observer.status}, not appointed")
        observer.status = ObserverStatus.SUSPENDED
        observer.suspended_at = self.now()
        await self.store.flush()
        if observer.user_id is not None:
            await notify.to_user(
                self.store,
                observer.user_id,
                Notice.OBSERVER_SUSPENDED,
                {"reason": clean_text(reason, TEXT_MAX, field="reason", required=False)},
                at=self.now(),
            )
        return ObserverInfo.of(observer)

    async def dismiss(self, actor: Actor, observer_id: int) -> ObserverInfo:
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        observer = await self._observer(observer_id)
        observer.status = ObserverStatus.DISMISSED
        observer.term_end = observer.term_end or self.today()
        await self.store.flush()
        return ObserverInfo.of(observer)

    async def move(self, actor: Actor, observer_id: int, point_id: int) -> ObserverInfo:
        """Attach an observer to another point: the office, or the observer themselves
        (when their point closes they are asked to choose)."""
        if actor.observer_id != observer_id:
            require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        observer = await self._observer(observer_id)
        point = await self._active_point(point_id)
        if observer.point_id == point.id:
            raise Conflict("already at that point")
        observer.point_id, observer.office_id = point.id, point.office_id
        await self.store.flush()
        moved = {"observer_id": observer.id, "name": observer.name, "point": point.name}
        await notify.to_admins(
            self.store, Notice.OBSERVER_MOVED, moved, at=self.now(), office_id=observer.office_id
        )
        if observer.user_id is not None and observer.user_id != actor.user_id:
            # Moved by the office: the observer learns where they now belong.
            await notify.to_user(
                self.store, observer.user_id, Notice.OBSERVER_MOVED, moved, at=self.now()
            )
        await self.store.flush()
        return ObserverInfo.of(observer)

    async def observers(self, actor: Actor, *, point_id: int | None = None) -> list[ObserverInfo]:
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        return [ObserverInfo.of(o) for o in await self.store.observers.list(point_id=point_id)]

    async def observer(self, actor: Actor, observer_id: int) -> ObserverInfo:
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        return ObserverInfo.of(await self._observer(observer_id))

    async def observer_record(self, actor: Actor, observer_id: int) -> ObserverRecord:
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        row = await self._observer(observer_id)
        counts = await self.store.observers.items_filed([row.id])
        return ObserverRecord(
            ObserverInfo.of(row), row.appointed_at, row.suspended_at, counts.get(row.id, 0)
        )

    async def items_filed(self, actor: Actor) -> dict[int, int]:
        """How many items each observer has filed, by observer id."""
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        return await self.store.observers.items_filed()

    # ---- applications ---------------------------------------------------------------

    async def application(self, actor: Actor, application_id: int) -> ApplicationView:
        """An application with what its card shows; the office's, or the system's (the
        outbox sender posting the card)."""
        if Role.SYSTEM not in actor.roles:
            require_manage(actor.view, Manage.DECIDE_APPLICATION)
        row = await self.store.applications.get(application_id)
        if row is None:
            raise NotFound("no such application", application_id=application_id)
        desired = (
            await self.store.points.get(row.desired_point_id) if row.desired_point_id else None
        )
        decider = await self.store.users.get(row.decided_by) if row.decided_by else None
        appointed = None
        if row.observer_id is not None:
            observer = await self.store.observers.get(row.observer_id)
            point = (
                await self.store.points.get(observer.point_id)
                if observer is not None and observer.point_id
                else None
            )
            appointed = point.naming.coded(point.code) if point else None
        return ApplicationView(
            ApplicationInfo.of(row),
            row.created_at,
            desired.naming.coded(desired.code) if desired else None,
            bool(desired and desired.active),
            row.decided_at,
            (decider.first_name or str(decider.id)) if decider else None,
            appointed,
        )

    async def approve_once(
        self,
        actor: Actor,
        application_id: int,
        *,
        point_id: int | None = None,
        version: int | None = None,
    ) -> ObserverInfo:
        """:meth:`approve` in a savepoint: a decision lost to another admin's leaves the
        transaction usable, so the caller can show the application as it now stands.
        An applicant found an observer already is not moved: the application is settled
        (kept when the caller answers the refusal) and :class:`AlreadyJoined` raised."""
        try:
            async with self.store.session.begin_nested():
                return await self.approve(actor, application_id, point_id=point_id, version=version)
        except AlreadyJoined as joined:
            observer = await self._observer(joined.observer_id)
            await self._settle(application_id, observer, Joined.BEFORE, by=actor.user_id)
            raise

    async def reject_once(
        self, actor: Actor, application_id: int, reason: str, *, version: int | None = None
    ) -> ApplicationInfo:
        """:meth:`reject` in a savepoint (see :meth:`approve_once`)."""
        try:
            async with self.store.session.begin_nested():
                return await self.reject(actor, application_id, reason, version=version)
        except AlreadyJoined as joined:
            observer = await self._observer(joined.observer_id)
            await self._settle(application_id, observer, Joined.BEFORE, by=actor.user_id)
            raise

    async def apply(
        self,
        user_id: int,
        *,
        name: str,
        phone: str,
        category: ObserverCategory,
        recommending_unit: str = "",
        desired_point_id: int | None = None,
        resume: str = "",
    ) -> ApplicationInfo:
        existing = await self.store.observers.by_user(user_id)
        if existing is not None and existing.status is not ObserverStatus.DISMISSED:
            raise Conflict("already an observer")
        if await self.store.applications.pending_for_user(user_id) is not None:
            raise Conflict("an application is already waiting")
        # The office of the point they would join decides (the home office's if none).
        office_id = self.policy.office_id
        if desired_point_id is not None:
            office_id = (await self._active_point(desired_point_id)).office_id
        if await self.store.users.get(user_id) is None:
            await self.store.users.upsert(user_id, at=self.now())
        row = await self.store.applications.add(
            Application(
                office_id=office_id,
                user_id=user_id,
                name=clean_text(name, NAME_MAX, field="name"),
                phone=clean_phone(phone),
                recommending_unit=clean_text(recommending_unit, 200, field="unit", required=False),
                category=category,
                desired_point_id=desired_point_id,
                resume=clean_text(resume, _RESUME_MAX, field="resume", required=False),
                status=ApplicationStatus.PENDING,
                created_at=self.now(),
            )
        )
        await notify.to_admins(
            self.store,
            Notice.APPLICATION_NEW,
            {"application_id": row.id},
            at=self.now(),
            office_id=office_id,
        )
        await self.store.flush()
        return ApplicationInfo.of(row)

    async def approve(
        self,
        actor: Actor,
        application_id: int,
        *,
        point_id: int | None = None,
        version: int | None = None,
    ) -> ObserverInfo:
        require_manage(actor.view, Manage.DECIDE_APPLICATION)
        application = await self._pending_application(application_id, version)
        # Joined meanwhile (an invite): approving would move them and welcome twice.
        observer = await self._not_joined(application)
        point = await self._active_point(point_id or application.desired_point_id or 0)
        if observer is None:
            observer = Observer(
                name=application.name,
                phone=application.phone,
                category=application.category,
                recommending_unit=application.recommending_unit,
                resume=application.resume,
                user_id=application.user_id,
                created_at=self.now(),
            )
            self.store.session.add(observer)
        elif observer.status is ObserverStatus.DISMISSED:
            # A dismissed observer who applied again starts a new term: the old one
            # ended with the dismissal.
            observer.term_start = observer.term_end = None
        self._appoint(observer, point, None, None)
        application.status = ApplicationStatus.APPROVED
        application.decided_by = actor.user_id
        application.decided_at = self.now()
        await self._flush_application()
        application.observer_id = observer.id
        await notify.to_user(
            self.store,
            application.user_id,
            Notice.APPLICATION_APPROVED,
            {**carry("point", point.naming), "code": point.code},
            at=self.now(),
        )
        await self._flush_application()
        await self._joined(observer, Joined.APPROVAL, by=actor.user_id, keep=application.id)
        return ObserverInfo.of(observer)

    async def reject(
        self, actor: Actor, application_id: int, reason: str, *, version: int | None = None
    ) -> ApplicationInfo:
        require_manage(actor.view, Manage.DECIDE_APPLICATION)
        application = await self._pending_application(application_id, version)
        await self._not_joined(application)
        application.status = ApplicationStatus.REJECTED
        application.reason = clean_text(reason, TEXT_MAX, field="reason")
        application.decided_by = actor.user_id
        application.decided_at = self.now()
        await self._flush_application()
        await notify.to_user(
            self.store,
            application.user_id,
            Notice.APPLICATION_REJECTED,
            {"reason": application.reason},
            at=self.now(),
        )
        await self.store.flush()
        return ApplicationInfo.of(application)

    async def pending_applications(self, actor: Actor) -> list[ApplicationInfo]:
        require_manage(actor.view, Manage.DECIDE_APPLICATION)
        return [ApplicationInfo.of(a) for a in await self.store.applications.pending()]

    async def latest_application(self, user_id: int) -> ApplicationInfo | None:
        """The person's newest application, whatever became of it (for themselves)."""
        row = await self.store.applications.latest_for_user(user_id)
        return ApplicationInfo.of(row) if row is not None else None

    # ---- invites --------------------------------------------------------------------

    async def invite_observer(
        self, actor: Actor, point_id: int, *, observer_id: int | None = None
    ) -> InviteInfo:
        require_manage(actor.view, Manage.CREATE_INVITE)
        await self._active_point(point_id)
        if observer_id is not None:
            await self._observer(observer_id)
        return await self._invite(
            actor, InviteKind.OBSERVER, point_id=point_id, observer_id=observer_id
        )

    async def invite_liaison(self, actor: Actor, department_id: int) -> InviteInfo:
        require_manage(actor.view, Manage.CREATE_INVITE)
        department = await self.store.departments.get(department_id)
        if department is None or not department.active:
            raise NotFound("no such department", department_id=department_id)
        return await self._invite(actor, InviteKind.LIAISON, department_id=department_id)

    async def redeem(self, user_id: int, code: str, *, name: str = "") -> Redeemed:
        """Use a one-time deep-link code. Forged, used and expired codes are refused.

        All or nothing, even when the caller catches the refusal and commits: a
        redemption refused half-way (an observer on file found dismissed, the claim lost
        to a simultaneous tap) leaves nothing behind.
        """
        invite = await self.store.invites.by_code(code.strip()) if code.strip() else None
        if invite is None:
            raise InviteInvalid("unknown invite code")
        if invite.used_at is not None:
            raise InviteUsed("invite already used")
        if invite.expires_at <= self.now():
            raise InviteExpired("invite expired")
        async with self.store.session.begin_nested():
            if await self.store.users.get(user_id) is None:
                await self.store.users.upsert(user_id, first_name=name)
            if invite.kind is InviteKind.LIAISON:
                result = await self._redeem_liaison(invite, user_id, name)
            else:
                result = await self._redeem_observer(invite, user_id, name)
            if not await self.store.invites.claim(invite.id, user_id, self.now()):
                raise InviteUsed("invite already used")
        return result

    # ---- changes of point ------------------------------------------------------------

    async def ask_to_move(self, actor: Actor, point_id: int) -> Asked:
        """An observer asks to move to another open point: a request for the office,
        which replaces one still pending. From a closed point (or none) they are not
        leaving a point: the move is made at once."""
        if actor.observer_id is None:
            raise NotPermitted("only observers have a point", action="ask_to_move")
        observer = await self._observer(actor.observer_id)
        target = await self._active_point(point_id)
        if target.office_id != observer.office_id:
            # Another office's point: moving there is that office's to decide (an
            # application), not this one's.
            raise NotFound("no such point", point_id=point_id)
        current = await self.store.points.get(observer.point_id) if observer.point_id else None
        pending = await self.store.point_requests.pending_for(observer.id)
        if current is None or not current.active:
            moved = await self.move(actor, observer.id, target.id)
            if pending is not None:
                await self._settle_request(actor, pending, RequestMove.WITHDRAW)
            return Asked(moved=moved)
        if current.id == target.id:
            raise Conflict("already at that point")
        if pending is not None and pending.to_point_id == target.id:
            raise AlreadyAsked("that request is waiting already", request_id=pending.id)
        if pending is not None:
            await self._settle_request(actor, pending, RequestMove.WITHDRAW)
        row = PointRequest(
            observer_id=observer.id,
            from_point_id=current.id,
            to_point_id=target.id,
            status=RequestStatus.PENDING,
            created_at=self.now(),
        )
        self.store.session.add(row)
        await self.store.flush()
        await notify.to_admins(
            self.store,
            Notice.POINT_REQUESTED,
            {"request_id": row.id},
            at=self.now(),
            office_id=observer.office_id,
        )
        return Asked(request=await self._request_view(row))

    async def pending_point_request(self, actor: Actor) -> PointRequestView | None:
        """The acting observer's request still awaiting the office, if any."""
        if actor.observer_id is None:
            return None
        row = await self.store.point_requests.pending_for(actor.observer_id)
        return await self._request_view(row) if row is not None else None

    async def withdraw_point_request(self, actor: Actor) -> PointRequestView:
        """The acting observer takes back their pending request."""
        row = (
            await self.store.point_requests.pending_for(actor.observer_id)
            if actor.observer_id is not None
            else None
        )
        if row is None:
            raise NotFound("no request is waiting")
        await self._settle_request(actor, row, RequestMove.WITHDRAW)
        return await self._request_view(row)

    async def point_request(self, actor: Actor, request_id: int) -> PointRequestView:
        """A request as its card shows it; the office's, or the system's."""
        if Role.SYSTEM not in actor.roles:
            require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        row = await self.store.point_requests.get(request_id)
        if row is None:
            raise NotFound("no such request", request_id=request_id)
        return await self._request_view(row)

    async def decide_point_request(
        self, actor: Actor, request_id: int, *, approve: bool, version: int | None = None
    ) -> PointRequestView:
        """The office approves (the observer moves) or refuses a request; the observer is
        told either way. In a savepoint: a decision lost to another admin's leaves the
        transaction usable."""
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        async with self.store.session.begin_nested():
            row = await self.store.point_requests.get(request_id)
            if row is None:
                raise NotFound("no such request", request_id=request_id)
            if version is not None and version != row.version:
                raise AlreadyMoved("the request was decided already", status=row.status)
            observer = await self._observer(row.observer_id)
            point = await self.store.points.get(row.to_point_id)
            if approve:
                point = await self._active_point(row.to_point_id)
                if observer.status is ObserverStatus.DISMISSED:
                    raise Conflict("the observer has been dismissed")
                observer.point_id, observer.office_id = point.id, point.office_id
            move = RequestMove.APPROVE if approve else RequestMove.REFUSE
            await self._settle_request(actor, row, move)
        if observer.user_id is not None and point is not None:
            kind = Notice.POINT_REQUEST_APPROVED if approve else Notice.POINT_REQUEST_REFUSED
            await notify.to_user(
                self.store,
                observer.user_id,
                kind,
                {**carry("point", point.naming), "code": point.code},
                at=self.now(),
            )
        return await self._request_view(row)

    async def _settle_request(self, actor: Actor, row: PointRequest, move: RequestMove) -> None:
        row.status = settle(row.status, move, actor.roles)
        row.decided_by = actor.user_id
        row.decided_at = self.now()
        try:
            await self.store.flush()
        except StaleDataError as exc:
            raise AlreadyMoved("the request was decided by someone else") from exc
        # Its card in the group shows the decision: now by whoever speaks next, or by
        # the sender if nobody does.
        await CardService(self.store, self.policy, self.clock).resync(
            POINT_REQUEST, row.id, later=RESYNC_GRACE
        )
        if move is RequestMove.WITHDRAW:
            # The observer speaks in private: the group's card hears of it by the outbox.
            observer = await self._observer(row.observer_id)
            await notify.to_admins(
                self.store,
                Notice.POINT_REQUEST_WITHDRAWN,
                {"request_id": row.id},
                at=self.now(),
                office_id=observer.office_id,
            )

    async def _request_view(self, row: PointRequest) -> PointRequestView:
        observer = await self.store.observers.get(row.observer_id)
        left = await self.store.points.get(row.from_point_id) if row.from_point_id else None
        asked = await self.store.points.get(row.to_point_id)
        decider = await self.store.users.get(row.decided_by) if row.decided_by else None
        return PointRequestView(
            id=row.id,
            observer_id=row.observer_id,
            observer_name=observer.name if observer is not None else "?",
            from_point=left.naming.coded(left.code) if left else None,
            to_point=asked.naming.coded(asked.code) if asked else "?",
            to_point_id=row.to_point_id,
            to_point_active=bool(asked and asked.active),
            status=row.status,
            asked_at=row.created_at,
            decided_by=(decider.first_name or str(decider.id)) if decider else None,
            decided_at=row.decided_at,
            version=row.version,
        )

    # ---- helpers --------------------------------------------------------------------

    async def _redeem_liaison(self, invite: Invite, user_id: int, name: str) -> Redeemed:
        assert invite.department_id is not None
        department = await self.store.departments.get(invite.department_id)
        if department is None or not department.active:
            raise InviteInvalid("the department is no longer active")
        liaison = await self.store.liaisons.find(department.id, user_id)
        if liaison is None:
            liaison = await self.store.liaisons.add(
                Liaison(
                    department_id=department.id,
                    user_id=user_id,
                    name=name[:NAME_MAX],
                    active=True,
                    created_at=self.now(),
                )
            )
        else:
            liaison.active = True
        await notify.to_admins(
            self.store,
            Notice.LIAISON_JOINED,
            {**carry("department", department.naming), "name": name[:NAME_MAX]},
            at=self.now(),
            office_id=department.office_id,
        )
        return Redeemed(InviteKind.LIAISON, liaison_id=liaison.id, department_id=department.id)

    async def _redeem_observer(self, invite: Invite, user_id: int, name: str) -> Redeemed:
        assert invite.point_id is not None
        point = await self.store.points.get(invite.point_id)
        if point is None or not point.active:
            raise InviteInvalid("the point is no longer active")
        observer = await self.store.observers.by_user(user_id)
        if invite.observer_id is not None:
            on_file = await self._observer(invite.observer_id)
            if observer is not None and observer.id != on_file.id:
                raise Conflict("this account already belongs to another observer")
            if on_file.user_id not in (None, user_id):
                raise InviteInvalid("the observer on file has another account")
            observer = on_file
            observer.user_id = user_id
        elif observer is None:
            observer = Observer(
                name=(name.strip() or str(user_id))[:NAME_MAX],
                category=ObserverCategory.OTHER,
                user_id=user_id,
                created_at=self.now(),
            )
            applied = await self.store.applications.pending_for_user(user_id)
            if applied is not None:
                # What they told the office when applying, rather than a Telegram name.
                observer.name, observer.phone = applied.name, applied.phone
                observer.category = applied.category
                observer.recommending_unit, observer.resume = (
                    applied.recommending_unit,
                    applied.resume,
                )
            self.store.session.add(observer)
        if observer.status is ObserverStatus.DISMISSED:
            raise InviteInvalid("dismissed observers need a new nomination")
        self._appoint(observer, point, None, None)
        await self.store.flush()
        await self._joined(observer, Joined.INVITE, by=None)
        await notify.to_admins(
            self.store,
            Notice.OBSERVER_APPOINTED,
            {"observer_id": observer.id, "name": observer.name, "point": point.name},
            at=self.now(),
            office_id=observer.office_id,
        )
        return Redeemed(InviteKind.OBSERVER, observer_id=observer.id, point_id=point.id)

    async def _invite(
        self,
        actor: Actor,
        kind: InviteKind,
        *,
        point_id: int | None = None,
        department_id: int | None = None,
        observer_id: int | None = None,
    ) -> InviteInfo:
        expires = self.now() + self.policy.invite_ttl
        row = await self.store.invites.add(
            Invite(
                code=secrets.token_urlsafe(_INVITE_BYTES),
                kind=kind,
                point_id=point_id,
                department_id=department_id,
                observer_id=observer_id,
                created_by=actor.user_id,
                expires_at=expires,
                created_at=self.now(),
            )
        )
        return InviteInfo(row.code, kind, expires, point_id, department_id)

    def _appoint(
        self, observer: Observer, point: Point, term_start: date | None, term_end: date | None
    ) -> None:
        today = self.today()
        observer.point_id, observer.office_id = point.id, point.office_id
        observer.status = ObserverStatus.APPOINTED
        observer.appointed_at = self.now()
        observer.suspended_at = None
        observer.term_start = term_start or observer.term_start or today
        # Appointments run for a term; two years unless the office says otherwise.
        observer.term_end = term_end or observer.term_end or _years_later(today, 2)
        if observer.term_end < observer.term_start:
            raise InvalidInput("the term ends before it starts")

    async def _joined(
        self, observer: Observer, how: Joined, *, by: int | None, keep: int | None = None
    ) -> None:
        """The person has become an observer: whatever they applied for is settled with
        it, in the same transaction (but ``keep``, the application just approved)."""
        if observer.user_id is None:
            return
        settled = await self.store.applications.settle_pending(
            observer.user_id, observer_id=observer.id, how=how.value, by=by, at=self.now(),
            keep=keep,
        )  # fmt: skip
        await self._redraw(settled)

    async def _not_joined(self, application: Application) -> Observer | None:
        """The applicant's observer record, if any; :class:`AlreadyJoined` if they are
        an observer already (an application from before settling existed)."""
        observer = await self.store.observers.by_user(application.user_id)
        if observer is not None and observer.status in _ACTIVE:
            raise AlreadyJoined(observer.id)
        return observer

    async def _settle(
        self, application_id: int, observer: Observer, how: Joined, *, by: int | None
    ) -> None:
        """Settle one application of an observer's, unless another admin decided it
        meanwhile (then it is read again as it now stands)."""
        assert observer.user_id is not None
        settled = await self.store.applications.settle_pending(
            observer.user_id, observer_id=observer.id, how=how.value, by=by, at=self.now(),
            only=application_id,
        )  # fmt: skip
        application = await self.store.applications.get(application_id)
        if application is not None and not settled:
            await self.store.session.refresh(application)
        await self._redraw(settled)

    async def _redraw(self, application_ids: list[int]) -> None:
        """The cards of settled applications lose their buttons: the outbox sender
        redraws them (in the group's language) right after the commit."""
        cards = CardService(self.store, self.policy, self.clock)
        for application_id in application_ids:
            await cards.resync(APPLICATION, application_id)

    async def _observer(self, observer_id: int) -> Observer:
        observer = await self.store.observers.get(observer_id)
        if observer is None:
            raise NotFound("no such observer", observer_id=observer_id)
        return observer

    async def _active_point(self, point_id: int) -> Point:
        point = await self.store.points.get(point_id)
        if point is None:
            raise NotFound("no such point", point_id=point_id)
        if not point.active:
            raise PointInactive("the point is closed", code=point.code)
        return point

    async def _pending_application(self, application_id: int, version: int | None) -> Application:
        application = await self.store.applications.get(application_id)
        if application is None:
            raise NotFound("no such application", application_id=application_id)
        if application.status is not ApplicationStatus.PENDING or (
            version is not None and version != application.version
        ):
            raise AlreadyMoved("the application was already decided", status=application.status)
        return application

    async def _flush_application(self) -> None:
        try:
            await self.store.flush()
        except StaleDataError as exc:
            raise AlreadyMoved("the application was decided by someone else") from exc


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years) - timedelta(days=1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28) - timedelta(days=1)
