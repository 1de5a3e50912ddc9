"""The nightly overdue sweep for a business date: plan it in chunks, run each chunk once, finish.

A run is one row per date (the lock); its chunks are ranges of customer ids. A chunk does
all its work in one transaction and marks itself done in the same transaction, so a
worker killed half-way leaves the chunk pending and a retry starts it from scratch; a
chunk that is done is never run again. Inside a chunk every step is set-based SQL or a
bulk operation over at most `chunk_size` customers.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Max, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Customer
from accounts.services import credit_lines_freeze_overdue
from bnpl_admin.dates import business_date
from bnpl_admin.errors import DomainError
from bnpl_admin.money import ZERO
from bnpl_admin.signals import sweep_done
from collection.services import cases_age
from orders.ledger import LateFeeTerms, late_fee_accrue, late_fee_days
from orders.models import (
    OUTSTANDING,
    OUTSTANDING_BY_COMPONENT,
    UNPAID_INSTALLMENT_STATUSES,
    AllocationKind,
    Component,
    Installment,
    InstallmentStatus,
    Payment,
    PaymentStatus,
)
from orders.services import credit_balance_apply
from policy.models import Policy
from policy.selectors import policy_in_force

from . import sql
from .models import ChunkStatus, PortfolioSnapshot, RunStatus, SweepChunk, SweepRun

logger = logging.getLogger(__name__)

# Customers per chunk. Each chunk costs some 30 statements and a commit whatever its size, and
# its statements find their rows through indexes, so larger chunks are cheaper overall
# (docs/performance.md: 2,000 → 5,000 → 10,000); 25 chunks at 250,000 customers still spread
# over several workers, and one chunk's transaction stays around a second.
DEFAULT_CHUNK_SIZE = 10000


def _ppm(rate: Decimal) -> int:
    return int((rate * 1_000_000).to_integral_value())


def _fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _refuse_future(on: datetime.date) -> None:
    """A sweep for a day that has not come yet would charge fees and age cases for days no one has
    been late: refused wherever it comes from (the command, a beat task's edited arguments)."""
    today = business_date()
    if on > today:
        raise DomainError(
            _("The sweep cannot run for %(date)s: that business date is after today (%(today)s).")
            % {"date": on.isoformat(), "today": today.isoformat()},
            code="future_date",
        )


def _refuse_superseded(
    on: datetime.date, *, customer_from: int | None = None, customer_to: int | None = None
) -> None:
    """A run for a later date that did work has already caught up everything the sweep for `on`
    would do (fees are counted from `late_fee_through`, statuses and ageing from the later date);
    running `on` after it would only move days past due, buckets and statuses back. Within a
    chunk, only later chunks over the same customers count."""
    later = SweepChunk.objects.filter(run__business_date__gt=on, status=ChunkStatus.DONE)
    if customer_from is not None:
        later = later.filter(customer_from__lt=customer_to, customer_to__gt=customer_from)
    latest = later.order_by("-run__business_date").values_list("run__business_date", flat=True).first()
    if latest is not None:
        raise DomainError(
            _(
                "The sweep for %(date)s was not run: the sweep for the later date %(later)s has already "
                "run and caught up its work. A sweep never undoes what a later date computed."
            )
            % {"date": on.isoformat(), "later": latest.isoformat()},
            code="superseded",
        )


@transaction.atomic
def sweep_plan(
    *, on: datetime.date, chunk_size: int = DEFAULT_CHUNK_SIZE, triggered_by: str = ""
) -> SweepRun:
    """The run for `on`, created with its chunks if there is none yet (one per date).

    Refused (DomainError) for a date after today, and for a date with work left to do once a
    later date has been swept."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    _refuse_future(on)
    run = SweepRun.objects.filter(business_date=on).first()
    if run is None or run.chunks.exclude(status=ChunkStatus.DONE).exists():
        _refuse_superseded(on)
    run, created = SweepRun.objects.get_or_create(
        business_date=on,
        defaults={
            "policy": policy_in_force(on=on),
            "chunk_size": chunk_size,
            "triggered_by": triggered_by,
        },
    )
    if created:
        bounds = Customer.objects.aggregate(lo=Min("id"), hi=Max("id"))
        chunks = []
        if bounds["lo"] is not None:
            for number, start in enumerate(range(bounds["lo"], bounds["hi"] + 1, chunk_size)):
                chunks.append(
                    SweepChunk(run=run, number=number, customer_from=start, customer_to=start + chunk_size)
                )
        SweepChunk.objects.bulk_create(chunks)
        run.chunk_count = len(chunks)
        run.save(update_fields=["chunk_count"])
    return run


def _chunk_claim(chunk_id: int) -> bool:
    """Record, committed, that a worker takes the chunk now (the watchdog's lease counts from it,
    and `attempts` counts it); False when it is done or another worker holds it. Not the guard
    against double work: that is the row lock and the status check of the chunk's transaction."""
    with transaction.atomic():
        chunk = (
            # The chunk row only (the default ordering would join the run and lock it too).
            SweepChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=chunk_id, status__in=[ChunkStatus.PENDING, ChunkStatus.FAILED])
            .order_by()
            .values_list("pk", flat=True)
            .first()
        )
        if chunk is None:
            return False
        SweepChunk.objects.filter(pk=chunk_id).update(claimed_at=timezone.now(), attempts=F("attempts") + 1)
    return True


