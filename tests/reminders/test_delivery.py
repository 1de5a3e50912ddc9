"""Delivering a reminder: what it says, to whom, when it may go out, and what stops it."""

import datetime
from decimal import Decimal

import pytest

from orders.models import Component, Order
from orders.services import fee_waive
from policy.models import Policy
from reminders.backends import OutboxBackend
from reminders.models import CancelReason, OutboxMessage, Reminder, Status
from reminders.services import (
    reminder_deliver,
    reminders_deliver_due,
    reminders_recover_stale,
    reminders_select,
)
from tests.factories import delivered_order, posted_payment, waiver_requester

from .builders import NEW_YORK, D, at, days, instalment_due, put_on_hold

pytestmark = pytest.mark.django_db

NOW = at(D, 10)


def _one(**filters) -> Reminder:
    """The one instalment reminder (a payment posted by a test also queues its receipt)."""
    return Reminder.objects.get(installment__isnull=False, **filters)


def _deliver(reminder: Reminder, now=NOW) -> str:
    return reminder_deliver(reminder_id=reminder.pk, now=now).status


def test_zh_hans_sms_and_email(outbox_backends):
    installment = instalment_due(D + days(3), amount="1234.56", email="li@example.com", name="李雷")
    Order.objects.filter(pk=installment.order_id).update(external_reference="DY2026030712345678")
    reminders_select(on=D, now=NOW)
    assert reminders_deliver_due(now=NOW) == {"sent": 2}
    sms = OutboxMessage.objects.get(channel="sms")
    assert sms.body == (
        "【先买后付】李雷，您好！您的订单DY-****-5678（连衣裙 dress）第1/1期应还¥1,234.56，"
        "将于2026年3月13日到期（还有3天），请按时还款。"
    )
    assert sms.recipient == installment.customer.phone
    assert sms.key == f"inst:{installment.pk}:T-3:sms"
    email = OutboxMessage.objects.get(channel="email")
    assert email.subject == "还款提醒：¥1,234.56将于2026年3月13日到期"
    assert "应还金额：¥1,234.56" in email.body
    assert "订单：DY-****-5678" in email.body
    assert "12345678" not in email.body + sms.body
    assert email.recipient == "li@example.com"


def test_english_overdue_message():
    installment = instalment_due(D - days(7), amount="2399.00", language="en", name="Amy Chen")
    Order.objects.filter(pk=installment.order_id).update(external_reference="DY-2026-0303-9876")
    reminders_select(on=D, now=NOW)
    reminders_deliver_due(now=NOW)
    body = OutboxMessage.objects.get().body
    assert body == (
        "[Pay Later] Hi Amy Chen, instalment 1/1 of order DY-****-9876 (连衣裙 dress): ¥2,399.00 was due on "
        "3 March 2026 and is 7 days overdue. Please pay as soon as you can; ignore this if you have paid."
    )
    reminder = _one()
    assert (reminder.status, reminder.attempts, reminder.body) == (Status.SENT, 1, body)
    assert reminder.sent_at == NOW


def test_due_today_in_english_email_has_subject():
    instalment_due(D, amount="88.80", language="en", email="amy@example.com")
    reminders_select(on=D, now=NOW)
    reminders_deliver_due(now=NOW)
    email = OutboxMessage.objects.get(channel="email")
    assert email.subject == "Due today: ¥88.80"
    assert "Amount due: ¥88.80" in email.body
    assert "Due date: 10 March 2026" in email.body


def test_amount_is_what_is_left_at_delivery_without_waived_fees(superuser):
    order = delivered_order(amount="1000.00", delivered_on=datetime.date(2026, 2, 11))  # due 11 Mar, Apr, May
    first = order.installments.get(sequence=1)
    assert (first.due_date, first.principal_due, first.fee_due) == (
        D + days(1),
        Decimal("333.34"),
        Decimal("6.00"),
    )
    reminders_select(on=D, now=NOW)
    fee_waive(
        installment=first,
        component=Component.FEE,
        amount=Decimal("6.00"),
        reason="goodwill",
        approved_by=superuser,
        requested_by=waiver_requester(),
    )
    posted_payment(customer=order.customer, amount="33.34", on=D + days(1))
    reminders_deliver_due(now=NOW)
    assert "应还¥300.00" in OutboxMessage.objects.get().body


