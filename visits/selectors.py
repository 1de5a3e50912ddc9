"""Reads of home visits: may a customer be visited, the field agent's day in route order, and the
lists the pages show."""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Customer
from accounts.roles import Role
from bnpl_admin.money import ZERO
from collection.models import Bucket, CollectionCase, Promise, PromiseStatus
from orders.models import OUTSTANDING, Installment, InstallmentStatus
from policy.conduct import customer_zone

from .models import CANCELLABLE_STATUSES, STAFFED_STATUSES, Visit, VisitStatus

# DESIGN.md: a home visit is made only between 09:00 and 20:00 in the customer's own time zone.
VISIT_WINDOW_START = datetime.time(9, 0)
VISIT_WINDOW_END = datetime.time(20, 0)
# Only from the M3 bucket on, unless a manager decides otherwise.
ELIGIBLE_BUCKETS = (Bucket.M3, Bucket.M4)
# A case has at most one visit on the way at a time.
OPEN_VISIT_STATUSES = (VisitStatus.REQUESTED, VisitStatus.SCHEDULED, VisitStatus.CHECKED_IN)


def visit_zone(customer: Customer) -> ZoneInfo:
    """The customer's time zone (policy.conduct.customer_zone: their own, else TIME_ZONE)."""
    return customer_zone(customer.timezone)


def in_visiting_hours(*, at: datetime.datetime, zone: ZoneInfo) -> bool:
    """09:00 (included) to 20:00 (excluded) local time: a visit starting at 20:00 is too late."""
    local = at.astimezone(zone).time()
    return VISIT_WINDOW_START <= local < VISIT_WINDOW_END


def customer_amount_overdue(*, customer_id: int) -> Decimal:
    """What the customer still owes on overdue instalments (orders.models.OUTSTANDING)."""
    return (
        Installment.objects.filter(customer_id=customer_id, status=InstallmentStatus.OVERDUE).aggregate(
            total=Coalesce(Sum(OUTSTANDING), ZERO)
        )["total"]
        or ZERO
    )


def customer_has_pending_promise(*, customer_id: int) -> bool:
    """A promise to pay not yet kept or broken: nobody is sent to the door while it runs."""
    return Promise.objects.filter(customer_id=customer_id, status=PromiseStatus.PENDING).exists()


def case_is_eligible(case: CollectionCase) -> bool:
    """M3 or later (DESIGN.md); a manager may decide a visit for another case (visit_request)."""
    return case.bucket in ELIGIBLE_BUCKETS


def case_has_open_visit(*, case_id: int) -> bool:
    return Visit.objects.filter(case_id=case_id, status__in=OPEN_VISIT_STATUSES).exists()


def case_cancellable_visit(*, case_id: int) -> Visit | None:
    """The case's visit that nobody has gone out on yet, if it has one (the case action "Cancel the
    home visit" offers it); at most one, as a case has one visit on the way at a time."""
    return (
        Visit.objects.filter(case_id=case_id, status__in=CANCELLABLE_STATUSES)
        .order_by("-requested_at", "-id")
        .first()
    )


def visits_requested(*, user) -> QuerySet[Visit]:
    """The requests waiting for a manager, oldest first, with what the list shows."""
    return (
        Visit.objects.visible_to(user)
        .filter(status=VisitStatus.REQUESTED)
        .select_related("case", "customer", "requested_by")
        .order_by("requested_at", "id")
    )


def visits_list(*, user) -> QuerySet[Visit]:
    """Every visit the user may see, newest request first (the managers' list of all visits)."""
    return (
        Visit.objects.visible_to(user)
        .select_related("case", "customer", "requested_by", "field_agent_1", "field_agent_2")
        .order_by("-requested_at", "-id")
    )


def visit_for(*, user, pk: int) -> Visit:
    """One visit the user may see (Visit.DoesNotExist otherwise: the page answers 404)."""
    return (
        Visit.objects.visible_to(user)
        .select_related(
            "case",
            "customer",
            "requested_by",
            "approved_by",
            "field_agent_1",
            "field_agent_2",
            "cancelled_by",
        )
        .prefetch_related("photos")
        .get(pk=pk)
    )


def local_day_bounds(day: datetime.date, zone: ZoneInfo) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)
    return start, start + datetime.timedelta(days=1)


def visits_of_the_day(*, user, day: datetime.date, zone: ZoneInfo | None = None) -> list[Visit]:
    """The visits assigned to `user` scheduled on `day` (the field agent's own zone), in the
    suggested route order (route_order)."""
    zone = zone or ZoneInfo(getattr(user, "timezone", "") or timezone.get_default_timezone_name())
    start, end = local_day_bounds(day, zone)
    visits = list(
        Visit.objects.assigned_to(user)
        .filter(
            Q(scheduled_for__gte=start, scheduled_for__lt=end)
            | Q(status=VisitStatus.CHECKED_IN, check_in_at__gte=start, check_in_at__lt=end),
            status__in=STAFFED_STATUSES,
        )
        .select_related("case", "customer", "field_agent_1", "field_agent_2")
        .order_by("scheduled_for", "id")
    )
    return route_order(visits)


# --- The suggested route ------------------------------------------------------------------------


@dataclass(frozen=True)
class Stop:
    district: tuple[str, str, str]
    latitude: Decimal | None
    longitude: Decimal | None
    scheduled_for: datetime.datetime | None


def _stop(visit: Visit) -> Stop:
    customer = visit.customer
    return Stop(
        district=(customer.province, customer.city, customer.district),
        latitude=customer.latitude,
        longitude=customer.longitude,
        scheduled_for=visit.scheduled_for,
    )


def _distance(a: Stop, b: Stop) -> Decimal:
    """Squared distance on a small piece of the map (equirectangular): enough to pick the nearest."""
    mean_latitude = math.radians((a.latitude + b.latitude) / 2)
    dx = (b.longitude - a.longitude) * Decimal(str(round(math.cos(mean_latitude), 6)))
    dy = b.latitude - a.latitude
    return dx * dx + dy * dy


def route_order(visits: Sequence, stop=_stop) -> list:
    """The visits in a suggested walking order: grouped by district (the district whose first
    visit is earliest comes first), and inside a district from its earliest visit on to the
    nearest next one, by the address's coordinates; visits without coordinates close the
    district's round, by time."""
    groups: dict[tuple[str, str, str], list] = {}
    for visit in visits:
        groups.setdefault(stop(visit).district, []).append(visit)

    def earliest(items) -> tuple:
        times = [stop(v).scheduled_for for v in items if stop(v).scheduled_for is not None]
        return (min(times) if times else datetime.datetime.max.replace(tzinfo=datetime.UTC),)

    ordered = []
    for _district, items in sorted(groups.items(), key=lambda kv: (earliest(kv[1]), kv[0])):
        placed = [v for v in items if stop(v).latitude is not None and stop(v).longitude is not None]
        unplaced = [v for v in items if v not in placed]
        by_time = sorted(placed, key=lambda v: earliest([v]))
        path = []
        if by_time:
            current = by_time[0]
            path.append(current)
            left = by_time[1:]
            while left:
                nearest = min(left, key=lambda v: (_distance(stop(current), stop(v)), earliest([v])))
                left.remove(nearest)
                path.append(nearest)
                current = nearest
        ordered += path + sorted(unplaced, key=lambda v: earliest([v]))
    return ordered


def field_agents_available():
    """Who may be sent on a visit: active users with the Field agent role."""
    return (
        get_user_model()
        .objects.filter(groups__name=Role.FIELD_AGENT, is_active=True)
        .distinct()
        .order_by("username")
    )
