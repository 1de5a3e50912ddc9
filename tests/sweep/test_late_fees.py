"""The sweep reproduces DESIGN.md's late-fee worked examples to the fen."""

import datetime
from decimal import Decimal

import pytest

from orders.models import InstallmentStatus, Plan
from sweep.services import sweep_run
from tests.factories import delivered_order

pytestmark = pytest.mark.django_db

MARCH = 3


def day(d: int, month: int = MARCH) -> datetime.date:
    return datetime.date(2026, month, d)


def sweep(on: datetime.date, again: bool = False):
    run = sweep_run(on=on, chunk_size=50, again=again)
    assert run.status == "done", run.chunks.values_list("error", flat=True)
    return run


@pytest.fixture
def march_order():
    """¥1,000.00 in 3, delivered 10 February: instalment 1 (principal 333.34) due 10 March."""
    order = delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=day(10, 2))
    first = order.installments.get(sequence=1)
    assert (first.due_date, first.principal_due) == (day(10), Decimal("333.34"))
    return order


def late_fee(order, sequence=1) -> Decimal:
    return order.installments.get(sequence=sequence).late_fee_due


def test_grace_then_daily_fee_through_ten_days_past_due(march_order):
    fees = {}
    for d in range(10, 21):
        sweep(day(d))
        fees[d] = late_fee(march_order)
    assert march_order.installments.get(sequence=1).status == InstallmentStatus.OVERDUE
    assert [fees[d] for d in (11, 12, 13)] == [Decimal("0.00")] * 3
    assert fees[14] == Decimal("0.17")
    assert fees[15] == Decimal("0.34")
    assert fees[20] == Decimal("1.19")
    # Later instalments are not yet due and carry nothing.
    assert late_fee(march_order, 2) == Decimal("0.00")


def test_second_run_for_the_same_day_adds_nothing(march_order):
    for d in range(11, 21):
        sweep(day(d))
    sweep(day(20), again=True)
    sweep(day(20), again=True)
    assert late_fee(march_order) == Decimal("1.19")


def test_missed_day_is_caught_up_once(march_order):
    for d in [*range(11, 19), 20]:  # no sweep on 19 March
        sweep(day(d))
    assert late_fee(march_order) == Decimal("1.19")
    sweep(day(20), again=True)
    assert late_fee(march_order) == Decimal("1.19")


def test_first_sweep_after_a_long_gap_catches_up_in_one_step(march_order):
    sweep(day(20))
    assert late_fee(march_order) == Decimal("1.19")


def _pay_later(amount: str, due: datetime.date):
    order = delivered_order(
        amount=amount, plan=Plan.PAY_LATER, delivered_on=due - datetime.timedelta(days=14)
    )
    assert order.installments.get().due_date == due
    return order


def test_cap_per_order_is_reached_on_the_120th_fee_day():
    due = datetime.date(2026, 1, 5)
    order = _pay_later("3333.33", due)
    at = lambda dpd: due + datetime.timedelta(days=dpd)  # noqa: E731
    sweep(at(4))
    assert late_fee(order) == Decimal("1.67")
    sweep(at(122))  # 119 fee days
    assert late_fee(order) == Decimal("198.73")
    sweep(at(123))  # the 120th adds only what is left under ¥200
    assert late_fee(order) == Decimal("200.00")
    sweep(at(150))
    assert late_fee(order) == Decimal("200.00")


def test_no_cap_is_reached_before_write_off_on_a_small_order():
    due = datetime.date(2026, 1, 5)
    order = _pay_later("800.00", due)
    sweep(due + datetime.timedelta(days=4))
    assert late_fee(order) == Decimal("0.40")
    sweep(due + datetime.timedelta(days=180))
    assert late_fee(order) == Decimal("70.80")


def test_cap_is_shared_by_the_instalments_of_one_order_oldest_first():
    # ¥800 in 3: cap is 25% = 200.00 is not binding before ¥200; use a tiny cap via policy.
    from policy.models import Policy

    policy = Policy.objects.get()
    policy.late_fee_cap_amount = Decimal("1.00")
    policy.save()
    order = delivered_order(amount="3000.00", plan=Plan.INSTALMENTS_3, delivered_on=day(10, 1))
    # Instalment 1 due 10 Feb, instalment 2 due 10 March: both overdue by 20 March.
    sweep(day(20))
    first, second = late_fee(order, 1), late_fee(order, 2)
    assert first + second == Decimal("1.00")
    assert first == Decimal("1.00") and second == Decimal("0.00")


def test_a_rate_change_inside_missed_nights_charges_each_day_at_its_own_rate():
    from policy.models import Policy

    due = datetime.date(2026, 1, 5)
    order = _pay_later("1000.00", due)  # 0.50 a day from 4 days past due
    at = lambda dpd: due + datetime.timedelta(days=dpd)  # noqa: E731
    sweep(at(10))
    assert late_fee(order) == Decimal("3.50")
    doubled = Policy.objects.get()
    doubled.pk, doubled.effective_from = None, at(15)
    doubled.late_fee_daily_rate = Decimal("0.001000")
    doubled.save()
    sweep(at(20))  # nights 11 to 19 missed: 11 to 14 at 0.50, 15 to 20 at the new 1.00
    assert late_fee(order) == Decimal("3.50") + 4 * Decimal("0.50") + 6 * Decimal("1.00")
    assert order.installments.get().late_fee_through == at(20)
