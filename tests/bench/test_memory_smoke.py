"""The memory benchmark, run short: not the figures, but that both bots start, poll the
sandbox and are measured, and that the last line has the form issue 17 gives it."""

from __future__ import annotations

import re

import pytest

from bench import memory

MEMORY = re.compile(r"MEMORY outpost (\d+) MB bare-aiogram (\d+) MB ratio (\d+\.\d\d)")


async def test_a_short_run_measures_both_bots(capsys: pytest.CaptureFixture[str]) -> None:
    result = await memory.measure(["--idle", "2"])
    last = capsys.readouterr().out.splitlines()[-1]
    found = MEMORY.fullmatch(last)
    assert found, last
    outpost, bare, ratio = found.groups()
    assert int(outpost) > 0
    assert int(bare) > 0
    assert ratio == f"{result.ratio:.2f}"
    for rss in (result.outpost, result.bare):
        assert 0 < rss.end <= rss.idle_max <= rss.peak
