"""The decision log's hash chain: verification catches rows edited, removed and reordered directly
in the database; appends from concurrent workers keep one chain; a rolled-back append leaves
nothing."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from decisionlog.models import ChainHead, DecisionKind, DecisionLogEntry, VerificationStatus
from decisionlog.services import (
    BreakReason,
    chain_verification_start,
    decision_log_append,
    decision_log_append_many,
    decision_log_verify,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _append(n: int, *, start: int = 0) -> list[DecisionLogEntry]:
    actor = UserFactory()
    return [
        decision_log_append(
            kind=DecisionKind.RESTRICTION,
            subject=f"accounts.creditline:{start + i}",
            content={"action": "freeze", "reason_code": "arrears", "amount": "12.50", "i": start + i},
            actor=actor if i % 2 else None,
        )
        for i in range(1, n + 1)
    ]


def _verify_command() -> str:
    out = StringIO()
    call_command("verify_decision_log", "--batch-size", "3", stdout=out)
    return out.getvalue()


def test_an_intact_chain_verifies_with_its_count_and_head():
    _append(8)
    head = ChainHead.objects.get()
    assert _verify_command().strip() == f"OK 8 entries, head {head.head_hash}"


def test_an_empty_chain_verifies():
    assert decision_log_verify().ok
    assert "OK 0 entries" in _verify_command()


def test_content_edited_in_the_database_is_caught_and_named():
    _append(8)
    DecisionLogEntry.objects.filter(sequence=5).update(content={"action": "unfreeze", "i": 5})
    report = decision_log_verify(batch_size=3)
    assert (report.ok, report.broken_sequence, report.reason) == (False, 5, BreakReason.EDITED)
    with pytest.raises(CommandError, match=r"BROKEN at entry #5 .*edited"):
        _verify_command()


def test_an_edit_through_raw_sql_of_the_subject_is_caught():
    _append(4)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE decisionlog_decisionlogentry SET subject = %s WHERE sequence = %s",
            ["accounts.creditline:999", 2],
        )
    report = decision_log_verify()
    assert (report.broken_sequence, report.reason) == (2, BreakReason.EDITED)


def test_a_deleted_entry_is_caught_and_named():
    _append(8)
    DecisionLogEntry.objects.filter(sequence=4).delete()
    report = decision_log_verify(batch_size=3)
    assert (report.ok, report.broken_sequence, report.reason) == (False, 4, BreakReason.REMOVED)
    with pytest.raises(CommandError, match=r"BROKEN at entry #4: removed"):
        _verify_command()


def test_the_last_entry_deleted_is_caught_against_the_head():
    _append(5)
    DecisionLogEntry.objects.filter(sequence=5).delete()
    report = decision_log_verify()
    assert (report.ok, report.broken_sequence, report.reason) == (False, 5, BreakReason.HEAD)
    with pytest.raises(CommandError, match=r"#5"):
        _verify_command()


def test_a_deleted_entry_with_the_rest_renumbered_is_caught():
    _append(6)
    DecisionLogEntry.objects.filter(sequence=3).delete()
    for sequence in (4, 5, 6):
        DecisionLogEntry.objects.filter(sequence=sequence).update(sequence=sequence - 1)
    ChainHead.objects.update(sequence=5)
    report = decision_log_verify()
    assert (report.ok, report.broken_sequence, report.reason) == (False, 3, BreakReason.PREDECESSOR)


def test_two_entries_swapped_are_caught_as_reordered():
    entries = _append(8)
    third, fourth = entries[2], entries[3]
    with transaction.atomic():
        DecisionLogEntry.objects.filter(pk=third.pk).update(sequence=10**9)
        DecisionLogEntry.objects.filter(pk=fourth.pk).update(sequence=3)
        DecisionLogEntry.objects.filter(pk=third.pk).update(sequence=4)
    report = decision_log_verify(batch_size=3)
    assert (report.ok, report.broken_sequence, report.broken_id, report.reason) == (
        False,
        3,
        fourth.pk,
        BreakReason.REORDERED,
    )
    with pytest.raises(CommandError, match=r"BROKEN at entry #3 .*reordered"):
        _verify_command()


def test_a_rewritten_entry_hash_is_caught():
    _append(3)
    DecisionLogEntry.objects.filter(sequence=3).update(entry_hash="f" * 64)
    report = decision_log_verify()
    assert report.broken_sequence == 3 and not report.ok


def test_appending_many_gives_the_same_kind_of_chain_as_one_by_one():
    _append(2)
    decision_log_append_many(
        entries=[(DecisionKind.RESTRICTION, f"accounts.creditline:{i}", {"i": i}) for i in range(5)],
        actor=UserFactory(),
    )
    _append(2, start=10)
    assert ChainHead.objects.get().sequence == 9
    assert decision_log_verify().ok


def test_an_append_in_a_rolled_back_transaction_leaves_no_entry_and_no_head_change():
    _append(2)
    head_before = ChainHead.objects.values_list("sequence", "head_hash").get()

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        decision_log_append(kind=DecisionKind.SCORE, subject="accounts.customer:1", content={"score": 600})
        raise Abort
    assert DecisionLogEntry.objects.count() == 2
    assert ChainHead.objects.values_list("sequence", "head_hash").get() == head_before
    assert decision_log_verify().ok


def test_the_console_verification_records_its_result(django_capture_on_commit_callbacks, monkeypatch):
    from decisionlog.tasks import chain_verification_run_task

    # The task published on commit runs here, as a worker would.
    monkeypatch.setattr(chain_verification_run_task, "delay", lambda pk: chain_verification_run_task(pk))
    _append(3)
    with django_capture_on_commit_callbacks(execute=True):
        verification = chain_verification_start(by=UserFactory())
    verification.refresh_from_db()
    assert verification.status == VerificationStatus.OK
    assert verification.entries == 3
    DecisionLogEntry.objects.filter(sequence=2).update(content={})
    with django_capture_on_commit_callbacks(execute=True):
        second = chain_verification_start()
    second.refresh_from_db()
    assert (second.status, second.broken_sequence, second.reason) == (VerificationStatus.BROKEN, 2, "edited")


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_threads_keep_one_chain(postgres_only):
    threads, per_thread = 8, 15
    errors = []
    barrier = threading.Barrier(threads)

    def worker(number: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with transaction.atomic():
                    decision_log_append(
                        kind=DecisionKind.ORDER_DECISION,
                        subject=f"orders.order:{number * 1000 + i}",
                        content={"worker": number, "i": i},
                    )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert not errors
    assert DecisionLogEntry.objects.count() == threads * per_thread
    assert list(DecisionLogEntry.objects.order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, threads * per_thread + 1)
    )
    report = decision_log_verify(batch_size=17)
    assert report.ok and report.entries == threads * per_thread
