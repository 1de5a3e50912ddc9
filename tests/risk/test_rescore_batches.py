"""Nightly rescoring in batches: one task per batch, run twice, retried after failing halfway,
split between two workers, or run by threads at once, writes what one run in one process writes,
and the decision log's chain stays whole."""

from __future__ import annotations

import datetime
import json
import threading
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.models import CreditLine, CreditLineStatus
from accounts.roles import Role
from audit.models import AuditAction, AuditEvent
from decisionlog.models import DecisionKind, DecisionLogEntry
from decisionlog.services import decision_log_verify
from risk import services, tasks
from risk.models import CustomerScore, LimitChange, LimitChangeStatus
from tests.factories import CustomerFactory, UserFactory, delivered_order
from tests.risk.cards import months_card

ON = datetime.date(2026, 3, 20)
BATCH = 2  # customers per batch: the book below makes four batches


@pytest.fixture(autouse=True)
def _no_plan_kept():
    """A worker keeps the context of a plan between batches: not between tests."""
    services._plan_contexts.clear()
    yield
    services._plan_contexts.clear()


def _customer(*, months: float, limit: str, status: str = CreditLineStatus.ACTIVE):
    created = timezone.make_aware(datetime.datetime(2026, 3, 20, 12)) - datetime.timedelta(
        days=int(months * 30) + 1
    )
    # Through the factory, so the line's first history row holds these values (the trail's
    # old values are the history's).
    return CustomerFactory(
        created_at=created,
        credit_line__limit=Decimal(limit),
        credit_line__grade="C",
        credit_line__status=status,
        credit_line__status_reason="" if status == CreditLineStatus.ACTIVE else "1 DPD",
    )


def _book():
    """An active months-on-book card and customers whose limits fall, rise (at once or waiting
    for a second analyst), stay, freeze, or may not grow (arrears)."""
    maker, checker = UserFactory(roles=[Role.RISK_ANALYST]), UserFactory(roles=[Role.RISK_ANALYST])
    version = months_card(by=maker)
    services.scorecard_activation_request(version=version, by=maker)
    services.scorecard_activate(version=version, by=checker)
    _customer(months=2.5, limit="20000.00")  # C: decrease
    _customer(months=2.5, limit="4000.00")  # C: a small increase, applied
    _customer(months=5, limit="1500.00")  # A: a large increase, pending
    late = _customer(months=5, limit="1500.00")  # A, but arrears: nothing
    delivered_order(customer=late, amount="300.00", delivered_on=ON - datetime.timedelta(days=80))
    _customer(months=0, limit="5000.00")  # E: frozen
    _customer(months=3.5, limit="10000.00")  # B: no change
    _customer(months=1.5, limit="20000.00", status=CreditLineStatus.FROZEN)  # D: decrease, stays frozen
    _customer(months=4.5, limit="20000.00")  # A: no change
    return version


def _written() -> dict:
    """What rescoring wrote, without ids and times (they differ from run to run)."""

    def text(value):
        return json.dumps(value, sort_keys=True, default=str)

    return {
        "scores": sorted(
            (c, str(d), s, g, text(p), text(v), text(r))
            for c, d, s, g, p, v, r in CustomerScore.objects.values_list(
                "customer_id", "business_date", "score", "grade", "points", "values", "reasons"
            )
        ),
        "limit_changes": sorted(
            tuple(map(str, row))
            for row in LimitChange.objects.values_list(
                "customer_id",
                "business_date",
                "kind",
                "status",
                "old_limit",
                "new_limit",
                "old_grade",
                "new_grade",
            )
        ),
        "lines": sorted(
            tuple(map(str, row))
            for row in CreditLine.objects.values_list("customer_id", "limit", "status", "score", "grade")
        ),
        "log": sorted(
            (
                kind,
                subject,
                text({k: v for k, v in content.items() if k not in ("score_id", "limit_change_id")}),
            )
            for kind, subject, content in DecisionLogEntry.objects.values_list("kind", "subject", "content")
        ),
        "line_history": CreditLine.history.filter(history_type="~").count(),
        "limit_change_history": LimitChange.history.count(),
        "trail": sorted(
            (action, repr_, reason)
            for action, repr_, reason in AuditEvent.objects.values_list("action", "object_repr", "reason")
        ),
    }


def _one_process_reference(on=ON) -> dict:
    """customers_rescore in one process, rolled back: what every other way must write."""
    with transaction.atomic():
        services.customers_rescore(on=on, batch_size=BATCH)
        written = _written()
        transaction.set_rollback(True)
    return written


def _batches(version, on=ON, *, plan: str = "") -> list[dict]:
    return [
        {"on": on, "version_id": version.pk, "first_id": first, "last_id": last, "plan": plan}
        for first, last in services.rescore_plan(on=on, batch_size=BATCH).batches
    ]


# --- Idempotent batches --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_batches_run_twice_write_what_one_run_in_one_process_writes():
    version = _book()
    reference = _one_process_reference()
    assert reference["limit_changes"] and reference["log"]
    batches = _batches(version, plan="p1")
    assert len(batches) == 4
    for batch in batches:
        services.rescore_batch(**batch)
    assert _written() == reference
    again = [services.rescore_batch(**batch) for batch in batches]
    assert sum(s.scored for s in again) == 0 and sum(s.skipped for s in again) == 8
    assert _written() == reference
    assert decision_log_verify().ok


