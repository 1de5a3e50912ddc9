"""`manage.py seed_demo`: a deterministic demo book that keeps every money, ageing and safety rule."""

import datetime
import hashlib
import io
import json
import re
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Sum
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditLine, CreditLineStatus, Customer, EmergencyContact, Grade, User
from accounts.roles import Role
from accounts.services import overdue_freeze_reason
from bnpl_admin.money import ZERO, apply_rate
from collection.models import Bucket, CaseStatus, CollectionCase
from demo.seeder import GRADE_LIMITS, STAFF, national_id_check_char
from orders.ledger import LateFeeTerms, late_fee_accrue, late_fee_days, schedule_lines, status_on
from orders.models import (
    AllocationKind,
    Component,
    Installment,
    InstallmentStatus,
    Order,
    OrderEvent,
    OrderEventType,
    OrderStatus,
    Payment,
    PaymentAllocation,
)
from policy.selectors import policy_in_force
from settlements.models import ArrangementRequest, ArrangementStatus
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db

PAID_FIELD = {
    Component.LATE_FEE: "late_fee_paid",
    Component.FEE: "fee_paid",
    Component.PRINCIPAL: "principal_paid",
}


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def book() -> str:
    """120 customers: enough for every persona and every bucket, small enough to seed in seconds."""
    return seed("--customers", "120", "--seed", "7")


def logins(output: str) -> dict[str, tuple[str, str]]:
    """username -> (role, password) from the table the command prints."""
    table = output.split("Staff logins", 1)[1].splitlines()[2:]
    rows = {}
    for line in table:
        match = re.match(r"^\s+(\S+)\s+(.+?)\s{2,}(\S.*)$", line)
        if match:
            rows[match[1]] = (match[2].strip(), match[3].strip())
    return rows


