"""Reads of restrictions: the lines a bulk filter selects, the preview's figures, the jobs, a
customer's restrictions.

The filters (a job's `filter_spec`, AND-ed): grade E (or any grade), the customers of one chosen
merchant, the customers of any merchant with the risk flag (`orders.Merchant.is_risky`), and the
customers more than 30 days past due at some point in the last 90 days. That last one is derived
from instalments, so it needs no stored history: an instalment due on d was more than 30 DPD on
every day from d + 31 until it was paid; it counts when that stretch reaches into the last 90
days, i.e. d + 31 <= today and it is unpaid (scheduled, due, overdue or written off) or was paid
after max(d + 31, today - 90). Waived instalments and those of cancelled orders never count. Days an
order spent on hold (a return or dispute) are not taken off here: the filter errs towards
including the customer, and the preview shows how many lines it selects before anything runs.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest

from accounts.models import CreditLine, Customer
from bnpl_admin.money import ZERO
from orders.models import OPEN_ORDER_STATUSES, Installment, InstallmentStatus, Order

from .models import (
    ACTION_FROM,
    PERMISSION_VIEW_JOBS,
    Restriction,
    RestrictionJob,
)

# The spec's keys: {"grade": "E", "merchant": 12, "flagged_merchants": true,
#                   "dpd_over": 30, "within_days": 90}
DPD_OVER_DEFAULT, WITHIN_DAYS_DEFAULT = 30, 90

_NOT_PAID = (
    InstallmentStatus.SCHEDULED,
    InstallmentStatus.DUE,
    InstallmentStatus.OVERDUE,
    InstallmentStatus.WRITTEN_OFF,
)
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def _seriously_late(*, on: datetime.date, dpd_over: int, within_days: int):
    """Installments that were more than `dpd_over` days past due on some day of the last
    `within_days` days up to `on` (see the module's note)."""
    first_late_day = ExpressionWrapper(
        F("due_date") + datetime.timedelta(days=dpd_over + 1), output_field=DateField()
    )
    window_start = on - datetime.timedelta(days=within_days)
    return Installment.objects.filter(
        due_date__lte=on - datetime.timedelta(days=dpd_over + 1),
    ).filter(
        # Still unpaid (a written-off one too), or paid after it passed the mark and inside the window.
        Q(paid_at__isnull=True, status__in=_NOT_PAID)
        | (Q(paid_at__date__gt=window_start) & Q(paid_at__date__gt=first_late_day))
    )


def lines_matching(*, spec: dict, on: datetime.date) -> QuerySet[CreditLine]:
    """Every credit line the filter selects, whatever its status."""
    lines = CreditLine.objects.all()
    if spec.get("grade"):
        lines = lines.filter(grade=spec["grade"])
    if spec.get("merchant"):
        lines = lines.filter(
            Exists(Order.objects.filter(customer_id=OuterRef("customer_id"), merchant_id=spec["merchant"]))
        )
    if spec.get("flagged_merchants"):
        lines = lines.filter(
            Exists(Order.objects.filter(customer_id=OuterRef("customer_id"), merchant__is_risky=True))
        )
    if spec.get("dpd_over") is not None:
        late = _seriously_late(
            on=on,
            dpd_over=int(spec["dpd_over"]),
            within_days=int(spec.get("within_days") or WITHIN_DAYS_DEFAULT),
        )
        lines = lines.filter(Exists(late.filter(customer_id=OuterRef("customer_id"))))
    return lines


def lines_to_change(*, spec: dict, action: str, on: datetime.date) -> QuerySet[CreditLine]:
    """The lines the action would change: those the filter selects that are in a status the
    action moves from (a frozen line is not frozen again; a closed one is never changed)."""
    return lines_matching(spec=spec, on=on).filter(status__in=ACTION_FROM[action])


def available_credit_expression():
    """Limit minus the principal the line's open orders carry, not below zero, whatever the line's
    status (what the line offers once active; orders.selectors.credit_available answers zero for a
    line that is not active). Set-based: two correlated subqueries, no query per line."""
    scheduled = (
        Installment.objects.filter(customer_id=OuterRef("customer_id"), order__status__in=OPEN_ORDER_STATUSES)
        .values("customer_id")
        .annotate(owed=Sum(F("principal_due") - F("principal_paid")))
        .values("owed")
    )
    undelivered = (
        Order.objects.filter(
            customer_id=OuterRef("customer_id"), status__in=OPEN_ORDER_STATUSES, installments__isnull=True
        )
        .values("customer_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    zero = Value(ZERO, output_field=_MONEY)
    return Greatest(
        F("limit")
        - Coalesce(Subquery(scheduled, output_field=_MONEY), zero)
        - Coalesce(Subquery(undelivered, output_field=_MONEY), zero),
        zero,
        output_field=_MONEY,
    )


def with_available_credit(lines: QuerySet[CreditLine]) -> QuerySet[CreditLine]:
    """Each line with `available` (available_credit_expression)."""
    return lines.annotate(available=available_credit_expression())


@dataclass(frozen=True)
class Preview:
    lines: int  # the action changes these
    available: Decimal  # their available credit (limit less what open orders carry)
    skipped: int  # selected by the filter but already in the target state, or closed


def restriction_preview(*, spec: dict, action: str, on: datetime.date) -> Preview:
    matching = lines_matching(spec=spec, on=on)
    # The sum over a subquery of the lines (an aggregate cannot hold the correlated subqueries).
    changing = with_available_credit(matching.filter(status__in=ACTION_FROM[action])).values("available")
    totals = CreditLine.objects.filter(
        pk__in=matching.filter(status__in=ACTION_FROM[action]).values("pk")
    ).aggregate(lines=Count("id"))
    totals["available"] = _sum_of(changing)
    selected = matching.count()
    return Preview(
        lines=totals["lines"] or 0,
        available=(totals["available"] or ZERO).quantize(Decimal("0.01")),
        skipped=selected - (totals["lines"] or 0),
    )


def _sum_of(values: QuerySet) -> Decimal:
    """SUM over a one-column queryset, in the database: SELECT SUM(x) FROM (...) (no rows read here)."""
    from django.db import connection

    sql, params = values.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT SUM(sub.available) FROM ({sql}) sub", params)
        (total,) = cursor.fetchone()
    return Decimal(total or 0)


def restriction_jobs(*, user) -> QuerySet[RestrictionJob]:
    if not user.has_perm(PERMISSION_VIEW_JOBS):
        return RestrictionJob.objects.none()
    return RestrictionJob.objects.select_related("requested_by", "approved_by").order_by(
        "-requested_at", "-id"
    )


def line_actions(*, line: CreditLine | None) -> list[str]:
    """The actions that would change this line now (none for a closed line or no line)."""
    if line is None:
        return []
    return [action for action, statuses in ACTION_FROM.items() if line.status in statuses]


def customer_restrictions(*, customer: Customer, limit: int = 50) -> list[Restriction]:
    return list(
        Restriction.objects.filter(customer=customer)
        .select_related("by", "job")
        .order_by("-created_at", "-id")[:limit]
    )


def job_restrictions(*, job: RestrictionJob, limit: int = 20) -> list[Restriction]:
    return list(job.restrictions.select_related("customer").order_by("-id")[:limit])
