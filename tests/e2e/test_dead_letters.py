"""An update the framework cannot read is set aside, and blocks nothing behind it.

What an older self-hosted Bot API server sends (a poll without ``allows_revoting``, a
"kicked" member without ``until_date``) fails aiogram's validation. Such an update is
recorded as a dead letter (its id, type and where it failed, never its words),
confirmed, logged once and counted in the office's /stats; the updates around it are
handled as usual, by long polling and by webhook alike.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.harness import (
    GROUP,
    BotProcess,
    Control,
    Person,
    bot_said,
    free_port,
    updates,
)
from tests.e2e.loop import rows

ADA, SAM = 9101, 9102
SECRET_WORDS = "my phone is 13800138000"


def broken_poll(chat_id: int, user_id: int) -> dict[str, Any]:
    """A message with a poll as Bot API servers before 9.x describe it."""
    return {
        "message": {
            "message_id": 9001,
            "date": 1_767_225_600,
            "chat": {"id": chat_id, "type": "private", "first_name": "Sam"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Sam"},
            "poll": {
                "id": "5001",
                "question": SECRET_WORDS,
                "options": [{"text": SECRET_WORDS, "voter_count": 0}],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
            },
        }
    }


def kicked_without_until_date(user_id: int) -> dict[str, Any]:
    member = {"id": 123456, "is_bot": True, "first_name": "Outpost", "username": "outpost_bot"}
    return {
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private", "first_name": "Sam"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Sam"},
            "date": 1_767_225_600,
            "old_chat_member": {"status": "member", "user": member},
            "new_chat_member": {"status": "kicked", "user": member},
        }
    }


async def inject(control: Control, update: dict[str, Any]) -> int:
    made = await control._call("POST", "/sandbox/updates", {"update": update})
    assert not made["skipped"]
    return int(made["update_id"])


async def all_confirmed(control: Control) -> dict[int, dict[str, Any]]:
    for _ in range(400):
        log = await updates(control)
        if all(u["confirmed"] or u["skipped"] for u in log.values()):
            return log
        await asyncio.sleep(0.05)
    raise AssertionError(f"not all confirmed: {log}")


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_an_unreadable_update_is_set_aside_and_the_rest_handled(
    control: Control, bot: BotProcess, mode: str
) -> None:
    ready = "polling for updates"
    if mode == "webhook":
        port = free_port()
        bot.env.update(
            WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
            WEBHOOK_SECRET="dead-letter-secret",
            WEBHOOK_HOST="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
        ready = "webhook listening"
    await control.user(ADA, "Ada")
    await control.user(SAM, "Sam")
    await control.group(GROUP, "District office", {ADA: "creator"})
    sam = Person(control, SAM, "Sam", SAM)
    # Queued before the bot starts: in polling they arrive in one batch with the others.
    await sam.say("/help")
    poll = await inject(control, broken_poll(SAM, SAM))
    kicked = await inject(control, kicked_without_until_date(SAM))
    await sam.say("/start")
    await bot.start(ready=ready)

    # The updates before and after the unreadable ones are both answered.
    await control.wait_for(SAM, lambda shown: len(bot_said(shown)) >= 2, "two answers")
    log = await all_confirmed(control)
    handed_out = (log[poll]["deliveries"], log[kicked]["deliveries"])

    letters = rows(bot.database, "SELECT update_id, kind, error FROM dead_letters ORDER BY 1")
    assert letters == [
        (
            poll,
            "message",
            "message.poll.options.0.persistent_id: missing; "
            "message.poll.allows_revoting: missing; message.poll.members_only: missing",
        ),
        (kicked, "my_chat_member", "my_chat_member.new_chat_member.kicked.until_date: missing"),
    ]
    notices = [e for e in bot.lines() if e.get("level") == "ERROR"]
    # By webhook the two come at once, as Telegram pushes a chat's messages and the bot's
    # membership in it in queues of their own: either may be logged first.
    assert sorted(e["msg"] for e in notices) == [
        f"dead-lettered update {poll} (message): {letters[0][2]}",
        f"dead-lettered update {kicked} (my_chat_member): {letters[1][2]}",
    ]
    assert SECRET_WORDS not in bot.log_path.read_text()
    assert not any("exc" in e for e in bot.lines())

    # The office sees how many were set aside.
    ada = Person(control, ADA, "Ada", GROUP)
    await ada.say("/stats")
    await ada.expect("Updates that could not be read: 2")

    # Never handed out again: they were confirmed with the rest.
    await asyncio.sleep(1.0)
    log = await updates(control)
    assert (log[poll]["deliveries"], log[kicked]["deliveries"]) == handed_out
    assert log[poll]["confirmed"]
    assert log[kicked]["confirmed"]
    assert rows(bot.database, "SELECT count(*) FROM dead_letters") == [(2,)]
    assert await bot.terminate() == 0
