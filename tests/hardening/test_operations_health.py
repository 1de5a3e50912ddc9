"""/healthz/operations/ and the home page: degraded, with reasons, while background work needs a
look; ok again once it is resolved."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from orders.models import Installment
from orders.reconciliation import ledgers_reconcile
from reminders.models import Reminder, Status
from reminders.services import reminders_select
from sweep.services import sweep_chunk_run, sweep_plan, sweep_run
from tests.conftest import login_verified
from tests.factories import UserFactory
from tests.reminders.builders import D, at, instalment_due
from tests.sweep.book import overdue_book

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.date(2026, 7, 1)


def moment(hour: int, day: datetime.date = TODAY) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=SHANGHAI)


def check(client) -> tuple[int, list[str]]:
    response = client.get(reverse("healthz_operations"))
    body = response.json()
    assert body["status"] == ("ok" if response.status_code == 200 else "degraded")
    return response.status_code, [problem["code"] for problem in body["problems"]]


@override_settings(SWEEP_DONE_BY_HOUR=6)
def test_the_nights_sweep_not_done_by_the_hour_degrades_until_it_is(client):
    overdue_book(customers=6, on=TODAY - datetime.timedelta(days=1))
    with time_machine.travel(moment(5), tick=False):
        # Before 06:00 last night's date is the one that must be done.
        assert check(client) == (503, ["sweep_late"])
        sweep_run(on=TODAY - datetime.timedelta(days=1), snapshot=False)
        assert check(client) == (200, [])
    with time_machine.travel(moment(7), tick=False):
        assert check(client) == (503, ["sweep_late"])
        sweep_run(on=TODAY, snapshot=False)
        assert check(client) == (200, [])


@override_settings(SWEEP_DONE_BY_HOUR=6, SWEEP_CHUNK_LEASE_SECONDS=600)
def test_pending_chunks_older_than_the_lease_degrade_until_they_run(client):
    overdue_book(customers=6, on=TODAY)
    with time_machine.travel(moment(1), tick=False):
        run = sweep_plan(on=TODAY, chunk_size=2)
    with time_machine.travel(moment(1) + datetime.timedelta(minutes=9), tick=False):
        assert "sweep_chunks_stuck" not in check(client)[1]  # started nine minutes ago: within the lease
    with time_machine.travel(moment(1) + datetime.timedelta(minutes=11), tick=False):
        # (The night's sweep is late too: it is not done.)
        assert check(client) == (503, ["sweep_late", "sweep_chunks_stuck"])
        chunk_ids = list(run.chunks.values_list("pk", flat=True))
        sweep_chunk_run(chunk_id=chunk_ids[0])  # a worker took one: the others still wait
        assert "sweep_chunks_stuck" in check(client)[1]
        for chunk_id in chunk_ids[1:]:
            sweep_chunk_run(chunk_id=chunk_id)
        assert "sweep_chunks_stuck" not in check(client)[1]


@override_settings(REMINDERS_LATE_AFTER_SECONDS=3600)
def test_reminders_waiting_past_their_time_degrade_until_they_go(client):
    instalment_due(D)
    reminders_select(on=D, now=at(D, 8))
    reminder = Reminder.objects.get()
    with time_machine.travel(reminder.not_before + datetime.timedelta(minutes=59), tick=False):
        assert "reminders_late" not in check(client)[1]
    with time_machine.travel(reminder.not_before + datetime.timedelta(minutes=61), tick=False):
        assert "reminders_late" in check(client)[1]
        # Claimed by a worker that died: still waiting, as far as the customer knows.
        Reminder.objects.filter(pk=reminder.pk).update(status=Status.SENDING, claimed_at=timezone.now())
        assert "reminders_late" not in check(client)[1]
    with time_machine.travel(reminder.not_before + datetime.timedelta(minutes=125), tick=False):
        assert "reminders_late" in check(client)[1]
        Reminder.objects.filter(pk=reminder.pk).update(status=Status.SENT, sent_at=timezone.now())
        assert "reminders_late" not in check(client)[1]


def test_a_ledger_mismatch_found_by_the_reconciliation_degrades_until_one_finds_none(client):
    [first, *_] = overdue_book(customers=2, on=TODAY)
    assert "ledger_mismatch" not in check(client)[1]
    Installment.objects.filter(pk=first.pk).update(principal_paid="10.00")
    assert "ledger_mismatch" not in check(client)[1]  # nobody has looked yet
    assert len(ledgers_reconcile()) == 1
    assert check(client) == (503, ["sweep_late", "ledger_mismatch"])  # no sweep ran in this test
    Installment.objects.filter(pk=first.pk).update(principal_paid="0.00")
    assert ledgers_reconcile() == []
    assert check(client) == (503, ["sweep_late"])


def test_the_reconciliation_is_in_the_audit_trail():
    from audit.models import AuditAction, AuditEvent

    ledgers_reconcile()
    event = AuditEvent.objects.get(action=AuditAction.LEDGERS_RECONCILED)
    assert event.payload == {"mismatches": 0, "examples": []}
    assert event.actor is None


@override_settings(SWEEP_DONE_BY_HOUR=6)
@pytest.mark.parametrize(
    ("role", "language", "shown"),
    [
        (Role.OPERATIONS_ADMIN, "en", "The nightly sweep for 2026-07-01 is not done"),
        (Role.COLLECTIONS_MANAGER, "zh-hans", "2026-07-01 的日终批处理尚未完成"),
        (Role.COLLECTIONS_AGENT, "en", None),
        (Role.RISK_ANALYST, "en", None),
    ],
)
def test_operations_admins_and_managers_see_the_warnings_at_home(client, role, language, shown):
    overdue_book(customers=2, on=TODAY)
    login_verified(
        client, UserFactory(roles=[role], language=language, is_staff=role == Role.OPERATIONS_ADMIN)
    )
    with time_machine.travel(moment(7), tick=False):
        response = client.get(reverse("home"))
        assert response.status_code == 200
        html = response.content.decode()
        if shown is None:
            assert 'data-code="sweep_late"' not in html
            return
        assert 'data-code="sweep_late"' in html and shown in html
        sweep_run(on=TODAY, snapshot=False)
        assert 'data-code="sweep_late"' not in client.get(reverse("home")).content.decode()


def test_the_operations_check_is_public_and_takes_no_post(client):
    assert client.get(reverse("healthz_operations")).wsgi_request.user.is_anonymous
    assert client.post(reverse("healthz_operations")).status_code == 405
