"""Which business dates the sweep accepts: never a day after today, never one a later date has overtaken."""

import datetime
import logging

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import CreditLine
from bnpl_admin.errors import DomainError
from collection.models import CaseEvent, CollectionCase
from orders.models import Installment, Plan
from sweep.models import ChunkStatus, PortfolioSnapshot, SweepChunk, SweepRun
from sweep.services import portfolio_snapshot, sweep_chunk_run, sweep_plan, sweep_run
from sweep.tasks import portfolio_snapshot as snapshot_task
from sweep.tasks import sweep_start
from tests.factories import delivered_order

pytestmark = pytest.mark.django_db

DUE = datetime.date(2026, 3, 10)
# 07:30 on 21 March in Shanghai (TIME_ZONE) while it is still 20 March in UTC: "today" is the 21st.
NOW = datetime.datetime(2026, 3, 20, 23, 30, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 3, 21)


def at(dpd: int) -> datetime.date:
    return DUE + datetime.timedelta(days=dpd)


@pytest.fixture
def book():
    """Two customers late on the same date, one of them with two orders (several instalments each)."""
    feb = datetime.date(2026, 2, 10)
    first = delivered_order(
        amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2026, 2, 10)
    )
    delivered_order(
        customer=first.customer,
        amount="3333.33",
        plan=Plan.PAY_LATER,
        delivered_on=datetime.date(2026, 2, 20),
    )
    delivered_order(amount="800.00", plan=Plan.INSTALMENTS_6, delivered_on=feb)


def state() -> dict:
    """Everything the sweep writes about the book (instalments, cases and their events, credit lines)."""
    return {
        "installments": list(Installment.objects.order_by("pk").values()),
        "cases": list(CollectionCase.objects.order_by("pk").values()),
        "case_events": CaseEvent.objects.count(),
        "credit_lines": list(CreditLine.objects.order_by("pk").values()),
        "chunks": list(SweepChunk.objects.order_by("pk").values_list("pk", "status", "attempts")),
        "runs": list(SweepRun.objects.order_by("pk").values_list("business_date", "status")),
    }


def open_cases() -> set[tuple]:
    return set(CollectionCase.objects.filter(closed_at__isnull=True).values_list("days_past_due", "bucket"))


def oldest_dpd(on: datetime.date) -> int:
    """Days past due of the most overdue customer after the sweep for `on` (nothing is paid here)."""
    return (on - Installment.objects.order_by("due_date").values_list("due_date", flat=True)[0]).days


# --- A date a later sweep has overtaken ---------------------------------------------------------


def test_running_an_old_date_again_after_a_later_one_changes_nothing_and_says_why(book):
    sweep_run(on=at(5), chunk_size=1)
    sweep_run(on=at(40), chunk_size=1)
    cases = open_cases()
    assert max(cases) == (oldest_dpd(at(40)), "M2")
    before = state()

    with pytest.raises(DomainError) as refused:
        sweep_run(on=at(5), chunk_size=1, again=True)

    assert refused.value.code == "superseded"
    assert at(40).isoformat() in refused.value.message and at(5).isoformat() in refused.value.message
    assert state() == before
    assert open_cases() == cases


def test_a_date_never_swept_before_a_later_one_is_refused_too(book):
    sweep_run(on=at(40), chunk_size=1)
    before = state()
    with pytest.raises(DomainError):
        sweep_run(on=at(5), chunk_size=1)
    assert state() == before


def test_a_run_left_unfinished_is_not_resumed_after_a_later_date(book):
    """Planned (or failed) for D, then D+n ran: resuming D, by any path, would age the book back."""
    old = sweep_plan(on=at(5), chunk_size=1)
    sweep_run(on=at(40), chunk_size=1)
    before = state()
    with pytest.raises(DomainError):
        sweep_run(on=at(5), chunk_size=1)
    assert state() == before

    # A chunk task queued before the later date ran, delivered now: refused, recorded on the chunk.
    chunk = old.chunks.first()
    with pytest.raises(DomainError):
        sweep_chunk_run(chunk_id=chunk.pk)
    chunk.refresh_from_db()
    assert chunk.status == ChunkStatus.FAILED and at(40).isoformat() in chunk.error
    after = state()
    assert {k: v for k, v in after.items() if k != "chunks"} == {
        k: v for k, v in before.items() if k != "chunks"
    }


