"""The manager view: per agent and team over a period, aggregated in SQL, with its chart data and
an audited CSV export; a query count that does not grow with the book."""

from __future__ import annotations

import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditAction, AuditEvent
from collection.models import (
    Bucket,
    CaseEvent,
    CaseEventType,
    CaseStatus,
    CollectionCase,
    Promise,
    PromiseStatus,
    Team,
)
from collection.performance import collections_performance, default_period
from collection.services import case_assign, case_transition, contact_record
from sweep.services import sweep_run
from tests.conftest import login_verified
from tests.factories import CollectionCaseFactory, UserFactory, delivered_order, posted_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return UserFactory(username="boss", roles=[Role.COLLECTIONS_MANAGER], language="en")


def _world(manager, *, n: int = 1, tag: str = "a"):
    """n agents in team south and one in team east, each with an overdue customer's case worked:
    a reached call and a no-answer, a kept and a broken promise, a payment, a visit done."""
    today = timezone.localdate()
    south, _ = Team.objects.get_or_create(name="south", defaults={"manager": manager})
    east, _ = Team.objects.get_or_create(name="east", defaults={"manager": manager})
    agents = [UserFactory(username=f"{tag}-south-{i}", roles=[Role.COLLECTIONS_AGENT]) for i in range(n)]
    agents.append(UserFactory(username=f"{tag}-east", roles=[Role.COLLECTIONS_AGENT]))
    south.members.add(*agents[:-1])
    east.members.add(agents[-1])
    field = UserFactory(username=f"{tag}-walker", roles=[Role.FIELD_AGENT])
    orders = [delivered_order(delivered_on=today - datetime.timedelta(days=45)) for _ in agents]
    # Opens an M1 case per customer, with its opening event (again: a second world, same day).
    sweep_run(on=today, again=tag != "a")
    for agent, order in zip(agents, orders, strict=True):
        case = CollectionCase.objects.open().get(customer=order.customer)
        case_assign(case=case, agent=agent, by=manager)
        for outcome in ("reached", "no_answer"):
            contact_record(
                case=case, agent=agent, channel="phone", party="debtor", direction="inbound", outcome=outcome
            )
        for status in (PromiseStatus.KEPT, PromiseStatus.BROKEN):
            Promise.objects.create(
                case=case,
                customer=case.customer,
                made_by=agent,
                amount=Decimal("50.00"),
                due_date=today,
                status=status,
                decided_on=today,
            )
        posted_payment(customer=case.customer, amount=Decimal("100.00"))
        CaseEvent.objects.create(case=case, type=CaseEventType.VISIT_DONE, actor=field)
    return {"south": south, "east": east, "agents": agents}


def test_figures_per_agent_and_team(manager):
    world = _world(manager, n=2)
    start, end = default_period()
    result = collections_performance(start=start, end=end)

    by_name = {row.username: row for row in result.agents}
    east = by_name["a-east"]
    assert (east.contacts, east.right_party_contacts) == (2, 1)
    assert (east.promises_made, east.promises_kept, east.promises_broken) == (2, 1, 1)
    assert east.kept_rate == Decimal("50.0")
    assert east.recovered == Decimal("100.00")
    assert east.visits_done == 1
    assert east.cases_worked == 1

    teams = {row.name: row for row in result.teams}
    assert teams["south"].contacts == 4 and teams["south"].cases_worked == 2
    assert teams["south"].recovered == Decimal("200.00")
    assert teams["east"].recovered == Decimal("100.00")
    assert result.totals.recovered == Decimal("300.00") and result.totals.cases_worked == 3
    # The chart: every day of the period, the money on the day it was allocated.
    assert len(result.daily) == 30 and result.daily[-1] == (end, Decimal("300.00"))
    assert sum(amount for _day, amount in result.daily) == result.totals.recovered
    # Cure by bucket at opening: three M1 cases opened today, none paid in full yet.
    cure = {row.bucket: row for row in result.cure}
    assert (cure[Bucket.M1].opened, cure[Bucket.M1].cured) == (3, 0)
    assert world["agents"]


