"""reconcile_ledgers finds a stored total that no longer matches its entries."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders.models import Installment
from orders.services import payment_post
from tests.factories import delivered_order, waiver_requester

pytestmark = pytest.mark.django_db


def _paid_order():
    order = delivered_order(amount="1000.00", delivered_on=datetime.date(2026, 1, 5))
    payment_post(
        customer=order.customer,
        amount=Decimal("350.00"),
        reference="ALI-RECON-1",
        received_at=timezone.make_aware(datetime.datetime(2026, 2, 5, 10)),
    )
    return order


def test_clean_ledger_reconciles(capsys):
    _paid_order()
    call_command("reconcile_ledgers")
    assert "every stored total matches" in capsys.readouterr().out


def test_tampered_paid_total_is_reported():
    order = _paid_order()
    first = order.installments.get(sequence=1)
    # A data fix that bypassed the services: the stored total no longer matches.
    Installment.objects.filter(pk=first.pk).update(principal_paid=Decimal("300.00"))
    with pytest.raises(CommandError, match="1 ledger mismatch"):
        call_command("reconcile_ledgers")


def test_a_return_below_a_waived_fee_writes_an_adjustment_and_still_reconciles(superuser, capsys):
    from orders.models import Component, Waiver
    from orders.services import fee_waive, order_return

    order = delivered_order(amount="1000.00", delivered_on=datetime.date(2026, 1, 5))
    third = order.installments.get(sequence=3)
    fee_waive(installment=third, component=Component.FEE, amount=Decimal("6.00"), reason="goodwill",
              approved_by=superuser, requested_by=waiver_requester())  # fmt: skip
    order_return(order=order, amount=Decimal("400.00"), by=superuser, reason="two items back")
    third.refresh_from_db()
    assert (third.fee_due, third.fee_waived) == (Decimal("0.00"), Decimal("0.00"))
    adjustment = Waiver.objects.get(installment=third, amount__lt=0)
    assert adjustment.amount == Decimal("-6.00") and "Return of ¥400.00" in adjustment.reason
    call_command("reconcile_ledgers")
    assert "every stored total matches" in capsys.readouterr().out
