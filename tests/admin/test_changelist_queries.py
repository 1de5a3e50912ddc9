"""Every registered admin page costs the same number of queries with N rows as with 3N rows.

One generic test over admin.site._registry (third-party admins we re-register included), so a
new admin gets it for free; a model the growth below does not know fails the test loudly.
"""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer
from accounts.roles import Role
from bnpl_admin.admin_filters import DateRangeFilter
from tests.conftest import login_verified
from tests.factories import (
    CollectionCaseFactory,
    EmergencyContactFactory,
    MerchantFactory,
    UserFactory,
    delivered_order,
    posted_payment,
    waiver_requester,
)
from tests.registry import ADMIN_MODELS

N = 2
# An absolute cap too: a page whose cost is flat but high is still slow.
MAX_QUERIES = 20

MODELS = ADMIN_MODELS


def _grow(start: int, count: int, superuser) -> None:
    """`count` more rows of every model the admin shows (numbered from `start`, so names stay unique)."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from django_celery_results.models import GroupResult, TaskResult

    from audit.models import AuditAction, AuditEvent
    from collection.models import AssignmentRule, CaseEvent, CaseEventType, Team
    from collection.services import contact_record, promise_make
    from orders.models import Component, OrderEvent
    from orders.services import fee_waive, manual_payment_request
    from policy.models import Policy
    from reminders.models import OutboxMessage, Reminder
    from settlements.services import arrangement_propose
    from sweep.models import PortfolioSnapshot, SweepRun

    today = timezone.localdate()
    now = timezone.now()
    for n in range(start, start + count):
        agent = UserFactory(username=f"grow_agent_{n}", roles=[Role.COLLECTIONS_AGENT], is_staff=True)
        Group.objects.create(name=f"grow group {n}")
        order = delivered_order(delivered_on=today - datetime.timedelta(days=60), merchant=MerchantFactory())
        customer = order.customer
        OrderEvent.objects.create(order=order, type=order.events.first().type, actor=agent)
        EmergencyContactFactory(customer=customer)
        posted_payment(customer=customer, amount=Decimal("50.00"))
        fee_waive(
            installment=order.installments.order_by("sequence").last(),
            component=Component.FEE,
            amount=Decimal("1.00"),
            reason="goodwill",
            approved_by=superuser,
            requested_by=waiver_requester(),
        )
        manual_payment_request(
            customer=customer,
            amount=Decimal("20000.00"),
            reference=f"GROW-MANUAL-{n}",
            received_at=now - datetime.timedelta(hours=1),
            method="alipay",
            requested_by=agent,
            reason="bank transfer",
        )
        case = CollectionCaseFactory(customer=customer, assigned_agent=agent)
        CaseEvent.objects.create(case=case, type=CaseEventType.OPENED, actor=agent)
        # An inbound call: allowed by the conduct rules at any hour the test runs.
        contact_record(
            case=case, agent=agent, channel="phone", party="debtor", direction="inbound", outcome="reached"
        )
        team = Team.objects.create(name=f"grow team {n}", manager=superuser)
        team.members.add(agent)
        AssignmentRule.objects.create(bucket="M2", team=team, created_by=superuser)
        promise_make(case=case, by=agent, amount=Decimal("10.00"), due_date=today)
        arrangement_propose(case=case, by=agent, kind="settlement", fee_discount=Decimal("1.00"))
        policy = Policy.objects.create(
            effective_from=today + datetime.timedelta(days=30 + n),
            note=f"grow {n}",
            fee_rate_3=Decimal("0.018"),
            fee_rate_6=Decimal("0.036"),
            fee_rate_12=Decimal("0.072"),
            late_fee_daily_rate=Decimal("0.0005"),
            late_fee_cap_rate=Decimal("0.25"),
            late_fee_cap_amount=Decimal("200.00"),
        )
        day = today - datetime.timedelta(days=100 + n)
        SweepRun.objects.create(business_date=day, policy=policy, chunk_size=100, triggered_by="test")
        PortfolioSnapshot.objects.create(business_date=day, bucket="current")
        installment = order.installments.order_by("sequence").first()
        Reminder.objects.create(
            key=f"grow:{n}",
            kind="T+1",
            offset_days=1,
            channel="sms",
            customer=customer,
            installment=installment,
            business_date=today,
            send_on=today,
            not_before=now,
            next_attempt_at=now,
            recipient=customer.phone,
        )
        OutboxMessage.objects.create(key=f"grow:{n}", channel="sms", recipient=customer.phone, body="hi")
        from decisions.services import order_decide

        order_decide(
            customer=customer, amount=Decimal("50.00"), merchant=order.merchant, channel="mall", order=order
        )
        AuditEvent.objects.create(action=AuditAction.values[0], actor=agent, actor_username=agent.username)
        interval = IntervalSchedule.objects.create(every=n + 1, period=IntervalSchedule.DAYS)
        crontab = CrontabSchedule.objects.create(minute=str(n % 60))
        SolarSchedule.objects.create(
            event="sunrise", latitude=Decimal("31.23"), longitude=Decimal(f"{100 + n}.47")
        )
        ClockedSchedule.objects.create(clocked_time=now + datetime.timedelta(days=n))
        PeriodicTask.objects.create(name=f"grow {n}", task="audit.noop", interval=interval)
        PeriodicTask.objects.create(name=f"grow cron {n}", task="audit.noop", crontab=crontab)
        TaskResult.objects.create(task_id=f"grow-task-{n}")
        GroupResult.objects.create(group_id=f"grow-group-{n}")
        common = {
            "user_agent": "test",
            "ip_address": "127.0.0.1",
            "username": agent.username,
            "path_info": "/",
        }
        AccessAttempt.objects.create(
            **common, http_accept="*/*", get_data="", post_data="", failures_since_start=1
        )
        AccessLog.objects.create(**common, http_accept="*/*")
        AccessFailureLog.objects.create(**common, http_accept="*/*")
        if "django_otp.plugins.otp_static" in settings.INSTALLED_APPS:
            from django_otp.plugins.otp_static.models import StaticDevice

            StaticDevice.objects.create(user=agent, name=f"grow {n}")
        if "django_otp.plugins.otp_totp" in settings.INSTALLED_APPS:
            from django_otp.plugins.otp_totp.models import TOTPDevice

            TOTPDevice.objects.create(user=agent, name=f"grow {n}")
        # The risk app: a version activated by two analysts, scores, limit changes, a copy.
        from tests.risk.cards import risk_rows

        risk_rows(
            maker=UserFactory(username=f"grow_risk_{n}", roles=[Role.RISK_ANALYST]),
            checker=superuser,
            customers=Customer.objects.filter(pk=customer.pk),
            name=f"Walk card {n}",
        )
        # Home visits (visits), through their services, with a photo (shown as a summary only).
        from tests.visits.builders import done_visit

        done_visit(day=today)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _pages(model) -> list[str]:
    first = model._default_manager.order_by("pk").first()
    return [_url(model, "changelist"), _url(model, "change", first.pk)]


def _costs(client) -> dict[str, int]:
    costs = {}
    for model in MODELS:
        for path in _pages(model):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
            assert response.status_code == 200, path
            costs[path] = len(queries)
    return costs


@pytest.mark.django_db
def test_admin_pages_cost_the_same_with_three_times_the_rows(client, superuser):
    _grow(0, N, superuser)
    login_verified(client, superuser)
    client.get(_url(MODELS[0], "changelist"))  # warm the session, content types and permission caches
    before = {model: model._default_manager.count() for model in MODELS}
    small = _costs(client)

    _grow(N, 2 * N, superuser)
    not_grown = [m._meta.label for m in MODELS if m._default_manager.count() <= before[m]]
    assert not not_grown, f"add rows of {', '.join(not_grown)} in _grow"
    large = _costs(client)

    grew = {path: (small[path], large[path]) for path in small if large[path] > small[path]}
    assert not grew, f"queries grow with rows (N → 3N): {grew}"
    heavy = {path: cost for path, cost in large.items() if cost > MAX_QUERIES}
    assert not heavy, f"more than {MAX_QUERIES} queries: {heavy}"


# Tables that grow with the book (a row per customer, order, instalment, payment, message or
# event): their lists must not count the whole table on every view.
BIG_TABLES = (
    "accounts.Customer",
    "accounts.CreditLine",
    "accounts.EmergencyContact",
    "audit.AuditEvent",
    "collections.CaseEvent",
    "collections.CollectionCase",
    "orders.Installment",
    "orders.Order",
    "orders.OrderEvent",
    "orders.Payment",
    "orders.PaymentAllocation",
    "orders.Waiver",
    "reminders.OutboxMessage",
    "reminders.Reminder",
)
BIG_MODELS = [model for model in MODELS if model._meta.label in BIG_TABLES]


def _counts(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_every_big_table_is_registered():
    assert {model._meta.label for model in BIG_MODELS} == set(BIG_TABLES)


@pytest.mark.django_db
@pytest.mark.parametrize("model", BIG_MODELS, ids=lambda model: model._meta.label)
def test_a_searched_big_list_counts_its_matches_only(client, superuser, model):
    """No second COUNT(*) of the whole table for "N of M" beside the matches (show_full_result_count)."""
    _grow(0, 1, superuser)
    login_verified(client, superuser)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(model, "changelist"), {"q": "no such thing"})
    assert response.status_code == 200
    assert len(_counts(queries)) <= 1, _counts(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("model", BIG_MODELS, ids=lambda model: model._meta.label)
def test_an_unfiltered_big_list_on_postgresql_takes_the_planners_estimate(
    client, superuser, model, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("the estimate is PostgreSQL's pg_class.reltuples")
    _grow(0, 2, superuser)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    rows = model._default_manager.count()  # ANALYZE of a small table reads every row
    # Estimate from the first row on (raising=False: any paginator is measured by its queries).
    monkeypatch.setattr(admin.site._registry[model].paginator, "estimate_above", 0, raising=False)
    login_verified(client, superuser)  # which writes audit events the estimate does not know of

    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    assert not _counts(queries), _counts(queries)
    assert response.context["cl"].result_count == rows

    # A search shows the true number of matches.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(model, "changelist"), {"q": "no such thing"})
    assert response.context["cl"].result_count == 0
    assert len(_counts(queries)) == 1


def _date_scans(queries) -> list[str]:
    """What date_hierarchy asks on every view: MIN/MAX of the date, then its distinct years."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if ("DISTINCT" in q["sql"].upper() and "TRUNC" in q["sql"].upper())
        or "MIN(" in q["sql"].upper()
        or "MAX(" in q["sql"].upper()
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("model", BIG_MODELS, ids=lambda model: model._meta.label)
def test_a_big_list_filters_by_date_without_scanning_the_table(client, superuser, model):
    """A date range filter, not the drill-down that reads every row's date to list the years."""
    _grow(0, 1, superuser)
    login_verified(client, superuser)
    model_admin = admin.site._registry[model]

    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    assert not _date_scans(queries), _date_scans(queries)
    assert not model_admin.date_hierarchy

    dated = [f[0] for f in model_admin.list_filter if isinstance(f, tuple) and f[1] is DateRangeFilter]
    if dated:  # a range is one condition on the column; a date out of bounds is refused, never a 500
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        if not isinstance(model._meta.get_field(dated[0]), models.DateTimeField):
            today = today.date()
        week = {f"{dated[0]}__gte": str(today - datetime.timedelta(days=7)), f"{dated[0]}__lt": str(today)}
        assert client.get(_url(model, "changelist"), week).status_code == 200
        for bad in ("0001-01-01", "9999-12-31", "abc"):
            response = client.get(_url(model, "changelist"), {f"{dated[0]}__gte": bad})
            assert response.status_code == 302 and response.url.endswith("?e=1"), bad
