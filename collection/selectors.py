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
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.masking import mask_recipient, scrub_text
from accounts.models import Customer, User
from bnpl_admin.dates import business_date
from bnpl_admin.money import CENT
from bnpl_admin.sentences import choice, money
from orders.models import (
    OUTSTANDING,
    OUTSTANDING_BY_COMPONENT,
    UNPAID_INSTALLMENT_STATUSES,
    Component,
    Hold,
    Installment,
    InstallmentStatus,
    Order,
    OrderEvent,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentStatus,
)
from orders.selectors import credit_available, customer_credit_balance
from orders.sentences import order_event_sentence
from policy.conduct import Decision, PastContact, Profile, contact_decision, customer_zone, profile_for
from policy.models import Policy
from policy.selectors import policy_in_force
from reminders.models import Channel as ReminderChannel
from reminders.models import Reminder
from reminders.models import Status as ReminderStatus

from .models import QUEUE_PERMISSION, CaseEvent, CollectionCase, ContactAttempt, Promise, PromiseStatus, Team
from .sentences import case_event_sentence

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
    """What the case's customer owes on overdue instalments (orders.models.OUTSTANDING), as a
    correlated sum per case row: what collection.services.case_amounts_refresh stores on the case
    (CollectionCase.amount_overdue), which the lists read."""
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
            last_event_at=_last_event_at(),
            team_name=_team_name(),
            on_hold=Exists(Order.objects.filter(customer=OuterRef("customer_id")).exclude(hold=Hold.NONE)),
        )
        .order_by("-days_past_due", "id")
    )


