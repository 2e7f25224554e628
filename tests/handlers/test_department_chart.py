"""/report's on-time chart shows every department with adopted items: one with nothing
finished and an item overdue reads 0 % with its overdue count, never left out."""

from __future__ import annotations

from bot.domain.periods import quarter_period
from bot.i18n import build_i18n
from handlers import documents
from tests.services.test_figures import quarter, stats

__all__ = ["quarter"]


async def test_a_department_with_nothing_finished_is_on_the_chart(sessions, quarter):
    f = await stats(sessions, quarter_period(2026, 2))
    i18n = build_i18n("en")
    with i18n.context(), i18n.use_locale("en"):
        charts = dict(documents.chart_specs(f))
        drawing = charts["on-time-per-department"]
        names, values = drawing.args[1], drawing.args[2]
        notes = drawing.keywords["annotations"]
    shown = dict(zip(names, zip(values, notes, strict=True), strict=True))
    # Market: A1 on time, A2 late; Housing: A9 still implementing, past its due date.
    assert len(shown) == 2
    market, housing = (shown[n] for n in sorted(shown, key=lambda n: -shown[n][0]))
    assert market == (50.0, "1/2")
    assert housing == (0.0, "0/0 · 1 overdue")
