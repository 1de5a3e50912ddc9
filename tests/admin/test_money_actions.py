"""The admin's money actions call the services: right figures, refusals that change nothing, permissions."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from orders.models import (
    AllocationKind,
    Installment,
    InstallmentStatus,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Waiver,
)
from orders.selectors import customer_credit_balance
from orders.services import payment_post
from tests.conftest import login_verified
from tests.factories import CustomerFactory, UserFactory, delivered_order, waiver_requester

D = Decimal


@pytest.fixture
def ops_admin(db):
    return UserFactory(username="ops", roles=[Role.OPERATIONS_ADMIN], is_staff=True, language="en")


@pytest.fixture
def risk_analyst(db):
    """Staff who sees customers, instalments and payments but holds none of the money permissions."""
    return UserFactory(username="risk", roles=[Role.RISK_ANALYST], is_staff=True)


@pytest.fixture
def worked_example(db):
    """DESIGN.md's allocation example: instalment 1 overdue with 1.19 of late fee, 2 not yet due."""
    customer = CustomerFactory()
    order = delivered_order(
        customer=customer, delivered_on=timezone.localdate() - datetime.timedelta(days=40)
    )
    first, second = order.installments.order_by("sequence")[:2]
    assert (first.principal_due, first.fee_due) == (D("333.34"), D("6.00"))
    assert first.due_date < timezone.localdate() < second.due_date
    # What the nightly sweep leaves behind through 10 days past due.
    first.late_fee_due = D("1.19")
    first.late_fee_through = timezone.localdate()
    first.status = InstallmentStatus.OVERDUE
    first.save()
    return customer, first, second


def _received_at_fields(at: datetime.datetime) -> dict:
    local = timezone.localtime(at)
    return {"received_at_0": local.strftime("%Y-%m-%d"), "received_at_1": local.strftime("%H:%M:%S")}


def _post_payment(client, customer, **overrides):
    data = {
        "amount": "350.00",
        "reference": "ALIPAY-2026-0001",
        "method": "alipay",
        **_received_at_fields(timezone.now() - datetime.timedelta(hours=1)),
        **overrides,
    }
    return client.post(reverse("admin:orders_payment_post", args=[customer.pk]), data)


def _errors(response) -> str:
    return " ".join(str(e) for errors in response.context["form"].errors.values() for e in errors)


def _allocations(payment) -> list[tuple[int, str, Decimal]]:
    return [(a.installment.sequence, a.component, a.amount) for a in payment.allocations.order_by("id")]


# --- Post a payment ------------------------------------------------------------------------------


def test_post_a_payment_allocates_the_worked_example(client, ops_admin, worked_example):
    customer, first, second = worked_example
    login_verified(client, ops_admin)
    page = client.get(reverse("admin:orders_payment_post", args=[customer.pk]))
    assert page.status_code == 200
    assert "¥1.19" in page.text  # what is owed is shown before posting

    response = _post_payment(client, customer)

    payment = Payment.objects.get(external_reference="ALIPAY-2026-0001")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:orders_payment_change", args=[payment.pk])
    assert payment.posted_by == ops_admin
    assert _allocations(payment) == [
        (1, "late_fee", D("1.19")),
        (1, "fee", D("6.00")),
        (1, "principal", D("333.34")),
    ]
    assert payment.credit_created == D("9.47")
    assert customer_credit_balance(customer=customer) == D("9.47")
    first.refresh_from_db()
    assert first.status == InstallmentStatus.PAID
    second.refresh_from_db()
    assert second.principal_paid == D("0.00")


def test_a_payment_posted_in_the_admin_is_recorded_in_history_and_audit_under_its_poster(
    client, ops_admin, worked_example
):
    from audit.models import AuditEvent

    customer, first, _ = worked_example  # the payment settles the first; the rest is credit
    login_verified(client, ops_admin)
    assert _post_payment(client, customer).status_code == 302
    latest = first.history.latest()
    assert latest.history_user == ops_admin
    assert latest.status == InstallmentStatus.PAID
    event = AuditEvent.objects.get(history_id=latest.pk, content_type__model="installment")
    assert event.actor == ops_admin
    assert set(event.changes) >= {"principal_paid", "fee_paid", "late_fee_paid", "status"}


