"""bench/faults.py at a small size: 60 admin moves while the sandbox fails 20 % of every
Bot API call (429, 5xx, timeouts before and after the call took effect) and the bot is
killed with SIGKILL once in the middle. Once the faults are cleared and everything has
settled: every move is recorded once, no card shows other than what the database
says, no notice is lost, and the notices shown twice are no more than the sends that
timed out after taking effect plus those on lease at the kill.

A card post that Telegram took although the bot saw a timeout is made again; the bot
then finds the copy it never heard of and makes it point to the current card, so no
card the bot does not know is left in the group (handlers.card_sync).
"""

from __future__ import annotations

from pathlib import Path

from bench import faults


async def test_moves_under_faults_and_a_kill_converge(tmp_path: Path) -> None:
    options = faults.Options(moves=60, kills=1, admins=40, observers=20, verbose=True)
    result = await faults.run(options, tmp_path)
    print("\n" + result.line() + "\n" + "\n".join(result.details()))

    assert result.stuck == []
    assert result.settled, result.unsettled
    assert result.moves == result.recorded == options.moves
    assert result.kills == 1
    assert sum(result.faults_applied.values()) > 0
    assert result.lost == 0
    assert result.repeats <= result.allowed
    assert result.guard_errors == 0
    assert result.divergent == []
    assert result.orphans == 0
