"""Policy values out of their sane bounds are refused by the model, the database and the admin."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.roles import Role
from bnpl_admin.dates import business_date
from policy.models import Policy
from tests.conftest import login_verified
from tests.factories import UserFactory

D = Decimal
GOOD = {
    "note": "bounds",
    "pay_later_trial_days": 14,
    "fee_rate_pay_later": D("0"),
    "fee_rate_3": D("0.018"),
    "fee_rate_6": D("0.036"),
    "fee_rate_12": D("0.072"),
    "late_fee_grace_days": 3,
    "late_fee_daily_rate": D("0.0005"),
    "late_fee_cap_rate": D("0.25"),
    "late_fee_cap_amount": D("200.00"),
    "freeze_at_dpd": 1,
    "manual_payment_approval_above": D("10000.00"),
    "manual_payment_approval_days_back": 7,
    "queue_weight_amount": D("10.00"),
    "queue_weight_dpd": D("1.00"),
    "queue_weight_broken_promise": D("20.00"),
    "queue_weight_days_since_contact": D("2.00"),
    "queue_weight_promise_due_today": D("25.00"),
    "promise_max_days": 30,
    "limit_increase_auto_max": D("2000.00"),
    "limit_increase_clean_months": 6,
    "settlement_principal_discount_max_rate": D("0.2"),
    "decision_velocity_24h_orders": 3,
    "decision_velocity_24h_amount": D("5000.00"),
    "decision_velocity_7d_orders": 8,
    "decision_velocity_7d_amount": D("15000.00"),
    "decision_first_order_cap": D("1000.00"),
    "decision_max_open_plans": 5,
    "decision_max_limit_share": D("0.8"),
    "decision_max_burden_30d": D("3000.00"),
    "decision_review_hours": 24,
    "restriction_approval_lines": 1000,
}
# One value out of bounds per field: a negative cap, rates beyond sane, days beyond a year.
BAD = [
    ("late_fee_cap_amount", D("-0.01")),
    ("late_fee_cap_amount", D("-200.00")),
    ("manual_payment_approval_above", D("-1.00")),
    ("fee_rate_3", D("-0.001")),
    ("fee_rate_12", D("0.500001")),
    ("fee_rate_pay_later", D("1")),
    ("late_fee_daily_rate", D("0.010001")),
    ("late_fee_daily_rate", D("-0.0005")),
    ("late_fee_cap_rate", D("1.000001")),
    ("late_fee_grace_days", 366),
    ("pay_later_trial_days", 1000),
    ("freeze_at_dpd", 400),
    ("manual_payment_approval_days_back", 366),
    ("queue_weight_amount", D("-0.01")),
    ("queue_weight_dpd", D("100.01")),
    ("queue_weight_broken_promise", D("-1.00")),
    ("queue_weight_days_since_contact", D("100.50")),
    ("queue_weight_promise_due_today", D("-0.01")),
    ("queue_weight_promise_due_today", D("100.01")),
    ("promise_max_days", 0),
    ("promise_max_days", 91),
    ("limit_increase_auto_max", D("-1.00")),
    ("limit_increase_auto_max", D("20000.01")),
    ("limit_increase_clean_months", 0),
    ("limit_increase_clean_months", 25),
    ("settlement_principal_discount_max_rate", D("1.01")),
    ("settlement_principal_discount_max_rate", D("-0.01")),
    ("decision_velocity_7d_orders", 1001),
    ("decision_first_order_cap", D("-0.01")),
    ("decision_max_limit_share", D("1.000001")),
    ("decision_review_hours", 721),
]


def _tomorrow() -> datetime.date:
    """The first date a new policy version may take: read when the test runs, never at import
    (a run that crosses midnight in TIME_ZONE would make an imported "tomorrow" today)."""
    return business_date() + datetime.timedelta(days=1)


def _policy(**overrides) -> Policy:
    return Policy(effective_from=_tomorrow(), **{**GOOD, **overrides})


def test_the_good_values_are_good(db):
    _policy().full_clean()


@pytest.mark.parametrize(("name", "value"), BAD)
def test_full_clean_refuses_a_value_out_of_bounds_naming_the_field(db, name, value):
    with pytest.raises(ValidationError) as refused:
        _policy(**{name: value}).full_clean()
    assert name in refused.value.message_dict


@pytest.mark.parametrize(("name", "value"), BAD)
def test_the_database_refuses_a_value_out_of_bounds(db, name, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        _policy(**{name: value}).save()
    assert not Policy.objects.filter(effective_from=_tomorrow()).exists()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cap=st.decimals(max_value=D("-0.01"), min_value=D("-999999999999.99"), places=2))
def test_no_negative_cap_is_ever_accepted(db, cap):
    with pytest.raises(ValidationError):
        _policy(late_fee_cap_amount=cap).full_clean()


def _admin_post(client, **overrides):
    data = {k: str(v) for k, v in {**GOOD, **overrides}.items()}
    data["effective_from"] = _tomorrow().isoformat()
    data["conduct_profile"] = "CN"
    data["reminder_days_before"] = "3,1"
    data["reminder_days_after"] = "1,3,7"
    data["reminder_weekly_until_dpd"] = "180"
    data["reminder_daily_cap"] = "3"
    data["write_off_proposal_dpd"] = "180"
    return client.post(reverse("admin:policy_policy_add"), data)


@pytest.mark.parametrize(("name", "value"), BAD)
def test_the_admin_refuses_a_value_out_of_bounds_and_saves_nothing(client, db, name, value):
    ops = UserFactory(username="ops", roles=[Role.OPERATIONS_ADMIN], is_staff=True)
    login_verified(client, ops)
    before = Policy.objects.count()

    response = _admin_post(client, **{name: value})

    assert response.status_code == 200
    assert name in response.context["adminform"].form.errors
    assert Policy.objects.count() == before


def test_the_admin_saves_good_values(client, db):
    ops = UserFactory(username="ops", roles=[Role.OPERATIONS_ADMIN], is_staff=True)
    login_verified(client, ops)
    response = _admin_post(client)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Policy.objects.filter(effective_from=_tomorrow()).exists()