def test_the_customer_page_links_to_post_a_payment_only_with_the_permission(
    client, ops_admin, risk_analyst, worked_example
):
    customer, *_ = worked_example
    link = reverse("admin:orders_payment_post", args=[customer.pk])
    change = reverse("admin:accounts_customer_change", args=[customer.pk])
    login_verified(client, ops_admin)
    assert link in client.get(change).text
    login_verified(client, risk_analyst)
    assert link not in client.get(change).text


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"amount": "-350.00"}, "more than zero"),
        ({"amount": "0.00"}, "more than zero"),
        ({"amount": "350.001"}, ""),  # more than two decimals: refused by the form
        ({"reference": "   "}, ""),
        (_received_at_fields(timezone.now() + datetime.timedelta(days=2)), "future"),
    ],
)
def test_post_a_payment_refuses_bad_input_and_changes_nothing(
    client, ops_admin, worked_example, overrides, expected
):
    customer, first, _ = worked_example
    login_verified(client, ops_admin)

    response = _post_payment(client, customer, **overrides)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert expected in _errors(response)
    assert not Payment.objects.exists()
    assert not PaymentAllocation.objects.exists()
    first.refresh_from_db()
    assert first.principal_paid == D("0.00")


def test_a_reference_posted_for_another_amount_is_refused(client, ops_admin, worked_example):
    customer, first, _ = worked_example
    payment_post(
        customer=customer, amount=D("100.00"), reference="ALIPAY-2026-0001", received_at=timezone.now()
    )
    login_verified(client, ops_admin)

    response = _post_payment(client, customer, amount="350.00")

    assert response.status_code == 200
    assert "already posted" in _errors(response)
    assert Payment.objects.count() == 1
    assert Payment.objects.get().amount == D("100.00")
    first.refresh_from_db()
    assert first.principal_paid == D("92.81")  # 100.00 - 1.19 - 6.00, untouched by the refusal


def test_posting_the_same_reference_again_changes_nothing_and_says_so(client, ops_admin, worked_example):
    customer, *_ = worked_example
    login_verified(client, ops_admin)
    _post_payment(client, customer)

    response = _post_payment(client, customer, amount="350.00")

    assert response.status_code == 302
    assert Payment.objects.count() == 1
    assert PaymentAllocation.objects.count() == 3
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("already posted; nothing changed" in m for m in messages)


def test_post_payment_needs_the_permission(client, ops_admin, risk_analyst, worked_example):
    customer, *_ = worked_example
    login_verified(client, ops_admin)
    assert 'value="post_payment"' in client.get(reverse("admin:accounts_customer_changelist")).text
    login_verified(client, risk_analyst)
    assert risk_analyst.has_perm("accounts.view_customer")

    assert client.get(reverse("admin:orders_payment_post", args=[customer.pk])).status_code == 403
    assert _post_payment(client, customer).status_code == 403
    changelist = client.get(reverse("admin:accounts_customer_changelist"))
    assert changelist.status_code == 200
    assert 'value="post_payment"' not in changelist.text
    client.post(
        reverse("admin:accounts_customer_changelist"),
        {"action": "post_payment", ACTION_CHECKBOX_NAME: [customer.pk]},
    )
    assert not Payment.objects.exists()


def test_post_payment_action_opens_the_form_for_exactly_one_customer(client, ops_admin, worked_example):
    customer, *_ = worked_example
    other = CustomerFactory()
    login_verified(client, ops_admin)
    url = reverse("admin:accounts_customer_changelist")

    one = client.post(url, {"action": "post_payment", ACTION_CHECKBOX_NAME: [customer.pk]})
    assert one.status_code == 302
    assert one["Location"] == reverse("admin:orders_payment_post", args=[customer.pk])

    two = client.post(
        url, {"action": "post_payment", ACTION_CHECKBOX_NAME: [customer.pk, other.pk]}, follow=True
    )
    assert "Select exactly one customer" in two.text


# --- Reverse a payment ---------------------------------------------------------------------------


@pytest.fixture
def posted(worked_example, ops_admin):
    customer, first, _ = worked_example
    payment, _replayed = payment_post(
        customer=customer,
        amount=D("350.00"),
        reference="WX-1",
        received_at=timezone.now() - datetime.timedelta(hours=1),
        posted_by=ops_admin,
    )
    return payment, first


def _reverse(client, payments, **extra):
    return client.post(
        reverse("admin:orders_payment_changelist"),
        {"action": "reverse_payment", ACTION_CHECKBOX_NAME: [p.pk for p in payments], **extra},
    )


def test_reverse_payment_asks_for_a_reason_then_undoes_the_allocations(client, ops_admin, posted):
    payment, first = posted
    login_verified(client, ops_admin)

    page = _reverse(client, [payment])
    assert page.status_code == 200
    assert "WX-1" in page.text
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.POSTED  # asking is not doing

    response = _reverse(client, [payment], apply="1", reason="provider recalled the payment")

    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REVERSED
    assert payment.reversed_by == ops_admin
    assert payment.reversal_reason == "provider recalled the payment"
    reversal = payment.allocations.filter(kind=AllocationKind.REVERSAL)
    assert sorted(a.amount for a in reversal) == [D("-333.34"), D("-6.00"), D("-1.19")]
    assert payment.allocations.count() == 6  # nothing deleted
    first.refresh_from_db()
    assert (first.principal_paid, first.fee_paid, first.late_fee_paid) == (D("0.00"), D("0.00"), D("0.00"))
    assert first.status == InstallmentStatus.OVERDUE
    assert customer_credit_balance(customer=payment.customer) == D("0.00")


