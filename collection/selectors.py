"""Reads of collection cases: the case queue and the agent's own queue, with what their tables show."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from bnpl_admin.dates import business_date
from orders.models import OUTSTANDING, Hold, Installment, InstallmentStatus, Order
from policy.models import Policy
from policy.selectors import policy_in_force

from .models import CaseEvent, CollectionCase, Team

_MONEY = DecimalField(max_digits=14, decimal_places=2)
_SCORE = DecimalField(max_digits=20, decimal_places=4)
ZERO = Decimal("0.00")


class DaysSince(Func):
    """Whole and part days from a moment to `now` (a value), as a number: the SQL each database
    has for it (Django has no portable difference of two moments as a number)."""

    output_field = _SCORE

    def __init__(self, moment, now: datetime.datetime):
        super().__init__(moment, Value(now), output_field=_SCORE)

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL (and any other backend)
        moment, now = self.get_source_expressions()
        moment_sql, moment_params = compiler.compile(moment)
        now_sql, now_params = compiler.compile(now)
        return f"(EXTRACT(EPOCH FROM ({now_sql} - {moment_sql})) / 86400.0)", [*now_params, *moment_params]

    def as_sqlite(self, compiler, connection, **extra):
        moment, now = self.get_source_expressions()
        moment_sql, moment_params = compiler.compile(moment)
        now_sql, now_params = compiler.compile(now)
        return f"(julianday({now_sql}) - julianday({moment_sql}))", [*now_params, *moment_params]


def amount_overdue() -> Subquery:
    """What the case's customer owes on overdue instalments (orders.models.OUTSTANDING), one
    correlated sum per case row, so a page of cases is one query."""
    return Coalesce(
        Subquery(
            Installment.objects.filter(customer=OuterRef("customer_id"), status=InstallmentStatus.OVERDUE)
            .order_by()
            .values("customer")
            .annotate(total=Sum(OUTSTANDING))
            .values("total"),
            output_field=_MONEY,
        ),
        Value(ZERO),
        output_field=_MONEY,
    )


def _last_event_at() -> Subquery:
    return Subquery(
        CaseEvent.objects.filter(case=OuterRef("pk"))
        .order_by()
        .values("case")
        .annotate(last=Max("created_at"))
        .values("last")
    )


def _team_name() -> Subquery:
    """The team of the case's agent (the first by name, for an agent in several teams)."""
    return Subquery(
        Team.objects.filter(members=OuterRef("assigned_agent_id")).order_by("name").values("name")[:1]
    )


def broken_promises() -> Value:
    """How many promises to pay the customer broke: the hook for promises to pay, which do not
    exist yet; 0 until they do (then a correlated count, like amount_overdue)."""
    return Value(0, output_field=_SCORE)


def cases_queue(*, user) -> QuerySet[CollectionCase]:
    """The open cases `user` may see, worst first, with the queue's figures annotated."""
    return (
        CollectionCase.objects.visible_to(user)
        .open()
        .select_related("customer", "assigned_agent")
        .annotate(
            amount_overdue=amount_overdue(),
            last_event_at=_last_event_at(),
            team_name=_team_name(),
            on_hold=Exists(Order.objects.filter(customer=OuterRef("customer_id")).exclude(hold=Hold.NONE)),
        )
        .order_by("-days_past_due", "id")
    )


def priority_score(*, policy: Policy, now: datetime.datetime):
    """The queue's priority, in SQL: each factor times its dated weight (policy.Policy)."""
    thousand = Value(Decimal(1000), output_field=_SCORE)

    def weight(value: Decimal) -> Value:
        return Value(value, output_field=_SCORE)

    return ExpressionWrapper(
        F("amount_overdue") * weight(policy.queue_weight_amount) / thousand
        + F("days_past_due") * weight(policy.queue_weight_dpd)
        + broken_promises() * weight(policy.queue_weight_broken_promise)
        + DaysSince(Coalesce(F("last_event_at"), F("opened_at")), now)
        * weight(policy.queue_weight_days_since_contact),
        output_field=_SCORE,
    )


def my_queue(*, user, now: datetime.datetime | None = None) -> QuerySet[CollectionCase]:
    """The agent's own open cases, most urgent first by the priority score (in the database)."""
    now = now or timezone.now()
    policy = policy_in_force(on=business_date())
    return (
        cases_queue(user=user)
        .filter(assigned_agent=user.pk if user.is_authenticated else None)
        .annotate(priority=priority_score(policy=policy, now=now))
        .order_by("-priority", "id")
    )
