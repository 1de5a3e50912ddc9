"""The characteristics a scorecard can use, computed set-based for a range of customers.

A few GROUP BY queries per batch of customers (customers with their lines, instalments by
customer, orders by customer, orders by customer and merchant) and one per run (return rates
by merchant), never a query per customer: `facts_for_batch` returns every characteristic of
every customer in the batch. Values are plain floats, strings or None ("missing": nothing to
measure yet, e.g. no instalment has fallen due), which the scoring engine puts in bins.

Days late are counted from the due date to the day paid (or `on`, unpaid); days on hold
(returns, disputes) are not taken off here, a simplification against the sweep's DPD.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, DateField, DurationField, F, Max, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from orders.models import (
    UNPAID_INSTALLMENT_STATUSES,
    Channel,
    Installment,
    InstallmentStatus,
    Order,
    OrderStatus,
)

# Orders that were placed and went ahead (declined and cancelled ones say nothing of repayment).
_PLACED = ~Q(status__in=[OrderStatus.DECLINED, OrderStatus.CANCELLED])
MISSING = "missing"
NO_ORDERS = "none"


@dataclass(frozen=True)
class Definition:
    code: str
    label: str
    # Plain words for a reason code: why this characteristic cost the customer points.
    reason: str
    categorical: bool = False
    categories: tuple[tuple[str, str], ...] = ()


DEFINITIONS: dict[str, Definition] = {
    d.code: d
    for d in (
        Definition(
            "months_on_book",
            _("Months on book"),
            _("A short history with us: the customer joined only a few months ago."),
        ),
        Definition(
            "on_time_share",
            _("Instalments paid on time"),
            _("Too few instalments were paid by their due date."),
        ),
        Definition(
            "worst_dpd_12m",
            _("Worst days past due, last 12 months"),
            _("Paid late, or is late, on an instalment due in the last 12 months."),
        ),
        Definition(
            "completed_orders",
            _("Completed orders"),
            _("Few orders paid off in full so far."),
        ),
        Definition(
            "utilisation",
            _("Credit used"),
            _("Much of the credit limit is already in use."),
        ),
        Definition(
            "returned_share",
            _("Orders returned"),
            _("Many orders were returned."),
        ),
        Definition(
            "livestream_share",
            _("Orders from livestreams"),
            _("Many orders were placed during livestreams (impulse buying)."),
        ),
        Definition(
            "merchant_risk",
            _("Orders at flagged merchants"),
            _("Buys from merchants flagged as risky."),
        ),
        Definition(
            "channel_mix",
            _("Channel mix"),
            _("Where the customer shops is associated with more arrears."),
            categorical=True,
            categories=(
                ("livestream", _("Mostly livestreams")),
                ("short_video", _("Mostly short videos")),
                ("mall", _("Mostly the mall")),
                ("mixed", _("Mixed")),
                (NO_ORDERS, _("No orders")),
            ),
        ),
        Definition(
            "merchant_return_rate",
            _("Merchants' return rate"),
            _("Shops at merchants whose orders are often returned."),
        ),
    )
}


def label_of(code: str) -> str:
    definition = DEFINITIONS.get(code)
    return definition.label if definition else code


def reason_of(code: str) -> str:
    definition = DEFINITIONS.get(code)
    return definition.reason if definition else code


def category_label(code: str, category: str) -> str:
    if category == MISSING:
        return str(_("No data yet"))
    definition = DEFINITIONS.get(code)
    return str(dict(definition.categories).get(category, category)) if definition else category


@dataclass
class CustomerFacts:
    """One customer's characteristic values and what rescoring needs beside them."""

    customer_id: int
    values: dict[str, object] = field(default_factory=dict)
    line_id: int | None = None
    limit: Decimal | None = None
    grade: str = ""
    line_status: str = ""
    arrears_recently: bool = False  # late in the policy's window, or anything unpaid past due


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def merchant_return_rates(*, on: datetime.date) -> dict[int, float]:
    """Share of each merchant's placed orders that were returned (one GROUP BY over all orders)."""
    end = _end_of(on)
    rows = (
        Order.objects.filter(_PLACED, placed_at__lt=end)
        .values("merchant_id")
        .annotate(total=Count("id"), returned=Count("id", filter=Q(status=OrderStatus.RETURNED)))
        .values_list("merchant_id", "total", "returned")
    )
    return {merchant: returned / total for merchant, total, returned in rows if total}


def _end_of(on: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(on + datetime.timedelta(days=1), datetime.time()))