def test_reverse_payment_needs_a_reason(client, ops_admin, posted):
    payment, _ = posted
    login_verified(client, ops_admin)

    response = _reverse(client, [payment], apply="1", reason="   ")

    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.POSTED
    assert payment.allocations.count() == 3


def test_reversing_twice_is_refused_and_changes_nothing(client, ops_admin, posted, worked_example):
    payment, _ = posted
    login_verified(client, ops_admin)
    _reverse(client, [payment], apply="1", reason="first")
    other, _replayed = payment_post(
        customer=worked_example[0], amount=D("5.00"), reference="WX-2", received_at=timezone.now()
    )

    response = _reverse(client, [payment, other], apply="1", reason="again")

    assert response.status_code == 200
    assert "already been reversed" in _errors(response)
    payment.refresh_from_db()
    assert payment.reversal_reason == "first"
    assert payment.allocations.count() == 6
    other.refresh_from_db()
    assert other.status == PaymentStatus.POSTED  # all or nothing: the good one was not reversed either


def test_reverse_payment_needs_the_permission(client, ops_admin, risk_analyst, posted):
    payment, _ = posted
    login_verified(client, ops_admin)
    assert 'value="reverse_payment"' in client.get(reverse("admin:orders_payment_changelist")).text
    login_verified(client, risk_analyst)
    changelist = client.get(reverse("admin:orders_payment_changelist"))
    assert changelist.status_code == 200
    assert 'value="reverse_payment"' not in changelist.text

    _reverse(client, [payment], apply="1", reason="not mine to do")

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.POSTED


# --- Waive a fee ---------------------------------------------------------------------------------


def _waive(client, installments, follow=False, **extra):
    if "apply" in extra:
        # What the waive page holds: a fresh token, and the colleague who asked for the waiver.
        extra = {"token": str(uuid.uuid4()), "requested_by": waiver_requester().pk, **extra}
    return client.post(
        reverse("admin:orders_installment_changelist"),
        {"action": "waive_fee", ACTION_CHECKBOX_NAME: [i.pk for i in installments], **extra},
        follow=follow,
    )


def test_waive_late_fee_records_a_waiver_approved_by_the_user(client, ops_admin, worked_example):
    _, first, _ = worked_example
    login_verified(client, ops_admin)
    assert _waive(client, [first]).status_code == 200

    response = _waive(
        client, [first], apply="1", component="late_fee", amount="1.19", reason="first time late"
    )

    assert response.status_code == 302
    first.refresh_from_db()
    assert first.late_fee_waived == D("1.19")
    assert first.outstanding("late_fee") == D("0.00")
    waiver = Waiver.objects.get()
    assert (waiver.component, waiver.amount, waiver.approved_by) == ("late_fee", D("1.19"), ops_admin)
    assert waiver.reason == "first time late"
    assert waiver.requested_by not in (None, ops_admin)


def test_the_same_waive_form_submitted_twice_makes_one_waiver(client, ops_admin, worked_example):
    _, first, _ = worked_example
    login_verified(client, ops_admin)
    page = _waive(client, [first])
    token = page.context["form"]["token"].value()
    assert f'name="token" value="{token}"' in page.text
    data = {"component": "late_fee", "amount": "0.50", "reason": "goodwill", "token": str(token)}

    once = _waive(client, [first], apply="1", **data)
    twice = _waive(client, [first], apply="1", **data, follow=True)

    assert once.status_code == 302
    assert "already recorded" in twice.text
    assert Waiver.objects.count() == 1
    first.refresh_from_db()
    assert first.late_fee_waived == D("0.50")