def fingerprint() -> str:
    """Everything the seed decides, keyed by natural keys (primary keys differ between databases)."""

    def rows(queryset, *fields):
        return [tuple(str(v) for v in row) for row in queryset.values_list(*fields)]

    parts = [
        rows(
            Customer.objects.order_by("platform_user_id"),
            *("platform_user_id", "name", "phone", "email", "national_id", "province", "city"),
            *("district", "street", "timezone", "language", "status", "created_at"),
        ),
        # Not status_changed_at: the demo's rescoring (risk) freezes grade-E lines when it runs.
        rows(
            CreditLine.objects.order_by("customer__platform_user_id"),
            *("customer__platform_user_id", "limit", "status", "status_reason"),
            *("score", "grade"),
        ),
        rows(
            EmergencyContact.objects.order_by("customer__platform_user_id", "name", "phone", "relationship"),
            *("customer__platform_user_id", "name", "relationship", "phone"),
        ),
        rows(
            Order.objects.order_by("external_reference"),
            *("external_reference", "customer__platform_user_id", "merchant__name", "channel"),
            *("item_summary", "amount", "plan", "fee_rate", "fee_amount", "status", "decline_reasons"),
            *("hold", "hold_since", "placed_at", "shipped_at", "delivered_at", "closed_at"),
        ),
        rows(
            Installment.objects.order_by("order__external_reference", "sequence"),
            *("order__external_reference", "sequence", "due_date", "principal_due", "fee_due"),
            *("late_fee_due", "principal_paid", "fee_paid", "late_fee_paid", "late_fee_through"),
            *("status", "paid_at"),
        ),
        rows(
            Payment.objects.order_by("external_reference"),
            *("external_reference", "customer__platform_user_id", "amount", "received_at", "method"),
            *("status", "credit_created"),
        ),
        sorted(
            rows(
                PaymentAllocation.objects.all(),
                *("payment__external_reference", "installment__order__external_reference"),
                *("installment__sequence", "component", "amount", "kind", "business_date"),
            )
        ),
        sorted(
            (e.order.external_reference, e.type, str(e.created_at), json.dumps(e.payload, sort_keys=True))
            for e in OrderEvent.objects.select_related("order").filter(actor__isnull=True)
        ),
        # Events of what staff decided through the services (the seeded settlements) are dated
        # when they ran: compared without their time.
        # Their reasons name the request by its id, which PostgreSQL's sequences do not roll back.
        sorted(
            (
                e.order.external_reference,
                e.type,
                re.sub(
                    r"(restructure|settlement|write-off) \d+", r"\1 #", json.dumps(e.payload, sort_keys=True)
                ),
            )
            for e in OrderEvent.objects.select_related("order").filter(actor__isnull=False)
        ),
        sorted(
            rows(
                CollectionCase.objects.all(),
                *("customer__platform_user_id", "status", "days_past_due", "bucket"),
                *("assigned_agent__username", "opened_at", "closed_at"),
            )
        ),
        rows(User.objects.order_by("username"), "username", "first_name", "last_name", "is_staff"),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def test_the_same_seed_gives_the_same_book_and_another_seed_another():
    import time_machine

    prints = []
    # One moment for every seeding: the promises are made and paid through the services, whose
    # events are stamped with the clock (one seed on one day gives the same book, at one moment).
    moment = timezone.now()
    for seed_value in ("5", "5", "6"):
        rollback_to = transaction.savepoint()
        with time_machine.travel(moment, tick=False):
            seed("--customers", "50", "--seed", seed_value)
        assert Customer.objects.count() == 50
        prints.append(fingerprint())
        transaction.savepoint_rollback(rollback_to)
    assert prints[0] == prints[1]
    assert prints[0] != prints[2]


def test_every_payment_and_instalment_balances_to_the_fen(book):
    payments = list(Payment.objects.all())
    assert len(payments) > 100
    kinds = Counter(PaymentAllocation.objects.values_list("kind", flat=True))
    assert kinds[AllocationKind.PAYMENT] and kinds[AllocationKind.CREDIT]  # some credit balance was applied
    for payment in payments:
        at_posting = payment.allocations.filter(kind=AllocationKind.PAYMENT).aggregate(s=Sum("amount"))["s"]
        net = payment.allocations.aggregate(s=Sum("amount"))["s"] or ZERO
        assert (at_posting or ZERO) + payment.credit_created == payment.amount, payment
        assert ZERO <= net <= payment.amount, payment

    allocated = defaultdict(lambda: ZERO)
    for installment_id, component, amount in PaymentAllocation.objects.values_list(
        "installment_id", "component", "amount"
    ):
        allocated[(installment_id, component)] += amount
    today = timezone.localdate()
    for installment in Installment.objects.all():
        for component, field in PAID_FIELD.items():
            assert getattr(installment, field) == allocated[(installment.pk, component)], (installment, field)
        assert installment.status == status_on(installment, today), installment
        assert (installment.status == InstallmentStatus.PAID) == (installment.paid_at is not None)


def test_every_schedule_adds_up_to_its_order(book):
    returned = {
        e.order_id: Decimal(e.payload["amount"])
        for e in OrderEvent.objects.filter(type=OrderEventType.RETURNED)
    }
    # An approved settlement or restructure changed its customer's schedules through the services
    # (tests/settlements checks those sums); the rest are as the seed built them.
    arranged = ArrangementRequest.objects.filter(status=ArrangementStatus.APPROVED).values("customer")
    orders = Order.objects.exclude(customer__in=arranged).prefetch_related("installments")
    checked = 0
    for order in orders:
        installments = sorted(order.installments.all(), key=lambda i: i.sequence)
        assert order.fee_amount == apply_rate(order.amount, order.fee_rate)
        if order.delivered_at is None:
            assert not installments, order
            continue
        assert sum(i.principal_due for i in installments) == order.amount - returned.get(order.pk, ZERO)
        if order.pk in returned:
            assert sum(i.fee_due for i in installments) <= order.fee_amount
            continue
        policy = policy_in_force(on=timezone.localdate(order.delivered_at))
        expected = schedule_lines(
            principal=order.amount,
            fee_rate=order.fee_rate,
            installments=order.installment_count,
            delivered_on=timezone.localdate(order.delivered_at),
            trial_days=policy.pay_later_trial_days,
        )
        assert [(i.sequence, i.due_date, i.principal_due, i.fee_due) for i in installments] == [
            (line.sequence, line.due_date, line.principal, line.fee) for line in expected
        ]
        assert sum(i.fee_due for i in installments) == order.fee_amount
        paid_up = all(i.status == InstallmentStatus.PAID for i in installments)
        assert (order.status == OrderStatus.COMPLETED) == paid_up, order
        checked += 1
    assert checked > 100


def test_late_fees_are_accrued_through_yesterday_and_capped(book):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    terms = LateFeeTerms.from_policy(policy_in_force(on=yesterday))
    orders = (
        Order.objects.filter(installments__late_fee_due__gt=0).distinct().prefetch_related("installments")
    )
    assert orders, "somebody paid late"
    for order in orders:
        installments = list(order.installments.all())
        principal = sum(i.principal_due for i in installments)
        assert sum(i.late_fee_due for i in installments) <= min(
            apply_rate(principal, terms.cap_rate), terms.cap_amount
        )
    overdue = list(Installment.objects.filter(status=InstallmentStatus.OVERDUE).select_related("order"))
    capped = {order.pk for order in orders if sum(i.late_fee_due for i in order.installments.all()) >= 200}
    for installment in overdue:
        # Accrued through the last day a fee was charged: yesterday, for every instalment still
        # bearing one (past grace, not on hold, its order under the cap).
        if installment.late_fee_through is not None:
            assert installment.late_fee_through <= yesterday, installment
        assert (installment.late_fee_through is None) == (installment.late_fee_due == ZERO), installment
        if (
            late_fee_days(installment, yesterday, terms.grace_days) == 0
            and installment.late_fee_through is None
        ):
            continue
        if (
            not installment.order.hold
            and installment.order_id not in capped
            and installment.principal_paid == 0
        ):
            assert installment.late_fee_through == yesterday, installment
    # The sweep for yesterday, run again, finds nothing left to add.
    by_order = defaultdict(list)
    for installment in Installment.objects.filter(order__in={i.order_id for i in overdue}):
        by_order[installment.order_id].append(installment)
    for installments in by_order.values():
        assert (
            late_fee_accrue(installments=installments, through=yesterday, terms_on=lambda day: terms) == ZERO
        )


def test_every_open_case_shows_what_its_customer_owes_overdue(book):
    """The queue's amount overdue is stored on the case (kept by the sweep and the money
    services); the seeder writes the book directly, so it must set it as the sweep would: the
    demo's queue showed ¥0.00 for every case the services had not touched."""
    from collection.selectors import amount_overdue

    cases = list(CollectionCase.objects.open().annotate(owed=amount_overdue()))
    assert cases
    assert [(case.pk, case.amount_overdue) for case in cases] == [(case.pk, case.owed) for case in cases]
    assert sum(1 for case in cases if case.amount_overdue > 0) > len(cases) // 2


def test_every_customer_in_arrears_has_one_open_case_and_a_frozen_line(book):
    today = timezone.localdate()
    oldest_overdue = {}
    # Customers with a settlement, restructure or write-off seeded (through the services) have
    # their case moved on by it: tests/settlements covers those.
    arranged = set(ArrangementRequest.objects.values_list("customer_id", flat=True))
    assert arranged
    for customer_id, due in (
        Installment.objects.filter(status=InstallmentStatus.OVERDUE)
        .exclude(customer__in=arranged)
        .values_list("customer_id", "due_date")
    ):
        oldest_overdue[customer_id] = min(due, oldest_overdue.get(customer_id, due))
    assert oldest_overdue
    open_cases = defaultdict(list)
    for case in CollectionCase.objects.open().exclude(customer__in=arranged):
        open_cases[case.customer_id].append(case)
    assert set(open_cases) == set(oldest_overdue)
    agents = set(User.objects.filter(groups__name=Role.COLLECTIONS_AGENT).values_list("pk", flat=True))
    # Home visits (demo.seeder.visits_seed) move their cases along the case map; the others are open.
    from visits.models import Visit

    visit_statuses = {
        CaseStatus.VISIT_REQUESTED,
        CaseStatus.VISIT_SCHEDULED,
        CaseStatus.VISITED,
        CaseStatus.CONTACTED,  # a rejected request
    }
    visited = set(Visit.objects.values_list("case_id", flat=True))
    assert visited, "the demo has home visits"
    for customer_id, due in oldest_overdue.items():
        (case,) = open_cases[customer_id]
        dpd = (today - due).days
        if not case.promises.exists():  # a promise's payment may have paid the oldest: the next sweep ages it
            assert (case.days_past_due, case.bucket) == (dpd, Bucket.for_dpd(dpd))
        # Open, or moved on by a promise to pay (demo.seeder.promises_seed) or a home visit
        # (demo.seeder.visits_seed) along the case map.
        moved_on = {CaseStatus.PROMISED, CaseStatus.CONTACTED, CaseStatus.BROKEN_PROMISE}
        assert case.status in (
            {CaseStatus.OPEN} | moved_on | (visit_statuses if case.pk in visited else set())
        )
        assert case.assigned_agent_id in agents
        line = CreditLine.objects.get(customer_id=customer_id)
        # Frozen as the sweep freezes, the night the arrears reached the policy's threshold, with
        # the sweep's reason in the business's language (a Chinese console showed it in English).
        frozen_on = timezone.localtime(line.status_changed_at).date()
        freeze_at = policy_in_force(on=today).freeze_at_dpd
        assert (line.status, line.status_reason) == (
            CreditLineStatus.FROZEN,
            f"逾期：已逾期 {freeze_at} 天（{frozen_on:%Y-%m-%d} 日终批处理）",
        )
        assert line.status_reason == overdue_freeze_reason(days=freeze_at, on=frozen_on)
    # Every other frozen line was frozen by the demo's rescoring (grade E), with its limit change,
    # or by the demo's bulk restriction of a flagged merchant's customers (restrictions.Restriction).
    frozen = (
        CreditLine.objects.filter(status=CreditLineStatus.FROZEN)
        .exclude(customer_id__in=oldest_overdue)
        .exclude(customer__in=arranged)
        .exclude(restrictions__isnull=False)
    )
    assert not frozen.exclude(customer__limit_changes__kind="freeze").exists()
    buckets = Counter(CollectionCase.objects.open().values_list("bucket", flat=True))
    assert buckets[Bucket.M4] >= 1, buckets
    per_agent = Counter(CollectionCase.objects.open().values_list("assigned_agent", flat=True))
    assert max(per_agent.values()) - min(per_agent.values()) <= 1  # round robin

    resolved = CollectionCase.objects.filter(status=CaseStatus.RESOLVED)
    assert resolved.exists()
    assert not resolved.filter(closed_at__isnull=True).exists()
    for case in resolved:
        assert case.opened_at < case.closed_at
        assert case.bucket == Bucket.for_dpd(case.days_past_due)


def test_customers_look_like_customers(book):
    customers = list(Customer.objects.select_related("credit_line").prefetch_related("emergency_contacts"))
    assert len(customers) == 120
    for customer in customers:
        assert re.fullmatch(r"1[3-9]\d{9}", customer.phone), customer.phone
        assert re.fullmatch(r"\d{17}[\dX]", customer.national_id)
        assert national_id_check_char(customer.national_id[:17]) == customer.national_id[17]
        assert customer.province and customer.city and customer.district and customer.street
        assert customer.timezone in {"Asia/Shanghai", "Asia/Urumqi"}
        assert 1 <= len(customer.emergency_contacts.all()) <= 2
        # As the book was seeded (its baseline history row), before the demo's rescoring regrades it.
        seeded = customer.credit_line.history.order_by("history_date", "history_id").first()
        assert seeded.limit == GRADE_LIMITS[seeded.grade]
    assert Counter(c.language for c in customers)["zh-hans"] > 90
    seeded_e = CreditLine.history.filter(history_type="+", grade=Grade.E).values("customer_id")
    no_credit = Order.objects.filter(customer_id__in=seeded_e)
    assert not no_credit.exclude(status=OrderStatus.DECLINED).exists()
    statuses = Counter(Order.objects.values_list("status", flat=True))
    for status in (OrderStatus.DECLINED, OrderStatus.CANCELLED, OrderStatus.RETURNED, OrderStatus.COMPLETED):
        assert statuses[status], statuses
    assert statuses[OrderStatus.SHIPPED] + statuses[OrderStatus.APPROVED], statuses
    amounts = list(Order.objects.values_list("amount", flat=True))
    assert min(amounts) >= Decimal("39.00") and max(amounts) <= Decimal("8000.00")
    assert sorted(amounts)[len(amounts) // 2] < Decimal("500.00")  # skewed low


def test_every_role_gets_a_login_that_works(book):
    table = logins(book)
    assert set(table) == {username for username, _role in STAFF}
    assert len({password for _role, password in table.values()}) == len(table)
    for username, role in STAFF:
        printed_role, password = table[username]
        assert len(password) >= 12
        user = authenticate(RequestFactory().post("/login/"), username=username, password=password)
        assert user is not None, username
        assert user.first_name and user.last_name
        if role is None:
            assert user.is_superuser and user.is_staff
        else:
            assert printed_role == role
            assert user.has_role(role)
            assert user.is_staff == (role == Role.OPERATIONS_ADMIN)


def test_refuses_a_database_with_data_unless_told(book):
    before = fingerprint()
    with pytest.raises(CommandError, match="already holds 120 customers"):
        seed("--customers", "10", "--seed", "8")
    assert seed("--if-empty", "--customers", "10") == "database already has data; not seeding\n"
    with pytest.raises(CommandError, match="seed 7"):
        seed("--force", "--customers", "10", "--seed", "7")
    assert fingerprint() == before

    more = seed("--force", "--customers", "10", "--seed", "8")
    assert Customer.objects.count() == 130
    assert "(existing user; password unchanged)" in more
    assert (
        authenticate(RequestFactory().post("/login/"), username="ops", password=logins(book)["ops"][1])
        is not None
    )


def test_if_empty_seeds_an_empty_database():
    output = seed("--if-empty", "--customers", "5", "--seed", "3")
    assert "Staff logins" in output
    assert Customer.objects.count() == 5


def test_every_admin_page_opens_for_a_superuser(client, book):
    superuser = User.objects.get(username="admin")
    login_verified(client, superuser)
    request = RequestFactory().get("/admin/")
    request.user = superuser
    assert admin.site._registry
    for model, model_admin in admin.site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls = [reverse(f"{name}_changelist")]
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{name}_add"))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls.append(reverse(f"{name}_change", args=[quote(obj.pk)]))
            urls.append(reverse(f"{name}_history", args=[quote(obj.pk)]))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)


def test_every_seeded_row_has_a_baseline_history_row():
    from tests.registry import HISTORY_MODELS

    # Rows written before the seed (the policy in force, by a migration) are not the seeder's.
    before = {model: set(model._default_manager.values_list("pk", flat=True)) for model in HISTORY_MODELS}
    seed("--customers", "20", "--seed", "3")
    seeded, without = {}, {}
    for model in HISTORY_MODELS:
        new = model._default_manager.exclude(pk__in=before[model])
        seeded[model._meta.label] = new.count()
        missing = new.exclude(pk__in=model.history.values("id")).count()
        if missing:
            without[model._meta.label] = missing
    assert without == {}
    # The seed wrote rows of each model it has: customers, lines, contacts, orders, instalments,
    # payments, cases, merchants and staff users.
    assert all(seeded[label] for label in ("accounts.Customer", "orders.Installment", "orders.Merchant")), (
        seeded
    )
    assert Installment.history.filter(history_type="+", history_change_reason="demo book").exists()


def test_the_first_change_to_a_seeded_row_shows_the_old_value(book):
    line = CreditLine.objects.order_by("pk").first()
    old_limit = line.limit
    line.limit = old_limit + Decimal("100.00")
    line.save()
    latest, baseline = line.history.order_by("-history_date", "-history_id")[:2]
    changes = {change.field: change for change in latest.diff_against(baseline).changes}
    assert changes["limit"].old == old_limit
    assert changes["limit"].new == old_limit + Decimal("100.00")


def test_open_cases_have_a_contact_history_within_the_conduct_rules(book):
    from collection.models import CaseEvent, CaseEventType, CollectionCase, ContactAttempt
    from policy.conduct import PROFILES, PastContact, contact_decision, customer_zone

    contacts = ContactAttempt.objects.select_related("case", "customer")
    assert contacts.exists()
    assert not contacts.filter(case__closed_at__isnull=False).exists()
    assert CaseEvent.objects.filter(type=CaseEventType.CONTACT).count() == contacts.count()
    assert CollectionCase.objects.open().filter(contacts__isnull=False).distinct().count() > 1
    # Replayed in order, every seeded contact is one the rules of either profile allow.
    by_customer: dict[int, list[PastContact]] = {}
    for contact in contacts.order_by("at", "id"):
        history = by_customer.setdefault(contact.customer_id, [])
        zone = customer_zone(contact.customer.timezone)
        for profile in PROFILES.values():
            decision = contact_decision(
                profile,
                now=contact.at,
                zone=zone,
                history=history,
                channel=contact.channel,
                party=contact.party,
            )
            assert decision.allowed, (contact.pk, profile.code, decision.reason_code)
        history.append(
            PastContact(
                at=contact.at,
                channel=contact.channel,
                party=contact.party,
                direction=contact.direction,
                outcome=contact.outcome,
            )
        )


def test_the_seeded_agents_work_in_teams_and_every_open_case_is_in_a_teams_queue(book):
    from collection.models import Team
    from collection.selectors import cases_queue

    teams = list(Team.objects.order_by("name"))
    assert len(teams) >= 2
    assert {team.manager.username for team in teams} == {"manager"}
    members = {user.username for team in teams for user in team.members.all()}
    assert members == {"agent1", "agent2"}
    team_members = User.objects.filter(collection_teams__isnull=False)
    assert not CollectionCase.objects.open().exclude(assigned_agent__in=team_members).exists()
    for username in ("agent1", "agent2"):
        agent = User.objects.get(username=username)
        assert (
            cases_queue(user=agent).count()
            == CollectionCase.objects.open().filter(assigned_agent=agent).count()
            > 0
        )
    # A second seed keeps the teams as they are.
    seed("--customers", "10", "--seed", "8", "--force")
    assert list(Team.objects.order_by("name")) == teams


def test_the_demo_has_promises_kept_broken_and_pending_decided_by_the_ledger(book):
    from collection.models import CaseEventType, Promise, PromiseStatus

    statuses = Counter(Promise.objects.values_list("status", flat=True))
    assert statuses[PromiseStatus.KEPT] and statuses[PromiseStatus.BROKEN] and statuses[PromiseStatus.PENDING]
    for promise in Promise.objects.exclude(status=PromiseStatus.PENDING):
        paid = (
            PaymentAllocation.objects.filter(
                payment__customer=promise.customer,
                payment__received_at__gt=promise.made_at,
                business_date__lte=promise.due_date,
            ).aggregate(total=Sum("amount"))["total"]
            or ZERO
        )
        assert (promise.status == PromiseStatus.KEPT) == (paid >= promise.amount)
        assert promise.case.events.filter(type=f"promise_{promise.status}").exists()
        assert promise.contact is not None and promise.contact.outcome == "promise_made"
    assert CollectionCase.objects.filter(status=CaseStatus.BROKEN_PROMISE).exists()
    assert CollectionCase.objects.filter(status=CaseStatus.PROMISED).exists()
    assert CaseEventType.PROMISE_MADE in set(
        CollectionCase.objects.values_list("events__type", flat=True).distinct()
    )


def test_the_open_cases_pages_show_orders_payments_contacts_reminders_and_notes(client, book):
    """The case page (customer 360) has something to show in every section on the demo book."""
    from collection.models import CaseEventType
    from reminders.models import Reminder

    agent = User.objects.get(username="agent1")
    login_verified(client, agent)
    cases = CollectionCase.objects.open().filter(assigned_agent=agent, contacts__isnull=False).distinct()
    assert cases.exists()
    noted = cases.filter(events__type=CaseEventType.NOTE).first()
    assert noted is not None
    for case in (cases.first(), noted):
        response = client.get(reverse("collections:case_detail", args=[case.pk]))
        data, page = response.context["data"], response.content.decode()
        assert data.orders and any(order.installments.all() for order in data.orders)
        assert data.overdue.total > 0
        assert data.reminders, "reminders sent"
        assert Reminder.objects.filter(customer=case.customer, status="sent").exists()
        assert "source-case" in page and "source-reminder" in page
    assert any(
        client.get(reverse("collections:case_detail", args=[case.pk])).context["data"].payments
        for case in cases[:10]
    )
