"""A dispute pauses an order: DESIGN.md's worked example, to the fen and the day."""

import datetime
from decimal import Decimal

import pytest

from bnpl_admin.errors import DomainError
from collection.models import CollectionCase
from orders.models import Hold, OrderEventType, Plan
from orders.services import order_hold_close, order_hold_open
from sweep.services import sweep_run
from tests.factories import delivered_order

pytestmark = pytest.mark.django_db

DUE = datetime.date(2026, 3, 10)


def at(dpd: int) -> datetime.date:
    return DUE + datetime.timedelta(days=dpd)


def sweep_days(first: int, last: int):
    for dpd in range(first, last + 1):
        assert sweep_run(on=at(dpd), chunk_size=10).status == "done"


def state(order):
    inst = order.installments.get(sequence=1)
    case = CollectionCase.objects.get(customer=order.customer, closed_at__isnull=True)
    return inst.late_fee_due, case.days_past_due


def test_dispute_opened_at_ten_days_past_due_and_closed_sixteen_days_later():
    order = delivered_order(
        amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2026, 2, 10)
    )
    sweep_days(1, 10)
    assert state(order) == (Decimal("1.19"), 10)

    order_hold_open(order=order, kind=Hold.DISPUTE, on=at(10))
    sweep_days(11, 26)  # sixteen days on hold: nothing grows
    assert state(order) == (Decimal("1.19"), 10)

    order_hold_close(order=order, on=at(26), outcome="merchant upheld")
    sweep_days(26, 26)
    assert state(order) == (Decimal("1.19"), 10)
    sweep_days(27, 27)  # the day after it closes
    assert state(order) == (Decimal("1.36"), 11)
    assert order.events.filter(type=OrderEventType.HOLD_CLOSED).get().payload["paused"] == [[1, 16]]


def test_holds_refuse_what_makes_no_sense():
    order = delivered_order(amount="300.00", plan=Plan.PAY_LATER)
    # Refusals are told apart by their codes; their messages are in the reader's language.
    with pytest.raises(DomainError) as refused:
        order_hold_close(order=order)
    assert refused.value.code == "not_on_hold"
    order_hold_open(order=order, kind=Hold.RETURN)
    with pytest.raises(DomainError) as refused:
        order_hold_open(order=order, kind=Hold.DISPUTE)
    assert refused.value.code == "on_hold"
    with pytest.raises(DomainError) as refused:
        order_hold_open(order=order, kind="holiday")
    assert refused.value.code == "bad_hold"
