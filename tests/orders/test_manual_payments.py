"""Payments typed in by hand: above the policy's amount or age, a second person approves before they post."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone, translation

from accounts.roles import Role
from audit.models import AuditEvent
from bnpl_admin.errors import DomainError
from bnpl_admin.money import MONEY_MAX
from orders.models import ManualPaymentRequest, ManualPaymentStatus, Payment, PaymentAllocation
from orders.services import (
    PaymentPosting,
    manual_payment_approve,
    manual_payment_reject,
    manual_payment_request,
    manual_payment_submit,
)
from policy.models import Policy
from policy.selectors import policy_in_force
from tests.conftest import login_verified
from tests.factories import UserFactory, delivered_order

D = Decimal
HOUR_AGO = datetime.timedelta(hours=1)


@pytest.fixture
def maker(db):
    return UserFactory(username="maker", roles=[Role.OPERATIONS_ADMIN], is_staff=True, language="en")


@pytest.fixture
def checker(db):
    return UserFactory(username="checker", roles=[Role.OPERATIONS_ADMIN], is_staff=True, language="en")


@pytest.fixture
def customer(db):
    return delivered_order(delivered_on=timezone.localdate() - datetime.timedelta(days=40)).customer


def _submit(customer, by, amount="100.00", ago=HOUR_AGO, reference="BANK-1"):
    return manual_payment_submit(
        customer=customer,
        amount=D(amount),
        reference=reference,
        received_at=timezone.now() - ago,
        method="bank_card",
        by=by,
        reason="transfer seen on the bank statement",
    )


def test_thresholds_are_dated_policy_values(db):
    policy = policy_in_force(on=timezone.localdate())
    assert (policy.manual_payment_approval_above, policy.manual_payment_approval_days_back) == (
        D("10000.00"),
        7,
    )


def test_a_small_recent_payment_posts_at_once(customer, maker):
    outcome = _submit(customer, maker, amount="10000.00")
    assert isinstance(outcome, PaymentPosting)
    assert not outcome.replayed
    assert outcome.payment.posted_by == maker
    assert not ManualPaymentRequest.objects.exists()


@pytest.mark.parametrize(
    ("amount", "ago", "why"),
    [
        ("10000.01", HOUR_AGO, "the amount is above ¥10000.00"),
        (str(MONEY_MAX), HOUR_AGO, "the amount is above ¥10000.00"),
        ("50.00", datetime.timedelta(days=8), "received 8 days ago, more than 7"),
    ],
)
def test_above_a_threshold_it_waits_for_approval_and_nothing_is_posted(customer, maker, amount, ago, why):
    outcome = _submit(customer, maker, amount=amount, ago=ago)

    assert isinstance(outcome, ManualPaymentRequest)
    assert outcome.status == ManualPaymentStatus.PENDING
    with translation.override("en"):
        assert why in outcome.approval_reasons_text()
    with translation.override("zh-hans"):
        assert why not in outcome.approval_reasons_text()  # said in the reader's language
    assert not Payment.objects.exists()
    assert not PaymentAllocation.objects.exists()


def test_a_later_policy_version_moves_the_threshold_from_its_date(customer, maker):
    current = policy_in_force(on=timezone.localdate())
    Policy.objects.filter(pk=current.pk).update(manual_payment_approval_above=D("50.00"))
    assert isinstance(_submit(customer, maker, amount="50.01"), ManualPaymentRequest)


def test_another_person_approves_and_it_posts_in_the_same_transaction(customer, maker, checker):
    waiting = _submit(customer, maker, amount="20000.00")

    payment = manual_payment_approve(request=waiting, by=checker)

    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by, waiting.payment) == (
        ManualPaymentStatus.APPROVED,
        checker,
        payment,
    )
    assert (payment.amount, payment.external_reference, payment.posted_by) == (
        D("20000.00"),
        "BANK-1",
        checker,
    )
    assert payment.allocations.exists()


def test_nobody_approves_or_rejects_their_own_request(customer, maker):
    waiting = _submit(customer, maker, amount="20000.00")
    with pytest.raises(DomainError) as approving:
        manual_payment_approve(request=waiting, by=maker)
    with pytest.raises(DomainError) as rejecting:
        manual_payment_reject(request=waiting, by=maker, note="mine")
    assert approving.value.code == rejecting.value.code == "own_request"
    waiting.refresh_from_db()
    assert waiting.status == ManualPaymentStatus.PENDING
    assert not Payment.objects.exists()


def test_a_decider_needs_the_permission(customer, maker):
    waiting = _submit(customer, maker, amount="20000.00")
    agent = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    with pytest.raises(DomainError):
        manual_payment_approve(request=waiting, by=agent)
    assert not Payment.objects.exists()


def test_a_request_is_decided_once(customer, maker, checker):
    waiting = _submit(customer, maker, amount="20000.00")
    manual_payment_reject(request=waiting, by=checker, note="not on the statement")
    with pytest.raises(DomainError):
        manual_payment_approve(request=waiting, by=checker)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decision_note) == (ManualPaymentStatus.REJECTED, "not on the statement")
    assert not Payment.objects.exists()


def test_the_same_request_twice_is_one_request_and_a_conflict_is_refused(customer, maker):
    first = _submit(customer, maker, amount="20000.00")
    again = _submit(customer, maker, amount="20000.00")
    assert again.pk == first.pk
    with pytest.raises(DomainError):
        _submit(customer, maker, amount="30000.00")
    assert ManualPaymentRequest.objects.count() == 1


def test_a_request_for_a_posted_reference_is_refused(customer, maker):
    _submit(customer, maker, amount="10.00", reference="BANK-9")
    with pytest.raises(DomainError):
        manual_payment_request(
            customer=customer,
            amount=D("20000.00"),
            reference="BANK-9",
            received_at=timezone.now() - HOUR_AGO,
            method="alipay",
            requested_by=maker,
        )
    assert not ManualPaymentRequest.objects.exists()


def test_requests_and_decisions_are_in_the_audit_trail(customer, maker, checker):
    waiting = _submit(customer, maker, amount="20000.00")
    manual_payment_approve(request=waiting, by=checker)
    events = AuditEvent.objects.filter(content_type__model="manualpaymentrequest", object_id=str(waiting.pk))
    assert events.count() == 2
    assert "status" in events.order_by("created_at", "id").last().changes


# --- The admin ---------------------------------------------------------------------------------


def _post_payment(client, customer, amount):
    local = timezone.localtime(timezone.now() - HOUR_AGO)
    return client.post(
        reverse("admin:orders_payment_post", args=[customer.pk]),
        {
            "amount": amount,
            "reference": "ALIPAY-HUGE",
            "method": "alipay",
            "received_at_0": local.strftime("%Y-%m-%d"),
            "received_at_1": local.strftime("%H:%M:%S"),
            "reason": "wire",
        },
        follow=True,
    )


def test_the_post_payment_screen_sends_a_huge_payment_for_approval(client, customer, maker):
    login_verified(client, maker)

    response = _post_payment(client, customer, "999999999999.99")

    assert response.status_code == 200
    assert "second person" in response.text
    assert not Payment.objects.exists()
    waiting = ManualPaymentRequest.objects.get()
    assert (waiting.amount, waiting.requested_by) == (MONEY_MAX, maker)
    assert response.redirect_chain[-1][0] == reverse(
        "admin:orders_manualpaymentrequest_change", args=[waiting.pk]
    )


def _decide(client, action, requests, **extra):
    return client.post(
        reverse("admin:orders_manualpaymentrequest_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [r.pk for r in requests], **extra},
        follow=True,
    )


def test_a_colleague_approves_it_in_the_admin_and_the_requester_cannot(client, customer, maker, checker):
    login_verified(client, maker)
    _post_payment(client, customer, "20000.00")
    waiting = ManualPaymentRequest.objects.get()

    refused = _decide(client, "approve_requests", [waiting])
    assert "asked for themselves" in refused.text
    assert not Payment.objects.exists()

    login_verified(client, checker)
    listing = client.get(reverse("admin:orders_manualpaymentrequest_changelist"))
    assert "ALIPAY-HUGE" in listing.text
    _decide(client, "approve_requests", [waiting])

    waiting.refresh_from_db()
    assert waiting.status == ManualPaymentStatus.APPROVED
    assert Payment.objects.get().amount == D("20000.00")


def test_a_colleague_rejects_it_with_a_note(client, customer, maker, checker):
    login_verified(client, maker)
    _post_payment(client, customer, "20000.00")
    waiting = ManualPaymentRequest.objects.get()
    login_verified(client, checker)

    page = _decide(client, "reject_requests", [waiting])
    assert "note" in page.context["form"].fields
    _decide(client, "reject_requests", [waiting], apply="1", note="no such transfer")

    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by) == (ManualPaymentStatus.REJECTED, checker)
    assert not Payment.objects.exists()


def test_deciding_needs_the_permission(client, customer, maker):
    waiting = _submit(customer, maker, amount="20000.00")
    risk = UserFactory(roles=[Role.RISK_ANALYST], is_staff=True)
    login_verified(client, risk)
    _decide(client, "approve_requests", [waiting])
    waiting.refresh_from_db()
    assert waiting.status == ManualPaymentStatus.PENDING
    assert not Payment.objects.exists()
