"""Delivery to a gateway is at least once, with the key: a repeat is counted, and nothing stranded
waits for a person (docs/architecture.md, "Reminders")."""

import datetime

import pytest

from reminders import services
from reminders.models import OutboxMessage, Reminder, Status
from reminders.services import reminder_deliver, reminders_dispatch, reminders_select

from .builders import D, at, instalment_due

pytestmark = pytest.mark.django_db

NOW = at(D, 10)


class WorkerDied(Exception):
    pass


def test_a_send_whose_outcome_was_lost_goes_again_with_its_key_and_is_counted(monkeypatch):
    instalment_due(D)
    reminders_select(on=D, now=NOW)
    reminder = Reminder.objects.get()
    move = services._move

    def die_before_recording(pk, *, from_, to, **fields):
        if to == Status.SENT:
            raise WorkerDied  # the gateway has it; the worker dies before writing that down
        return move(pk, from_=from_, to=to, **fields)

    monkeypatch.setattr(services, "_move", die_before_recording)
    with pytest.raises(WorkerDied):
        reminder_deliver(reminder_id=reminder.pk, now=NOW)
    monkeypatch.setattr(services, "_move", move)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.sends) == (Status.SENDING, 1)

    # The next dispatch after the lease (5 minutes) queues it again and delivers it.
    later = NOW + datetime.timedelta(minutes=15)
    reminders_dispatch(now=later)
    assert reminder_deliver(reminder_id=reminder.pk, now=later).status == "sent"
    reminder.refresh_from_db()
    assert (reminder.status, reminder.sends) == (Status.SENT, 2)
    # The backend got the same key twice and kept one message: what a gateway must do.
    assert OutboxMessage.objects.filter(key=reminder.key).count() == 1


def test_the_reminder_list_shows_how_many_times_each_was_sent(admin_client):
    instalment_due(D)
    reminders_select(on=D, now=NOW)
    reminder = Reminder.objects.get()
    reminder_deliver(reminder_id=reminder.pk, now=NOW)
    html = admin_client.get("/admin/reminders/reminder/").content.decode()
    assert "column-sends" in html
    assert Reminder.objects.get().sends == 1


def test_a_delivery_that_never_reaches_the_gateway_is_not_counted_as_a_send():
    instalment_due(D)
    reminders_select(on=D, now=at(D, 6))
    reminder = Reminder.objects.get()
    # Outside the contact window: deferred before anything is handed over.
    Reminder.objects.filter(pk=reminder.pk).update(not_before=at(D, 6), next_attempt_at=at(D, 6))
    assert reminder_deliver(reminder_id=reminder.pk, now=at(D, 6)).status == "deferred"
    assert Reminder.objects.get().sends == 0
