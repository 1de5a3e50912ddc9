"""Every admin page loads for a superuser, on a book with many rows of every model, in few queries."""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect, ForeignKeyRawIdWidget
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer
from accounts.roles import Role
from collection.models import AssignmentRule, CaseEvent, CaseEventType, Team
from collection.services import contact_record, promise_make
from orders.models import Component, Installment, Order, Payment, Plan
from orders.services import fee_waive, manual_payment_request, payment_post
from policy.models import Policy
from reminders.models import OutboxMessage, Reminder
from settlements.services import arrangement_propose
from sweep.models import PortfolioSnapshot, SweepRun
from tests.conftest import login_verified
from tests.factories import (
    CollectionCaseFactory,
    CustomerFactory,
    EmergencyContactFactory,
    MerchantFactory,
    UserFactory,
    delivered_order,
    waiver_requester,
)
from tests.registry import (
    NOT_IN_ADMIN,
    OTHER_ADMIN_MODELS,
    PROJECT_ADMIN_MODELS,
    PROJECT_MODELS,
)
from tests.registry import model_admin as model_admin_of

ROWS = 20
# Fixed bounds: an N+1 over ROWS rows on any list would add at least ROWS queries.
CHANGELIST_MAX_QUERIES = 12
CHANGE_PAGE_MAX_QUERIES = 12

OUR_MODEL_ADMINS = [
    pytest.param(model, model_admin_of(model), id=model._meta.label) for model in PROJECT_ADMIN_MODELS
]
OTHER_MODELS = OTHER_ADMIN_MODELS


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def book(superuser):
    """ROWS rows (or more) of every model, made through the services where money is involved."""
    delivered_on = timezone.localdate() - datetime.timedelta(days=45)
    received_at = timezone.now() - datetime.timedelta(hours=1)
    agents = UserFactory.create_batch(ROWS, roles=[Role.COLLECTIONS_AGENT], is_staff=True)
    for n in range(ROWS):
        customer = CustomerFactory()
        EmergencyContactFactory(customer=customer)
        order = delivered_order(customer=customer, delivered_on=delivered_on, merchant=MerchantFactory())
        payment_post(
            customer=customer,
            amount=Decimal("100.00"),
            reference=f"PAY-{n}",
            received_at=received_at,
            posted_by=superuser,
        )
        second = order.installments.get(sequence=2)
        fee_waive(
            installment=second,
            component=Component.FEE,
            amount=Decimal("1.00"),
            reason="goodwill",
            approved_by=superuser,
            requested_by=waiver_requester(),
        )
        manual_payment_request(
            customer=customer,
            amount=Decimal("20000.00"),
            reference=f"BANK-{n}",
            received_at=received_at,
            method="bank_card",
            requested_by=agents[n],
        )
        case = CollectionCaseFactory(customer=customer, assigned_agent=agents[n])
        CaseEvent.objects.create(case=case, type=CaseEventType.OPENED, actor=agents[n])
        # An inbound call: allowed by the conduct rules at any hour the test runs.
        contact_record(
            case=case,
            agent=agents[n],
            channel="phone",
            party="debtor",
            direction="inbound",
            outcome="reached",
        )
        team = Team.objects.create(name=f"team {n}", manager=superuser)
        team.members.add(agents[n])
        AssignmentRule.objects.create(bucket="M1", team=team, created_by=superuser)
        promise_make(case=case, by=agents[n], amount=Decimal("10.00"), due_date=timezone.localdate())
        # A settlement waiting for a manager (the settlements app's admin is read only).
        arrangement_propose(case=case, by=agents[n], kind="settlement", fee_discount=Decimal("1.00"))
        policy = Policy.objects.create(
            effective_from=timezone.localdate() + datetime.timedelta(days=30 + n),
            note=f"version {n}",
            fee_rate_3=Decimal("0.018"),
            fee_rate_6=Decimal("0.036"),
            fee_rate_12=Decimal("0.072"),
            late_fee_daily_rate=Decimal("0.0005"),
            late_fee_cap_rate=Decimal("0.25"),
            late_fee_cap_amount=Decimal("200.00"),
        )
        day = timezone.localdate() - datetime.timedelta(days=100 + n)
        SweepRun.objects.create(business_date=day, policy=policy, chunk_size=100, triggered_by="test")
        PortfolioSnapshot.objects.create(business_date=day, bucket="current")
        now = timezone.now()
        Reminder.objects.create(
            key=f"pages:{n}",
            kind="T+1",
            offset_days=1,
            channel="sms",
            customer=customer,
            installment=second,
            business_date=timezone.localdate(),
            send_on=timezone.localdate(),
            not_before=now,
            next_attempt_at=now,
            recipient=customer.phone,
        )
        OutboxMessage.objects.create(key=f"pages:{n}", channel="sms", recipient=customer.phone, body="hi")
        from decisions.services import order_decide

        order_decide(
            customer=customer, amount=Decimal("50.00"), merchant=order.merchant, channel="mall", order=order
        )
    # Home visits (visits), through their services: requested ones and one done with a photo.
    from tests.visits.builders import done_visit, requested_visit

    done_visit(day=timezone.localdate())
    for _n in range(ROWS - 1):
        requested_visit(day=timezone.localdate())
    # The risk console: ROWS scorecards (with their bins), one active version that scored the
    # book, and ROWS limit increases waiting for a second analyst.
    from risk import services as risk
    from tests.risk.cards import hand_card

    maker = UserFactory(roles=[Role.RISK_ANALYST])
    versions = [hand_card(name=f"Pages card {n}", by=maker) for n in range(ROWS)]
    risk.scorecard_activation_request(version=versions[0], by=maker)
    risk.scorecard_activate(version=versions[0], by=superuser)
    risk.customers_rescore(on=timezone.localdate())
    for customer in Customer.objects.exclude(limit_changes__status="pending_approval")[:ROWS]:
        line = customer.credit_line
        if line.limit < Decimal("20000.00"):
            risk.limit_increase_propose(
                customer=customer, new_limit=line.limit + 1, by=maker, reason="pages", on=timezone.localdate()
            )


