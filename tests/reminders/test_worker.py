"""Reliability with real Celery workers: one is killed mid-delivery, yet each reminder goes out once."""

import datetime
import os
import signal
import time
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.models import Customer
from orders.models import Channel, Installment, Order, OrderStatus, Plan
from policy.models import Policy
from reminders.models import OutboxMessage, Reminder, Status
from reminders.services import reminders_publish_due, reminders_recover_stale, reminders_select
from tests import workers
from tests.factories import CustomerFactory, MerchantFactory
from tests.workers import wait_for

CUSTOMERS = 100  # two reminders each (SMS and email): 200 deliveries
QUEUE = f"reminders-reliability-{os.getpid()}"


def _zone_at_midday(now: datetime.datetime) -> ZoneInfo:
    """A fixed-offset zone where it is about midday now, so the contact window is open whenever CI runs."""
    offset = max(-12, min(14, 12 - now.astimezone(datetime.UTC).hour))
    # POSIX-style names invert the sign: Etc/GMT-8 is UTC+8.
    return ZoneInfo(f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC")


def _book(zone: ZoneInfo, on: datetime.date) -> None:
    """CUSTOMERS customers with a phone and an email, each with one pay-later instalment due on `on`."""
    customers = Customer.objects.bulk_create(
        CustomerFactory.build(email=f"w{n}@example.com", timezone=zone.key, credit_line=None)
        for n in range(CUSTOMERS)
    )
    merchant = MerchantFactory()
    orders = Order.objects.bulk_create(
        Order(
            customer=customer,
            merchant=merchant,
            external_reference=f"DY-W-{customer.pk:08d}",
            channel=Channel.LIVESTREAM,
            item_summary="口红 lipstick",
            amount="199.00",
            plan=Plan.PAY_LATER,
            fee_rate=0,
            status=OrderStatus.DELIVERED,
        )
        for customer in customers
    )
    Installment.objects.bulk_create(
        Installment(order=o, customer=o.customer, sequence=1, due_date=on, principal_due="199.00")
        for o in orders
    )


def _start_worker(tmp_path, name: str):
    return workers.start_worker(
        tmp_path, name, DJANGO_SETTINGS_MODULE="tests.reminders.worker_settings", REMINDERS_TEST_QUEUE=QUEUE
    )


def _sent() -> int:
    return Reminder.objects.filter(status=Status.SENT).count()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_killed_worker_each_reminder_delivered_exactly_once(settings, tmp_path):
    settings.REMINDERS_QUEUE = QUEUE
    # A short lease, so the test need not wait minutes for the recovery. (Republishing keeps
    # its default: every task not lost with the killed worker is still in the queue.)
    settings.REMINDERS_SENDING_LEASE_SECONDS = 1
    Policy.objects.update(reminder_daily_cap=10)
    now = timezone.now()
    zone = _zone_at_midday(now)
    on = now.astimezone(zone).date()
    _book(zone, on)
    assert reminders_select(on=on, now=now).queued == 2 * CUSTOMERS
    assert reminders_publish_due(now=now) == 2 * CUSTOMERS

    first, log1 = _start_worker(tmp_path, "first")
    try:

        def caught_mid_delivery() -> bool:
            # A reminder stored in the outbox but not yet recorded as sent, for a while: the one
            # slow_backend stalls, caught well before its stall ends.
            return Reminder.objects.filter(
                status=Status.SENDING,
                key__in=OutboxMessage.objects.values("key"),
                claimed_at__lt=timezone.now() - datetime.timedelta(seconds=0.2),
            ).exists()

        wait_for(caught_mid_delivery, timeout=60, what="a delivery in flight", logs=[log1], process=first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    [stuck] = Reminder.objects.filter(status=Status.SENDING)
    assert OutboxMessage.objects.filter(key=stuck.key).exists()
    assert _sent() < 2 * CUSTOMERS, "the worker finished before it was killed"

    second, log2 = _start_worker(tmp_path, "second")
    try:
        wait_for(
            lambda: "BNPL worker ready" in log2.read_text(), timeout=60, what="the new worker", logs=[log2]
        )
        # What the beat does every 15 minutes, here every half second: queue the claim lost
        # with the killed worker again once its lease has run out, and publish it.
        deadline = time.monotonic() + 60
        while _sent() < 2 * CUSTOMERS:
            assert second.poll() is None, log2.read_text()
            assert time.monotonic() < deadline, f"only {_sent()} of {2 * CUSTOMERS} sent\n{log2.read_text()}"
            time.sleep(0.5)
            reminders_recover_stale()
            reminders_publish_due()
    finally:
        workers.stop(second)

    # The reminder caught in flight went out again (its lost attempt counted) and was stored once.
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == (Status.SENT, 2)
    assert OutboxMessage.objects.filter(key=stuck.key).count() == 1
    reminders = Reminder.objects.all()
    assert reminders.count() == 2 * CUSTOMERS
    assert set(reminders.values_list("status", flat=True)) == {Status.SENT}
    # One row per (instalment, kind, channel), and one outbox message per row: none lost, none twice.
    duplicates = reminders.values("installment", "kind", "channel").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()
    assert OutboxMessage.objects.count() == 2 * CUSTOMERS
    assert set(OutboxMessage.objects.values_list("key", flat=True)) == set(
        reminders.values_list("key", flat=True)
    )
