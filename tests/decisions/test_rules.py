"""Each decision rule and its reason code, at its boundary: just under (or at) a threshold passes,
just over it declines or refers (decisions.rules.decide, a pure function)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from decisions import rules
from decisions.models import Outcome

THRESHOLDS = rules.Thresholds(
    velocity_24h_orders=3,
    velocity_24h_amount=Decimal("5000.00"),
    velocity_7d_orders=8,
    velocity_7d_amount=Decimal("15000.00"),
    first_order_cap=Decimal("1000.00"),
    max_open_plans=5,
    max_limit_share=Decimal("0.8"),
    max_burden_30d=Decimal("3000.00"),
)
CLEAN = rules.Inputs(
    amount=Decimal("500.00"),
    customer_status="active",
    line_status="active",
    grade="B",
    score=650,
    limit=Decimal("10000.00"),
    outstanding_principal=Decimal("0.00"),
    available_credit=Decimal("10000.00"),
    orders_24h=0,
    amount_24h=Decimal("0.00"),
    orders_7d=0,
    amount_7d=Decimal("0.00"),
    prior_orders=2,
    open_plans=0,
    burden_30d=Decimal("0.00"),
    merchant_risky=False,
)


def decide(**changes):
    return rules.decide(dataclasses.replace(CLEAN, **changes), THRESHOLDS)


def test_a_clean_order_is_approved_without_reasons():
    assert decide() == (Outcome.APPROVE, [])


# (changes just inside, changes just over, the reason code, the outcome over the line)
BOUNDARIES = [
    ({"customer_status": "active"}, {"customer_status": "restricted"}, rules.CUSTOMER_NOT_ACTIVE, "decline"),
    ({"line_status": "active"}, {"line_status": "frozen"}, rules.CREDIT_LINE_NOT_ACTIVE, "decline"),
    ({"line_status": "active"}, {"line_status": "closed"}, rules.CREDIT_LINE_NOT_ACTIVE, "decline"),
    ({"line_status": "active"}, {"line_status": ""}, rules.CREDIT_LINE_NOT_ACTIVE, "decline"),
    ({"grade": "D"}, {"grade": "E"}, rules.GRADE_NO_CREDIT, "decline"),
    (
        {"amount": Decimal("1000.00"), "available_credit": Decimal("1000.00"), "prior_orders": 1},
        {"amount": Decimal("1000.01"), "available_credit": Decimal("1000.00"), "prior_orders": 1},
        rules.OVER_AVAILABLE_CREDIT,
        "decline",
    ),
    ({"orders_24h": 2}, {"orders_24h": 3}, rules.VELOCITY_24H_ORDERS, "refer"),
    (
        {"amount_24h": Decimal("4500.00")},
        {"amount_24h": Decimal("4500.01")},
        rules.VELOCITY_24H_AMOUNT,
        "refer",
    ),
    ({"orders_7d": 7}, {"orders_7d": 8}, rules.VELOCITY_7D_ORDERS, "refer"),
    (
        {"amount_7d": Decimal("14500.00")},
        {"amount_7d": Decimal("14500.01")},
        rules.VELOCITY_7D_AMOUNT,
        "refer",
    ),
    ({"merchant_risky": False}, {"merchant_risky": True}, rules.MERCHANT_RISK_FLAG, "refer"),
    (
        {"prior_orders": 0, "amount": Decimal("1000.00")},
        {"prior_orders": 0, "amount": Decimal("1000.01")},
        rules.FIRST_ORDER_CAP,
        "refer",
    ),
    ({"open_plans": 4}, {"open_plans": 5}, rules.OPEN_PLANS, "refer"),
    (
        {"outstanding_principal": Decimal("8000.00"), "available_credit": Decimal("2000.00")},
        {"outstanding_principal": Decimal("8001.00"), "available_credit": Decimal("1999.00")},
        rules.LIMIT_SHARE_USED,
        "refer",
    ),
    ({"burden_30d": Decimal("3000.00")}, {"burden_30d": Decimal("3000.01")}, rules.BURDEN_30D, "refer"),
]


@pytest.mark.parametrize(("inside", "over", "code", "outcome"), BOUNDARIES, ids=lambda v: str(v)[:40])
def test_each_rule_at_its_boundary(inside, over, code, outcome):
    assert decide(**inside) == (Outcome.APPROVE, [])
    assert decide(**over) == (outcome, [code])


def test_a_first_order_cap_never_applies_to_a_returning_customer():
    assert decide(prior_orders=1, amount=Decimal("5000.00"))[0] == Outcome.APPROVE


def test_over_the_thresholds_is_referred_not_approved_and_every_reason_is_named():
    outcome, reasons = decide(orders_24h=5, merchant_risky=True, burden_30d=Decimal("9999.00"))
    assert outcome == Outcome.REFER
    assert reasons == [rules.VELOCITY_24H_ORDERS, rules.MERCHANT_RISK_FLAG, rules.BURDEN_30D]


def test_a_decline_wins_over_a_referral():
    outcome, reasons = decide(grade="E", merchant_risky=True)
    assert (outcome, reasons) == (Outcome.DECLINE, [rules.GRADE_NO_CREDIT])


def test_every_reason_code_has_words_in_both_languages():
    from django.utils import translation

    for code in (*rules.DECLINE_CODES, *rules.REFER_CODES, rules.REVIEW_EXPIRED):
        with translation.override("en"):
            english = rules.reason_label(code)
        with translation.override("zh-hans"):
            chinese = rules.reason_label(code)
        assert english != code and chinese != english, code
