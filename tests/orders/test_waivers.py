"""Waiving fees and late fees: an entry with a reason and an approver, never more than is owed."""

import datetime
import uuid
from decimal import Decimal

import pytest

from accounts.roles import Role
from bnpl_admin.errors import DomainError
from orders import selectors
from orders.models import Component, Installment, InstallmentStatus, OrderStatus, Plan, Waiver
from orders.services import fee_waive
from tests.factories import UserFactory, delivered_order, posted_payment, waiver_requester

D = Decimal
PAID_ON = datetime.date(2025, 2, 20)


@pytest.fixture
def overdue(db) -> Installment:
    """Instalment 1 of ¥1,000.00 in 3 (due 10 Feb): 333.34 + 6.00 + 1.19 late fee, overdue on 20 Feb."""
    order = delivered_order(
        amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2025, 1, 10)
    )
    first = order.installments.get(sequence=1)
    first.late_fee_due = D("1.19")
    first.status = InstallmentStatus.OVERDUE
    first.save()
    return first


@pytest.fixture
def manager(db):
    return UserFactory(roles=[Role.COLLECTIONS_MANAGER])


def test_a_waiver_is_recorded_with_reason_and_approver_and_reduces_what_is_owed(overdue, manager):
    agent = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    before = selectors.customer_balance(customer=overdue.customer)

    waiver = fee_waive(
        installment=overdue,
        component=Component.LATE_FEE,
        amount=D("1.19"),
        reason="hospital stay, documents seen",
        approved_by=manager,
        requested_by=agent,
    )

    waiver.refresh_from_db()
    assert (waiver.component, str(waiver.amount), waiver.reason) == (
        Component.LATE_FEE,
        "1.19",
        "hospital stay, documents seen",
    )
    assert (waiver.approved_by, waiver.requested_by) == (manager, agent)
    overdue.refresh_from_db()
    assert (str(overdue.late_fee_due), str(overdue.late_fee_waived)) == ("1.19", "1.19")
    after = selectors.customer_balance(customer=overdue.customer)
    assert (str(before["late_fee"]), str(after["late_fee"])) == ("1.19", "0.00")
    assert after["principal"] == before["principal"]
    assert overdue.status == InstallmentStatus.OVERDUE  # still owes 339.34


def test_a_partly_waived_fee_is_not_asked_for_again(overdue, manager):
    fee_waive(
        installment=overdue,
        component=Component.FEE,
        amount=D("2.00"),
        reason="goodwill",
        approved_by=manager,
        requested_by=waiver_requester(),
    )

    payment = posted_payment(customer=overdue.customer, amount="338.53", on=PAID_ON)

    assert [(a.component, str(a.amount)) for a in payment.allocations.order_by("id")] == [
        (Component.LATE_FEE, "1.19"),
        (Component.FEE, "4.00"),
        (Component.PRINCIPAL, "333.34"),
    ]
    assert str(payment.credit_created) == "0.00"
    overdue.refresh_from_db()
    assert overdue.status == InstallmentStatus.PAID
    assert overdue.paid_at is not None


def test_an_instalment_settled_by_payment_and_waivers_is_paid_and_closes_the_order(db, manager):
    order = delivered_order(amount="500.00", plan=Plan.PAY_LATER, delivered_on=datetime.date(2025, 1, 10))
    (only,) = order.installments.all()
    Installment.objects.filter(pk=only.pk).update(late_fee_due=D("5.00"))
    fee_waive(
        installment=only,
        component=Component.LATE_FEE,
        amount=D("5.00"),
        reason="settlement",
        approved_by=manager,
        requested_by=waiver_requester(),
    )
    only.refresh_from_db()
    assert only.status != InstallmentStatus.PAID

    posted_payment(customer=order.customer, amount="500.00", on=datetime.date(2025, 2, 1))

    only.refresh_from_db()
    order.refresh_from_db()
    assert (only.status, str(only.late_fee_paid), str(only.principal_paid)) == (
        InstallmentStatus.PAID,
        "0.00",
        "500.00",
    )
    assert order.status == OrderStatus.COMPLETED


def test_waiving_the_last_unpaid_yuan_marks_the_instalment_paid(db, manager):
    # Only a late fee is left (booked after the principal was paid, as a data fix would): the
    # waiver is what settles the instalment.
    order = delivered_order(amount="500.00", plan=Plan.PAY_LATER, delivered_on=datetime.date(2025, 1, 10))
    posted_payment(customer=order.customer, amount="500.00", on=datetime.date(2025, 1, 26))
    (only,) = order.installments.all()
    Installment.objects.filter(pk=only.pk).update(late_fee_due=D("0.75"), status=InstallmentStatus.OVERDUE)
    only.refresh_from_db()

    fee_waive(
        installment=only,
        component=Component.LATE_FEE,
        amount=D("0.75"),
        reason="bank delay",
        approved_by=manager,
        requested_by=waiver_requester(),
    )

    only.refresh_from_db()
    assert only.total_outstanding == 0
    assert only.status == InstallmentStatus.PAID


