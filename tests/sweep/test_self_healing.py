"""A sweep on real workers and Redis heals itself: workers SIGKILLed mid-chunk, the broker's queue
emptied, nobody acting; it finishes by itself and the book equals a single-process sweep's."""

import datetime
import hashlib
import os
import signal
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import CreditLine, Customer
from collection.models import CaseEvent, CollectionCase
from orders.models import Installment, Merchant, Order
from sweep.models import ChunkStatus, PortfolioSnapshot, RunStatus, SweepChunk, SweepRun
from sweep.services import sweep_run
from sweep.tasks import sweep_start
from tests import workers
from tests.sweep.book import overdue_book

ON = datetime.date(2026, 6, 30)
CUSTOMERS = 500  # 3,000 instalments
CHUNK_SIZE = 10  # 50 chunks
LEASE_SECONDS = 2
# Bounded: no person acts, and the run must finish by itself within this. 21–31 s on an idle
# 2-core machine, about 57 s on a heavily loaded one; CI runs its two passes at once, so the
# bound leaves room for the other pass (it is a bound on recovery, not a speed test).
FINISH_WITHIN_SECONDS = 150


@pytest.fixture
def redis_broker():
    """The test's Redis database (the PostgreSQL pass of CI); skipped on the embedded broker,
    and a failure, not a skip, when Redis is named but does not answer."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        pytest.skip("needs Redis (CELERY_BROKER_URL=redis://…, the PostgreSQL pass of .ci/run)")
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"CELERY_BROKER_URL names {url} but Redis does not answer: {exc}")
    client.flushdb()  # no task left over from another test
    yield client
    client.flushdb()


def book_checksum() -> str:
    """Every instalment, case and credit line by natural keys (not ids or timestamps)."""
    digest = hashlib.sha256()
    rows = Installment.objects.order_by("order__external_reference", "sequence").values_list(
        "order__external_reference",
        "sequence",
        "status",
        "principal_due",
        "principal_paid",
        "fee_due",
        "fee_paid",
        "late_fee_due",
        "late_fee_paid",
        "late_fee_through",
    )
    cases = [
        (customer, status, dpd, bucket, closed_at is None)
        for customer, status, dpd, bucket, closed_at in CollectionCase.objects.order_by(
            "customer__platform_user_id", "opened_at"
        ).values_list("customer__platform_user_id", "status", "days_past_due", "bucket", "closed_at")
    ]
    lines = CreditLine.objects.order_by("customer__platform_user_id").values_list(
        "customer__platform_user_id", "status", "status_reason", "limit"
    )
    counts = (Installment.objects.count(), CollectionCase.objects.count(), CreditLine.objects.count())
    for row in [counts, *rows, *cases, *lines]:
        digest.update(repr(row).encode())
    return digest.hexdigest()


def book_remove() -> None:
    """Delete the book without the ORM's collector (and its per-row history records): the
    tables in an order their foreign keys allow; the book has no payments, events or reminders."""
    for model in (
        CaseEvent,
        CollectionCase,
        SweepChunk,
        SweepRun,
        PortfolioSnapshot,
        Installment,
        Order,
        CreditLine,
        Customer,
        Merchant,
    ):
        query = model.objects.all()
        query._raw_delete(query.db)


class Workers:
    """Two workers, restarted at once when killed, as a process supervisor does."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started = 0
        self.processes: list = []
        self.logs: list[Path] = []
        self.env = {"SWEEP_CHUNK_LEASE_SECONDS": str(LEASE_SECONDS)}

    def start(self) -> None:
        self.started += 1
        process, log = workers.start_worker(self.tmp_path, f"heal{self.started}", **self.env)
        self.processes.append(process)
        self.logs.append(log)

    def kill_all(self) -> None:
        """SIGKILL every worker (so the one in the middle of a chunk dies there), then restart them."""
        alive = [p for p in self.processes if p.poll() is None]
        for victim in alive:
            victim.send_signal(signal.SIGKILL)
        for victim in alive:
            victim.wait(timeout=10)
        for _ in alive:
            self.start()

    def stop(self) -> None:
        for process in self.processes:
            workers.stop(process)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_sweep_heals_itself_from_killed_workers_and_an_emptied_queue(tmp_path, redis_broker):
    started = time.monotonic()
    # The reference: the same book swept in one process (in one chunk: the result does not
    # depend on the chunks, tests/sweep/test_path_independence.py and test_reliability.py).
    overdue_book(customers=CUSTOMERS, on=ON)
    sweep_run(on=ON, snapshot=False)
    reference = book_checksum()
    book_remove()
    overdue_book(customers=CUSTOMERS, on=ON)
    assert book_checksum() != reference
    reference_took = time.monotonic() - started

    # Beat runs the watchdog every second (the shipped schedule runs it every 5 minutes).
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="Sweep watchdog", defaults={"task": "sweep.watchdog", "interval": every_second, "crontab": None}
    )
    PeriodicTask.objects.exclude(name="Sweep watchdog").update(enabled=False)
    pool = Workers(tmp_path)
    beat, beat_log = workers.start_beat(tmp_path, "beat", SWEEP_CHUNK_LEASE_SECONDS=str(LEASE_SECONDS))
    kills = flushed = 0
    last_kill = timezone.now()
    try:
        pool.start()
        pool.start()
        sweep_start.delay(on=ON.isoformat(), chunk_size=CHUNK_SIZE)  # beat's nightly start
        deadline = time.monotonic() + FINISH_WITHIN_SECONDS
        while time.monotonic() < deadline:
            run = SweepRun.objects.filter(business_date=ON).first()
            if run is not None and run.status == RunStatus.DONE:
                break
            done = run.chunks.filter(status=ChunkStatus.DONE).count() if run else 0
            if run and not flushed and done >= run.chunk_count // 3:
                redis_broker.flushdb()  # every queued message and every unacknowledged one: gone
                flushed += 1
            if run and done < run.chunk_count and kills < 5:
                # A chunk taken a moment ago, since the last kill, and not done: a worker is
                # inside it. Kill them all (and so again as soon as the restarted ones work).
                working = SweepChunk.objects.filter(
                    run=run,
                    status=ChunkStatus.PENDING,
                    claimed_at__gt=max(last_kill, timezone.now() - datetime.timedelta(milliseconds=200)),
                )
                if working.exists():
                    pool.kill_all()
                    kills += 1
                    last_kill = timezone.now()
            time.sleep(0.02)
        else:
            tails = "\n".join(p.read_text()[-3000:] for p in [*pool.logs[-2:], beat_log])
            states = list(SweepChunk.objects.values_list("status").order_by("status").distinct())
            pytest.fail(f"the run did not finish within {FINISH_WITHIN_SECONDS}s: {states}\n{tails}")
    finally:
        pool.stop()
        workers.stop(beat)
    run = SweepRun.objects.get(business_date=ON)
    assert kills >= 3 and flushed == 1
    assert run.chunks.filter(status=ChunkStatus.DONE).count() == run.chunk_count == 50
    # Chunks taken and never finished (their worker was killed inside them), then run again.
    interrupted = sum(run.chunks.values_list("attempts", flat=True)) - run.chunk_count
    assert interrupted >= 3
    assert book_checksum() == reference
    assert SweepRun.objects.count() == 1
    if os.environ.get("HEAL_TEST_REPORT"):
        healed_took = time.monotonic() - started - reference_took
        attempts = interrupted
        print(
            f"reference {reference_took:.1f}s, healed run {healed_took:.1f}s,",
            f"{kills} kill rounds, {attempts} chunks interrupted and run again",
        )
