"""The one upper bound of money; input to payment_post no column holds is a DomainError, nothing written."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Customer
from bnpl_admin.errors import DomainError
from bnpl_admin.money import MONEY_MAX, MoneyField
from orders.forms import PaymentPostForm
from orders.models import Payment, PaymentAllocation
from orders.services import payment_post
from tests.factories import CustomerFactory, noon

D = Decimal
EAST_8 = datetime.timezone(datetime.timedelta(hours=8))


def today_noon() -> datetime.datetime:
    """Noon today in TIME_ZONE, or now if noon has not come: a payment is never received later
    than now. Read when the test runs (a run may cross midnight)."""
    return min(noon(timezone.localdate()), timezone.now())


NO_FIXTURE_RESET = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_money_max_is_what_the_money_column_holds():
    field = MoneyField()
    assert D("999999999999.99") == MONEY_MAX
    assert len(MONEY_MAX.as_tuple().digits) == field.max_digits
    assert -MONEY_MAX.as_tuple().exponent == field.decimal_places


def _nothing_written():
    return not Payment.objects.exists() and not PaymentAllocation.objects.exists()


above_max = st.one_of(
    st.decimals(min_value=MONEY_MAX + D("0.01"), max_value=D("1e30"), places=2),
    st.sampled_from([D("1e999"), D("Infinity"), D("NaN"), D("sNaN"), D("1E+15")]),
)


@NO_FIXTURE_RESET
@given(amount=above_max)
def test_an_amount_above_money_max_is_refused_before_anything_is_written(db, amount):
    customer = CustomerFactory()
    with pytest.raises(DomainError):
        payment_post(customer=customer, amount=amount, reference="BIG-1", received_at=today_noon())
    assert _nothing_written()


def test_money_max_itself_posts(db):
    payment, _replayed = payment_post(
        customer=CustomerFactory(), amount=MONEY_MAX, reference="MAX-1", received_at=today_noon()
    )
    assert payment.credit_created == MONEY_MAX


@pytest.mark.parametrize(
    "make_customer",
    [
        pytest.param(lambda: None, id="missing"),
        pytest.param(lambda: Customer(platform_user_id="never-saved"), id="unsaved"),
        pytest.param(lambda: Customer(pk=987654321), id="unknown-id"),
        pytest.param(lambda: "dy100001", id="not-a-customer"),
    ],
)
def test_an_unknown_or_missing_customer_is_a_domain_error(db, make_customer):
    with pytest.raises(DomainError) as refused:
        payment_post(customer=make_customer(), amount=D("10.00"), reference="WHO-1", received_at=today_noon())
    assert refused.value.code == "no_customer"
    assert _nothing_written()


def test_a_customer_deleted_meanwhile_is_a_domain_error(db):
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).delete()
    with pytest.raises(DomainError) as refused:
        payment_post(customer=customer, amount=D("10.00"), reference="GONE-1", received_at=today_noon())
    assert refused.value.code == "no_customer"
    assert _nothing_written()


@pytest.mark.parametrize(
    "received_at",
    [
        pytest.param(datetime.datetime(1, 1, 1, tzinfo=datetime.UTC), id="year-1-utc"),
        pytest.param(datetime.datetime(1, 1, 1, 0, 30, tzinfo=EAST_8), id="year-1-east"),
        pytest.param(datetime.datetime(2025, 3, 1, 12), id="naive"),
        pytest.param("2025-03-01", id="text"),
        pytest.param(None, id="missing"),
    ],
)
def test_a_received_at_that_is_not_a_moment_is_a_domain_error(db, received_at):
    with pytest.raises(DomainError):
        payment_post(
            customer=CustomerFactory(), amount=D("10.00"), reference="WHEN-1", received_at=received_at
        )
    assert _nothing_written()


def test_a_reference_longer_than_the_column_is_a_domain_error(db):
    with pytest.raises(DomainError) as refused:
        payment_post(
            customer=CustomerFactory(), amount=D("10.00"), reference="R" * 65, received_at=today_noon()
        )
    assert refused.value.code == "long_reference"
    assert _nothing_written()


def test_the_model_field_refuses_more_than_money_max():
    field = Payment._meta.get_field("amount")
    with pytest.raises(ValidationError):
        field.run_validators(MONEY_MAX + D("0.01"))
    field.run_validators(MONEY_MAX)


def test_the_payment_form_refuses_more_than_money_max():
    form = PaymentPostForm(
        {
            "amount": str(MONEY_MAX + 1),
            "reference": "X",
            "received_at_0": "2025-01-01",
            "received_at_1": "12:00:00",
            "method": "alipay",
        }
    )
    assert "amount" in form.errors