@pytest.mark.parametrize(
    ("component", "amount"),
    [(Component.FEE, "6.01"), (Component.LATE_FEE, "1.20"), (Component.FEE, "7.19")],
)
def test_a_waiver_cannot_exceed_what_is_owed(overdue, manager, component, amount):
    with pytest.raises(DomainError) as error:
        fee_waive(
            installment=overdue,
            component=component,
            amount=D(amount),
            reason="x",
            approved_by=manager,
            requested_by=waiver_requester(),
        )
    assert error.value.code == "too_much"
    assert not Waiver.objects.exists()


def test_a_waiver_cannot_forgive_what_was_already_paid(overdue, manager):
    posted_payment(customer=overdue.customer, amount="5.00", on=PAID_ON)  # 1.19 late fee + 3.81 fee
    with pytest.raises(DomainError):
        fee_waive(
            installment=overdue,
            component=Component.FEE,
            amount=D("2.20"),
            reason="x",
            approved_by=manager,
            requested_by=waiver_requester(),
        )
    waiver = fee_waive(
        installment=overdue,
        component=Component.FEE,
        amount=D("2.19"),
        reason="rest of fee",
        approved_by=manager,
        requested_by=waiver_requester(),
    )
    assert str(waiver.amount) == "2.19"


def test_principal_cannot_be_waived(overdue, manager):
    with pytest.raises(DomainError):
        fee_waive(
            installment=overdue,
            component=Component.PRINCIPAL,
            amount=D("1.00"),
            reason="x",
            approved_by=manager,
            requested_by=waiver_requester(),
        )
    assert not Waiver.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_waiver_needs_a_reason(overdue, manager, reason):
    with pytest.raises(DomainError):
        fee_waive(
            installment=overdue,
            component=Component.FEE,
            amount=D("1.00"),
            reason=reason,
            approved_by=manager,
            requested_by=waiver_requester(),
        )
    assert not Waiver.objects.exists()
    overdue.refresh_from_db()
    assert overdue.fee_waived == 0


@pytest.mark.parametrize("role", [Role.COLLECTIONS_AGENT, Role.RISK_ANALYST, Role.FIELD_AGENT])
def test_an_approver_without_the_waive_permission_is_refused(overdue, role):
    approver = UserFactory(roles=[role])
    with pytest.raises(DomainError) as error:
        fee_waive(
            installment=overdue,
            component=Component.FEE,
            amount=D("1.00"),
            reason="x",
            approved_by=approver,
            requested_by=waiver_requester(),
        )
    assert error.value.code == "not_allowed"
    assert not Waiver.objects.exists()
    overdue.refresh_from_db()
    assert overdue.fee_waived == 0


def test_operations_admin_may_approve_a_waiver(overdue):
    waiver = fee_waive(
        installment=overdue,
        component=Component.FEE,
        amount=D("6.00"),
        reason="merchant error",
        approved_by=UserFactory(roles=[Role.OPERATIONS_ADMIN]),
        requested_by=waiver_requester(),
    )
    assert waiver.pk is not None


# --- Maker–checker and a form submitted twice ------------------------------------------------------


def test_nobody_approves_a_waiver_they_asked_for(overdue, manager):
    with pytest.raises(DomainError) as error:
        fee_waive(
            installment=overdue,
            component=Component.FEE,
            amount=D("1.00"),
            reason="x",
            approved_by=manager,
            requested_by=manager,
        )
    assert error.value.code == "own_request"
    assert not Waiver.objects.exists()
    overdue.refresh_from_db()
    assert overdue.fee_waived == 0


def test_a_waiver_names_who_asked_for_it(overdue, manager):
    with pytest.raises(DomainError):
        fee_waive(
            installment=overdue,
            component=Component.FEE,
            amount=D("1.00"),
            reason="x",
            approved_by=manager,
            requested_by=None,
        )
    assert not Waiver.objects.exists()


def test_the_same_token_twice_is_one_waiver_and_changes_nothing_more(overdue, manager):
    token = uuid.uuid4()
    asked = {
        "installment": overdue,
        "component": Component.LATE_FEE,
        "amount": D("1.00"),
        "reason": "x",
        "approved_by": manager,
        "requested_by": waiver_requester(),
        "token": token,
    }
    first = fee_waive(**asked)
    again = fee_waive(**asked)

    assert again.pk == first.pk
    assert Waiver.objects.count() == 1
    overdue.refresh_from_db()
    assert overdue.late_fee_waived == D("1.00")
    with pytest.raises(DomainError) as error:
        fee_waive(**{**asked, "amount": D("0.10")})
    assert error.value.code == "token_reused"
    assert Waiver.objects.count() == 1
