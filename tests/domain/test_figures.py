"""The figures' arithmetic: what an item came to, medians and percentiles, rates."""

from __future__ import annotations

import pytest

from bot.domain.figures import Outcome, Rate, median, nearest_rank, outcome_of
from bot.domain.statuses import SuggestionStatus as S

OC = Outcome


@pytest.mark.parametrize(
    ("status", "disposition", "outcome"),
    [
        (S.SUBMITTED, None, OC.PENDING),
        (S.IN_REVIEW, None, OC.PENDING),
        (S.NEEDS_INFO, None, OC.PENDING),
        (S.ADOPTED, S.ADOPTED, OC.ADOPTED),
        (S.IMPLEMENTING, S.ADOPTED, OC.ADOPTED),
        (S.IMPLEMENTED, S.ADOPTED, OC.ADOPTED),
        (S.CLOSED, S.ADOPTED, OC.ADOPTED),
        (S.REFERENCE, S.REFERENCE, OC.REFERENCE),
        (S.CLOSED, S.REFERENCE, OC.REFERENCE),
        (S.CLOSED, S.DECLINED, OC.DECLINED),
        (S.CLOSED, S.DUPLICATE, OC.DUPLICATE),
        (S.ESCALATED, S.ESCALATED, OC.ESCALATED),
        # Escalated, then the city's answer: the answer is what the item came to.
        (S.DECLINED, S.DECLINED, OC.DECLINED),
        (S.WITHDRAWN, None, OC.WITHDRAWN),
        (S.CLOSED, None, OC.REFERENCE),
    ],
)
def test_outcomes(status, disposition, outcome):
    assert outcome_of(status, disposition) is outcome


@pytest.mark.parametrize(
    ("values", "mid", "p90"),
    [
        ([], None, None),
        ([4], 4.0, 4),
        ([1, 3], 2.0, 3),
        ([8, 1, 2, 3, 1, 2, 3], 2.0, 8),
        (list(range(1, 11)), 5.5, 9),
        (list(range(1, 101)), 50.5, 90),
    ],
)
def test_median_and_the_90th_percentile_by_nearest_rank(values, mid, p90):
    assert median(values) == mid
    assert nearest_rank(values, 90) == p90


def test_rates():
    assert Rate(3, 7).percent == 42.9
    assert Rate(0, 0).percent is None
    assert Rate(0, 0).value is None
    assert Rate(2, 2).value == 1.0