def sweep_chunk_run(*, chunk_id: int) -> dict | None:
    """Run one chunk if it is still to do; None when it is done or another worker holds it."""
    started = time.monotonic()
    if not _chunk_claim(chunk_id):
        return None
    try:
        with transaction.atomic():
            chunk = (
                # Lock the chunk row only: locking the joined run and policy rows too would make
                # every other worker skip its chunk while this one runs.
                SweepChunk.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("run__policy")
                .filter(pk=chunk_id, status__in=[ChunkStatus.PENDING, ChunkStatus.FAILED])
                .first()
            )
            if chunk is None:
                return None
            # Checked again here: the chunk may have been planned, queued or left failed before
            # the later date ran (a resumed run, a retry, a redelivered task).
            _refuse_future(chunk.run.business_date)
            _refuse_superseded(
                chunk.run.business_date, customer_from=chunk.customer_from, customer_to=chunk.customer_to
            )
            _tune_session()
            stats = sweep_range(
                on=chunk.run.business_date,
                customer_from=chunk.customer_from,
                customer_to=chunk.customer_to,
                policy=chunk.run.policy,
            )
            chunk.status = ChunkStatus.DONE
            chunk.stats = stats
            chunk.error = ""
            chunk.finished_at = timezone.now()
            chunk.milliseconds = int((time.monotonic() - started) * 1000)
            # Not `attempts`, `claimed_at` or `published_at`: the claim and the watchdog write
            # those in their own transactions.
            chunk.save(update_fields=["status", "stats", "error", "finished_at", "milliseconds"])
            return stats
    except Exception as exc:
        # The chunk's work was rolled back; record why, so the admin shows it and a retry
        # (or `run_sweep`) picks it up again.
        SweepChunk.objects.filter(pk=chunk_id).exclude(status=ChunkStatus.DONE).update(
            status=ChunkStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise


def _tune_session() -> None:
    """PostgreSQL settings for the chunk's transaction (SET LOCAL ends with it). The chunk's
    statements are short index-driven ones: compiling them with JIT costs more than it saves
    as soon as the planner's estimate passes jit_above_cost, and a parallel worker started for
    a 100 ms query only competes with the other chunks' workers for the same cores."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def sweep_range(*, on: datetime.date, customer_from: int, customer_to: int, policy: Policy) -> dict[str, int]:
    """The sweep's work for the customers with ids in [customer_from, customer_to), in order:
    credit balances on due dates, statuses and late fees (one statement), ageing and cases,
    freezes."""
    dialect = sql.Dialect(connection.vendor)
    params = sql.ChunkParams(
        on=on,
        lo=customer_from,
        hi=customer_to,
        grace_days=policy.late_fee_grace_days,
        daily_rate_ppm=_ppm(policy.late_fee_daily_rate),
        cap_rate_ppm=_ppm(policy.late_fee_cap_rate),
        cap_amount_fen=_fen(policy.late_fee_cap_amount),
        policy_days=(on - policy.effective_from).days,
    ).as_dict()
    stats: Counter[str] = Counter()
    # Credit balance first: it pays what is due by D (whatever its status), and what it pays
    # neither changes status nor accrues a fee below.
    stats["credit_applied"] = _apply_credit_balances(on, customer_from, customer_to)
    with connection.cursor() as cursor:
        if not dialect.pg:
            cursor.execute(sql.daily_changes_select(dialect), params)
            changes = cursor.fetchall()
        cursor.execute(sql.daily_update(dialect), params)
        if dialect.pg:
            changes = cursor.fetchall()
        by_day = set()
        for old, new, fee_added, order_id, day_by_day in changes:
            if old != new:
                stats[f"became_{new}"] += 1
            stats["late_fees_accrued"] += bool(fee_added)
            if day_by_day:
                by_day.add(order_id)
        if by_day:
            stats["late_fees_accrued"] += _late_fees_day_by_day(on=on, order_ids=by_day)
            stats["orders_charged_day_by_day"] = len(by_day)

        cursor.execute(sql.ageing_select(dialect), params)
        owing = cursor.fetchall()
    # Customers who owe overdue money, and the days past due of those not wholly on hold.
    still_owing = {customer_id for customer_id, _ in owing}
    dpd_by_customer = {customer_id: int(dpd) for customer_id, dpd in owing if dpd is not None}
    stats["overdue_customers"] = len(dpd_by_customer)

    stats.update(
        cases_age(
            on=on,
            customer_from=customer_from,
            customer_to=customer_to,
            dpd_by_customer=dpd_by_customer,
            still_owing=still_owing,
        )
    )
    stats["credit_lines_frozen"] = credit_lines_freeze_overdue(
        on=on, dpd_by_customer=dpd_by_customer, freeze_at_dpd=policy.freeze_at_dpd
    )
    return dict(stats)


def _late_fees_day_by_day(*, on: datetime.date, order_ids: set[int]) -> int:
    """Late fees for the orders sql._daily_changes could not charge in one step (a caught-up
    gap that reaches the cap or spans a change of policy): each missed day in turn, with the
    terms in force that day, by orders.ledger. The number of instalments charged."""
    terms: dict[datetime.date, LateFeeTerms] = {}

    def terms_on(day: datetime.date) -> LateFeeTerms:
        if day not in terms:
            terms[day] = LateFeeTerms.from_policy(policy_in_force(on=day))
        return terms[day]

    by_order: dict[int, list[Installment]] = defaultdict(list)
    for installment in Installment.objects.select_for_update().filter(order_id__in=order_ids).order_by("pk"):
        by_order[installment.order_id].append(installment)
    grace = terms_on(on).grace_days
    changed = []
    for installments in by_order.values():
        before = {i.pk: (i.late_fee_due, i.late_fee_through) for i in installments}
        # The gap: the most fee days any of its rows was owed, as the SQL counted them.
        days = max(
            late_fee_days(i, on, grace)
            for i in installments
            if i.status in UNPAID_INSTALLMENT_STATUSES and i.principal_due > i.principal_paid
        )
        late_fee_accrue(
            installments=installments,
            since=on - datetime.timedelta(days=days),
            through=on,
            terms_on=terms_on,
        )
        changed += [i for i in installments if before[i.pk] != (i.late_fee_due, i.late_fee_through)]
    Installment.objects.bulk_update(changed, ["late_fee_due", "late_fee_through"])
    return len(changed)


def _apply_credit_balances(on: datetime.date, customer_from: int, customer_to: int) -> int:
    """Credit balance pays instalments on their due date (DESIGN.md): only customers who have
    both unapplied credit and something due are touched."""
    in_range = Payment.objects.filter(
        customer_id__gte=customer_from, customer_id__lt=customer_to, status=PaymentStatus.POSTED
    ).order_by()
    # The payments that ever left credit, or got money back from a return: two small scans
    # of partial indexes (orders.models). One query with an OR across payments and their
    # allocations can only be answered by reading every allocation, for every chunk.
    source_ids = (
        in_range.filter(credit_created__gt=0)
        .values_list("id", flat=True)
        .union(in_range.filter(allocations__kind=AllocationKind.REFUND).values_list("id", flat=True))
    )
    ids = list(source_ids)
    if not ids:
        return 0
    # Each source with what its allocations took (net of reversals and refunds), in one query.
    with_credit = (
        Payment.objects.filter(pk__in=ids)
        .annotate(net=Sum("allocations__amount"))
        .values_list("customer_id", "amount", "net")
    )
    customers = {customer_id for customer_id, amount, net in with_credit if amount - (net or ZERO) > 0}
    if not customers:
        return 0
    payable = set(
        Installment.objects.filter(
            customer_id__in=customers, status__in=UNPAID_INSTALLMENT_STATUSES, due_date__lte=on
        ).values_list("customer_id", flat=True)
    )
    applied = 0
    for customer in Customer.objects.filter(pk__in=payable).order_by("pk"):
        applied += len(credit_balance_apply(customer=customer, on=on))
    return applied


def sweep_finish(*, run_id: int, publish_snapshot: bool = True) -> bool:
    """Close the run when no chunk is pending: done, or failed if a chunk failed. Idempotent.

    A run that is done publishes the portfolio snapshot for its date as a task of its own
    (`sweep.snapshot`, committed first): the snapshot reads the whole book and is not part of
    the sweep's work, so it neither lengthens the run nor holds its lock."""
    with transaction.atomic():
        run = SweepRun.objects.select_for_update().get(pk=run_id)
        statuses = Counter(run.chunks.values_list("status", flat=True))
        if statuses[ChunkStatus.PENDING]:
            return False
        if run.status == RunStatus.DONE:
            return True
        totals: Counter[str] = Counter()
        for stats in run.chunks.values_list("stats", flat=True):
            totals.update(stats or {})
        run.totals = dict(totals)
        run.status = RunStatus.FAILED if statuses[ChunkStatus.FAILED] else RunStatus.DONE
        run.finished_at = timezone.now()
        run.save(update_fields=["totals", "status", "finished_at"])
    if run.status == RunStatus.DONE:
        if publish_snapshot:
            _publish_snapshot(run.business_date)
        # Once per run: a run already done returned above. Followers publish their own tasks.
        sweep_done.send(sender=SweepRun, business_date=run.business_date, run_id=run.pk)
    return run.status == RunStatus.DONE


def _publish_snapshot(on: datetime.date) -> None:
    from .tasks import portfolio_snapshot as snapshot_task

    # robust: with the broker down the run is still done; beat takes the snapshot at 02:30.
    transaction.on_commit(lambda: snapshot_task.delay(on.isoformat()), robust=True)


def sweep_run(
    *,
    on: datetime.date,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    triggered_by: str = "command",
    again: bool = False,
    snapshot: bool = True,
    on_wait: Callable[[int], None] | None = None,
    poll_seconds: float = 1.0,
    max_wait_seconds: float | None = None,
) -> SweepRun:
    """Run the whole sweep for `on` in this process, chunk after chunk (operators, backfills).

    A finished run is left alone unless `again` is given; then every chunk runs once more,
    which changes nothing on a book that was swept (the chunks are idempotent); that is refused
    (DomainError) once a later date has been swept. When the run is done, the portfolio
    snapshot for `on` is taken here too (unless `snapshot` is False), since no worker may be
    running to take it.

    Chunks another process is running (a second `run_sweep`, a worker) are not failures: this
    waits for them, calling `on_wait(n)` with how many are held, and takes over any whose
    holder dies (its lock goes with it). After `max_wait_seconds` it raises SweepBusy.
    """
    run = sweep_plan(on=on, chunk_size=chunk_size, triggered_by=triggered_by)
    finished_before = run.status == RunStatus.DONE and not again
    if again:
        _refuse_superseded(on)
        run.chunks.update(status=ChunkStatus.PENDING)
        SweepRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    for chunk_id in run.chunks.exclude(status=ChunkStatus.DONE).values_list("id", flat=True):
        sweep_chunk_run(chunk_id=chunk_id)
    waited_since = time.monotonic()
    while held := list(run.chunks.filter(status=ChunkStatus.PENDING).values_list("id", flat=True)):
        if max_wait_seconds is not None and time.monotonic() - waited_since > max_wait_seconds:
            raise SweepBusy(len(held))
        if on_wait is not None:
            on_wait(len(held))
        time.sleep(poll_seconds)
        for chunk_id in held:
            sweep_chunk_run(chunk_id=chunk_id)
    done = sweep_finish(run_id=run.pk, publish_snapshot=False)
    if done and snapshot and not finished_before:
        portfolio_snapshot(on=on)
    run.refresh_from_db()
    return run


class SweepBusy(DomainError):
    """Chunks of the run are still held by another process after the wait."""

    def __init__(self, held: int):
        self.held = held
        super().__init__(busy_message(held), code="busy")


def busy_message(held: int) -> str:
    return ngettext(
        "%(n)s chunk is being run by another worker; waiting.",
        "%(n)s chunks are being run by another worker; waiting.",
        held,
    ) % {"n": held}


@transaction.atomic
def portfolio_snapshot(*, on: datetime.date) -> list[PortfolioSnapshot]:
    """The book by bucket for `on`: customers, principal outstanding and overdue amount."""
    _refuse_future(on)
    from collection.models import Bucket, CollectionCase

    bucket_of = dict(
        CollectionCase.objects.filter(closed_at__isnull=True).values_list("customer_id", "bucket")
    )
    rows = (
        Installment.objects.filter(status__in=UNPAID_INSTALLMENT_STATUSES)
        .values("customer_id")
        .annotate(principal=Sum(OUTSTANDING_BY_COMPONENT[Component.PRINCIPAL]))
    )
    figures = {b.value: [0, ZERO, ZERO] for b in Bucket}
    overdue_rows = dict(
        Installment.objects.filter(status=InstallmentStatus.OVERDUE)
        .values("customer_id")
        .annotate(total=Sum(OUTSTANDING))
        .values_list("customer_id", "total")
    )
    for row in rows:
        entry = figures[bucket_of.get(row["customer_id"], Bucket.CURRENT.value)]
        entry[0] += 1
        entry[1] += row["principal"] or ZERO
        entry[2] += overdue_rows.get(row["customer_id"]) or ZERO
    snapshots = []
    for bucket, (customers, principal, overdue) in figures.items():
        snapshot, _ = PortfolioSnapshot.objects.update_or_create(
            business_date=on,
            bucket=bucket,
            defaults={
                "customers": customers,
                "principal_outstanding": principal,
                "overdue_amount": overdue,
            },
        )
        snapshots.append(snapshot)
    return snapshots