def test_the_same_date_again_and_later_dates_still_run(book):
    sweep_run(on=at(5), chunk_size=1)
    sweep_run(on=at(5), chunk_size=1, again=True)
    sweep_plan(on=at(40), chunk_size=1)  # planned, nothing done yet: it does not stop an earlier date
    sweep_run(on=at(20), chunk_size=1)
    assert max(open_cases())[0] == oldest_dpd(at(20))
    assert sweep_run(on=at(40), chunk_size=1).status == "done"
    assert max(open_cases())[0] == oldest_dpd(at(40))


def test_run_sweep_refuses_an_overtaken_date_with_a_message(book):
    sweep_run(on=at(40), chunk_size=1)
    before = state()
    with pytest.raises(CommandError) as refused:
        call_command("run_sweep", "--date", at(5).isoformat(), "--again")
    # run_from_argv prints the message and exits with this code.
    assert refused.value.returncode != 0
    # In the console's language (commands run in LANGUAGE_CODE): both dates, whatever the words.
    assert at(5).isoformat() in str(refused.value) and at(40).isoformat() in str(refused.value)
    assert state() == before


# Days after the due date, swept in any order, some of them "again".
sweeps = st.lists(st.tuples(st.integers(min_value=-2, max_value=45), st.booleans()), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=sweeps)
def test_no_sweep_ever_undoes_a_later_date(book, script):
    """Whatever order dates are swept in: one before the latest date swept is refused and changes
    nothing (a date already done and not asked again is left alone: nothing to refuse), and the
    book is always as the latest date left it."""
    with transaction.atomic():
        latest = None
        done = set()
        for dpd, again in script:
            before = state()
            if latest is not None and at(dpd) < latest and (again or dpd not in done):
                with pytest.raises(DomainError):
                    sweep_run(on=at(dpd), chunk_size=2, again=again)
                assert state() == before
            elif latest is not None and at(dpd) < latest:
                assert sweep_run(on=at(dpd), chunk_size=2).status == "done"
                assert state() == before
            else:
                assert sweep_run(on=at(dpd), chunk_size=2, again=again).status == "done"
                latest = at(dpd)
                done.add(dpd)
            if latest is not None and oldest_dpd(latest) > 0:
                assert max(dpd for dpd, _ in open_cases()) == oldest_dpd(latest)
        transaction.set_rollback(True)


# --- A date after today -------------------------------------------------------------------------


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_today_in_time_zone_is_allowed(book, clock):
    assert sweep_run(on=TODAY, chunk_size=2).status == "done"


def test_service_refuses_a_date_after_today(book, clock):
    for call in (sweep_plan, sweep_run, portfolio_snapshot):
        with pytest.raises(DomainError) as refused:
            call(on=TODAY + datetime.timedelta(days=1))
        assert refused.value.code == "future_date"
        assert "2026-03-22" in refused.value.message and TODAY.isoformat() in refused.value.message
    assert not SweepRun.objects.exists() and not PortfolioSnapshot.objects.exists()
    assert not CollectionCase.objects.exists()


def test_run_sweep_refuses_a_date_after_today(book, clock):
    before = state()
    with pytest.raises(CommandError) as refused:
        call_command("run_sweep", "--date", "2026-03-22")
    assert refused.value.returncode != 0
    assert "2026-03-22" in str(refused.value) and TODAY.isoformat() in str(refused.value)
    assert state() == before


@pytest.mark.parametrize(
    ("on", "chunk_size"),
    [("2026-03-22", 2), ("2027-01-01", 2), ("next year", 2), (20270101, 2), (TODAY.isoformat(), "ten")],
)
def test_tasks_with_edited_arguments_refuse_and_log(book, clock, caplog, on, chunk_size):
    before = state()
    with caplog.at_level(logging.ERROR, logger="sweep.tasks"):
        answer = sweep_start.apply(kwargs={"on": on, "chunk_size": chunk_size}).get()
    assert "refused" in answer
    assert [r for r in caplog.records if "refused" in r.getMessage()]
    assert state() == before


@pytest.mark.parametrize("on", ["2026-03-22", "next year"])
def test_the_snapshot_task_refuses_a_date_after_today(book, clock, caplog, on):
    with caplog.at_level(logging.ERROR, logger="sweep.tasks"):
        assert snapshot_task.apply(kwargs={"on": on}).get() == 0
    assert [r for r in caplog.records if "refused" in r.getMessage()]
    assert not PortfolioSnapshot.objects.exists()
    snapshot_task.apply(kwargs={"on": TODAY.isoformat()}).get()
    assert PortfolioSnapshot.objects.filter(business_date=TODAY).exists()