@pytest.mark.django_db
def test_a_batch_that_fails_halfway_is_rolled_back_and_its_retry_writes_what_one_run_writes(monkeypatch):
    version = _book()
    reference = _one_process_reference()
    batches = _batches(version)
    entries = DecisionLogEntry.objects.count()  # the version's activation
    real = services.credit_lines_limits_set

    def fail_once(**kwargs):
        monkeypatch.setattr(services, "credit_lines_limits_set", real)
        raise RuntimeError("the worker died")  # after the scores and the limit changes were written

    monkeypatch.setattr(services, "credit_lines_limits_set", fail_once)
    with pytest.raises(RuntimeError):
        services.rescore_batch(**batches[0])
    assert not CustomerScore.objects.exists() and not LimitChange.objects.exists()
    assert DecisionLogEntry.objects.count() == entries
    for batch in batches:  # the retry of the first, then the others
        services.rescore_batch(**batch)
    assert _written() == reference
    report = decision_log_verify()
    assert report.ok and report.entries == len(reference["log"])


@pytest.mark.django_db
def test_two_workers_each_taking_every_other_batch_write_what_one_process_writes():
    version = _book()
    reference = _one_process_reference()
    batches = _batches(version, plan="p2")
    for batch in batches[1::2] + batches[0::2]:  # the second worker's batches commit first
        services.rescore_batch(**batch)
    assert _written() == reference
    assert decision_log_verify().ok


@pytest.mark.django_db
def test_the_rescore_task_plans_one_batch_task_per_batch(monkeypatch):
    version = _book()
    reference = _one_process_reference()
    published = []
    monkeypatch.setattr(tasks.rescore_batch, "delay", lambda *args: published.append(args))
    plan = tasks.rescore(ON.isoformat(), BATCH)
    assert plan["batches"] == len(published) == 4 and plan["version"] == version.pk
    assert {args[:2] for args in published} == {(ON.isoformat(), version.pk)}
    for args in reversed(published):
        tasks.rescore_batch(*args)
    assert _written() == reference
    assert tasks.rescore_batch(*published[0])["skipped"] == 2


@pytest.mark.django_db
def test_a_batch_appends_to_the_decision_log_last():
    """The chain's head is locked from the append to the commit: nothing else of the batch runs
    while it is held, so parallel batches wait for one another only for the append."""
    version = _book()
    batch = _batches(version)[0]
    with CaptureQueriesContext(connections["default"]) as queries:
        services.rescore_batch(**batch)
    sql = [q["sql"] for q in queries.captured_queries]
    first_log = next(i for i, s in enumerate(sql) if "decisionlog_chainhead" in s)
    assert any("risk_limitchange" in s for s in sql[:first_log])  # the batch wrote limit changes
    after = [s for s in sql[first_log:] if "SAVEPOINT" not in s and "COMMIT" not in s]
    assert all("decisionlog_" in s for s in after), after


# --- The audit trail of the limit changes a batch applies ------------------------------------------


@pytest.mark.django_db
def test_every_limit_a_batch_changes_is_in_the_trail_once_with_old_and_new():
    _book()
    services.customers_rescore(on=ON, batch_size=BATCH)
    applied = LimitChange.objects.filter(status=LimitChangeStatus.APPLIED)
    assert applied.count() == 4  # decrease, small increase, freeze, decrease of the frozen line
    for change in applied:
        line = CreditLine.objects.select_related("customer").get(customer_id=change.customer_id)
        # One history row per line changed, not two.
        history = list(line.history.filter(history_type="~"))
        assert len(history) == 1 and history[0].history_change_reason == change.reason
        event = AuditEvent.objects.get(history_id=history[0].pk, content_type__model="creditline")
        assert event.action == AuditAction.CHANGED and event.actor is None
        assert event.changes["limit"] == [str(change.old_limit), str(change.new_limit)]
        assert event.object_repr == str(line)
    for change in LimitChange.objects.all():
        record = change.history.get()
        event = AuditEvent.objects.get(history_id=record.pk, content_type__model="limitchange")
        assert event.action == AuditAction.CREATED and event.object_repr == str(change)
        assert event.changes["new_limit"] == [None, str(change.new_limit)]


@pytest.mark.django_db
def test_the_trail_names_a_batch_of_limit_changes_without_loading_them_again():
    version = _book()
    batch = _batches(version)[0]
    with CaptureQueriesContext(connections["default"]) as queries:
        services.rescore_batch(**batch)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    # Loaded again with their customer and score (the score's values and points) for a label.
    assert not [
        s for s in reads if 'FROM "risk_limitchange" INNER JOIN' in s or 'FROM "risk_limitchange" LEFT' in s
    ]
    assert (
        AuditEvent.objects.filter(content_type__model="limitchange").count()
        == LimitChange.objects.count()
        > 0
    )


# --- Threads at once, on PostgreSQL ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_batches_run_by_threads_at_once_write_what_one_process_writes_and_keep_one_chain(postgres_only):
    version = _book()
    reference = _one_process_reference()
    batches = _batches(version, plan="threads")
    errors = []
    start = threading.Barrier(2)
    # The reasons and labels written are translated: in the language of this thread, which an
    # earlier test may have changed (a worker process keeps the default).
    language = translation.get_language()

    def worker(mine):
        try:
            start.wait()
            with translation.override(language):
                for batch in mine:
                    services.rescore_batch(**batch)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(batches[k::2],)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _written() == reference
    entries = list(DecisionLogEntry.objects.order_by("sequence").values_list("sequence", "kind"))
    assert [s for s, _kind in entries] == list(range(1, len(entries) + 1))
    assert sum(kind == DecisionKind.SCORE for _s, kind in entries) == 8
    report = decision_log_verify(batch_size=3)
    assert report.ok and report.entries == len(entries)
