"""The sweep's watchdog: lost chunks are published again, live ones left alone, runs closed, oldest
date first."""

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from sweep import tasks
from sweep.models import RunStatus, SweepChunk, SweepRun
from sweep.services import sweep_chunk_run, sweep_plan, sweep_run
from sweep.watchdog import sweep_watch
from tests.sweep.book import overdue_book
from tests.sweep.test_reliability import assert_swept_exactly_once

ON = datetime.date(2026, 6, 30)
LEASE = 600

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """The chunk ids the watchdog publishes (in order), instead of sending them to a broker."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.sweep_chunk, "apply_async", lambda args, **kw: sent.append(args[0]))
    monkeypatch.setattr(tasks.portfolio_snapshot, "delay", lambda *a, **kw: None)
    return sent


@pytest.fixture
def watch(django_capture_on_commit_callbacks, published):
    """One watchdog pass at `now`, its publications delivered as on a commit."""

    def run_pass(now=None, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return sweep_watch(now=now or timezone.now(), **kwargs)

    return run_pass


def chunks(run) -> list[SweepChunk]:
    return list(run.chunks.order_by("number"))


@override_settings(SWEEP_CHUNK_LEASE_SECONDS=LEASE)
def test_republishes_pending_and_stale_claimed_chunks_but_not_fresh_ones(watch, published):
    overdue_book(customers=30, on=ON)
    run = sweep_plan(on=ON, chunk_size=5)
    now = timezone.now()
    stale, fresh, just_published, *never = chunks(run)
    SweepChunk.objects.filter(pk=stale.pk).update(claimed_at=now - datetime.timedelta(seconds=LEASE + 1))
    SweepChunk.objects.filter(pk=fresh.pk).update(claimed_at=now - datetime.timedelta(seconds=LEASE - 60))
    SweepChunk.objects.filter(pk=just_published.pk).update(published_at=now - datetime.timedelta(seconds=30))

    answer = watch(now)

    assert published == [stale.pk, *[c.pk for c in never]]
    assert answer.published == published
    assert set(SweepChunk.objects.filter(published_at=now).values_list("pk", flat=True)) == set(published)


@override_settings(SWEEP_CHUNK_LEASE_SECONDS=LEASE)
def test_a_second_pass_publishes_nothing_more_and_a_finished_run_is_closed_once(watch, published):
    installments = overdue_book(customers=30, on=ON)
    run = sweep_plan(on=ON, chunk_size=5)
    now = timezone.now()
    watch(now)
    assert len(published) == run.chunk_count
    watch(now + datetime.timedelta(seconds=1))
    assert len(published) == run.chunk_count  # the tasks are on their way: within the lease
    for chunk_id in list(published):
        sweep_chunk_run(chunk_id=chunk_id)
    first = watch()
    assert first.closed == [run.pk]
    run.refresh_from_db()
    finished_at = run.finished_at
    assert run.status == RunStatus.DONE
    again = watch()
    assert again.closed == [] and again.published == []
    run.refresh_from_db()
    assert run.finished_at == finished_at
    assert_swept_exactly_once(installments)


def test_closes_a_run_whose_finish_was_lost(watch, published):
    overdue_book(customers=12, on=ON)
    run = sweep_plan(on=ON, chunk_size=5)
    for chunk in chunks(run):
        sweep_chunk_run(chunk_id=chunk.pk)  # every chunk done, sweep.finish never ran
    assert SweepRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    answer = watch()
    assert answer.closed == [run.pk]
    assert SweepRun.objects.get(pk=run.pk).status == RunStatus.DONE
    assert published == []


@override_settings(SWEEP_CHUNK_LEASE_SECONDS=LEASE)
def test_a_chunk_left_pending_by_a_killed_worker_is_published_after_the_lease(watch, published):
    overdue_book(customers=12, on=ON)
    run = sweep_plan(on=ON, chunk_size=5)
    now = timezone.now()
    watch(now)
    published.clear()
    # A worker took chunk 0 (the claim is committed) and died; its work was rolled back.
    first = chunks(run)[0]
    SweepChunk.objects.filter(pk=first.pk).update(claimed_at=now, attempts=1)
    assert watch(now + datetime.timedelta(seconds=LEASE - 1)).published == []
    later = now + datetime.timedelta(seconds=LEASE + 1)
    assert watch(later).published == [c.pk for c in chunks(run)]


@override_settings(SWEEP_CHUNK_LEASE_SECONDS=LEASE, SWEEP_CHUNK_MAX_ATTEMPTS=2)
def test_a_failed_chunk_is_tried_again_until_its_attempts_run_out(watch, published, monkeypatch):
    overdue_book(customers=5, on=ON)
    run = sweep_plan(on=ON, chunk_size=10)
    [chunk] = chunks(run)
    monkeypatch.setattr("sweep.services.sweep_range", lambda **kw: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        sweep_chunk_run(chunk_id=chunk.pk)
    later = timezone.now() + datetime.timedelta(seconds=LEASE + 1)
    assert watch(later).published == [chunk.pk]
    with pytest.raises(ZeroDivisionError):
        sweep_chunk_run(chunk_id=chunk.pk)
    # Two attempts: given up, and the run closed as failed for run_sweep and the admin.
    answer = watch(later + datetime.timedelta(seconds=LEASE + 1))
    assert answer.published == []
    assert answer.closed == [run.pk]
    assert SweepRun.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_dates_are_worked_oldest_first(watch, published):
    overdue_book(customers=12, on=ON)
    earlier = sweep_plan(on=ON - datetime.timedelta(days=2), chunk_size=5)
    later = sweep_plan(on=ON, chunk_size=5)
    answer = watch()
    assert published == [c.pk for c in chunks(earlier)]
    assert answer.waiting == [later.pk]
    for chunk_id in list(published):
        sweep_chunk_run(chunk_id=chunk_id)
    published.clear()
    answer = watch()
    assert answer.closed == [earlier.pk]
    assert published == [c.pk for c in chunks(later)]
    assert SweepRun.objects.get(pk=earlier.pk).status == RunStatus.DONE


def test_the_nightly_start_resumes_an_earlier_unfinished_date_first(
    django_capture_on_commit_callbacks, published
):
    overdue_book(customers=12, on=ON)
    missed = sweep_plan(on=ON - datetime.timedelta(days=1), chunk_size=5)
    sweep_chunk_run(chunk_id=chunks(missed)[0].pk)  # the night was interrupted after one chunk
    with django_capture_on_commit_callbacks(execute=True):
        answer = tasks.sweep_start.apply(kwargs={"on": ON.isoformat(), "chunk_size": 5}).get()
    tonight = SweepRun.objects.get(business_date=ON)
    assert published == [c.pk for c in chunks(missed)[1:]]
    assert answer["waiting"] == [tonight.pk]
    # The chunks the beat published run, the last one closes the missed night and starts tonight's.
    with django_capture_on_commit_callbacks(execute=True):
        for chunk_id in list(published):
            tasks.sweep_chunk.apply(args=[chunk_id]).get()
    assert SweepRun.objects.get(pk=missed.pk).status == RunStatus.DONE
    assert published[-tonight.chunk_count :] == [c.pk for c in chunks(tonight)]
    with django_capture_on_commit_callbacks(execute=True):
        for chunk_id in published[-tonight.chunk_count :]:
            tasks.sweep_chunk.apply(args=[chunk_id]).get()
    assert SweepRun.objects.get(pk=tonight.pk).status == RunStatus.DONE


def test_chunks_a_later_date_caught_up_do_not_hold_back_the_runs_after_them(watch, published):
    overdue_book(customers=12, on=ON)
    earlier = sweep_plan(on=ON - datetime.timedelta(days=1), chunk_size=5)
    sweep_run(on=ON, chunk_size=5)  # someone ran the later date by hand first
    answer = watch()
    assert published == []
    assert sorted(answer.given_up) == sorted(c.pk for c in chunks(earlier))
    assert answer.closed == [earlier.pk]
    assert SweepRun.objects.get(pk=earlier.pk).status == RunStatus.FAILED
    assert watch().given_up == []


@pytest.mark.django_db(transaction=True)
def test_a_chunk_a_live_worker_holds_is_neither_published_nor_run_twice(postgres_only):
    overdue_book(customers=12, on=ON)
    run = sweep_plan(on=ON, chunk_size=5)
    held = chunks(run)[0]
    locked, release = threading.Event(), threading.Event()

    def live_worker():
        # What a worker's chunk transaction holds while it works: the chunk's row lock.
        with transaction.atomic():
            list(SweepChunk.objects.select_for_update(of=("self",)).filter(pk=held.pk).order_by())
            locked.set()
            release.wait(30)
        connection.close()

    worker = threading.Thread(target=live_worker)
    worker.start()
    try:
        assert locked.wait(30)
        assert sweep_chunk_run(chunk_id=held.pk) is None
        sent: list[int] = []
        original = tasks.sweep_chunk.apply_async
        tasks.sweep_chunk.apply_async = lambda args, **kw: sent.append(args[0])
        try:
            with override_settings(SWEEP_CHUNK_LEASE_SECONDS=0):
                sweep_watch(now=timezone.now() + datetime.timedelta(seconds=1))
        finally:
            tasks.sweep_chunk.apply_async = original
        assert held.pk not in sent and len(sent) == run.chunk_count - 1
    finally:
        release.set()
        worker.join(30)
    assert SweepChunk.objects.get(pk=held.pk).attempts == 0