def _days(value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime.timedelta):
        return max(value.days, 0)
    return max(int(value) // 86_400_000_000, 0)  # microseconds, where the backend has no interval


def facts_for_batch(
    *,
    on: datetime.date,
    first_id: int,
    last_id: int,
    merchant_rates: dict[int, float],
    arrears_months: int = 6,
) -> dict[int, CustomerFacts]:
    """Every characteristic of the customers with first_id <= id <= last_id, as of the end of `on`:
    orders placed and instalments paid later than `on` do not count (the fitting command looks
    back in time with it; nightly rescoring passes today)."""
    end = _end_of(on)
    ids = Q(customer_id__gte=first_id, customer_id__lte=last_id)
    facts: dict[int, CustomerFacts] = {}
    customers = Customer.objects.filter(id__gte=first_id, id__lte=last_id, created_at__lt=end).values_list(
        "id",
        "created_at",
        "credit_line__id",
        "credit_line__limit",
        "credit_line__grade",
        "credit_line__status",
    )
    for customer_id, created_at, line_id, limit, grade, status in customers:
        months = (on - timezone.localdate(created_at)).days // 30
        facts[customer_id] = CustomerFacts(
            customer_id,
            values={"months_on_book": float(max(months, 0))},
            line_id=line_id,
            limit=limit,
            grade=grade or "",
            line_status=status or "",
        )
    if not facts:
        return facts

    # --- Instalments, by customer -------------------------------------------------------------
    on_value = Value(on, output_field=DateField())
    paid_by_then = Q(paid_at__lt=end)
    paid_day = TruncDate("paid_at")
    days_late = Case(
        When(paid_by_then, then=paid_day - F("due_date")),
        default=on_value - F("due_date"),
        output_field=DurationField(),
    )
    fell_due = Q(due_date__lte=on) & ~Q(status=InstallmentStatus.WAIVED)
    year_ago = on - datetime.timedelta(days=365)
    window_start = on - datetime.timedelta(days=30 * arrears_months)
    unpaid_then = ~paid_by_then & ~Q(status=InstallmentStatus.WAIVED)
    instalments = Installment.objects.filter(ids)
    if end <= timezone.now():  # looking back: leave out orders placed later (a join nightly runs skip)
        instalments = instalments.filter(order__placed_at__lt=end)
    rows = (
        instalments.values("customer_id")
        .annotate(
            fell_due=Count("id", filter=fell_due),
            on_time=Count("id", filter=fell_due & paid_by_then & Q(paid_at__date__lte=F("due_date"))),
            worst_12m=Max(days_late, filter=fell_due & Q(due_date__gt=year_ago)),
            worst_window=Max(days_late, filter=fell_due & Q(due_date__gt=window_start)),
            overdue_now=Count("id", filter=unpaid_then & Q(due_date__lt=on)),
            principal_owed=Sum(
                F("principal_due") - F("principal_paid"),
                filter=Q(status__in=UNPAID_INSTALLMENT_STATUSES) | unpaid_then,
            ),
        )
        .values_list(
            "customer_id", "fell_due", "on_time", "worst_12m", "worst_window", "overdue_now", "principal_owed"
        )
    )
    owed: dict[int, Decimal] = {}
    for customer_id, due, on_time, worst_12m, worst_window, overdue_now, principal_owed in rows:
        fact = facts.get(customer_id)
        if fact is None:
            continue
        fact.values["on_time_share"] = _share(on_time, due)
        fact.values["worst_dpd_12m"] = float(_days(worst_12m))
        fact.arrears_recently = _days(worst_window) > 0 or overdue_now > 0
        owed[customer_id] = principal_owed or Decimal(0)

    # --- Orders, by customer -----------------------------------------------------------------
    rows = (
        Order.objects.filter(ids, _PLACED, placed_at__lt=end)
        .values("customer_id")
        .annotate(
            total=Count("id"),
            completed=Count("id", filter=Q(status=OrderStatus.COMPLETED)),
            returned=Count("id", filter=Q(status=OrderStatus.RETURNED)),
            livestream=Count("id", filter=Q(channel=Channel.LIVESTREAM)),
            short_video=Count("id", filter=Q(channel=Channel.SHORT_VIDEO)),
            mall=Count("id", filter=Q(channel=Channel.MALL)),
            risky=Count("id", filter=Q(merchant__is_risky=True)),
        )
        .values_list(
            "customer_id", "total", "completed", "returned", "livestream", "short_video", "mall", "risky"
        )
    )
    orders = {row[0]: row[1:] for row in rows}

    # --- Orders, by customer and merchant: the merchants' return rates, weighted -----------------
    weighted: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
    rows = (
        Order.objects.filter(ids, _PLACED, placed_at__lt=end)
        .values("customer_id", "merchant_id")
        .annotate(n=Count("id"))
        .values_list("customer_id", "merchant_id", "n")
    )
    for customer_id, merchant_id, n in rows:
        acc = weighted[customer_id]
        acc[0] += merchant_rates.get(merchant_id, 0.0) * n
        acc[1] += n

    for customer_id, fact in facts.items():
        values = fact.values
        values.setdefault("on_time_share", None)
        values.setdefault("worst_dpd_12m", 0.0)
        total, completed, returned, livestream, short_video, mall, risky = orders.get(customer_id, (0,) * 7)
        values["completed_orders"] = float(completed)
        values["returned_share"] = _share(returned, total)
        values["livestream_share"] = _share(livestream, total)
        values["merchant_risk"] = _share(risky, total)
        values["channel_mix"] = _channel_mix(total, livestream=livestream, short_video=short_video, mall=mall)
        acc = weighted.get(customer_id)
        values["merchant_return_rate"] = round(acc[0] / acc[1], 4) if acc and acc[1] else None
        limit = fact.limit or Decimal(0)
        principal = owed.get(customer_id, Decimal(0))
        if limit > 0:
            values["utilisation"] = round(float(principal / limit), 4)
        else:
            values["utilisation"] = 1.0 if principal > 0 else None
    return facts


def _channel_mix(total: int, **counts: int) -> str:
    if not total:
        return NO_ORDERS
    channel, count = max(counts.items(), key=lambda item: item[1])
    return channel if count / total >= 0.5 else "mixed"


def customer_id_batches(*, batch_size: int) -> list[tuple[int, int]]:
    """Ranges of customer ids of about batch_size customers each (one query over the id index)."""
    ids = list(Customer.objects.order_by("id").values_list("id", flat=True))
    return [(ids[i], ids[min(i + batch_size, len(ids)) - 1]) for i in range(0, len(ids), batch_size)]
