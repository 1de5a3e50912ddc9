"""Reads for reminders: the instalments to remind on a date, what is already queued, what is due now."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db.models import F, Q, QuerySet

from orders.models import UNPAID_INSTALLMENT_STATUSES, Installment

from .models import Reminder, Status


def reminder_candidates(*, due_dates: Iterable[datetime.date]) -> QuerySet:
    """Unpaid instalments with something left to pay, due on one of `due_dates`, not on hold.

    Rows of (inst_id, cust_id, due_on, phone_no, email_addr, zone_name), for the selection
    to use as a subquery; on the (status, due_date) index, joined to the customer.
    """
    return (
        Installment.objects.filter(
            status__in=UNPAID_INSTALLMENT_STATUSES,
            due_date__in=list(due_dates),
            order__hold="",
        )
        .owing()
        .filter(~Q(customer__phone="") | ~Q(customer__email=""))
        .order_by()
        .values(
            inst_id=F("id"),
            cust_id=F("customer_id"),
            due_on=F("due_date"),
            phone_no=F("customer__phone"),
            email_addr=F("customer__email"),
            zone_name=F("customer__timezone"),
        )
    )


def candidate_time_zones(*, candidates: QuerySet) -> list[str]:
    """The customers' time zone names among the candidates (a handful: the selection works per zone)."""
    return sorted({row["zone_name"] for row in candidates.values("zone_name").distinct()})


def due_reminder_ids(
    *, now: datetime.datetime, published_before: datetime.datetime | None = None, limit: int | None = None
) -> list[int]:
    """Queued reminders that may go out at `now`, oldest first.

    With `published_before`, only those never published to a worker or published before then.
    """
    rows = Reminder.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now, not_before__lte=now)
    if published_before is not None:
        rows = rows.filter(Q(published_at__isnull=True) | Q(published_at__lt=published_before))
    ids = rows.order_by("next_attempt_at", "id").values_list("id", flat=True)
    return list(ids[:limit] if limit else ids)


def reminders_waiting_late(*, now: datetime.datetime, late_after: datetime.timedelta) -> int:
    """Reminders still waiting `late_after` past the moment they were due to go out (queued), or
    claimed that long ago and never recorded (sending): the dispatcher should have delivered or
    recovered them by now."""
    cutoff = now - late_after
    return Reminder.objects.filter(
        Q(status=Status.QUEUED, next_attempt_at__lt=cutoff, not_before__lt=cutoff)
        | Q(status=Status.SENDING, claimed_at__lt=cutoff)
    ).count()
