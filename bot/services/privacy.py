"""Personal data, kept as an office must keep it.

- A phone number is shown on request, to an admin, and who saw whose number when is
  recorded (:meth:`PrivacyService.phone`).
- An observer who leaves, or asks to be forgotten, is anonymised: their name, phone
  number, résumé and the link to their Telegram account go; their applications are
  erased; their items, the events and the figures stay, under an anonymous name.
- Applications not approved are erased once the office's period for keeping them is
  over (``Policy.applications_kept_days``); the scheduler asks once a day.
- The admin group is warned of the members who are not its admins (they see every
  card); the warning comes again when their number changes.
- Handled update ids are kept for a week, long enough for any redelivery.

Each of these is written to the privacy log (``storage.models.PrivacyRecord``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.errors import Conflict, NotFound
from bot.domain.limits import NAME_MAX
from bot.domain.notices import Notice
from bot.domain.offices import HOME
from bot.domain.permissions import Manage, require_manage
from bot.domain.statuses import ObserverStatus
from bot.services import notify
from bot.services.actors import Actor
from bot.services.cards import APPLICATION, ITEM
from bot.services.context import Service
from bot.services.people import ObserverInfo
from storage.models import Application, Observer

PHONE_SHOWN, ANONYMISED, ERASED, OUTSIDERS = "phone_shown", "anonymised", "erased", "outsiders"
OBSERVER, CHAT = "observer", "chat"
# Why an observer was anonymised: they asked, or the office removed them.
ASKED, REMOVED = "asked", "removed"
# Telegram keeps an update for redelivery for a day; a week leaves room for a bot that
# was down for a while, and is what the idempotency check ever needs.
UPDATES_KEPT = timedelta(days=7)
# Admin-group notices whose payload names an observer.
_NAMING = (
    Notice.OBSERVER_APPOINTED.value,
    Notice.OBSERVER_MOVED.value,
    Notice.OBSERVER_UNREACHABLE.value,
)


@dataclass(frozen=True, slots=True)
class Phone:
    """Whose number it is (a name to show beside it) and the number; "" if none."""

    name: str
    phone: str


@dataclass(frozen=True, slots=True)
class Kept:
    """What the office holds of an observer's personal data."""

    anonymised_at: datetime | None
    name: bool
    phone: bool
    account: bool


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What a request to be forgotten erased."""

    observer_id: int | None
    applications: int

    @property
    def anything(self) -> bool:
        return self.observer_id is not None or self.applications > 0


@dataclass
class Housekept:
    """What one day's housekeeping did (for logs and tests)."""

    erased: list[int] = field(default_factory=list)
    pruned: int = 0


