"""The sweep survives a killed worker and a concurrent second run: every instalment once."""

import datetime
import signal
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from collection.models import Bucket, CollectionCase
from orders.models import Installment, InstallmentStatus
from sweep.models import ChunkStatus, SweepChunk, SweepRun
from sweep.services import sweep_run
from sweep.tasks import sweep_start
from tests import workers
from tests.sweep.book import expected_late_fee, overdue_book
from tests.workers import wait_for

ON = datetime.date(2026, 6, 30)


def assert_swept_exactly_once(installments):
    """Late fees equal one accrual through ON; one open case per overdue customer with its ageing."""
    fresh = {i.pk: i for i in Installment.objects.filter(pk__in=[i.pk for i in installments])}
    wrong = [
        (i.pk, fresh[i.pk].late_fee_due, expected_late_fee(i, ON))
        for i in installments
        if fresh[i.pk].late_fee_due != expected_late_fee(i, ON)
    ]
    assert not wrong, f"{len(wrong)} instalments with the wrong late fee, e.g. {wrong[:3]}"
    overdue = [i for i in fresh.values() if i.due_date < ON]
    assert all(i.status == InstallmentStatus.OVERDUE for i in overdue)
    oldest: dict[int, datetime.date] = {}
    for i in overdue:
        oldest[i.customer_id] = min(oldest.get(i.customer_id, i.due_date), i.due_date)
    cases = CollectionCase.objects.filter(closed_at__isnull=True)
    assert cases.count() == len(oldest)
    assert not CollectionCase.objects.values("customer").annotate(n=Count("id")).filter(n__gt=1).exists()
    for case in cases:
        dpd = (ON - oldest[case.customer_id]).days
        assert (case.days_past_due, case.bucket) == (dpd, Bucket.for_dpd(dpd))


def start_worker(tmp_path: Path, name: str):
    # Redis gives an unacknowledged task back after this long; short, so the test sees it.
    return workers.start_worker(tmp_path, name, CELERY_VISIBILITY_TIMEOUT="5")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_sweep_leaves_every_instalment_swept_once(tmp_path):
    installments = overdue_book(customers=500, on=ON)  # 3,000 instalments
    chunk_size = 5 if connection.vendor == "postgresql" else 25
    first, log1 = start_worker(tmp_path, "first")
    try:
        sweep_start.delay(on=ON.isoformat(), chunk_size=chunk_size)

        def some_chunks_done():
            return SweepChunk.objects.filter(status=ChunkStatus.DONE).count() >= 3

        wait_for(some_chunks_done, timeout=90, what="the first chunks", logs=[log1])
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    run = SweepRun.objects.get(business_date=ON)
    done_at_kill = run.chunks.filter(status=ChunkStatus.DONE).count()
    assert done_at_kill < run.chunk_count, "the worker finished before it was killed: make the book bigger"

    second, log2 = start_worker(tmp_path, "second")
    try:
        # What beat or an operator does next: start the date again; it resumes the open chunks.
        sweep_start.delay(on=ON.isoformat(), chunk_size=chunk_size)
        wait_for(
            lambda: SweepRun.objects.filter(pk=run.pk, status="done").exists(),
            timeout=180,
            what="the resumed run",
            logs=[log1, log2],
        )
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert_swept_exactly_once(installments)
    assert SweepRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_for_one_date_at_once_equal_one(postgres_only):
    installments = overdue_book(customers=120, on=ON)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            sweep_run(on=ON, chunk_size=10, triggered_by="thread")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    # Each thread skips the chunks the other holds; whichever commits last closes the run.
    run = SweepRun.objects.get(business_date=ON)
    assert run.status == "done"
    assert run.chunks.filter(status="done").count() == run.chunk_count
    assert_swept_exactly_once(installments)


@pytest.mark.django_db
def test_forced_second_run_changes_nothing():
    installments = overdue_book(customers=40, on=ON)
    sweep_run(on=ON, chunk_size=7)
    before = list(
        Installment.objects.order_by("pk").values_list("late_fee_due", "status", "late_fee_through")
    )
    cases_before = list(CollectionCase.objects.order_by("pk").values_list("days_past_due", "bucket"))
    sweep_run(on=ON, chunk_size=7, again=True)
    assert (
        list(Installment.objects.order_by("pk").values_list("late_fee_due", "status", "late_fee_through"))
        == before
    )
    assert list(CollectionCase.objects.order_by("pk").values_list("days_past_due", "bucket")) == cases_before
    assert_swept_exactly_once(installments)