def test_the_approver_cannot_name_themselves_as_requester(client, ops_admin, worked_example):
    _, first, _ = worked_example
    login_verified(client, ops_admin)
    page = _waive(client, [first])
    assert ops_admin not in page.context["form"].fields["requested_by"].queryset

    response = _waive(
        client, [first], apply="1", component="fee", amount="1.00", reason="mine", requested_by=ops_admin.pk
    )

    assert response.status_code == 200
    assert "requested_by" in response.context["form"].errors
    assert not Waiver.objects.exists()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"component": "late_fee", "amount": "1.20", "reason": "too much"}, "Only ¥1.19"),
        ({"component": "fee", "amount": "6.01", "reason": "too much"}, "Only ¥6.00"),
        ({"component": "late_fee", "amount": "-1.00", "reason": "negative"}, "more than zero"),
        ({"component": "late_fee", "amount": "1.00", "reason": ""}, ""),
        ({"component": "principal", "amount": "1.00", "reason": "not a fee"}, ""),
    ],
)
def test_waive_refuses_bad_input_and_changes_nothing(client, ops_admin, worked_example, data, expected):
    _, first, _ = worked_example
    login_verified(client, ops_admin)

    response = _waive(client, [first], apply="1", **data)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert expected in _errors(response)
    assert not Waiver.objects.exists()
    first.refresh_from_db()
    assert (first.late_fee_waived, first.fee_waived) == (D("0.00"), D("0.00"))


def test_waive_works_on_exactly_one_instalment(client, ops_admin, worked_example):
    _, first, second = worked_example
    login_verified(client, ops_admin)
    response = _waive(
        client, [first, second], apply="1", component="fee", amount="1.00", reason="x", follow=True
    )
    assert "Select exactly one instalment" in response.text
    assert not Waiver.objects.exists()


def test_waive_needs_the_permission(client, ops_admin, worked_example):
    _, first, _ = worked_example
    login_verified(client, ops_admin)
    assert 'value="waive_fee"' in client.get(reverse("admin:orders_installment_changelist")).text
    agent = UserFactory(roles=[Role.COLLECTIONS_AGENT], is_staff=True)
    login_verified(client, agent)
    assert agent.has_perm("orders.view_installment")
    changelist = client.get(reverse("admin:orders_installment_changelist"))
    assert changelist.status_code == 200
    assert 'value="waive_fee"' not in changelist.text

    _waive(client, [first], apply="1", component="late_fee", amount="1.19", reason="not allowed")

    assert not Waiver.objects.exists()


# --- The audit trail -----------------------------------------------------------------------------


def test_instalment_history_shows_old_and_new_principal_paid_and_who(client, ops_admin, worked_example):
    customer, first, _ = worked_example
    login_verified(client, ops_admin)
    _post_payment(client, customer)

    page = client.get(reverse("admin:orders_installment_history", args=[first.pk])).text

    rows = re.findall(r"<tr>.*?</tr>", page, flags=re.S)
    [row] = [r for r in rows if "Principal paid:" in r]
    assert re.search(r"Principal paid:</strong>\s*0\.00\s*&nbsp;&rarr;&nbsp;&nbsp;333\.34", row)
    assert re.search(r"Late fee paid:</strong>\s*0\.00\s*&nbsp;&rarr;&nbsp;&nbsp;1\.19", row)
    assert ">ops</a>" in row


def test_money_fields_cannot_be_edited_in_the_change_forms(client, ops_admin, posted):
    payment, first = posted
    login_verified(client, ops_admin)
    url = reverse("admin:orders_installment_change", args=[first.pk])
    form = client.get(url).context["adminform"].form
    assert not {"principal_paid", "fee_paid", "late_fee_paid", "late_fee_due", "fee_waived", "status"} & set(
        form.fields
    )

    response = client.post(
        url,
        {
            "due_date": (first.due_date + datetime.timedelta(days=1)).isoformat(),
            "hold_days": "0",
            "late_fee_through": "",
            "principal_paid": "0.00",
            "status": "scheduled",
            "allocations-TOTAL_FORMS": "0",
            "allocations-INITIAL_FORMS": "0",
            "waivers-TOTAL_FORMS": "0",
            "waivers-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    first.refresh_from_db()
    assert (first.principal_paid, first.status) == (D("333.34"), InstallmentStatus.PAID)
    assert first.due_date == first.history.earliest().due_date + datetime.timedelta(
        days=1
    )  # the date fix applied

    payment_form = (
        client.get(reverse("admin:orders_payment_change", args=[payment.pk])).context["adminform"].form
    )
    assert set(payment_form.fields) == {"method"}
    assert Installment.objects.filter(pk=first.pk, principal_paid=D("333.34")).exists()


def test_reversal_of_a_whole_table_is_refused(client, ops_admin):
    customer = CustomerFactory()
    for n in range(51):
        payment_post(customer=customer, amount=D("1.00"), reference=f"TINY-{n}", received_at=timezone.now())
    login_verified(client, ops_admin)

    response = _reverse(client, Payment.objects.all(), select_across="1", apply="1", reason="oops")

    assert response.status_code == 302
    assert not Payment.objects.filter(status=PaymentStatus.REVERSED).exists()