class PrivacyService(Service):
    # ---- phone numbers ---------------------------------------------------------------

    async def phone(self, actor: Actor, subject: str, subject_id: int) -> Phone:
        """An applicant's or an observer's phone number, for an admin; the look is
        recorded when there is a number to see."""
        if subject == APPLICATION:
            require_manage(actor.view, Manage.DECIDE_APPLICATION)
            application = await self.store.applications.get(subject_id)
            if application is None:
                raise NotFound("no such application", application_id=subject_id)
            found = Phone(application.name, application.phone)
        elif subject == OBSERVER:
            require_manage(actor.view, Manage.MANAGE_OBSERVERS)
            observer = await self.store.observers.get(subject_id)
            if observer is None:
                raise NotFound("no such observer", observer_id=subject_id)
            found = Phone(observer.name, observer.phone)
        else:
            raise NotFound("no such subject", subject=subject)
        if found.phone:
            await self.store.privacy.record(
                PHONE_SHOWN, subject, subject_id, actor_user_id=actor.user_id, at=self.now()
            )
        return found

    # ---- observers ------------------------------------------------------------------

    async def kept(self, actor: Actor, observer_id: int) -> Kept:
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        observer = await self._observer(observer_id)
        done = await self.store.privacy.latest(ANONYMISED, OBSERVER, observer_id)
        return Kept(
            done.created_at if done is not None else None,
            name=done is None,
            phone=bool(observer.phone),
            account=observer.user_id is not None,
        )

    async def remove(self, actor: Actor, observer_id: int, *, name: str) -> ObserverInfo:
        """The office removes an observer from the scheme and anonymises them; ``name``
        is what they are called from now on."""
        require_manage(actor.view, Manage.MANAGE_OBSERVERS)
        observer = await self._observer(observer_id)
        if await self.store.privacy.latest(ANONYMISED, OBSERVER, observer_id) is not None:
            raise Conflict("already anonymised")
        await self._anonymise(observer, name, by=actor.user_id, why=REMOVED)
        return ObserverInfo.of(observer)

    async def held(self, user_id: int) -> Forgotten:
        """What :meth:`forget_me` would erase of ``user_id``."""
        observer = await self.store.observers.by_user(user_id)
        applications = await self.store.privacy.applications_of(user_id)
        return Forgotten(observer.id if observer is not None else None, len(applications))

    async def forget_me(self, user_id: int, *, name: str) -> Forgotten:
        """A person asks to be forgotten: their observer record (if any) is anonymised
        and they leave the scheme; every application of theirs is erased."""
        observer = await self.store.observers.by_user(user_id)
        erased = len(await self.store.privacy.applications_of(user_id))
        if observer is not None:
            await self._anonymise(observer, name, by=None, why=ASKED)
            left = {"observer_id": observer.id}
            await notify.to_admins(
                self.store,
                Notice.OBSERVER_FORGOTTEN,
                left,
                at=self.now(),
                office_id=observer.office_id,
            )
        else:
            await self._erase_applications_of(user_id, by=None)
            await self._clear_account(user_id)
        await self.store.flush()
        return Forgotten(observer.id if observer is not None else None, erased)

    async def _anonymise(self, observer: Observer, name: str, *, by: int | None, why: str) -> None:
        user_id = observer.user_id
        observer.name = name[:NAME_MAX]
        observer.phone = ""
        observer.resume = ""
        observer.user_id = None
        if observer.status is not ObserverStatus.DISMISSED:
            observer.status = ObserverStatus.DISMISSED
            today = self.today()
            observer.term_end = min(observer.term_end, today) if observer.term_end else today
        await self.store.flush()
        if user_id is not None:
            await self._erase_applications_of(user_id, by=by)
            await self._clear_account(user_id)
        for row in await self.store.privacy.office_notices_naming(_NAMING, observer.id):
            # Delivered or not, the group's notices about them show the new name.
            row.payload = {**row.payload, "name": observer.name}
        # The cards of their items name them: each is drawn again.
        for item_id in await self.store.privacy.items_of(observer.id):
            await self.store.cards.resync(ITEM, item_id, self.now())
        await self.store.privacy.record(
            ANONYMISED, OBSERVER, observer.id, actor_user_id=by, at=self.now(),
            payload={"why": why},
        )  # fmt: skip

    async def _clear_account(self, user_id: int) -> None:
        """The Telegram account's names go, and what was still to be sent to it."""
        user = await self.store.users.get(user_id)
        if user is not None:
            user.first_name, user.last_name, user.username = "", None, None
        await self.store.privacy.drop_undelivered(user_id, why="the person was forgotten")
        await self.store.flush()

    async def _erase_applications_of(self, user_id: int, *, by: int | None) -> None:
        for application in await self.store.privacy.applications_of(user_id):
            await self._erase(application, by=by)

    async def _erase(self, application: Application, *, by: int | None) -> None:
        status = application.status
        await self.store.session.delete(application)
        await self.store.flush()
        # Its cards show that it was erased, and nothing of the applicant.
        await self.store.cards.resync(APPLICATION, application.id, self.now())
        await self.store.privacy.record(
            ERASED, APPLICATION, application.id, actor_user_id=by, at=self.now(),
            payload={"status": status.value},
        )  # fmt: skip

    async def _observer(self, observer_id: int) -> Observer:
        observer = await self.store.observers.get(observer_id)
        if observer is None:
            raise NotFound("no such observer", observer_id=observer_id)
        return observer

    # ---- the admin group ------------------------------------------------------------

    async def last_outsiders(self, chat_id: int) -> int:
        """How many members who are not admins the group was last warned of (0: none)."""
        last = await self.store.privacy.latest(OUTSIDERS, CHAT, chat_id)
        return int(last.payload.get("count") or 0) if last is not None else 0

    async def outsiders(self, chat_id: int, count: int, *, queue: bool = True) -> bool:
        """Note how many members of the admin group are not its admins. True when the
        office is to be warned: the number is not zero and is not the one it was last
        warned of; with ``queue`` the warning is queued for the group."""
        if await self.last_outsiders(chat_id) == count:
            return False
        await self.store.privacy.record(
            OUTSIDERS, CHAT, chat_id, actor_user_id=None, at=self.now(), payload={"count": count}
        )
        if count == 0:
            return False
        if queue:
            office = (await self.offices()).of_chat(chat_id)
            await notify.to_admins(
                self.store,
                Notice.GROUP_OUTSIDERS,
                {"count": count},
                at=self.now(),
                office_id=office.id if office is not None else HOME,
            )
        return True

    # ---- housekeeping ---------------------------------------------------------------

    async def housekeeping(self) -> Housekept:
        """Erase the applications kept long enough, and forget the update ids no
        redelivery can need (the scheduler's, once a day)."""
        return Housekept(await self.erase_expired(), await self.prune_updates())

    async def erase_expired(self) -> list[int]:
        """Erase the applications not approved that are past the period they are kept."""
        before = self.now() - timedelta(days=self.policy.applications_kept_days)
        erased = []
        for application in await self.store.privacy.expired_applications(before):
            erased.append(application.id)
            await self._erase(application, by=None)
        return erased

    async def prune_updates(self) -> int:
        return await self.store.updates.prune(self.now() - UPDATES_KEPT)
