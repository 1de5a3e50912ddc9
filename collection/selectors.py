"""Reads of the collections workbench: the case queue and the agent's own queue, with what their
tables show, and the contact history the conduct rules read."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Customer
from bnpl_admin.dates import business_date
from orders.models import (
    OUTSTANDING,
    UNPAID_INSTALLMENT_STATUSES,
    Hold,
    Installment,
    InstallmentStatus,
    Order,
    PaymentAllocation,
)
from policy.conduct import Decision, PastContact, Profile, contact_decision, customer_zone, profile_for
from policy.models import Policy
from policy.selectors import policy_in_force

from .models import CaseEvent, CollectionCase, ContactAttempt, Promise, PromiseStatus, Team

# --- Contacts under the conduct rules ---------------------------------------------------------

# How far back the conduct rules look: 7 days of calls, 7 quiet days after a conversation and
# 7 days of the debtor unreachable, with room for the customer's day boundaries.
CONTACT_HISTORY_DAYS = 30


def conduct_profile_in_force(*, on: datetime.date) -> Profile:
    """The conduct profile of the policy in force (Policy.conduct_profile; the first version's
    comes from settings.BNPL_CONDUCT_PROFILE)."""
    return profile_for(policy_in_force(on=on).conduct_profile)


def contact_history(*, customer_id: int, now: datetime.datetime) -> list[PastContact]:
    """The customer's recent contacts, across every agent and case, as the conduct rules read them."""
    since = now - datetime.timedelta(days=CONTACT_HISTORY_DAYS)
    rows = ContactAttempt.objects.filter(customer_id=customer_id, at__gte=since, at__lte=now).values_list(
        "at", "channel", "party", "direction", "outcome", "emergency_contact_id"
    )
    return [
        PastContact(at=at, channel=channel, party=party, direction=direction, outcome=outcome, contact_id=ec)
        for at, channel, party, direction, outcome, ec in rows
    ]


def customer_collection_on_hold(*, customer_id: int) -> bool:
    """Collection is paused: an order is on hold (return or dispute) and no other order has
    money overdue. An overdue order that is not held is still collected."""
    orders = Order.objects.filter(customer_id=customer_id)
    if not orders.exclude(hold="").exists():
        return False
    overdue = Installment.objects.filter(order=OuterRef("pk"), status=InstallmentStatus.OVERDUE)
    return not orders.filter(hold="").filter(Exists(overdue)).exists()


@dataclass(frozen=True)
class ContactContext:
    """What the conduct rules read about one customer at one moment: read once, asked per party."""

    profile: Profile
    zone: ZoneInfo
    history: list[PastContact]
    on_hold: bool
    now: datetime.datetime

    def decide(self, *, party: str, channel: str, direction: str, contact_id: int | None = None) -> Decision:
        return contact_decision(
            self.profile,
            now=self.now,
            zone=self.zone,
            history=self.history,
            party=party,
            channel=channel,
            direction=direction,
            contact_id=contact_id,
            on_hold=self.on_hold,
        )


def contact_context(*, customer: Customer, now: datetime.datetime) -> ContactContext:
    return ContactContext(
        profile=conduct_profile_in_force(on=business_date(now)),
        zone=customer_zone(customer.timezone),
        history=contact_history(customer_id=customer.pk, now=now),
        on_hold=customer_collection_on_hold(customer_id=customer.pk),
        now=now,
    )


def case_recent_contacts(*, case, limit: int = 20):
    """The case's latest contacts, newest first, with who made them and to whom."""
    return list(
        ContactAttempt.objects.filter(case=case)
        .select_related("agent", "emergency_contact", "promise")
        .order_by("-at", "-id")[:limit]
    )


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


def broken_promises() -> Coalesce:
    """How many promises to pay the case's customer broke on this case: a correlated count per
    case row (on the promise's (case, status) index), so a page of cases is still one query."""
    return _promise_count(status=PromiseStatus.BROKEN)


def _promise_count(**conditions) -> Coalesce:
    return Coalesce(
        Subquery(
            Promise.objects.filter(case=OuterRef("pk"), **conditions)
            .order_by()
            .values("case")
            .annotate(n=Count("id"))
            .values("n"),
            output_field=IntegerField(),
        ),
        Value(0),
        output_field=IntegerField(),
    )


def last_contact(field: str) -> Subquery:
    """A field of the case's latest contact attempt, one correlated read per case row on the
    contacts' (case, -at) index."""
    return Subquery(
        ContactAttempt.objects.filter(case=OuterRef("pk")).order_by("-at", "-id").values(field)[:1]
    )