def test_every_model_of_the_console_is_registered():
    """Each model of the project has its admin pages (tests.registry), but the listed exceptions."""
    ours = {model._meta.label for model in PROJECT_MODELS}
    registered = {model._meta.label for model in PROJECT_ADMIN_MODELS}
    assert ours - registered == set(NOT_IN_ADMIN)
    assert {"orders.Order", "sweep.SweepRun", "reminders.Reminder", "audit.AuditEvent"} <= registered


def _assert_no_plain_select_of_a_big_table(form) -> None:
    """A foreign key is chosen by autocomplete or raw id: a <select> of every customer would not load."""
    for name, field in form.fields.items():
        if isinstance(field, forms.ModelChoiceField) and not isinstance(
            field, forms.ModelMultipleChoiceField
        ):
            widget = getattr(field.widget, "widget", field.widget)
            assert isinstance(widget, AutocompleteSelect | ForeignKeyRawIdWidget), f"{name}: {widget!r}"


def _search_term(model_admin, obj) -> str:
    """The value of obj's first search field that has one, so a search for it must find obj."""
    for search_field in model_admin.search_fields:
        path = search_field.lstrip("^=@").split("__")
        if path[-1] in {"exact", "iexact", "startswith", "istartswith", "icontains"}:
            path = path[:-1]
        value = obj
        for part in path:
            value = getattr(value, part)
        if value not in (None, ""):
            return str(value)
    raise AssertionError(f"{obj!r} has no value in any search field")


def test_pages_load_for_a_superuser(client, superuser, book, django_assert_max_num_queries):
    """Every model admin of ours: its list (and search), a change page, its history and its add
    page answer, each in a bounded number of queries. One book for all of them: building it is
    most of the cost (10-15 s on PostgreSQL), and per model it was 8 minutes of CI's second pass;
    every model is still checked, and each one's failure is reported by its label."""
    login_verified(client, superuser)
    failures = []
    for model, model_admin in ((p.values[0], p.values[1]) for p in OUR_MODEL_ADMINS):
        try:
            _pages_load(client, model, model_admin, django_assert_max_num_queries)
        except (AssertionError, pytest.fail.Exception) as failure:
            failures.append(f"{model._meta.label}: {failure}")
    assert not failures, "\n".join(failures)


def _pages_load(client, model, model_admin, django_assert_max_num_queries):
    assert model._default_manager.count() >= ROWS, "the book needs many rows to catch an N+1"

    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
        response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= ROWS

    obj = model._default_manager.order_by("pk").first()
    if model_admin.search_fields:
        with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
            response = client.get(_url(model, "changelist"), {"q": _search_term(model_admin, obj)})
        assert response.status_code == 200
        assert obj.pk in {row.pk for row in response.context["cl"].result_list}

    with django_assert_max_num_queries(CHANGE_PAGE_MAX_QUERIES):
        response = client.get(_url(model, "change", obj.pk))
    assert response.status_code == 200
    _assert_no_plain_select_of_a_big_table(response.context["adminform"].form)

    with django_assert_max_num_queries(CHANGE_PAGE_MAX_QUERIES):
        assert client.get(_url(model, "history", obj.pk)).status_code == 200

    request = response.wsgi_request
    if model_admin.has_add_permission(request):
        response = client.get(_url(model, "add"))
        assert response.status_code == 200
        _assert_no_plain_select_of_a_big_table(response.context["adminform"].form)
    else:
        assert client.get(_url(model, "add")).status_code == 403


def test_detail_pages_with_many_inline_rows_in_few_queries(client, superuser, django_assert_max_num_queries):
    """A customer with ROWS orders and contacts, a payment spread over ROWS instalments."""
    customer = CustomerFactory()
    EmergencyContactFactory.create_batch(ROWS, customer=customer)
    delivered_on = timezone.localdate() - datetime.timedelta(days=45)
    orders = [
        delivered_order(
            customer=customer, amount="120.00", plan=Plan.INSTALMENTS_12, delivered_on=delivered_on
        )
        for _ in range(ROWS)
    ]
    payment, _replayed = payment_post(
        customer=customer,
        amount=Decimal("5000.00"),
        reference="BIG-1",
        received_at=timezone.now(),
        posted_by=superuser,
    )
    assert payment.allocations.count() >= ROWS
    login_verified(client, superuser)

    for url in (
        _url(Customer, "change", customer.pk),
        _url(Payment, "change", payment.pk),
        _url(Order, "change", orders[0].pk),  # 12 instalments and their events
        _url(Installment, "change", orders[0].installments.first().pk),
    ):
        with django_assert_max_num_queries(CHANGE_PAGE_MAX_QUERIES):
            assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("model", OTHER_MODELS, ids=lambda m: m._meta.label)
def test_other_registered_models_load(client, superuser, model):
    login_verified(client, superuser)
    response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    may_add = admin.site._registry[model].has_add_permission(response.wsgi_request)
    assert client.get(_url(model, "add")).status_code == (200 if may_add else 403)


def test_money_models_cannot_be_added_or_deleted_by_hand(client, superuser, book):
    """Payments, instalments and orders come from services; entries are never edited."""
    login_verified(client, superuser)
    for model in (Order, Installment, Payment):
        assert client.get(_url(model, "add")).status_code == 403
        obj = model._default_manager.first()
        assert client.get(_url(model, "delete", obj.pk)).status_code == 403