def priority_score(*, policy: Policy, now: datetime.datetime):
    """The queue's priority, in SQL: each factor times its dated weight (policy.Policy).

    Days since contact count from the case's last contact attempt (any channel, party or
    outcome), or from its opening when nobody has tried it yet: an assignment, the sweep's ageing
    or a note is not a contact."""
    thousand = Value(Decimal(1000), output_field=_SCORE)

    def weight(value: Decimal) -> Value:
        return Value(value, output_field=_SCORE)

    return ExpressionWrapper(
        F("amount_overdue") * weight(policy.queue_weight_amount) / thousand
        + F("days_past_due") * weight(policy.queue_weight_dpd)
        + broken_promises() * weight(policy.queue_weight_broken_promise)
        + promise_due_on(business_date(now)) * weight(policy.queue_weight_promise_due_today)
        + DaysSince(Coalesce(last_contact("at"), F("opened_at")), now)
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
    """One promise as the ledger's decision reads it (promises_decide, and the re-decision after a
    reversal)."""

    id: int
    case_id: int
    customer_id: int
    made_at: datetime.datetime
    amount: Decimal
    due_date: datetime.date
    case_closed_on: datetime.date | None


def promise_facts(*, ids: list[int], statuses: tuple[str, ...]) -> list[PromiseFacts]:
    """The facts of the promises among `ids` whose status is one of `statuses`, oldest first."""
    rows = (
        Promise.objects.filter(pk__in=ids, status__in=statuses)
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


def pending_promise_facts(*, ids: list[int]) -> list[PromiseFacts]:
    return promise_facts(ids=ids, statuses=(PromiseStatus.PENDING,))


def promise_allocations(*, promises: list[PromiseFacts]) -> dict[int, dict[datetime.date, Decimal]]:
    """For each promise, the net allocations per business date, through its due date, of the
    payments its customer made after the promise and has not had reversed (payments, credit
    applied from them, and refunds, which are negative): one query for a batch of promises.

    A reversed payment counts for nothing, whenever it was reversed: before the promise's date or
    after it, the money never came (DESIGN.md: a reversal undoes the payment). So the decision
    does not depend on whether the sweep saw the payment before its reversal, and a reversal after
    a decision is followed by promises_redecide_after_reversal."""
    if not promises:
        return {}
    since = min(p.made_at for p in promises)
    through = max(p.due_date for p in promises)
    rows = (
        PaymentAllocation.objects.filter(
            payment__customer_id__in={p.customer_id for p in promises},
            payment__status=PaymentStatus.POSTED,
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


def promises_counted_by(*, payment_id: int) -> list[int]:
    """The decided promises a payment's allocations counted towards (promise_allocations): its
    customer's promises made before it was received and due on or after its first allocation's
    business date. Newest first: the re-decision gives the newest a case's one pending place."""
    payment = Payment.objects.filter(pk=payment_id).values("customer_id", "received_at").first()
    first_day = PaymentAllocation.objects.filter(payment_id=payment_id).aggregate(first=Min("business_date"))[
        "first"
    ]
    if payment is None or first_day is None:
        return []
    return list(
        Promise.objects.filter(
            customer_id=payment["customer_id"], made_at__lt=payment["received_at"], due_date__gte=first_day
        )
        .exclude(status=PromiseStatus.PENDING)
        .order_by("-pk")
        .values_list("pk", flat=True)
    )


# --- Case page (customer 360, issue 11) --------------------------------------------------------
# Everything the case page shows about a case and its customer, read in a fixed number of
# queries whatever the size of the book: lists are capped (with a "show all" that raises the
# cap, still bounded) and their children prefetched, never read row by row.

# How many orders and payments the page shows, and how many with "show all".
CASE_ORDERS_SHOWN = 10
CASE_PAYMENTS_SHOWN = 10
CASE_ALL_MAX = 200
CASE_REMINDERS_SHOWN = 20
# The timeline's page size.
TIMELINE_PAGE_SIZE = 25


@dataclass(frozen=True)
class OverdueBreakdown:
    """What is left to pay on the customer's overdue instalments, by component, and in all."""

    principal: Decimal
    fee: Decimal
    late_fee: Decimal
    total: Decimal
    # Left to pay on every unpaid instalment (overdue or not), and unapplied credit.
    outstanding: Decimal
    credit_balance: Decimal


@dataclass
class Case360:
    """The case page's reads (collection.selectors.case_360)."""

    case: CollectionCase
    customer: Customer
    credit_line: object | None
    credit_available: Decimal
    overdue: OverdueBreakdown
    orders: list
    orders_more: bool
    payments: list
    payments_more: bool
    promises_active: list
    promises_kept: int
    promises_broken: int
    holds: list
    collection_on_hold: bool
    emergency_contacts: list
    reminders: list
    show_all: bool


def _money_sum(expression, **extra) -> Coalesce:
    return Coalesce(Sum(expression, **extra), Value(ZERO), output_field=_MONEY)


def _fen(value) -> Decimal:
    # SQLite sums decimals in floating point: brought back to the fen once, as orders.selectors does.
    return Decimal(value).quantize(CENT)


def _customer_overdue(*, customer: Customer) -> OverdueBreakdown:
    """One aggregate over the customer's unpaid instalments (orders.models.OUTSTANDING_BY_COMPONENT)."""
    overdue = Q(status=InstallmentStatus.OVERDUE)
    totals = Installment.objects.filter(customer=customer, status__in=UNPAID_INSTALLMENT_STATUSES).aggregate(
        principal=_money_sum(OUTSTANDING_BY_COMPONENT[Component.PRINCIPAL], filter=overdue),
        fee=_money_sum(OUTSTANDING_BY_COMPONENT[Component.FEE], filter=overdue),
        late_fee=_money_sum(OUTSTANDING_BY_COMPONENT[Component.LATE_FEE], filter=overdue),
        total=_money_sum(OUTSTANDING, filter=overdue),
        outstanding=_money_sum(OUTSTANDING),
    )
    totals = {name: _fen(amount) for name, amount in totals.items()}
    return OverdueBreakdown(**totals, credit_balance=customer_credit_balance(customer=customer))


def case_team_name(*, case: CollectionCase) -> str | None:
    """The team of the case's agent (the first by name, as the queue shows it), or None."""
    if not case.assigned_agent_id:
        return None
    return (
        Team.objects.filter(members=case.assigned_agent_id)
        .order_by("name")
        .values_list("name", flat=True)
        .first()
    )


def case_360(*, case: CollectionCase, user, show_all: bool = False) -> Case360:
    """The case page: the customer, their credit line, every order with its instalments (capped),
    payments and allocations, what is overdue, promises, holds, contacts and reminders.

    `case` comes from CollectionCase.objects.visible_to(user) (the view's get_object_or_404),
    with its customer and agent. The number of queries does not grow with the customer's book.
    """
    customer = case.customer
    credit_line = getattr(customer, "credit_line", None)  # None: the customer has no line
    cap_orders = CASE_ALL_MAX if show_all else CASE_ORDERS_SHOWN
    cap_payments = CASE_ALL_MAX if show_all else CASE_PAYMENTS_SHOWN

    orders = list(
        Order.objects.filter(customer=customer)
        .select_related("merchant")
        .prefetch_related(
            Prefetch(
                "installments",
                queryset=Installment.objects.with_outstanding()
                .annotate(
                    amount_paid=F("principal_paid") + F("fee_paid") + F("late_fee_paid"),
                    amount_waived=F("fee_waived") + F("late_fee_waived"),
                )
                .order_by("sequence"),
            )
        )
        .order_by("-placed_at", "-id")[: cap_orders + 1]
    )
    payments = list(
        Payment.objects.filter(customer=customer)
        .select_related("posted_by")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related("installment__order").order_by("id"),
            )
        )
        .order_by("-received_at", "-id")[: cap_payments + 1]
    )
    for order in orders:  # SQLite computes the sums in floating point: back to the fen, in memory
        for installment in order.installments.all():
            for name in ("amount_outstanding", "amount_paid", "amount_waived"):
                setattr(installment, name, _fen(getattr(installment, name)))
    promises = Promise.objects.filter(case__customer=customer)
    counts = promises.aggregate(
        kept=Count("id", filter=Q(status=PromiseStatus.KEPT)),
        broken=Count("id", filter=Q(status=PromiseStatus.BROKEN)),
    )
    return Case360(
        case=case,
        customer=customer,
        credit_line=credit_line,
        credit_available=credit_available(customer=customer),
        overdue=_customer_overdue(customer=customer),
        orders=orders[:cap_orders],
        orders_more=len(orders) > cap_orders,
        payments=payments[:cap_payments],
        payments_more=len(payments) > cap_payments,
        promises_active=list(
            promises.filter(status=PromiseStatus.PENDING).select_related("made_by").order_by("due_date", "id")
        ),
        promises_kept=counts["kept"],
        promises_broken=counts["broken"],
        holds=list(
            Order.objects.filter(customer=customer).exclude(hold=Hold.NONE).order_by("hold_since", "id")
        ),
        collection_on_hold=customer_collection_on_hold(customer_id=customer.pk),
        emergency_contacts=list(customer.emergency_contacts.order_by("id")),
        reminders=list(
            Reminder.objects.filter(customer=customer)
            .select_related("installment__order", "payment")
            .order_by("-created_at", "-id")[:CASE_REMINDERS_SHOWN]
        ),
        show_all=show_all,
    )


# --- The case timeline: every event about the customer, newest first, a page at a time ----------
# Four sources (case events of the customer's cases, order events, payments, reminders sent),
# each read newest first from a cursor with a LIMIT of one page, then merged: a page is one
# query per source however deep it is (no OFFSET, no COUNT).

_TIMELINE_SOURCES = ("case", "order", "payment", "reminder")  # the tie order at one moment: last first


@dataclass(frozen=True)
class TimelineCursor:
    """Where a timeline page starts: strictly older than (at, source rank, id)."""

    at: datetime.datetime
    rank: int
    id: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}~{self.rank}~{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> TimelineCursor | None:
        """A cursor from the address; anything unreadable is the first page."""
        if not text or len(text) > 100:
            return None
        try:
            at_text, rank, pk = text.split("~")
            at = datetime.datetime.fromisoformat(at_text)
            rank, pk = int(rank), int(pk)
        except ValueError:
            return None
        if timezone.is_naive(at) or not 0 <= rank < len(_TIMELINE_SOURCES) or not 0 < pk < 2**63:
            return None
        return cls(at=at, rank=rank, id=pk)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    source: str  # one of _TIMELINE_SOURCES
    kind: str  # what happened, as a label
    sentence: str
    actor: str  # who (a person's name), or "" for the system
    id: int
    detail: str = ""  # a contact's summary, a reminder's text (masked)

    @property
    def cursor(self) -> TimelineCursor:
        return TimelineCursor(at=self.at, rank=_TIMELINE_SOURCES.index(self.source), id=self.id)


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str | None  # the next page's cursor, None on the last page


def _older_than(cursor: TimelineCursor | None, *, at: str, rank: int):
    if cursor is None:
        return Q()
    same_moment = Q(**{at: cursor.at})
    if rank < cursor.rank:
        later_in_tie = same_moment
    elif rank == cursor.rank:
        later_in_tie = same_moment & Q(id__lt=cursor.id)
    else:
        later_in_tie = Q(pk__in=[])
    return Q(**{f"{at}__lt": cursor.at}) | later_in_tie


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def case_timeline(
    *, customer: Customer, before: TimelineCursor | None = None, size: int = TIMELINE_PAGE_SIZE
) -> TimelinePage:
    """One page of the customer's timeline, newest first, starting after `before`."""
    rank = _TIMELINE_SOURCES.index
    entries: list[TimelineEntry] = []

    case_events = list(
        CaseEvent.objects.filter(case__customer=customer)
        .filter(_older_than(before, at="created_at", rank=rank("case")))
        .select_related("actor")
        .order_by("-created_at", "-id")[: size + 1]
    )
    # A contact's summary and emergency contact, for the contacts on this page: one query.
    contact_ids = [
        event.payload.get("contact")
        for event in case_events
        if event.type == "contact" and isinstance(event.payload, dict)
    ]
    contacts = {
        row["pk"]: row
        for row in ContactAttempt.objects.filter(
            pk__in=[pk for pk in contact_ids if isinstance(pk, int)]
        ).values("pk", "summary", "emergency_contact__name")
    }
    for event in case_events:
        detail = ""
        if event.type == "contact" and isinstance(event.payload, dict):
            contact = contacts.get(event.payload.get("contact"))
            if contact:
                detail = contact["summary"]
                if contact["emergency_contact__name"]:
                    detail = (
                        f"{contact['emergency_contact__name']}: {detail}"
                        if detail
                        else contact["emergency_contact__name"]
                    )
        entries.append(
            TimelineEntry(
                at=event.created_at,
                source="case",
                kind=event.get_type_display(),
                sentence=case_event_sentence(event.type, event.payload),
                actor=_person(event.actor),
                id=event.pk,
                detail=scrub_text(detail),
            )
        )

    for event in (
        OrderEvent.objects.filter(order__customer=customer)
        .filter(_older_than(before, at="created_at", rank=rank("order")))
        .select_related("actor", "order")
        .order_by("-created_at", "-id")[: size + 1]
    ):
        entries.append(
            TimelineEntry(
                at=event.created_at,
                source="order",
                kind=_("Order %(order)s: %(event)s")
                % {"order": event.order.external_reference, "event": event.get_type_display()},
                sentence=order_event_sentence(event.type, event.payload),
                actor=_person(event.actor),
                id=event.pk,
            )
        )

    for payment in (
        Payment.objects.filter(customer=customer)
        .filter(_older_than(before, at="received_at", rank=rank("payment")))
        .select_related("posted_by")
        .order_by("-received_at", "-id")[: size + 1]
    ):
        sentence = _("%(amount)s received by %(method)s, reference %(reference)s.") % {
            "amount": money(payment.amount),
            "method": choice(PaymentMethod, payment.method),
            "reference": payment.external_reference,
        }
        if payment.status == PaymentStatus.REVERSED:
            sentence = f"{sentence} {_('Reversed since.')}"
        entries.append(
            TimelineEntry(
                at=payment.received_at,
                source="payment",
                kind=_("Payment"),
                sentence=sentence,
                actor=_person(payment.posted_by),
                id=payment.pk,
            )
        )

    for reminder in (
        Reminder.objects.filter(customer=customer, status=ReminderStatus.SENT, sent_at__isnull=False)
        .filter(_older_than(before, at="sent_at", rank=rank("reminder")))
        .select_related("installment__order")
        .order_by("-sent_at", "-id")[: size + 1]
    ):
        words = {
            "kind": reminder.kind,
            "channel": choice(ReminderChannel, reminder.channel),
            "recipient": mask_recipient(reminder.recipient) or "—",
        }
        if reminder.installment_id is not None:
            sentence = _(
                "Reminder %(kind)s sent by %(channel)s to %(recipient)s about instalment %(sequence)s "
                "of order %(order)s."
            ) % {
                **words,
                "sequence": reminder.installment.sequence,
                "order": reminder.installment.order.external_reference,
            }
        else:
            sentence = _("Payment receipt sent by %(channel)s to %(recipient)s.") % words
        entries.append(
            TimelineEntry(
                at=reminder.sent_at,
                source="reminder",
                kind=_("Reminder"),
                sentence=sentence,
                actor="",
                id=reminder.pk,
                detail=scrub_text(reminder.body),
            )
        )

    entries.sort(key=lambda e: (e.at, rank(e.source), e.id), reverse=True)
    page = entries[:size]
    more = len(entries) > size
    return TimelinePage(entries=page, next_cursor=page[-1].cursor.encode() if more and page else None)


def case_assignable_agents() -> QuerySet:
    """Who a case may be given to: active staff whose role works the case queues."""
    app_label, codename = QUEUE_PERMISSION.split(".")
    holds = Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label)
    return (
        User.objects.filter(is_active=True)
        .filter(pk__in=User.objects.filter(holds).values("pk"))
        .order_by("username")
    )
