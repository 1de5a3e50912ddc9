"""The scoring engine against figures worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk.scoring import card_load, score_values
from tests.risk.cards import hand_card

pytestmark = pytest.mark.django_db


def test_points_score_grade_limit_and_reasons_by_hand():
    card = card_load(hand_card())
    # worst DPD 5 → 20 (30 short of its best), on time 0.9 → 30 (best), livestream → 0 (12 short),
    # 2 months → 0 (15 short): 500 + 20 + 30 + 0 + 0 = 550, grade C, ¥5,000.
    result = score_values(
        card, {"worst_dpd_12m": 5.0, "on_time_share": 0.9, "channel_mix": "livestream", "months_on_book": 2.0}
    )
    assert result.points == {"worst_dpd_12m": 20, "on_time_share": 30, "channel_mix": 0, "months_on_book": 0}
    assert result.score == 550
    assert (result.grade, result.limit) == ("C", Decimal("5000.00"))
    assert result.reasons == ["worst_dpd_12m", "months_on_book", "channel_mix"]


def test_missing_value_takes_the_missing_bin_and_best_bins_are_never_reasons():
    card = card_load(hand_card())
    # No instalment due yet (missing → 10, 20 short), everything else at its best: 500+50+10+12+15 = 587 → B.
    result = score_values(
        card, {"worst_dpd_12m": 0.0, "on_time_share": None, "channel_mix": "mall", "months_on_book": 12.0}
    )
    assert result.score == 587
    assert result.grade == "B"
    assert result.reasons == ["on_time_share"]


def test_ties_keep_the_versions_order():
    card = card_load(hand_card())
    # worst 20 → 0 (50 short); on time 0.5 → 0 (30 short); mixed → 5 (7 short); 1 month → 0 (15 short).
    result = score_values(
        card, {"worst_dpd_12m": 20.0, "on_time_share": 0.5, "channel_mix": "mixed", "months_on_book": 1.0}
    )
    assert result.score == 505
    assert result.grade == "E"
    assert result.limit == Decimal("0.00")
    assert result.reasons == ["worst_dpd_12m", "on_time_share", "months_on_book"]


@given(
    worst=st.floats(min_value=0, max_value=400),
    on_time=st.one_of(st.none(), st.floats(min_value=0, max_value=1)),
    channel=st.sampled_from(["livestream", "short_video", "mall", "mixed", "none"]),
    months=st.floats(min_value=0, max_value=120),
)
def test_score_is_base_plus_points_and_reasons_are_the_costliest(worst, on_time, channel, months):
    from tests.risk.test_scoring import _CARD

    values = {
        "worst_dpd_12m": worst,
        "on_time_share": on_time,
        "channel_mix": channel,
        "months_on_book": months,
    }
    result = score_values(_CARD, values)
    assert result.score == _CARD.base_points + sum(result.points.values())
    best = {c.code: c.best for c in _CARD.characteristics}
    losses = sorted((best[code] - p for code, p in result.points.items()), reverse=True)
    assert [best[code] - result.points[code] for code in result.reasons] == [x for x in losses if x > 0][:3]


_CARD = None


@pytest.fixture(autouse=True)
def _card(db):
    global _CARD
    _CARD = card_load(hand_card(name="Hypothesis card"))
    yield