def promise_due_on(day: datetime.date) -> Coalesce:
    """1 for a case whose pending promise falls due on `day`, else 0 (one pending promise per case)."""
    return _promise_count(status=PromiseStatus.PENDING, due_date=day)


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
        + promise_due_on(business_date(now)) * weight(policy.queue_weight_promise_due_today)
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


# --- Promises to pay ----------------------------------------------------------------------------


def promise_ceiling(*, customer_id: int, due_date: datetime.date) -> Decimal:
    """The most a promise due on `due_date` can be for: what the customer owes on the unpaid
    instalments due by then. A payment is allocated only to instalments due on its business date
    (DESIGN.md, "Money"), so more could never be covered by allocations in time."""
    total = (
        Installment.objects.filter(
            customer_id=customer_id, status__in=UNPAID_INSTALLMENT_STATUSES, due_date__lte=due_date
        )
        .order_by()
        .aggregate(total=Sum(OUTSTANDING))["total"]
    )
    return max(total or ZERO, ZERO)


def promise_dates_allowed(*, today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The first and last date a promise made today may fall due (Policy.promise_max_days)."""
    today = today or business_date()
    return today, today + datetime.timedelta(days=policy_in_force(on=today).promise_max_days)


def case_pending_promise(*, case) -> Promise | None:
    return Promise.objects.filter(case=case, status=PromiseStatus.PENDING).first()


@dataclass(frozen=True)
class PromiseSummary:
    """What the case page shows of a case's promises: the counts per outcome and the one pending."""

    made: int
    kept: int
    broken: int
    cancelled: int
    pending: Promise | None


def case_promise_summary(case) -> PromiseSummary:
    """The case's promises to pay counted by status (one query), and the pending one (a second)."""
    counts = dict(Promise.objects.filter(case=case).order_by().values_list("status").annotate(n=Count("id")))
    return PromiseSummary(
        made=sum(counts.values()),
        kept=counts.get(PromiseStatus.KEPT, 0),
        broken=counts.get(PromiseStatus.BROKEN, 0),
        cancelled=counts.get(PromiseStatus.CANCELLED, 0),
        pending=case_pending_promise(case=case) if counts.get(PromiseStatus.PENDING) else None,
    )


def promises_pending_through(*, on: datetime.date) -> QuerySet:
    """The customers holding a pending promise due on `on` or later, as a query of their ids:
    their after-due reminders pause until the promise's date (the reminders app's hook)."""
    return Promise.objects.filter(status=PromiseStatus.PENDING, due_date__gte=on).values("customer_id")


@dataclass(frozen=True)
class PromiseFacts:
    """One pending promise as promises_decide reads it."""

    id: int
    case_id: int
    customer_id: int
    made_at: datetime.datetime
    amount: Decimal
    due_date: datetime.date
    case_closed_on: datetime.date | None


def pending_promise_facts(*, ids: list[int]) -> list[PromiseFacts]:
    rows = (
        Promise.objects.filter(pk__in=ids, status=PromiseStatus.PENDING)
        .order_by("pk")
        .values_list("pk", "case_id", "customer_id", "made_at", "amount", "due_date", "case__closed_at")
    )
    return [
        PromiseFacts(
            id=pk,
            case_id=case_id,
            customer_id=customer_id,
            made_at=made_at,
            amount=amount,
            due_date=due_date,
            case_closed_on=business_date(closed_at) if closed_at is not None else None,
        )
        for pk, case_id, customer_id, made_at, amount, due_date, closed_at in rows
    ]


def promise_allocations(*, promises: list[PromiseFacts]) -> dict[int, dict[datetime.date, Decimal]]:
    """For each promise, the net allocations per business date, through its due date, of the
    payments its customer made after the promise (payments, credit applied from them, and their
    reversals and refunds, which are negative): one query for a batch of promises."""
    if not promises:
        return {}
    since = min(p.made_at for p in promises)
    through = max(p.due_date for p in promises)
    rows = (
        PaymentAllocation.objects.filter(
            payment__customer_id__in={p.customer_id for p in promises},
            payment__received_at__gt=since,
            business_date__lte=through,
        )
        .order_by()
        .values_list("payment__customer_id", "payment__received_at", "business_date")
        .annotate(total=Sum("amount"))
    )
    by_customer: dict[int, list[tuple]] = {}
    for customer_id, received_at, day, total in rows:
        by_customer.setdefault(customer_id, []).append((received_at, day, total))
    result: dict[int, dict[datetime.date, Decimal]] = {}
    for promise in promises:
        daily: dict[datetime.date, Decimal] = {}
        for received_at, day, total in by_customer.get(promise.customer_id, ()):
            if received_at > promise.made_at and day <= promise.due_date:
                daily[day] = daily.get(day, ZERO) + total
        result[promise.id] = daily
    return result
