"""The late-fee rule of the demo book (orders.ledger.late_fee_accrue) on DESIGN.md's worked examples.

The nightly sweep must give the same figures; these are the numbers both answer to.
"""

import datetime
from decimal import Decimal

import pytest

from demo.seeder import national_id_check_char
from orders.ledger import LateFeeTerms, late_fee_accrue
from orders.models import Installment

D = Decimal
TERMS = LateFeeTerms(grace_days=3, daily_rate=D("0.0005"), cap_rate=D("0.25"), cap_amount=D("200.00"))


def terms_on(day):
    return TERMS


def _installment(principal, due, sequence=1, **extra) -> Installment:
    return Installment(sequence=sequence, due_date=due, principal_due=D(principal), **extra)


def _day(month, day):
    return datetime.date(2025, month, day)


def test_grace_then_a_fee_a_day_on_the_unpaid_principal():
    installment = _installment("333.34", _day(3, 10))
    assert late_fee_accrue(installments=[installment], through=_day(3, 13), terms_on=terms_on) == D("0.00")
    assert installment.late_fee_through is None  # accrued through the last day it was charged
    assert late_fee_accrue(installments=[installment], through=_day(3, 14), terms_on=terms_on) == D("0.17")
    late_fee_accrue(installments=[installment], through=_day(3, 20), terms_on=terms_on)
    assert installment.late_fee_due == D("1.19")


def test_running_twice_or_skipping_a_day_gives_the_same_figure():
    daily, twice, skipped = (_installment("333.34", _day(3, 10)) for _ in range(3))
    for day in range(11, 21):
        late_fee_accrue(installments=[daily], through=_day(3, day), terms_on=terms_on)
    for _ in range(2):
        late_fee_accrue(installments=[twice], through=_day(3, 20), terms_on=terms_on)
    late_fee_accrue(installments=[skipped], through=_day(3, 18), terms_on=terms_on)
    late_fee_accrue(installments=[skipped], through=_day(3, 20), terms_on=terms_on)
    assert daily.late_fee_due == twice.late_fee_due == skipped.late_fee_due == D("1.19")


def test_the_cap_day_adds_only_what_is_left():
    due = _day(1, 1)
    installment = _installment("3333.33", due)
    late_fee_accrue(installments=[installment], through=due + datetime.timedelta(days=122), terms_on=terms_on)
    assert installment.late_fee_due == D("198.73")  # 119 fee days of 1.67
    late_fee_accrue(installments=[installment], through=due + datetime.timedelta(days=123), terms_on=terms_on)
    assert installment.late_fee_due == D("200.00")  # the 120th adds 1.27
    late_fee_accrue(installments=[installment], through=due + datetime.timedelta(days=300), terms_on=terms_on)
    assert installment.late_fee_due == D("200.00")


def test_a_small_order_never_reaches_the_cap_before_write_off():
    due = _day(1, 1)
    installment = _installment("800.00", due)
    late_fee_accrue(installments=[installment], through=due + datetime.timedelta(days=180), terms_on=terms_on)
    assert installment.late_fee_due == D("70.80")


def test_the_cap_is_shared_by_the_order_oldest_instalment_first():
    first = _installment(
        "400.00", _day(1, 1), sequence=1, late_fee_due=D("199.90"), late_fee_through=_day(3, 1)
    )
    second = _installment("400.00", _day(2, 1), sequence=2, late_fee_through=_day(3, 1))
    # The cap is min(25% of 800.00, 200.00); 0.20 a day each, only 0.10 left: it goes to the oldest.
    added = late_fee_accrue(installments=[second, first], through=_day(3, 2), terms_on=terms_on)
    assert (added, first.late_fee_due, second.late_fee_due) == (D("0.10"), D("200.00"), D("0.00"))


def test_only_the_unpaid_principal_bears_a_fee():
    installment = _installment("1000.00", _day(1, 1), principal_paid=D("600.00"), fee_due=D("50.00"))
    late_fee_accrue(installments=[installment], through=_day(1, 5), terms_on=terms_on)
    assert installment.late_fee_due == D("0.20")  # 0.05% of 400.00, not of fees or paid principal


def test_a_paid_instalment_accrues_nothing():
    installment = _installment("500.00", _day(1, 1), principal_paid=D("500.00"))
    assert late_fee_accrue(installments=[installment], through=_day(3, 1), terms_on=terms_on) == D("0.00")
    assert installment.late_fee_through is None


@pytest.mark.parametrize(
    ("number", "check"),
    [("11010519491231002", "X"), ("44030519900307123", "6"), ("65010219850101001", "9")],
)
def test_national_id_check_character(number, check):
    assert national_id_check_char(number) == check
