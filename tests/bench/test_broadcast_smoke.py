"""The broadcast benchmark, run tiny: not its speed, but that every observer gets the
broadcast exactly once through the sandbox and that the figures it prints add up."""

from __future__ import annotations

import pytest

from bench import broadcast


async def test_a_tiny_broadcast_reaches_everyone_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 30 observers and the report make 31 sends: one more than the sandbox's overall
    # window holds, so its limits are met, as they are at full size.
    [result] = await broadcast.measure(
        ["--observers", "30", "--latency-ms", "5", "--db", "sqlite", "--timeout", "30"]
    )
    assert result.database == "sqlite"
    assert result.settled
    assert result.delivered == result.observers == 30
    assert result.sends == 30
    assert (result.lost, result.without_copy, result.unsent_rows) == (0, 0, 0)
    assert result.duplicates == 0
    assert result.report is not None
    assert "30 / 30" in result.report
    assert result.sound
    printed = capsys.readouterr().out
    assert "a broadcast to 30 observers through the outbox sender; sandbox limits on" in printed
    assert "delivered 30/30; lost 0 (0 chats without a copy, 0 rows not sent); duplicates 0" in (
        printed
    )
    assert "admin group's report: 📊" in printed


async def test_without_the_sandbox_limits_nothing_is_refused() -> None:
    [result] = await broadcast.measure(
        ["--observers", "5", "--latency-ms", "0", "--no-limits", "--timeout", "30"]
    )
    assert result.throttled == 0
    assert (result.delivered, result.lost, result.duplicates) == (5, 0, 0)
    assert result.sound
