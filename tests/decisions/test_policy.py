"""The order decision's thresholds are dated policy values, bounded like the others."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bnpl_admin.dates import business_date
from policy.models import Policy
from policy.selectors import policy_in_force

pytestmark = pytest.mark.django_db


def _next_version(**values) -> Policy:
    current = policy_in_force(on=business_date())
    current.pk = None
    current.effective_from = business_date() + datetime.timedelta(days=1)
    for name, value in values.items():
        setattr(current, name, value)
    return current


@pytest.mark.parametrize(
    "bad",
    [
        {"decision_velocity_24h_orders": 1001},
        {"decision_max_open_plans": 1001},
        {"decision_max_limit_share": Decimal("1.000001")},
        {"decision_max_limit_share": Decimal("-0.1")},
        {"decision_first_order_cap": Decimal("-0.01")},
        {"decision_max_burden_30d": Decimal("-1")},
        {"decision_review_hours": 0},
        {"decision_review_hours": 721},
    ],
)
def test_a_threshold_out_of_bounds_is_refused_by_the_form_and_the_database(bad):
    version = _next_version(**bad)
    with pytest.raises(ValidationError) as refused:
        version.full_clean()
    assert set(refused.value.message_dict) & set(bad)
    with pytest.raises(IntegrityError), transaction.atomic():
        version.save()


def test_a_new_threshold_applies_from_its_date_not_before():
    from django.utils import timezone

    from decisions.services import order_decide
    from tests.decisions.builders import seasoned_customer
    from tests.factories import MerchantFactory

    _next_version(decision_first_order_cap=Decimal("10.00"), decision_max_open_plans=1).save()
    customer = seasoned_customer()
    merchant = MerchantFactory()
    today = order_decide(customer=customer, amount=Decimal("50.00"), merchant=merchant, channel="mall")
    tomorrow = order_decide(
        customer=customer,
        amount=Decimal("50.00"),
        merchant=merchant,
        channel="mall",
        placed_at=timezone.now() + datetime.timedelta(days=1),
    )
    assert today.outcome == "approve"
    assert tomorrow.outcome == "refer" and tomorrow.reason_codes == ["open_plans"]
    assert tomorrow.policy_effective_from == business_date() + datetime.timedelta(days=1)
