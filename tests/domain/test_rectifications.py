"""The rectification table: every move from every status by each side, and the drawing
in the module's docstring agrees with it."""

from __future__ import annotations

import re

import pytest

import bot.domain.rectifications as module
from bot.domain.errors import AlreadyMoved, MissingInput, NotPermitted
from bot.domain.rectifications import MOVES, RectMove, RectStatus, Side, moves_for, settle

R, M = RectStatus, RectMove
# Written out, not derived: (from, move) -> (to, side, needs words).
EXPECTED = {
    (R.RAISED, M.ACCEPT): (R.ACCEPTED, Side.DISTRICT, False),
    (R.ACCEPTED, M.PROGRESS): (R.ACCEPTED, Side.DISTRICT, True),
    (R.ACCEPTED, M.DONE): (R.DONE, Side.DISTRICT, True),
    (R.DONE, M.APPROVE): (R.CLOSED, Side.CITY, False),
    (R.DONE, M.SEND_BACK): (R.ACCEPTED, Side.CITY, True),
}


@pytest.mark.parametrize("status", list(R))
@pytest.mark.parametrize("move", list(M))
@pytest.mark.parametrize("side", list(Side))
def test_every_status_move_and_side(status: R, move: M, side: Side) -> None:
    expected = EXPECTED.get((status, move))
    row = MOVES[move]
    if side is not row.side:
        with pytest.raises(NotPermitted):
            settle(status, move, side, "words")
    elif expected is None:
        with pytest.raises(AlreadyMoved):
            settle(status, move, side, "words")
    else:
        assert settle(status, move, side, "words") is expected[0]
        if expected[2]:
            with pytest.raises(MissingInput):
                settle(status, move, side, "  ")
        else:
            assert settle(status, move, side, None) is expected[0]


def test_the_moves_offered_are_the_table_s() -> None:
    for status in R:
        for side in Side:
            offered = set(moves_for(status, side))
            assert offered == {
                m for (s, m), (_t, w, _n) in EXPECTED.items() if s is status and w is side
            }
    # A closed rectification is done with.
    assert not any(moves_for(R.CLOSED, side) for side in Side)


def test_the_drawing_agrees_with_the_table() -> None:
    drawn = set(re.findall(r"(\w+) --> (\w+): (\w+) by the (\w+)", module.__doc__ or ""))
    assert drawn == {
        (source.value, target.value, move.value, side.value)
        for (source, move), (target, side, _words) in EXPECTED.items()
    }
