"""The offices of a scheme: a city and its districts, as a tree.

One deployment serves a whole city: its own office (市依法治市办) and every district's
(区依法治区办), with room for towns and streets below a district later. Each office
has a code, which starts its items' references (``WZ-2026-0042``; the city's own
``CQ-2026-0007``), a name in Chinese and English, and the group its admins work in.

The office a deployment starts with is the *home* office (id 1): a deployment with one
office is exactly the district bot it always was, and the home office can later be
placed under a city created afterwards, keeping its references and history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.domain.errors import InvalidInput
from bot.domain.names import Name

# The office every deployment starts with; rows made before offices existed are its.
HOME = 1

_CODE = re.compile(r"^[A-Z]{2,6}$")


def office_code(text: str) -> str:
    """An office code as typed (``wz`` → ``WZ``); 2–6 Latin letters, since it starts
    every reference the office hands out."""
    code = text.strip().upper()
    if not _CODE.match(code):
        raise InvalidInput(f"office code {text!r} must be 2-6 Latin letters")
    return code


@dataclass(frozen=True, slots=True)
class OfficeInfo:
    """What the bot needs to know of an office to route an update to it."""

    id: int
    code: str
    name: Name
    parent_id: int | None
    chat_id: int | None

    @property
    def bound(self) -> bool:
        return self.chat_id is not None


class OfficeTree:
    """The offices as one tree (or, before a city is created above a district, several
    one-office trees)."""

    def __init__(self, offices: Iterable[OfficeInfo]) -> None:
        self._by_id = {o.id: o for o in offices}
        self._by_chat = {o.chat_id: o for o in self._by_id.values() if o.chat_id is not None}
        self._by_code = {o.code: o for o in self._by_id.values()}
        self._children: dict[int | None, list[OfficeInfo]] = {}
        for office in sorted(self._by_id.values(), key=lambda o: o.code):
            self._children.setdefault(office.parent_id, []).append(office)

    def with_home_group(self, chat_id: int | None) -> OfficeTree:
        """The tree with ``chat_id`` (``ADMIN_CHAT_ID``) as the home office's group, when
        that office has none bound and no other office holds that group."""
        home = self.get(HOME)
        if chat_id is None or home is None or home.bound or chat_id in self._by_chat:
            return self
        placed = OfficeInfo(home.id, home.code, home.name, home.parent_id, chat_id)
        return OfficeTree(placed if o.id == HOME else o for o in self)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[OfficeInfo]:
        return iter(self._by_id.values())

    def get(self, office_id: int | None) -> OfficeInfo | None:
        return self._by_id.get(office_id) if office_id is not None else None

    def of_chat(self, chat_id: int) -> OfficeInfo | None:
        return self._by_chat.get(chat_id)

    def by_code(self, code: str) -> OfficeInfo | None:
        return self._by_code.get(code.upper())

    def parent(self, office: OfficeInfo) -> OfficeInfo | None:
        return self.get(office.parent_id)

    def children(self, office: OfficeInfo | None) -> list[OfficeInfo]:
        """An office's offices directly below it (the roots, for None), by code."""
        return list(self._children.get(office.id if office is not None else None, ()))

    def walk(self) -> Iterator[tuple[int, OfficeInfo]]:
        """Every office with its depth, each above the offices below it."""

        def below(office: OfficeInfo | None, depth: int) -> Iterator[tuple[int, OfficeInfo]]:
            for child in self.children(office):
                yield depth, child
                yield from below(child, depth + 1)

        yield from below(None, 0)

    def below(self, office: OfficeInfo) -> list[OfficeInfo]:
        """An office and every office under it."""
        found = [office]
        for child in self.children(office):
            found.extend(self.below(child))
        return found

    def above(self, office: OfficeInfo) -> list[OfficeInfo]:
        """The offices above ``office``, nearest first."""
        chain: list[OfficeInfo] = []
        seen = {office.id}
        current = self.parent(office)
        while current is not None and current.id not in seen:
            chain.append(current)
            seen.add(current.id)
            current = self.parent(current)
        return chain


def tree_line(
    office: OfficeInfo, tree: OfficeTree, *, points: int, observers: int, open_items: int
) -> str:
    """One office in ``outpost offices``: its code, parent, group, and what it holds."""
    parent = tree.parent(office)
    return (
        f"OFFICE {office.code} parent {parent.code if parent is not None else '-'} "
        f"group {'bound' if office.bound else 'unbound'} points {points} "
        f"observers {observers} open {open_items}"
    )
