"""Reads for reminders: the instalments to remind on a date, what is already queued, what is due now."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

from django.db.models import F, Q, QuerySet

from accounts.models import Customer
from orders.models import UNPAID_INSTALLMENT_STATUSES, Installment

from .models import Reminder, Status


def reminder_candidates(*, due_dates: Iterable[datetime.date], on: datetime.date | None = None) -> QuerySet:
    """Unpaid instalments with something left to pay, due on one of `due_dates`, not on hold;
    with `on` (the business date of the selection), without the after-due ones of customers
    whose after-due reminders pause that day (after_due_pause_add).

    Rows of (inst_id, cust_id, due_on, phone_no, email_addr, zone_name), for the selection
    to use as a subquery; on the (status, due_date) index, joined to the customer.
    """
    rows = Installment.objects.all()
    if on is not None:
        for pause in _after_due_pauses:
            rows = rows.exclude(due_date__lt=on, customer_id__in=pause(on=on))
    return (
        rows.filter(
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


# --- Pauses of after-due reminders, answered by higher apps ---------------------------------------
# The reminders app sits below collections, so it cannot ask whether a customer has promised to
# pay; collections registers the question here in its AppConfig.ready (as orders.selectors offers
# books_source_add to the sweep). A pause answers, for a business date, the customers whose
# after-due reminders (T+n) are not sent that day, as a query of customer ids; reminders before and
# on the due date are never paused.
AfterDuePause = Callable[..., QuerySet]
_after_due_pauses: list[AfterDuePause] = []


def after_due_pause_add(pause: AfterDuePause) -> None:
    """Add a pause, called as pause(on=date) (once; adding it again changes nothing)."""
    if pause not in _after_due_pauses:
        _after_due_pauses.append(pause)


def after_due_paused(*, customer_id: int, on: datetime.date) -> bool:
    """Whether the customer's after-due reminders pause on business date `on`."""
    return any(
        Customer.objects.filter(pk=customer_id, pk__in=pause(on=on)).exists() for pause in _after_due_pauses
    )
