"""The group's language is kept a short while per database, since every group update and
every row sent there asks for it: this process's change is seen as soon as it commits,
a rolled-back one never, and another process's within ``KEPT_SECONDS``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from storage.models import ChatLanguage
from storage.repositories import languages
from storage.store import Store

GROUP = -100500
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def of(sessions) -> str | None:
    async with sessions() as session, session.begin():
        return await Store(session).languages.of(GROUP)


async def test_a_change_here_is_seen_at_once_and_a_rollback_never(sessions):
    assert await of(sessions) is None
    async with sessions() as session, session.begin():
        await Store(session).languages.put(GROUP, "en", by=1, at=AT)
        assert await Store(session).languages.of(GROUP) == "en"
    assert await of(sessions) == "en"

    class Undone(Exception):
        pass

    async def undone() -> None:
        async with sessions() as session, session.begin():
            await Store(session).languages.put(GROUP, "zh_CN", by=1, at=AT)
            raise Undone

    with pytest.raises(Undone):
        await undone()
    assert await of(sessions) == "en"


async def test_another_process_s_change_is_seen_once_the_kept_answer_is_old(sessions, monkeypatch):
    assert await of(sessions) is None
    # Another process sets it: this one's kept answer stands until it is old.
    async with sessions() as session, session.begin():
        session.add(ChatLanguage(chat_id=GROUP, locale="en", set_by=1, updated_at=AT))
    statements: list[str] = []
    async with sessions() as session, session.begin():
        sync = session.sync_session.get_bind()
        sa.event.listen(sync, "before_cursor_execute", lambda *a: statements.append(a[2]))
        assert await Store(session).languages.of(GROUP) is None
    assert not [s for s in statements if "chat_languages" in s]
    monkeypatch.setattr(languages, "KEPT_SECONDS", 0.0)
    assert await of(sessions) == "en"
