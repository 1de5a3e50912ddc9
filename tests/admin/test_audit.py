"""The admin keeps the audit trail: who changed what, no revert around the rules, entries read-only."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditLineStatus, User
from accounts.roles import Role
from collection.models import CaseEvent, CaseEventType, CollectionCase
from orders.models import Component, OrderEvent, PaymentAllocation, Waiver
from orders.services import fee_waive, payment_post
from policy.models import Policy
from tests.conftest import login_verified
from tests.factories import (
    CollectionCaseFactory,
    CustomerFactory,
    UserFactory,
    delivered_order,
    waiver_requester,
)

D = Decimal


@pytest.fixture
def ops_admin(db):
    return UserFactory(username="ops", roles=[Role.OPERATIONS_ADMIN], is_staff=True)


def _user_form_data(client, user) -> tuple[str, dict]:
    url = reverse("admin:accounts_user_change", args=[user.pk])
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(value, datetime.datetime):
            local = timezone.localtime(value)
            data[f"{name}_0"], data[f"{name}_1"] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return url, data


def test_a_role_change_is_in_the_history_with_who_and_old_and_new(client, ops_admin):
    staff = UserFactory(username="newcomer", roles=[Role.COLLECTIONS_AGENT], is_staff=True)
    login_verified(client, ops_admin)
    url, data = _user_form_data(client, staff)
    data["groups"] = [Group.objects.get(name=Role.RISK_ANALYST).pk]
    data["timezone"] = "Asia/Urumqi"

    response = client.post(url, data)

    assert response.status_code == 302
    assert staff.role_names == [Role.RISK_ANALYST]
    record = staff.history.latest()
    assert record.history_user == ops_admin
    assert record.history_change_reason == "roles: Collections agent → Risk analyst"
    assert record.timezone == "Asia/Urumqi"
    history = client.get(reverse("admin:accounts_user_history", args=[staff.pk])).text
    assert "roles: Collections agent → Risk analyst" in history
    assert "Asia/Shanghai" in history and "Asia/Urumqi" in history  # old and new timezone


def test_roles_are_read_only_without_change_user_roles_and_a_crafted_post_is_refused(client, db):
    editor = UserFactory(is_staff=True)
    editor.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="accounts", codename__in=["view_user", "change_user"]
        )
    )
    staff = UserFactory(roles=[Role.COLLECTIONS_AGENT], is_staff=True)
    login_verified(client, editor)
    url, data = _user_form_data(client, staff)
    assert not {"groups", "is_superuser", "is_staff", "user_permissions"} & set(data)
    data.update(
        groups=[Group.objects.get(name=Role.OPERATIONS_ADMIN).pk],
        is_superuser="on",
        first_name="Renamed",
    )

    # The form has no such inputs: a request that sends them was crafted, and is refused whole.
    assert client.post(url, data).status_code == 403

    staff = User.objects.get(pk=staff.pk)
    assert staff.first_name != "Renamed"
    assert staff.role_names == [Role.COLLECTIONS_AGENT]
    assert not staff.is_superuser


def test_an_old_version_cannot_be_reverted(client, superuser):
    customer = CustomerFactory(name="旧名字")
    customer.name = "新名字"
    customer.save()
    login_verified(client, superuser)
    url = reverse(
        "admin:accounts_customer_simple_history", args=[customer.pk, customer.history.earliest().pk]
    )

    page = client.get(url)
    response = client.post(url, {"name": "旧名字"})

    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.name == "新名字"


@pytest.fixture
def entries(superuser):
    order = delivered_order(delivered_on=timezone.localdate() - datetime.timedelta(days=40))
    payment_post(customer=order.customer, amount=D("50.00"), reference="R-1", received_at=timezone.now())
    fee_waive(
        installment=order.installments.get(sequence=2),
        component=Component.FEE,
        amount=D("1.00"),
        reason="goodwill",
        approved_by=superuser,
        requested_by=waiver_requester(),
    )
    case = CollectionCaseFactory(customer=order.customer)
    CaseEvent.objects.create(case=case, type=CaseEventType.OPENED)
    return [
        PaymentAllocation.objects.first(),
        Waiver.objects.get(),
        OrderEvent.objects.first(),
        CaseEvent.objects.get(),
    ]


def test_entries_written_by_services_are_view_only_even_for_a_superuser(client, superuser, entries):
    login_verified(client, superuser)
    for entry in entries:
        opts = entry._meta
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[entry.pk])
        page = client.get(change)
        assert page.status_code == 200
        assert 'name="_save"' not in page.text
        assert client.post(change, {}).status_code == 403
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
        assert (
            client.post(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[entry.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
        assert type(entry).objects.filter(pk=entry.pk).exists()


# --- Policy versions -------------------------------------------------------------------------


def _policy_data(**overrides) -> dict:
    return {
        "effective_from": (timezone.localdate() + datetime.timedelta(days=7)).isoformat(),
        "note": "higher late fee",
        "pay_later_trial_days": "14",
        "fee_rate_pay_later": "0",
        "fee_rate_3": "0.018",
        "fee_rate_6": "0.036",
        "fee_rate_12": "0.072",
        "late_fee_grace_days": "3",
        "late_fee_daily_rate": "0.0006",
        "late_fee_cap_rate": "0.25",
        "late_fee_cap_amount": "200.00",
        "freeze_at_dpd": "1",
        "write_off_proposal_dpd": "180",
        "conduct_profile": "CN",
        **{
            f.name: f.get_default()
            for f in Policy._meta.concrete_fields
            if f.name.startswith(
                (
                    "reminder_",
                    "manual_payment_",
                    "queue_weight_",
                    "promise_",
                    "limit_increase_",
                    "decision_",
                    "restriction_",
                    "settlement_",
                )
            )
        },
        **overrides,
    }


def test_a_new_policy_version_is_added_for_a_future_date_and_audited(client, ops_admin):
    login_verified(client, ops_admin)
    add = reverse("admin:policy_policy_add")

    today = client.post(add, _policy_data(effective_from=timezone.localdate().isoformat()))
    response = client.post(add, _policy_data())

    assert today.status_code == 200 and "effective_from" in today.context["adminform"].form.errors
    assert response.status_code == 302, response.context["adminform"].form.errors
    version = Policy.objects.get(note="higher late fee")
    assert version.late_fee_daily_rate == D("0.0006")
    assert version.history.get().history_user == ops_admin


def test_the_policy_in_force_cannot_be_changed_or_deleted(client, ops_admin):
    in_force = Policy.objects.get(effective_from=datetime.date(2000, 1, 1))
    login_verified(client, ops_admin)
    url = reverse("admin:policy_policy_change", args=[in_force.pk])
    form = client.get(url).context["adminform"].form
    assert set(form.fields) == {"note"}

    response = client.post(url, {**_policy_data(), "note": "corrected note"})

    assert response.status_code == 302
    in_force.refresh_from_db()
    assert in_force.note == "corrected note"
    assert in_force.late_fee_daily_rate == D("0.0005")
    assert in_force.effective_from == datetime.date(2000, 1, 1)
    assert (
        client.post(reverse("admin:policy_policy_delete", args=[in_force.pk]), {"post": "yes"}).status_code
        == 403
    )
    changelist = client.get(reverse("admin:policy_policy_changelist"))
    assert 'value="delete_selected"' not in changelist.text


# --- Credit lines and cases ------------------------------------------------------------------


def test_freezing_a_credit_line_needs_a_reason_and_records_when(client, ops_admin):
    line = CustomerFactory().credit_line
    login_verified(client, ops_admin)
    url = reverse("admin:accounts_creditline_change", args=[line.pk])
    data = {
        "limit": "20000.00",
        "grade": "A",
        "score": "720",
        "status": CreditLineStatus.FROZEN,
        "status_reason": "",
    }

    refused = client.post(url, data)
    frozen = client.post(url, {**data, "status_reason": "fraud report"})

    assert refused.status_code == 200 and refused.context["adminform"].form.errors
    assert frozen.status_code == 302
    line.refresh_from_db()
    assert (line.status, line.status_reason) == (CreditLineStatus.FROZEN, "fraud report")
    assert line.status_changed_at is not None
    assert line.history.latest().history_user == ops_admin


def test_a_second_open_case_for_a_customer_is_a_form_error(client, ops_admin):
    case = CollectionCaseFactory()
    login_verified(client, ops_admin)

    response = client.post(
        reverse("admin:collections_collectioncase_add"),
        {
            "customer": case.customer.pk,
            # No agent: an operations admin may not assign cases (collection.services.case_assign).
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "customer" in response.context["adminform"].form.errors
    assert CollectionCase.objects.count() == 1


def test_an_agent_sees_only_the_own_cases(client, db):
    agent = UserFactory(roles=[Role.COLLECTIONS_AGENT], is_staff=True)
    mine = CollectionCaseFactory(assigned_agent=agent)
    other = CollectionCaseFactory()
    CaseEvent.objects.create(case=mine, type=CaseEventType.NOTE)
    CaseEvent.objects.create(case=other, type=CaseEventType.NOTE)
    login_verified(client, agent)

    cases = client.get(reverse("admin:collections_collectioncase_changelist")).context["cl"].result_list
    events = client.get(reverse("admin:collections_caseevent_changelist")).context["cl"].result_list

    assert [c.pk for c in cases] == [mine.pk]
    assert [e.case_id for e in events] == [mine.pk]
    assert client.get(reverse("admin:collections_collectioncase_change", args=[other.pk])).status_code == 302


# --- History pages in the reader's language --------------------------------------------------


def _history_headings(page: str) -> list[str]:
    head = page.split('<table id="change-history"', 1)[1].split("</thead>", 1)[0]
    return [cell.split(">", 1)[1].strip() for cell in head.split("</th>")[:-1]]


@pytest.mark.parametrize(
    ("language", "labels", "raw"),
    [
        ("zh-hans", ["额度金额", "信用等级", "状态", "状态原因"], "Credit limit"),
        ("en", ["Credit limit", "Grade", "Status", "Status reason"], "额度金额"),
    ],
)
def test_a_credit_line_history_names_its_fields_in_the_readers_language(client, db, language, labels, raw):
    reader = UserFactory(roles=[Role.OPERATIONS_ADMIN], is_staff=True, language=language)
    line = CustomerFactory().credit_line
    line.limit = D("5000.00")
    line.save()
    login_verified(client, reader)

    page = client.get(reverse("admin:accounts_creditline_history", args=[line.pk])).text

    # The columns of history_list_display (limit, grade, status, status_reason)...
    assert _history_headings(page)[1:5] == labels
    # ...and the changes, which simple-history already labels: both in one language.
    assert f"<strong>{labels[0]}:</strong>" in page
    assert raw not in page
    assert ">limit<" not in page and ">status_reason<" not in page


def test_a_history_page_costs_the_same_queries_for_three_versions_or_twelve(
    client, db, django_assert_max_num_queries
):
    """Each version is named without a query of its own (a credit line's name follows its
    customer), and an empty change reason shows as a dash, not "None"."""
    reader = UserFactory(roles=[Role.OPERATIONS_ADMIN], is_staff=True, language="en")
    few, many = CustomerFactory(platform_user_id="dy-few").credit_line, CustomerFactory().credit_line
    for line, versions in ((few, 3), (many, 12)):
        for n in range(versions):
            line.limit = D("1000.00") + n
            line.save()
    login_verified(client, reader)
    client.get(reverse("admin:accounts_creditline_history", args=[few.pk]))  # warm the caches

    with django_assert_max_num_queries(40) as small:
        page = client.get(reverse("admin:accounts_creditline_history", args=[few.pk])).text
    with django_assert_max_num_queries(40) as large:
        client.get(reverse("admin:accounts_creditline_history", args=[many.pk]))
    assert len(large.captured_queries) == len(small.captured_queries)
    assert "dy-few: ¥1002.00" in page
    # Saved outside a request: nobody in "Changed by", and a dash for the missing reason.
    assert "<td>None</td><td>—</td>" in page.replace(" ", "").replace("\n", "")
