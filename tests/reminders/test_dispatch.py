"""The 15-minute dispatcher (Celery beat) and `manage.py dispatch_reminders`."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from bnpl_admin.celery import app
from reminders.models import OutboxMessage, Reminder, Status
from reminders.tasks import reminder_deliver_task, reminders_dispatch_task

from .builders import D, at, days, instalment_due

pytestmark = pytest.mark.django_db

NOW = at(D, 10)


@pytest.fixture
def clock(monkeypatch):
    """Fixes timezone.now() for code that reads the clock itself (the task and the command)."""

    class Clock:
        now = NOW

    monkeypatch.setattr("django.utils.timezone.now", lambda: Clock.now)
    return Clock


@pytest.fixture
def published(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(reminder_deliver_task, "apply_async", lambda args, **options: sent.append(args[0]))
    return sent


def test_beat_runs_the_dispatch_every_15_minutes():
    task = PeriodicTask.objects.get(task="reminders.dispatch")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (15, IntervalSchedule.MINUTES)
    assert {"reminders.dispatch", "reminders.deliver"} <= set(app.tasks)


def test_dispatch_selects_and_publishes_one_task_per_due_reminder_on_commit(
    clock, published, django_capture_on_commit_callbacks
):
    instalment_due(D, email="a@example.com")
    instalment_due(D - days(1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        summary = reminders_dispatch_task()
    assert published == []  # nothing leaves before the rows are committed
    for callback in callbacks:
        callback()
    assert summary == {"date": "2026-03-10", "queued": 3, "capped": 0, "recovered": 0, "published": 3}
    assert sorted(published) == sorted(Reminder.objects.values_list("pk", flat=True))


def test_dispatch_does_not_publish_twice_while_a_task_is_in_flight(
    clock, published, django_capture_on_commit_callbacks
):
    instalment_due(D)
    with django_capture_on_commit_callbacks(execute=True):
        reminders_dispatch_task()
    clock.now = at(D, 10, 4)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_dispatch_task()["published"] == 0
    # The task was lost (a broker restart): the next dispatch, 15 minutes on, publishes it again.
    clock.now = at(D, 10, 15)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_dispatch_task()["published"] == 1
    assert len(published) == 2


def test_dispatch_holds_back_what_is_outside_the_window(clock, published, django_capture_on_commit_callbacks):
    instalment_due(D + days(1))
    clock.now = at(D, 23)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_dispatch_task()["published"] == 0
    clock.now = at(D + days(1), 8)
    with django_capture_on_commit_callbacks(execute=True):
        summary = reminders_dispatch_task()
    # On D+1 the same instalment is due the same day: a T0 reminder joins the T-1 one.
    assert (summary["date"], summary["queued"], summary["published"]) == ("2026-03-11", 1, 2)


def test_dispatch_recovers_a_delivery_lost_with_its_worker(
    clock, published, django_capture_on_commit_callbacks
):
    instalment_due(D)
    with django_capture_on_commit_callbacks(execute=True):
        reminders_dispatch_task()
    Reminder.objects.update(status=Status.SENDING, claimed_at=NOW)  # claimed, then the worker died
    clock.now = NOW + datetime.timedelta(minutes=15)
    with django_capture_on_commit_callbacks(execute=True):
        summary = reminders_dispatch_task()
    assert (summary["recovered"], summary["published"]) == (1, 1)
    assert Reminder.objects.get().status == Status.QUEUED


def test_command_selects_and_delivers_in_process(clock, capsys):
    instalment_due(D + days(3), email="b@example.com")
    instalment_due(D - days(7))
    call_command("dispatch_reminders", "--date", "2026-03-10")
    out = capsys.readouterr().out
    assert "2026-03-10: 3 reminder(s) queued, 0 held back by the daily cap." in out
    assert "Delivered now: 3 sent." in out
    assert OutboxMessage.objects.count() == 3
    assert set(Reminder.objects.values_list("status", flat=True)) == {Status.SENT}


def test_command_defaults_to_today(clock, capsys):
    instalment_due(D + days(1))
    call_command("dispatch_reminders")
    assert Reminder.objects.get().kind == "T-1"
    assert "Delivered now: 1 sent." in capsys.readouterr().out


def test_command_for_another_date_still_keeps_the_window(clock, capsys):
    instalment_due(D + days(1))
    clock.now = at(D, 22, 30)
    call_command("dispatch_reminders", "--date", "2026-03-10")
    assert "Delivered now: nothing due." in capsys.readouterr().out
    assert Reminder.objects.get().not_before == at(D + days(1), 8)


@pytest.mark.parametrize("bad", ["10/03/2026", "2026-02-30", "tomorrow", ""])
def test_command_rejects_a_bad_date(bad):
    with pytest.raises(CommandError, match=r"--date must be a calendar date written YYYY-MM-DD"):
        call_command("dispatch_reminders", "--date", bad)
