"""The manager view's reads: what each agent and each team did over a range of dates, in SQL.

Every figure is one GROUP BY query over its table (never a loop over rows), once grouped by the
agent and once by the agent's teams, so the page costs the same number of queries whatever the
size of the book (tests/collection/test_performance.py counts them). What each figure means:

- cases worked: distinct cases with an event by the person in the range (contacts, promises,
  notes, visits, proposals...), assignments excluded (assigning is not working a case);
- contact attempts: ContactAttempt rows by the agent in the range;
- right-party contacts: those with the debtor whose outcome shows the debtor was reached
  (reached, promise made, dispute raised, claims paid);
- promises made: Promise rows taken by the agent in the range; kept rate: of the agent's
  promises decided in the range (decided_on), kept ÷ (kept + broken); cancelled ones count in neither;
- amount recovered: the net of the payment allocations (orders.PaymentAllocation, reversals
  subtract) with a business date in the range, to instalments of customers whose case was open
  on that date (opened on or before it, not closed before it), credited to the agent the case
  is assigned to now (the agent who holds the case gets its recoveries, including ones before a
  reassignment: the simple rule managers read off the queue); unassigned cases are "unassigned";
- visits done: VISIT_DONE events in the range on the agent's cases (the field agents who made
  the visit work for the case's agent);
- cure rate by bucket: of the cases opened in the range, by their bucket at opening (the
  opening event's bucket; the case's bucket when the event has none), the share resolved (paid:
  back to current) by now.
A team's figures are those of its members (an agent in two teams counts in both); a team's
cases worked counts each case once.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import CharField, Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from bnpl_admin.dates import business_date
from bnpl_admin.money import ZERO
from orders.models import PaymentAllocation

from .models import (
    Bucket,
    CaseEvent,
    CaseEventType,
    CaseStatus,
    CollectionCase,
    ContactAttempt,
    ContactOutcome,
    ContactParty,
    Promise,
    PromiseStatus,
    Team,
)

PERFORMANCE_PERMISSION = "collections.view_collections_performance"
CENT = Decimal("0.01")
DEFAULT_DAYS = 30
MAX_DAYS = 366

RIGHT_PARTY_OUTCOMES = (
    ContactOutcome.REACHED,
    ContactOutcome.PROMISE_MADE,
    ContactOutcome.DISPUTE_RAISED,
    ContactOutcome.CLAIMS_PAID,
)
# What assigning, the sweep and the system write: not an agent working the case.
NOT_WORK = (CaseEventType.ASSIGNED, CaseEventType.OPENED, CaseEventType.AGEING, CaseEventType.CLOSED)

METRICS = (
    "cases_worked",
    "contacts",
    "right_party_contacts",
    "promises_made",
    "promises_kept",
    "promises_broken",
    "recovered",
    "visits_done",
)


@dataclass
class Figures:
    """One row of the manager view: an agent or a team."""

    key: int | None
    name: str
    username: str = ""
    cases_worked: int = 0
    contacts: int = 0
    right_party_contacts: int = 0
    promises_made: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    recovered: Decimal = ZERO
    visits_done: int = 0

    @property
    def kept_rate(self) -> Decimal | None:
        """Kept ÷ decided, as a percentage with one place; None when nothing was decided."""
        decided = self.promises_kept + self.promises_broken
        if not decided:
            return None
        return (Decimal(100) * self.promises_kept / decided).quantize(Decimal("0.1"))

    @property
    def right_party_rate(self) -> Decimal | None:
        if not self.contacts:
            return None
        return (Decimal(100) * self.right_party_contacts / self.contacts).quantize(Decimal("0.1"))


@dataclass
class CureRow:
    bucket: str
    label: str
    opened: int = 0
    cured: int = 0

    @property
    def rate(self) -> Decimal | None:
        if not self.opened:
            return None
        return (Decimal(100) * self.cured / self.opened).quantize(Decimal("0.1"))


@dataclass
class Performance:
    start: datetime.date
    end: datetime.date
    agents: list[Figures]
    teams: list[Figures]
    cure: list[CureRow]
    daily: list[tuple[datetime.date, Decimal]]
    totals: Figures = field(default_factory=lambda: Figures(key=None, name=""))


def default_period(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The last 30 days, today included."""
    today = today or business_date()
    return today - datetime.timedelta(days=DEFAULT_DAYS - 1), today


