"""The offices: bringing a district in below a city, binding its group, the tree.

A city's admins create a district's office in their group (``/office_add``); the
office is born without a group and with a one-time code, which the link
``t.me/<bot>?startgroup=<code>`` carries: an administrator of the district's group adds
the bot through it, Telegram sends ``/start <code>`` there, and the group becomes the
district's (:meth:`OfficeService.bind`); the city's group is told. An operator can
also place the home office under a city created afterwards (:meth:`create` with
``above``), keeping its references and history.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from bot.domain.errors import Conflict, InviteExpired, InviteInvalid, InviteUsed, NotFound
from bot.domain.limits import NAME_MAX, clean_text
from bot.domain.names import Name, carry
from bot.domain.notices import Notice
from bot.domain.offices import HOME, OfficeInfo, OfficeTree, office_code, tree_line
from bot.domain.permissions import Manage, require_manage
from bot.services import notify
from bot.services.actors import Actor
from bot.services.context import Service
from storage.models import Office
from storage.repositories.offices import info

# 16 random bytes: 22 characters of a start parameter (Telegram allows 64).
_BIND_BYTES = 16


@dataclass(frozen=True, slots=True)
class NewOffice:
    """An office just created, and the code its group's link carries."""

    office: OfficeInfo
    bind_code: str
    expires_at: datetime


class OfficeService(Service):
    async def tree(self) -> OfficeTree:
        return await self.store.offices.tree()

    async def settle_home(self, code: str, group: int | None) -> OfficeInfo:
        """The home office as the settings name it: its code (``JURISDICTION_CODE``)
        and, unless a group was bound to it through a link, its group
        (``ADMIN_CHAT_ID``, followed when it changes: a group upgraded to a supergroup
        gets a new id). Run at start-up. A code another office holds is refused: the
        home office's references would start with that office's code."""
        home = await self.store.offices.get(HOME)
        if home is None:
            raise NotFound("the home office is missing: run `outpost migrate`")
        wanted = office_code(code)
        if home.code != wanted:
            if await self.store.offices.by_code(wanted) is not None:
                raise Conflict(
                    f"JURISDICTION_CODE {wanted} is another office's code; "
                    f"the home office is {home.code}",
                    code=wanted,
                )
            home.code = wanted
        linked = home.bound_at is not None
        if group is not None and not linked and home.chat_id != group:
            holder = await self.store.offices.by_chat(group)
            if holder is None:
                home.chat_id = group
        await self.store.session.flush()
        return info(home)

    async def create(
        self,
        actor: Actor | None,
        code: str,
        name: str,
        *,
        parent: OfficeInfo | None = None,
        above: OfficeInfo | None = None,
    ) -> NewOffice:
        """A new office without a group, below ``parent`` (a district of a city), or
        placed above ``above`` (a city created over a district that has served alone);
        ``actor`` None is an operator at the command line."""
        if actor is not None:
            require_manage(actor.view, Manage.MANAGE_OFFICES)
        code = office_code(code)
        named = _named(name)
        if await self.store.offices.by_code(code) is not None:
            raise Conflict(f"office {code} exists", code=code)
        if above is not None and above.parent_id is not None:
            raise Conflict(f"office {above.code} already has an office above it", code=above.code)
        now = self.now()
        bind_code = secrets.token_urlsafe(_BIND_BYTES)
        expires = now + self.policy.invite_ttl
        office = await self.store.offices.create(
            code,
            str(named),
            named.en,
            parent_id=parent.id if parent is not None else None,
            created_by=actor.user_id if actor is not None else None,
            bind_code=bind_code,
            bind_expires_at=expires,
        )
        if above is not None:
            below = await self.store.offices.get(above.id)
            if below is None:
                raise NotFound("no such office")
            below.parent_id = office.id
            await self.store.session.flush()
        return NewOffice(info(office), bind_code, expires)

    async def new_link(self, actor: Actor | None, office: OfficeInfo) -> NewOffice:
        """A fresh one-time code for an office's group (the last one was lost, or it
        expired); the office's group, if bound, stays until the link is used."""
        if actor is not None:
            require_manage(actor.view, Manage.MANAGE_OFFICES)
        row = await self.store.offices.get(office.id)
        if row is None:
            raise NotFound("no such office")
        row.bind_code = secrets.token_urlsafe(_BIND_BYTES)
        row.bind_expires_at = self.now() + self.policy.invite_ttl
        await self.store.session.flush()
        return NewOffice(info(row), row.bind_code, row.bind_expires_at)

    async def bind(self, code: str, chat_id: int, by: int) -> OfficeInfo:
        """Make the group ``chat_id`` the office's whose link carried ``code``; the
        office above it (if any) is told. ``by`` administers the group (the caller
        checked)."""
        office = await self.store.offices.by_bind_code(code)
        if office is None:
            raise InviteInvalid("no office has this code")
        # A used code is kept, without its expiry, so that it is told apart from a code
        # never handed out (or replaced by /office_link's newer one).
        if office.bind_expires_at is None:
            raise InviteUsed("this link was used")
        now = self.now()
        if office.bind_expires_at < now:
            raise InviteExpired("this link has expired")
        holder = await self.store.offices.by_chat(chat_id)
        if holder is not None and holder.id != office.id:
            raise Conflict(f"this group is office {holder.code}'s", code=holder.code)
        office.chat_id = chat_id
        office.bound_at = now
        office.bound_by = by
        office.bind_expires_at = None
        await self.store.session.flush()
        bound = info(office)
        if office.parent_id is not None:
            payload = {"code": office.code, **carry("name", bound.name)}
            await notify.to_admins(
                self.store, Notice.OFFICE_BOUND, payload, at=now, office_id=office.parent_id
            )
        return bound

    async def lines(self) -> list[str]:
        """``outpost offices``: the tree, one line per office, each above its own."""
        tree = await self.tree()
        held = await self.store.offices.holdings()
        lines = []
        for _depth, office in tree.walk():
            points, observers, open_items = held.get(office.id, (0, 0, 0))
            lines.append(
                tree_line(office, tree, points=points, observers=observers, open_items=open_items)
            )
        return lines


def _named(name: str) -> Name:
    """An office's name as typed: "万州区", or "万州区 | Wanzhou"."""
    chinese, _, english = name.partition("|")
    return Name(
        clean_text(chinese, NAME_MAX, field="name"),
        clean_text(english, NAME_MAX, field="name", required=False) or None,
    )


__all__ = ["NewOffice", "Office", "OfficeService"]
