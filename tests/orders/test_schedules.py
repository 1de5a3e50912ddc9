"""Repayment schedules: DESIGN.md's worked examples, due dates, and the exact-split rule for any amount."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnpl_admin.money import CENT, split_evenly
from orders.ledger import add_months, schedule_lines
from orders.models import InstallmentStatus, Plan
from policy.selectors import policy_in_force
from tests.factories import delivered_order

D = Decimal

# DESIGN.md, "Worked examples": (amount, plan, rate, fee, principal parts, fee parts).
WORKED_EXAMPLES = [
    pytest.param(
        "1000.00",
        Plan.INSTALMENTS_3,
        "0.018",
        "18.00",
        ["333.34", "333.33", "333.33"],
        ["6.00", "6.00", "6.00"],
        id="1000.00-in-3",
    ),
    pytest.param(
        "999.99",
        Plan.INSTALMENTS_6,
        "0.036",
        "36.00",
        ["166.69"] + ["166.66"] * 5,
        ["6.00"] * 6,
        id="999.99-in-6",
    ),
    pytest.param(
        "2399.00",
        Plan.INSTALMENTS_12,
        "0.072",
        "172.73",
        ["199.99"] + ["199.91"] * 11,
        ["14.44"] + ["14.39"] * 11,
        id="2399.00-in-12",
    ),
]
PLAN_SIZE = {Plan.PAY_LATER: 1, Plan.INSTALMENTS_3: 3, Plan.INSTALMENTS_6: 6, Plan.INSTALMENTS_12: 12}


def _money_strings(values) -> list[str]:
    # Compare as strings: "6.00" and "6" are equal Decimals but not equal money.
    return [str(v) for v in values]


@pytest.mark.parametrize(("amount", "plan", "rate", "fee", "principals", "fees"), WORKED_EXAMPLES)
def test_schedule_lines_reproduce_the_worked_examples(amount, plan, rate, fee, principals, fees):
    lines = schedule_lines(
        principal=D(amount),
        fee_rate=D(rate),
        installments=PLAN_SIZE[plan],
        delivered_on=datetime.date(2025, 3, 10),
        trial_days=14,
    )
    assert _money_strings(line.principal for line in lines) == principals
    assert _money_strings(line.fee for line in lines) == fees
    assert sum(line.fee for line in lines) == D(fee)
    assert [line.sequence for line in lines] == list(range(1, PLAN_SIZE[plan] + 1))


@pytest.mark.django_db
def test_default_policy_has_the_plan_fees_and_trial_window_of_design_md():
    policy = policy_in_force(on=datetime.date(2025, 1, 1))
    assert policy.pay_later_trial_days == 14
    assert [policy.fee_rate_for(n) for n in (1, 3, 6, 12)] == [D("0"), D("0.018"), D("0.036"), D("0.072")]


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "plan", "rate", "fee", "principals", "fees"), WORKED_EXAMPLES)
def test_delivering_an_order_builds_the_worked_example_schedule(amount, plan, rate, fee, principals, fees):
    order = delivered_order(amount=amount, plan=plan, delivered_on=datetime.date(2025, 3, 10))
    rows = list(order.installments.order_by("sequence"))
    assert order.fee_rate == D(rate)
    assert str(order.fee_amount) == fee
    assert _money_strings(i.principal_due for i in rows) == principals
    assert _money_strings(i.fee_due for i in rows) == fees
    assert all(i.status == InstallmentStatus.SCHEDULED for i in rows)
    assert all(i.customer_id == order.customer_id for i in rows)
    assert all((i.late_fee_due, i.principal_paid, i.fee_paid, i.late_fee_paid) == (0, 0, 0, 0) for i in rows)


@pytest.mark.django_db
def test_pay_later_falls_due_fourteen_days_after_delivery_with_no_fee():
    order = delivered_order(amount="500.00", plan=Plan.PAY_LATER, delivered_on=datetime.date(2025, 1, 31))
    (only,) = order.installments.all()
    assert only.due_date == datetime.date(2025, 2, 14)
    assert (str(only.principal_due), str(only.fee_due)) == ("500.00", "0.00")
    assert str(order.fee_amount) == "0.00"


@pytest.mark.django_db
def test_instalments_fall_due_monthly_from_delivery_clamped_to_the_month_end_in_a_leap_year():
    order = delivered_order(
        amount="2399.00", plan=Plan.INSTALMENTS_12, delivered_on=datetime.date(2024, 1, 31)
    )
    assert [i.due_date for i in order.installments.order_by("sequence")] == [
        datetime.date(2024, 2, 29),
        datetime.date(2024, 3, 31),
        datetime.date(2024, 4, 30),
        datetime.date(2024, 5, 31),
        datetime.date(2024, 6, 30),
        datetime.date(2024, 7, 31),
        datetime.date(2024, 8, 31),
        datetime.date(2024, 9, 30),
        datetime.date(2024, 10, 31),
        datetime.date(2024, 11, 30),
        datetime.date(2024, 12, 31),
        datetime.date(2025, 1, 31),
    ]


@pytest.mark.django_db
def test_instalments_from_31_january_in_a_common_year_fall_due_on_28_february():
    order = delivered_order(
        amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2025, 1, 31)
    )
    assert [i.due_date for i in order.installments.order_by("sequence")] == [
        datetime.date(2025, 2, 28),
        datetime.date(2025, 3, 31),
        datetime.date(2025, 4, 30),
    ]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (datetime.date(2025, 11, 30), 3, datetime.date(2026, 2, 28)),
        (datetime.date(2025, 12, 15), 1, datetime.date(2026, 1, 15)),
        (datetime.date(2023, 12, 31), 2, datetime.date(2024, 2, 29)),
        (datetime.date(2025, 3, 31), -1, datetime.date(2025, 2, 28)),
        (datetime.date(2025, 8, 31), 12, datetime.date(2026, 8, 31)),
    ],
)
def test_add_months_clamps_to_the_last_day_and_crosses_years(day, months, expected):
    assert add_months(day, months) == expected


# --- Properties ------------------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=9_999_999_999).map(lambda fen: D(fen).scaleb(-2))
plans = st.sampled_from([1, 3, 6, 12])
rates = st.sampled_from([D("0"), D("0.018"), D("0.036"), D("0.072"), D("0.123457")])


def _assert_exact_split(parts: list[Decimal], total: Decimal, count: int) -> None:
    assert len(parts) == count
    assert sum(parts) == total
    assert all(p.as_tuple().exponent == -2 for p in parts), parts
    assert all(p >= 0 for p in parts)
    assert all(parts[0] >= p for p in parts[1:])
    assert len(set(parts[1:])) <= 1
    # The rest are the total divided and rounded down; the first differs by less than a fen per part.
    assert parts[0] - (parts[-1] if count > 1 else parts[0]) < CENT * count


@settings(deadline=None)
@given(amount=amounts, count=plans, rate=rates)
def test_any_schedule_adds_up_exactly_to_principal_and_fee(amount, count, rate):
    lines = schedule_lines(
        principal=amount,
        fee_rate=rate,
        installments=count,
        delivered_on=datetime.date(2025, 1, 31),
        trial_days=14,
    )
    fee = (amount * rate).quantize(CENT, rounding="ROUND_HALF_UP")
    _assert_exact_split([line.principal for line in lines], amount, count)
    _assert_exact_split([line.fee for line in lines], fee, count)
    assert [line.due_date for line in lines] == sorted({line.due_date for line in lines})


@settings(deadline=None)
@given(total=amounts | st.just(D("0.00")), count=st.integers(min_value=1, max_value=36))
def test_split_evenly_adds_up_exactly_and_the_first_part_takes_the_remainder(total, count):
    parts = split_evenly(total, count)
    _assert_exact_split(parts, total, count)
    if count > 1:
        assert parts[1] == (total / count).quantize(CENT, rounding="ROUND_DOWN")


def test_split_evenly_refuses_zero_parts():
    with pytest.raises(ValueError):
        split_evenly(D("10.00"), 0)
