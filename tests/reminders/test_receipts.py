"""The "payment received" receipt: queued once per payment and channel, sent at once inside the window."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from orders.models import Payment
from orders.services import payment_post, payment_reverse
from orders.signals import payment_posted
from reminders.models import RECEIPT, OutboxMessage, Reminder, Status
from reminders.services import receipt_queue, reminder_deliver
from reminders.tasks import reminder_deliver_task
from tests.factories import CustomerFactory

from .builders import NEW_YORK, D, at

pytestmark = pytest.mark.django_db


def _payment(
    customer=None, amount="350.00", received_at=None, reference="ALIPAY-2026031000001234"
) -> Payment:
    """A payment posted the moment it is received (the clock stopped there): payment_post
    queues its receipt as of that moment."""
    received_at = received_at or at(D, 14, 5)
    with time_machine.travel(received_at, tick=False):
        payment, _replayed = payment_post(
            customer=customer or CustomerFactory(email="pay@example.com"),
            amount=Decimal(amount),
            reference=reference,
            received_at=received_at,
        )
    return payment


def test_receipt_is_queued_once_per_channel(monkeypatch, django_capture_on_commit_callbacks):
    published = []
    monkeypatch.setattr(
        reminder_deliver_task, "apply_async", lambda args, **options: published.append(args[0])
    )
    with django_capture_on_commit_callbacks(execute=True):
        payment = _payment()
    first = list(Reminder.objects.filter(payment=payment).order_by("id"))
    with django_capture_on_commit_callbacks(execute=True):
        again = receipt_queue(payment=payment, now=at(D, 14, 7))
    assert [r.pk for r in again] == [r.pk for r in first]
    assert sorted(r.key for r in first) == [
        f"pay:{payment.pk}:receipt:email",
        f"pay:{payment.pk}:receipt:sms",
    ]
    assert Reminder.objects.count() == 2
    # Published once, when the payment was committed: the second call found them on their way.
    assert sorted(published) == sorted(r.pk for r in first)


def test_receipt_text_and_delivery():
    payment = _payment(amount="1234.50")
    by_channel = {r.channel: r for r in receipt_queue(payment=payment, now=at(D, 14, 6))}
    sms = by_channel["sms"]
    assert {r.kind for r in by_channel.values()} == {RECEIPT}
    assert reminder_deliver(reminder_id=sms.pk, now=at(D, 14, 6)).status == "sent"
    assert OutboxMessage.objects.get().body == (
        f"【先买后付】{payment.customer.name}，您好！我们已于2026年3月10日收到您的还款¥1,234.50"
        "（流水号ALIP-****-1234），感谢您的支持。"
    )


def test_receipt_at_night_waits_for_the_window():
    payment = _payment(received_at=at(D, 23, 40))
    receipts = receipt_queue(payment=payment, now=at(D, 23, 40))
    assert {r.not_before for r in receipts} == {at(D + datetime.timedelta(days=1), 8)}
    assert reminder_deliver(reminder_id=receipts[0].pk, now=at(D, 23, 45)).status == "skipped"


def test_receipts_are_outside_the_daily_cap():
    customer = CustomerFactory()
    for n in range(4):
        _payment(customer=customer, amount="10.00", reference=f"WX-{n}", received_at=at(D, 9 + n))
    assert Reminder.objects.filter(status=Status.QUEUED).count() == 4


def test_reversed_payment_gets_no_receipt(superuser):
    payment = _payment()
    [sms] = [r for r in receipt_queue(payment=payment, now=at(D, 14, 6)) if r.channel == "sms"]
    payment_reverse(payment=payment, reason="provider chargeback", by=superuser)
    assert reminder_deliver(reminder_id=sms.pk, now=at(D, 14, 7)).status == "cancelled"
    assert receipt_queue(payment=Payment.objects.get(pk=payment.pk), now=at(D, 14, 8)) == []


def test_business_date_is_the_consoles_whatever_zone_a_request_activated():
    # The admin activates the staff member's own zone; 09:00 in Shanghai is D-1 in New York.
    with timezone.override(NEW_YORK):
        payment = _payment(received_at=at(D, 9))
    assert {r.business_date for r in Reminder.objects.filter(payment=payment)} == {D}


def test_posting_a_payment_queues_its_receipt(django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(reminder_deliver_task, "apply_async", lambda args, **options: None)
    with django_capture_on_commit_callbacks(execute=True):
        payment = _payment()
    assert set(Reminder.objects.filter(payment=payment).values_list("kind", "channel")) == {
        (RECEIPT, "sms"),
        (RECEIPT, "email"),
    }


def test_a_payment_posted_days_after_it_was_received_gets_no_receipt(settings):
    settings.REMINDERS_RECEIPT_MAX_AGE_HOURS = 72
    received = at(D, 14, 5)
    with time_machine.travel(received + datetime.timedelta(hours=72, minutes=1), tick=False):
        late, _replayed = payment_post(
            customer=CustomerFactory(email="late@example.com"),
            amount=Decimal("80.00"),
            reference="BANK-STATEMENT-0001",
            received_at=received,
        )
    assert not Reminder.objects.filter(payment=late).exists()
    # Within the limit the receipt goes out, however late in the limit.
    on_time = _payment(reference="WX-ON-TIME", received_at=received)
    assert receipt_queue(payment=on_time, now=received + datetime.timedelta(hours=71)) != []


def test_the_receipt_is_written_in_the_payments_transaction_and_rolled_back_with_it():
    """Orders publishes payment_posted inside payment_post's transaction; the reminders app's
    receiver writes the receipt there, so a payment rolled back leaves no receipt behind."""
    with transaction.atomic():
        payment = _payment()
        assert Reminder.objects.filter(payment=payment, kind=RECEIPT).count() == 2
        transaction.set_rollback(True)
    assert not Payment.objects.exists()
    assert not Reminder.objects.exists()


def test_the_receipt_follows_the_payment_posted_signal_once_not_a_replay():
    seen = []

    def spy(sender, payment, **kwargs):
        # Inside the payment's transaction, after its receipt's receiver (connected at startup).
        seen.append((payment.pk, transaction.get_connection().in_atomic_block))

    payment_posted.connect(spy, dispatch_uid="test_spy")
    try:
        payment = _payment()
        _again, replayed = payment_post(
            customer=payment.customer,
            amount=payment.amount,
            reference=payment.external_reference,
            received_at=payment.received_at,
        )
    finally:
        payment_posted.disconnect(dispatch_uid="test_spy")
    assert replayed
    assert seen == [(payment.pk, True)]  # sent once, for the new payment, not for the replay
    assert Reminder.objects.filter(payment=payment).count() == 2
