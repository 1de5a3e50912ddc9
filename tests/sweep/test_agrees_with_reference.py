"""The set-based sweep and the Python reference rule (orders.ledger.late_fee_accrue) agree to the fen."""

from collections import defaultdict

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders.ledger import LateFeeTerms, late_fee_accrue
from orders.models import Installment, InstallmentStatus
from policy.selectors import policy_in_force
from sweep.services import sweep_run

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_sweep_of_the_demo_book_adds_what_the_reference_rule_adds():
    call_command("seed_demo", customers=150, seed=7, stdout=None)
    today = timezone.localdate()
    before = {
        i.pk: i
        for i in Installment.objects.select_related("order").filter(
            status__in=[InstallmentStatus.SCHEDULED, InstallmentStatus.DUE, InstallmentStatus.OVERDUE],
            order__hold="",
        )
    }
    by_order = defaultdict(list)
    for installment in Installment.objects.filter(order_id__in={i.order_id for i in before.values()}):
        by_order[installment.order_id].append(installment)
    terms = LateFeeTerms.from_policy(policy_in_force(on=today))
    for installments in by_order.values():
        late_fee_accrue(installments=installments, through=today, terms_on=lambda day: terms)
    expected = {i.pk: i.late_fee_due for group in by_order.values() for i in group if i.pk in before}

    assert sweep_run(on=today, chunk_size=40).status == "done"

    after = {i.pk: i for i in Installment.objects.filter(pk__in=before)}
    compared = [pk for pk in before if after[pk].principal_paid == before[pk].principal_paid]
    accrued = [pk for pk in compared if expected[pk] > before[pk].late_fee_due]
    assert len(accrued) >= 10, "the demo book should have overdue instalments accruing today"
    wrong = [
        (pk, after[pk].late_fee_due, expected[pk])
        for pk in compared
        if after[pk].late_fee_due != expected[pk]
    ]
    assert not wrong, f"{len(wrong)} of {len(compared)} differ, e.g. {wrong[:5]}"