def _moments(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start 00:00, the day after end 00:00) in the console's time zone: a range the indexes on
    the moments can answer (a `__date` lookup would convert every row first)."""
    zone = timezone.get_default_timezone()
    return (
        datetime.datetime.combine(start, datetime.time.min, tzinfo=zone),
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone),
    )


def _money(value) -> Decimal:
    """A sum as money: two places (SQLite's SUM drops trailing zeros), zero for no rows."""
    return (value or ZERO).quantize(CENT)


def _staff_name(user) -> str:
    """As collection.tables.staff_name names staff (this module may not import the screens)."""
    full_name = user.get_full_name().strip()
    return f"{full_name} ({user.username})" if full_name else user.username


def _recoveries(start: datetime.date, end: datetime.date) -> QuerySet[PaymentAllocation]:
    """Allocations in the range to customers whose case was open on the allocation's date.

    Both conditions on the one join to the customer's cases, so each allocation meets the case
    (at most one: one open case per customer) that was open that day."""
    return PaymentAllocation.objects.filter(
        Q(installment__customer__collection_cases__closed_at__isnull=True)
        | Q(installment__customer__collection_cases__closed_at__date__gte=F("business_date")),
        business_date__gte=start,
        business_date__lte=end,
        installment__customer__collection_cases__opened_at__date__lte=F("business_date"),
    )


def _grouped(queryset: QuerySet, person: str, aggregates: dict, *, by_team: bool) -> dict:
    """{agent id or team id: {name: value}} for one table, grouped in the database."""
    key = f"{person}__collection_teams" if by_team else person
    rows = queryset.order_by().values(key).annotate(**aggregates)
    return {row[key]: row for row in rows}


def _figures(start: datetime.date, end: datetime.date, *, by_team: bool) -> dict[int | None, dict]:
    """Every metric for every agent (or team) that has one: one query per table."""
    since, until = _moments(start, end)
    events = CaseEvent.objects.filter(created_at__gte=since, created_at__lt=until)
    queries = (
        (
            events.filter(actor__isnull=False).exclude(type__in=NOT_WORK),
            "actor",
            {"cases_worked": Count("case", distinct=True)},
        ),
        (
            ContactAttempt.objects.filter(at__gte=since, at__lt=until),
            "agent",
            {
                "contacts": Count("id"),
                "right_party_contacts": Count(
                    "id", filter=Q(party=ContactParty.DEBTOR, outcome__in=RIGHT_PARTY_OUTCOMES)
                ),
            },
        ),
        (
            Promise.objects.filter(
                Q(made_at__gte=since, made_at__lt=until) | Q(decided_on__gte=start, decided_on__lte=end)
            ),
            "made_by",
            {
                "promises_made": Count("id", filter=Q(made_at__gte=since, made_at__lt=until)),
                "promises_kept": Count(
                    "id", filter=Q(status=PromiseStatus.KEPT, decided_on__gte=start, decided_on__lte=end)
                ),
                "promises_broken": Count(
                    "id", filter=Q(status=PromiseStatus.BROKEN, decided_on__gte=start, decided_on__lte=end)
                ),
            },
        ),
        (events.filter(type=CaseEventType.VISIT_DONE), "case__assigned_agent", {"visits_done": Count("id")}),
    )
    merged: dict[int | None, dict] = defaultdict(dict)
    for queryset, person, aggregates in queries:
        for key, row in _grouped(queryset, person, aggregates, by_team=by_team).items():
            merged[key].update({name: row[name] for name in aggregates})
    return merged


RECOVERING_AGENT = "installment__customer__collection_cases__assigned_agent"


def _team_memberships() -> dict[int, list[int]]:
    """{user id: the ids of the teams they are a member of}."""
    teams_of: dict[int, list[int]] = defaultdict(list)
    for user_id, team_id in Team.members.through.objects.values_list("user_id", "team_id"):
        teams_of[user_id].append(team_id)
    return teams_of


def _recovered(
    start: datetime.date, end: datetime.date, *, teams_of: dict[int, list[int]]
) -> tuple[dict[datetime.date, Decimal], dict[int | None, Decimal], dict[int | None, Decimal]]:
    """The money recovered per day, per agent and per team, from one pass over the allocations.

    The join of a month of allocations to their instalments and cases is the page's costliest
    read, so it runs once, grouped by day and agent; days, agents and teams are summed from those
    few rows (an agent in two teams counts in both; an unassigned case or an agent in no team
    counts under None, as the grouped queries do)."""
    rows = (
        _recoveries(start, end)
        .order_by()
        .values("business_date", RECOVERING_AGENT)
        .annotate(total=Sum("amount"))
    )
    daily: dict[datetime.date, Decimal] = defaultdict(lambda: ZERO)
    by_agent: dict[int | None, Decimal] = defaultdict(lambda: ZERO)
    by_team: dict[int | None, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        agent, total = row[RECOVERING_AGENT], row["total"]
        daily[row["business_date"]] += total
        by_agent[agent] += total
        for team in (teams_of.get(agent) if agent else None) or [None]:
            by_team[team] += total
    return daily, by_agent, by_team


def _rows(found: dict[int | None, dict], names: dict[int, tuple[str, str]], *, empty: str) -> list[Figures]:
    rows = []
    for key in sorted(set(found) | set(names), key=lambda k: (k is None, names.get(k, ("", ""))[0], k or 0)):
        name, username = names.get(key, (empty, ""))
        rows.append(Figures(key=key, name=name, username=username, **found.get(key, {})))
    for row in rows:
        row.recovered = _money(row.recovered)
    return rows


def collections_performance(*, start: datetime.date, end: datetime.date) -> Performance:
    """The manager view for [start, end] (business dates, both included)."""
    since, until = _moments(start, end)
    by_agent = _figures(start, end, by_team=False)
    by_team = _figures(start, end, by_team=True)
    teams_of = _team_memberships()
    daily, recovered_by_agent, recovered_by_team = _recovered(start, end, teams_of=teams_of)
    for found, recovered in ((by_agent, recovered_by_agent), (by_team, recovered_by_team)):
        for key, amount in recovered.items():
            found[key]["recovered"] = amount

    teams = {team.pk: (team.name, "") for team in Team.objects.order_by("name")}
    # Every member of a team shows, with nothing done too; and anyone else who did something.
    member_ids = set(teams_of)
    people = {
        user.pk: (_staff_name(user), user.username)
        for user in get_user_model().objects.filter(pk__in={k for k in by_agent if k} | member_ids)
    }
    agents = _rows(by_agent, people, empty=_("Unassigned"))
    team_rows = _rows(by_team, teams, empty=_("No team"))

    totals = Figures(key=None, name=_("All"))
    for row in agents:
        for name in METRICS:
            setattr(totals, name, getattr(totals, name) + getattr(row, name))
    # Distinct over everyone, not the sum of the agents' distinct counts.
    totals.cases_worked = (
        CaseEvent.objects.filter(created_at__gte=since, created_at__lt=until, actor__isnull=False)
        .exclude(type__in=NOT_WORK)
        .aggregate(n=Count("case", distinct=True))["n"]
    )

    days = [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]

    opening_bucket = Subquery(
        CaseEvent.objects.filter(case=OuterRef("pk"), type=CaseEventType.OPENED)
        .order_by("id")
        .annotate(b=KeyTextTransform("bucket", "payload"))
        .values("b")[:1]
    )
    cure = {
        row["opening_bucket"]: row
        for row in CollectionCase.objects.filter(opened_at__gte=since, opened_at__lt=until)
        .annotate(opening_bucket=Coalesce(opening_bucket, F("bucket"), output_field=CharField()))
        .order_by()
        .values("opening_bucket")
        .annotate(opened=Count("id"), cured=Count("id", filter=Q(status=CaseStatus.RESOLVED)))
    }
    cure_rows = [
        CureRow(
            bucket=value,
            label=str(label),
            opened=cure.get(value, {}).get("opened", 0),
            cured=cure.get(value, {}).get("cured", 0),
        )
        for value, label in Bucket.choices
    ]
    return Performance(
        start=start,
        end=end,
        agents=agents,
        teams=team_rows,
        cure=cure_rows,
        daily=[(day, _money(daily.get(day))) for day in days],
        totals=totals,
    )
