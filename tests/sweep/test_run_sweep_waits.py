"""`run_sweep` reports chunks another process holds as such and waits for them, never as failed chunks."""

import datetime
import io
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import translation

from sweep import services
from sweep.models import RunStatus, SweepChunk, SweepRun
from sweep.services import sweep_plan
from tests.sweep.book import overdue_book
from tests.sweep.test_reliability import assert_swept_exactly_once

ON = datetime.date(2026, 6, 30)


class Out(io.StringIO):
    """Command output that tells a waiting thread when a line with `word` was written."""

    def __init__(self, word: str = ""):
        super().__init__()
        self.word = word
        self.seen = threading.Event()

    def write(self, text):
        if self.word and self.word in text:
            self.seen.set()
        return super().write(text)


@pytest.mark.django_db(transaction=True)
def test_two_run_sweeps_for_one_date_at_once_both_succeed_and_equal_one(postgres_only, monkeypatch):
    installments = overdue_book(customers=120, on=ON)
    sweep_range = services.sweep_range

    def slow_range(**kwargs):
        # Long enough that one command ends its pass while the other still holds a chunk.
        time.sleep(0.05)
        return sweep_range(**kwargs)

    monkeypatch.setattr(services, "sweep_range", slow_range)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def command():
        out = Out()
        try:
            barrier.wait()
            call_command("run_sweep", "--date", ON.isoformat(), "--chunk-size", "10", stdout=out)
            outcomes.append(("ok", out.getvalue()))
        except CommandError as exc:
            outcomes.append(("error", str(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=command) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [status for status, _ in outcomes] == ["ok", "ok"], outcomes
    assert not any("failed" in text for _, text in outcomes)
    run = SweepRun.objects.get(business_date=ON)
    assert run.status == RunStatus.DONE
    assert run.chunks.filter(status="done").count() == run.chunk_count
    assert_swept_exactly_once(installments)


@pytest.mark.django_db(transaction=True)
def test_run_sweep_says_another_worker_holds_a_chunk_and_waits_for_it(postgres_only):
    installments = overdue_book(customers=30, on=ON)
    run = sweep_plan(on=ON, chunk_size=10)
    held = run.chunks.order_by("number").first()
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        # Another process in the middle of this chunk: it holds the row lock, then dies (its
        # transaction rolls back and the chunk is left pending, unlocked).
        try:
            with transaction.atomic():
                list(SweepChunk.objects.select_for_update(of=("self",)).filter(pk=held.pk).order_by())
                locked.set()
                release.wait(60)
                raise RuntimeError("killed")
        except RuntimeError:
            pass
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    assert locked.wait(30)
    out = Out(word="waiting")
    releaser = threading.Thread(target=lambda: (out.seen.wait(60), release.set()))
    releaser.start()
    try:
        with translation.override("en"):  # the operator's terminal here is English (default: Chinese)
            call_command("run_sweep", "--date", ON.isoformat(), "--chunk-size", "10", stdout=out)
    finally:
        release.set()
        worker.join(30)
        releaser.join(30)
    assert "1 chunk is being run by another worker; waiting." in out.getvalue()
    assert "failed" not in out.getvalue().lower()
    assert SweepRun.objects.get(pk=run.pk).status == RunStatus.DONE
    assert_swept_exactly_once(installments)


@pytest.mark.django_db(transaction=True)
def test_run_sweep_gives_up_waiting_with_that_message(postgres_only):
    overdue_book(customers=30, on=ON)
    run = sweep_plan(on=ON, chunk_size=10)
    held = run.chunks.order_by("number").first()
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        with transaction.atomic():
            list(SweepChunk.objects.select_for_update(of=("self",)).filter(pk=held.pk).order_by())
            locked.set()
            release.wait(60)
        connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    try:
        assert locked.wait(30)
        with pytest.raises(CommandError) as gave_up, translation.override("en"):
            call_command("run_sweep", "--date", ON.isoformat(), "--max-wait", "0", stdout=io.StringIO())
    finally:
        release.set()
        worker.join(30)
    assert "1 chunk is being run by another worker" in str(gave_up.value)
    assert gave_up.value.returncode == 3
