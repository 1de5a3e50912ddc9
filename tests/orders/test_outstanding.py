"""What is left to pay is one rule: the queryset's expression and the row's Python agree."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Component, Installment
from orders.services import fee_waive
from tests.factories import UserFactory, delivered_order, posted_payment, waiver_requester

pytestmark = pytest.mark.django_db


def test_the_database_and_python_agree_on_what_is_left_to_pay():
    order = delivered_order(amount="900.00", delivered_on=timezone.localdate() - datetime.timedelta(days=45))
    first, _, last = order.installments.order_by("sequence")
    posted_payment(customer=order.customer, amount=first.total_due)  # the first, paid in full
    posted_payment(customer=order.customer, amount=Decimal("100.00"))  # part of the second
    fee_waive(
        installment=last,
        component=Component.FEE,
        amount=Decimal("1.00"),
        reason="goodwill",
        approved_by=UserFactory(is_superuser=True),
        requested_by=waiver_requester(),
    )

    rows = {i.pk: i for i in Installment.objects.filter(order=order).with_outstanding()}
    assert {pk: i.amount_outstanding for pk, i in rows.items()} == {
        pk: i.total_outstanding for pk, i in rows.items()
    }
    owing = set(Installment.objects.filter(order=order).owing().values_list("pk", flat=True))
    assert owing == {pk for pk, i in rows.items() if i.total_outstanding > 0}
    assert first.pk not in owing and len(owing) == 2
