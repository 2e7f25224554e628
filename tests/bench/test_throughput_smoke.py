"""The throughput benchmark, run tiny: not its speed, but that every update it feeds
lands where it should and that the figures it prints add up."""

from __future__ import annotations

import pytest

from bench import throughput


async def test_a_tiny_run_files_moves_and_delivers_everything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 30 observer updates: two whole rounds (13 each: one item filed, one rated) and
    # four lone /mine. 30 admin updates: seven four-step scripts (adopt, reference,
    # decline, adopt, reference, decline, adopt: 2+3+3+2+3+3+2 moves) and two takes.
    [result] = await throughput.measure(["--updates", "30", "--concurrency", "2", "--db", "sqlite"])
    assert result.database == "sqlite"
    assert (result.filed, result.filed_expected) == (2, 2)
    assert (result.rated, result.rated_expected) == (2, 2)
    assert (result.moves, result.moves_expected) == (20, 20)
    assert result.misplaced == 0
    assert result.full.updates == result.bare.updates == 60
    assert result.delivered > 0
    assert result.lost == 0
    assert result.problems == []
    assert result.sound
    printed = capsys.readouterr().out
    assert "30 observer and 30 admin updates; 2 observers and 2 admins at once" in printed
    assert f"outbox: {result.delivered} delivered, 0 lost" in printed
    assert "filed 2/2, rated 2/2, admin moves 20/20, items astray 0" in printed


def test_the_plan_splits_the_updates_exactly() -> None:
    for updates, people in [(1, 1), (30, 2), (300, 10), (1000, 7)]:
        plan = throughput.make_plan(updates, people)
        observer_updates = sum(plan.rounds) * throughput.OBSERVER_ROUND + sum(plan.extra_mine)
        admin_updates = sum(s.updates for mine in plan.scripts for s in mine)
        assert (observer_updates, admin_updates) == (updates, updates)
        assert len(plan.rounds) == len(plan.scripts) == people