def test_money_outside_the_period_or_before_the_case_opened_is_not_counted(manager):
    _world(manager, n=1)
    today = timezone.localdate()
    earlier = collections_performance(
        start=today - datetime.timedelta(days=60), end=today - datetime.timedelta(days=1)
    )
    assert earlier.totals.recovered == Decimal("0.00") and earlier.totals.contacts == 0


def test_cure_rate_by_bucket_at_opening():
    today = timezone.localdate()
    for bucket, resolve in ((Bucket.M2, True), (Bucket.M2, False), (Bucket.M3, True)):
        case = CollectionCaseFactory(bucket=Bucket.M4)  # aged since: the bucket at opening counts
        CaseEvent.objects.create(case=case, type=CaseEventType.OPENED, payload={"bucket": bucket})
        if resolve:
            case_transition(case=case, to=CaseStatus.RESOLVED, reason="paid")
    cure = {row.bucket: row for row in collections_performance(start=today, end=today).cure}
    assert (cure[Bucket.M2].opened, cure[Bucket.M2].cured, cure[Bucket.M2].rate) == (2, 1, Decimal("50.0"))
    assert (cure[Bucket.M3].opened, cure[Bucket.M3].rate) == (1, Decimal("100.0"))
    assert cure[Bucket.M4].opened == 0 and cure[Bucket.M4].rate is None


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


def test_the_page_shows_chart_data_and_tables_in_a_constant_number_of_queries(client, manager):
    _world(manager, n=1, tag="a")
    login_verified(client, manager)
    path = reverse("collections:performance")
    client.get(path)  # the first request after signing in reads the session's user and device
    few = _queries(client, path)
    _world(manager, n=4, tag="b")
    many = _queries(client, path)
    assert many == few <= 22

    response = client.get(path)
    page = response.content.decode()
    assert "vendor/echarts/echarts.min.js" in page and "js/performance_chart.js" in page
    assert "<script>" not in page.replace('<script id="performance-chart-data" type="application/json">', "")
    data = json.loads(response.context["chart"] and json.dumps(response.context["chart"]))
    assert len(data["days"]) == 30 and data["amounts"][-1] == "700.00"
    assert "a-east" in page and "south" in page


def test_a_period_and_bad_dates(client, manager):
    _world(manager, n=1)
    login_verified(client, manager)
    path = reverse("collections:performance")
    today = timezone.localdate()
    response = client.get(path, {"period_after": today.isoformat(), "period_before": today.isoformat()})
    assert response.status_code == 200 and len(response.context["chart"]["days"]) == 1
    response = client.get(path, {"period_after": "2026-05-01", "period_before": "2026-04-01"})
    assert response.status_code == 200 and response.context["performance"] is None
    assert response.context["filter"].form.errors
    response = client.get(path, {"period_after": "2020-01-01", "period_before": "2026-01-01"})
    assert response.status_code == 200 and response.context["performance"] is None
    response = client.get(path, {"period_after": "0001-01-01", "period_before": "nonsense"})
    assert response.status_code == 200 and response.context["performance"] is None


def test_the_csv_export_is_audited(client, manager):
    _world(manager, n=1)
    login_verified(client, manager)
    response = client.get(reverse("collections:performance"), {"_export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    east = next(row for row in rows if row["username"] == "a-east")
    assert (east["level"], east["amount_recovered"], east["kept_rate_percent"]) == ("agent", "100.00", "50.0")
    assert rows[-1]["level"] == "total"
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor == manager and event.payload["list"] == "collections-performance"


@pytest.mark.parametrize("role", [Role.COLLECTIONS_AGENT, Role.FIELD_AGENT, Role.RISK_ANALYST])
def test_only_managers_open_the_manager_view(client, role):
    login_verified(client, UserFactory(roles=[role]))
    assert client.get(reverse("collections:performance")).status_code == 403
