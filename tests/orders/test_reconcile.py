"""reconcile_ledgers finds a stored total that no longer matches its entries."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders.models import Installment
from orders.services import payment_post
from tests.factories import delivered_order

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
