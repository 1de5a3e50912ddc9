"""The daily cap counts what a customer actually receives on a local day, however late delivery runs."""

import datetime
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.conduct import customer_zone
from policy.models import Policy
from reminders.backends import DeliveryError, OutboxBackend
from reminders.models import RECEIPT, OutboxMessage, Reminder, Status
from reminders.services import reminders_deliver_due, reminders_dispatch, reminders_select
from tests.factories import CustomerFactory, posted_payment

from .builders import NEW_YORK, SHANGHAI, D, at, days, instalment_due

pytestmark = pytest.mark.django_db

CAP = 3


def sent_per_local_day() -> Counter:
    """Reminders (not receipts) received per customer and local day, by when they were sent."""
    counted: Counter = Counter()
    for customer_id, zone_name, sent_at in (
        Reminder.objects.filter(status=Status.SENT)
        .exclude(kind=RECEIPT)
        .values_list("customer_id", "customer__timezone", "sent_at")
    ):
        counted[customer_id, sent_at.astimezone(customer_zone(zone_name)).date()] += 1
    return counted


def busy_customer(zone: ZoneInfo = SHANGHAI):
    """A customer with something to be reminded of every day from D to D+4, more than the cap allows."""
    customer = CustomerFactory(email="busy@example.com", timezone=str(zone))
    for offset in range(-1, 8):
        instalment_due(D + days(offset), customer=customer)
    return customer


def test_a_worker_down_overnight_with_the_cap_at_its_limit():
    """Day D's reminders could not go out (the worker stopped at 07:00 and came back at 09:00
    the next day); D+1's selection ran at midnight meanwhile. The customer hears at most the
    cap on D+1, and what is left waits for D+2's window."""
    Policy.objects.update(reminder_daily_cap=CAP)
    customer = busy_customer()
    reminders_select(on=D, now=at(D, 0, 15))
    assert Reminder.objects.filter(customer=customer, status=Status.QUEUED).count() == CAP
    # The worker is down: nothing is delivered on D. The beat still selects for D+1 after midnight.
    reminders_select(on=D + days(1), now=at(D + days(1), 0, 15))

    assert sum(reminders_deliver_due(now=at(D + days(1), 9)).values()) > 0
    assert sent_per_local_day()[customer.pk, D + days(1)] == CAP
    waiting = Reminder.objects.filter(customer=customer, status=Status.QUEUED)
    assert waiting.exists()
    assert {r.not_before for r in waiting} == {at(D + days(2), 8)}
    assert {r.send_on for r in waiting} == {D + days(2)}
    # Later on D+1 nothing more goes out; the next window brings the rest, within the cap again.
    reminders_deliver_due(now=at(D + days(1), 15))
    assert sent_per_local_day()[customer.pk, D + days(1)] == CAP
    reminders_select(on=D + days(2), now=at(D + days(2), 0, 15))
    reminders_deliver_due(now=at(D + days(2), 8, 5))
    assert sent_per_local_day()[customer.pk, D + days(2)] == CAP
    assert max(sent_per_local_day().values()) == CAP


def test_a_reminder_deferred_overnight_counts_for_the_day_it_goes_out():
    """Selected late on D, tried after the window closed, it waits for D+1: D+1's selection counts it."""
    Policy.objects.update(reminder_daily_cap=1)
    customer = CustomerFactory()  # SMS only: one message per instalment
    instalment_due(D + days(1), customer=customer)  # T-1 on D
    reminders_select(on=D, now=at(D, 21, 50))
    assert reminders_deliver_due(now=at(D, 22, 5)) == {"deferred": 1}
    deferred = Reminder.objects.get()
    assert deferred.send_on == D + days(1)

    instalment_due(D + days(4), customer=customer)  # T-3 on D+1 (and the first one's T0)
    result = reminders_select(on=D + days(1), now=at(D + days(1), 0, 15))
    assert (result.queued, result.capped) == (0, 2)


def test_a_receipt_is_not_held_back_by_the_cap():
    Policy.objects.update(reminder_daily_cap=1)
    customer = CustomerFactory()
    instalment_due(D + days(1), customer=customer)
    reminders_select(on=D, now=at(D, 9))
    reminders_deliver_due(now=at(D, 9))
    with time_machine.travel(at(D, 13), tick=False):
        posted_payment(customer=customer, amount="100.00", on=D)
        reminders_deliver_due(now=at(D, 13))
    sent = {("T-1", Status.SENT), (RECEIPT, Status.SENT)}
    assert set(Reminder.objects.values_list("kind", "status")) == sent


# --- Any schedule of outages and failures --------------------------------------------------------

# Every three hours over four days, from D 00:15 in Shanghai (D-1 11:15 in New York).
TICKS = 32
START = at(D, 0, 15)


def tick_time(n: int) -> datetime.datetime:
    return START + datetime.timedelta(hours=3 * n)


class FlakyBackend(OutboxBackend):
    """The outbox, except at the ticks the test says the provider answers with a transient error."""

    failing_at: set[int] = set()
    tick = 0

    def send(self, message):
        if FlakyBackend.tick in FlakyBackend.failing_at:
            raise DeliveryError("provider busy", retryable=True)
        return super().send(message)


outages = st.lists(st.tuples(st.integers(0, TICKS - 1), st.integers(1, 12)), max_size=3)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cap=st.integers(1, 4),
    worker_outages=outages,
    beat_outages=outages,
    failing=st.sets(st.integers(0, TICKS - 1), max_size=10),
)
def test_no_customer_ever_gets_more_than_the_cap_in_a_local_day(
    settings, cap, worker_outages, beat_outages, failing
):
    """Random outages of the delivery worker and of the beat, and transient provider errors: on no
    local day does a customer receive more than the cap, and each reminder is sent once."""
    from django.db import transaction

    settings.REMINDERS_SMS_BACKEND = "tests.reminders.test_daily_cap.FlakyBackend"
    settings.REMINDERS_EMAIL_BACKEND = "tests.reminders.test_daily_cap.FlakyBackend"
    settings.REMINDERS_RETRY_BASE_SECONDS = 3600
    FlakyBackend.failing_at = failing

    def down(outage_list, n):
        return any(start <= n < start + length for start, length in outage_list)

    with transaction.atomic():
        Policy.objects.update(reminder_daily_cap=cap)
        busy_customer(SHANGHAI)
        busy_customer(NEW_YORK)
        for n in range(TICKS):
            now = tick_time(n)
            FlakyBackend.tick = n
            with time_machine.travel(now, tick=False):
                if not down(beat_outages, n):
                    reminders_dispatch(now=now)
                if not down(worker_outages, n):
                    reminders_deliver_due(now=now)

        per_day = sent_per_local_day()
        assert per_day, "nothing was sent: the test would prove nothing"
        assert max(per_day.values()) <= cap, per_day
        sent_keys = list(Reminder.objects.filter(status=Status.SENT).values_list("key", flat=True))
        assert sorted(sent_keys) == sorted(OutboxMessage.objects.values_list("key", flat=True))
        transaction.set_rollback(True)