def test_paid_since_selection_is_cancelled_not_sent():
    installment = instalment_due(D + days(1))
    reminders_select(on=D, now=NOW)
    posted_payment(customer=installment.customer, amount="1000.00", on=D + days(1))
    assert _deliver(_one()) == "cancelled"
    reminder = _one()
    assert (reminder.status, reminder.cancel_reason, reminder.attempts) == (
        Status.CANCELLED,
        CancelReason.PAID,
        0,
    )
    assert not OutboxMessage.objects.exists()


def test_order_put_on_hold_since_selection_is_cancelled():
    installment = instalment_due(D - days(1))
    reminders_select(on=D, now=NOW)
    put_on_hold(installment, "dispute")
    assert _deliver(_one()) == "cancelled"
    assert _one().cancel_reason == CancelReason.ON_HOLD
    assert not OutboxMessage.objects.exists()


def test_selected_at_23_shanghai_is_not_sent_until_8():
    instalment_due(D + days(1))
    reminders_select(on=D, now=at(D, 23))
    assert reminders_deliver_due(now=at(D, 23, 30)) == {}
    assert _deliver(_one(), now=at(D + days(1), 7, 59)) == "skipped"
    assert not OutboxMessage.objects.exists()
    assert reminders_deliver_due(now=at(D + days(1), 8)) == {"sent": 1}
    assert _one().sent_at == at(D + days(1), 8)


def test_new_york_window_is_8_to_21_there_under_the_us_profile():
    Policy.objects.update(conduct_profile="US")
    instalment_due(D + days(1), timezone="America/New_York", language="en")
    reminders_select(on=D, now=NOW)
    assert reminders_deliver_due(now=at(D, 7, 59, NEW_YORK)) == {}
    assert reminders_deliver_due(now=at(D, 8, 0, NEW_YORK)) == {"sent": 1}


def test_a_due_reminder_found_outside_the_window_waits_for_the_next_opening():
    """A retry or a late worker may reach a reminder at night: it is put back, not sent, not counted."""
    Policy.objects.update(conduct_profile="US")
    instalment_due(D + days(1), timezone="America/New_York", language="en")
    reminders_select(on=D, now=NOW)
    late = at(D, 21, 30, NEW_YORK)  # allowed under CN (before 22:00), not under US
    assert _deliver(_one(), now=late) == "deferred"
    reminder = _one()
    assert (reminder.status, reminder.attempts) == (Status.QUEUED, 0)
    assert reminder.not_before == reminder.next_attempt_at == at(D + days(1), 8, zone=NEW_YORK)
    Policy.objects.update(conduct_profile="CN")
    Reminder.objects.update(not_before=NOW, next_attempt_at=NOW)
    assert _deliver(_one(), now=late) == "sent"


def test_claim_is_exactly_once():
    instalment_due(D)
    reminders_select(on=D, now=NOW)
    reminder = _one()
    assert _deliver(reminder) == "sent"
    assert _deliver(reminder) == "skipped"
    assert OutboxMessage.objects.count() == 1


def test_crash_after_sending_before_recording_delivers_once(monkeypatch):
    """The worker dies between the backend and the status update: re-delivered, stored once."""
    instalment_due(D)
    reminders_select(on=D, now=NOW)
    reminder = _one()
    real_send = OutboxBackend.send

    def send_then_die(self, message):
        real_send(self, message)
        raise SystemExit("worker killed")  # not an Exception: nothing in the service catches it

    monkeypatch.setattr(OutboxBackend, "send", send_then_die)
    with pytest.raises(SystemExit):
        _deliver(reminder)
    monkeypatch.undo()
    stuck = _one()
    assert stuck.status == Status.SENDING
    assert OutboxMessage.objects.count() == 1

    # Within the lease nobody touches it; after it, the dispatcher queues it again.
    assert reminders_recover_stale(now=at(D, 10, 5)) == 0
    assert reminders_recover_stale(now=at(D, 10, 11)) == 1
    assert (_one().status, _one().attempts) == (Status.QUEUED, 1)
    assert _deliver(reminder, now=at(D, 10, 11)) == "sent"
    assert (_one().status, _one().attempts) == (Status.SENT, 2)
    assert OutboxMessage.objects.count() == 1


def test_lost_delivery_at_the_attempt_limit_fails(settings):
    settings.REMINDERS_MAX_ATTEMPTS = 2
    instalment_due(D)
    reminders_select(on=D, now=NOW)
    Reminder.objects.update(status=Status.SENDING, claimed_at=NOW, attempts=1)
    assert reminders_recover_stale(now=at(D, 11)) == 1
    reminder = _one()
    assert (reminder.status, reminder.attempts) == (Status.FAILED, 2)
    assert "interrupted" in reminder.last_error
