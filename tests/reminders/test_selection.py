"""reminders_select(on=D): which instalments get which reminders, once, within the conduct rules."""

import datetime
from decimal import Decimal

import pytest

from orders.models import Order
from policy.models import Policy
from reminders.models import CancelReason, Reminder, Status, installment_key
from reminders.services import reminders_select
from tests.factories import CustomerFactory, posted_payment

from .builders import NEW_YORK, D, at, days, instalment_due, put_on_hold

pytestmark = pytest.mark.django_db

NOW = at(D, 10)


def _kinds(**filters) -> dict[int, set[str]]:
    """Instalment reminders by instalment (receipts of the payments a test posts left out)."""
    found: dict[int, set[str]] = {}
    instalment_reminders = Reminder.objects.filter(installment__isnull=False, **filters)
    for installment_id, kind in instalment_reminders.values_list("installment_id", "kind"):
        found.setdefault(installment_id, set()).add(kind)
    return found


@pytest.mark.parametrize(
    ("due_in", "kind"),
    [
        (3, "T-3"),
        (2, None),
        (1, "T-1"),
        (0, "T0"),
        (-1, "T+1"),
        (-2, None),
        (-3, "T+3"),
        (-5, None),
        (-7, "T+7"),
        (-8, None),
        (-14, "T+14"),
        (-21, "T+21"),
        (-175, "T+175"),
        (-182, None),  # weekly reminders stop at 180 days past due (policy)
    ],
)
def test_kind_by_days_from_the_due_date(due_in, kind):
    installment = instalment_due(D + days(due_in), email="a@example.com")
    reminders_select(on=D, now=NOW)
    rows = list(Reminder.objects.filter(installment=installment).order_by("channel"))
    if kind is None:
        assert rows == []
    else:
        assert [(r.kind, r.channel, r.offset_days) for r in rows] == [
            (kind, "email", -due_in),
            (kind, "sms", -due_in),
        ]
        assert {r.status for r in rows} == {Status.QUEUED}
        assert {r.key for r in rows} == {
            f"inst:{installment.pk}:{kind}:sms",
            f"inst:{installment.pk}:{kind}:email",
        }
        # The selection's SQL spells the key as reminders.models.installment_key does.
        assert {r.key for r in rows} == {installment_key(installment.pk, kind, c) for c in ("sms", "email")}


def test_offsets_follow_the_policy():
    Policy.objects.update(
        reminder_days_before="5",
        reminder_on_due_date=False,
        reminder_days_after="2",
        reminder_weekly_after=False,
    )
    wanted = {due_in: instalment_due(D + days(due_in)) for due_in in (5, 3, 0, -2, -9)}
    reminders_select(on=D, now=NOW)
    assert _kinds() == {wanted[5].pk: {"T-5"}, wanted[-2].pk: {"T+2"}}


def test_none_for_paid_held_or_unreachable():
    due = D - days(1)
    paid = instalment_due(due)
    posted_payment(customer=paid.customer, amount="1000.00", on=due)
    held = instalment_due(due)
    put_on_hold(held, "return")
    no_email = instalment_due(due)  # the factory gives a phone and no email
    no_phone = instalment_due(due, email="b@example.com")
    CustomerFactory._meta.model.objects.filter(pk=no_phone.customer_id).update(phone="")
    reminders_select(on=D, now=NOW)
    paid.refresh_from_db()
    assert paid.status == "paid"
    assert _kinds(channel="sms") == {no_email.pk: {"T+1"}}
    assert _kinds(channel="email") == {no_phone.pk: {"T+1"}}


def test_partly_paid_is_reminded_fully_paid_is_not():
    partly = instalment_due(D - days(3))
    posted_payment(customer=partly.customer, amount="400.00", on=D - days(2))
    reminders_select(on=D, now=NOW)
    partly.refresh_from_db()
    assert partly.total_outstanding == Decimal("600.00")
    assert _kinds() == {partly.pk: {"T+3"}}


def test_selecting_twice_adds_nothing():
    for due_in in (3, 1, 0, -1, -7):
        instalment_due(D + days(due_in), email="c@example.com")
    first = reminders_select(on=D, now=NOW)
    keys = sorted(Reminder.objects.values_list("key", flat=True))
    second = reminders_select(on=D, now=at(D, 10, 15))
    assert (first.queued, second.queued, second.capped) == (10, 0, 0)
    assert sorted(Reminder.objects.values_list("key", flat=True)) == keys
    assert len(keys) == len(set(keys)) == 10


def test_query_count_does_not_grow_with_the_book(django_assert_max_num_queries):
    """Set-based: the same handful of queries for 3 or 18 instalments (no save() per row)."""
    for _ in range(3):
        instalment_due(D)
    with django_assert_max_num_queries(9) as small:
        reminders_select(on=D, now=NOW)
    for _ in range(15):
        instalment_due(D + days(1))
    with django_assert_max_num_queries(9) as large:
        reminders_select(on=D, now=NOW)
    assert Reminder.objects.count() == 18
    assert len(large.captured_queries) == len(small.captured_queries)


def test_selected_at_23_in_shanghai_waits_for_8am():
    installment = instalment_due(D + days(1))
    reminders_select(on=D, now=at(D, 23))
    reminder = Reminder.objects.get(installment=installment)
    assert reminder.not_before == at(D + days(1), 8)
    assert reminder.send_on == D + days(1)


def test_new_york_customer_under_us_profile_hears_at_8am_new_york_time():
    Policy.objects.update(conduct_profile="US")
    installment = instalment_due(D + days(1), timezone="America/New_York", language="en")
    # 10:00 in Shanghai is 22:00 on D-1 in New York: the reminder for D waits for D 08:00 there.
    reminders_select(on=D, now=NOW)
    reminder = Reminder.objects.get(installment=installment)
    assert reminder.not_before == at(D, 8, zone=NEW_YORK)
    assert reminder.send_on == D


def test_daily_cap_per_customer_and_local_day():
    customer = CustomerFactory(email="d@example.com")
    # Four instalments of one customer fall due on D: 8 candidate messages, a cap of 3.
    for _ in range(4):
        instalment_due(D, customer=customer)
    other = instalment_due(D + days(3), email="e@example.com")
    result = reminders_select(on=D, now=NOW)
    assert (result.queued, result.capped) == (3 + 2, 5)
    mine = Reminder.objects.filter(customer=customer)
    assert mine.filter(status=Status.QUEUED).count() == 3
    assert set(mine.filter(status=Status.CANCELLED).values_list("cancel_reason", flat=True)) == {
        CancelReason.DAILY_CAP
    }
    assert Reminder.objects.filter(customer=other.customer, status=Status.QUEUED).count() == 2
    # Later the same day a new candidate appears: the cap is already used up.
    instalment_due(D + days(1), customer=customer)
    again = reminders_select(on=D, now=at(D, 15))
    assert (again.queued, again.capped) == (0, 2)
    assert mine.filter(status=Status.QUEUED).count() == 3


def test_cap_prefers_the_most_overdue_and_sms():
    Policy.objects.update(reminder_daily_cap=2)
    customer = CustomerFactory(email="f@example.com")
    soon = instalment_due(D + days(1), customer=customer)
    late = instalment_due(D - days(7), customer=customer)
    reminders_select(on=D, now=NOW)
    queued = Reminder.objects.filter(status=Status.QUEUED)
    assert set(queued.values_list("installment_id", "channel")) == {(late.pk, "sms"), (late.pk, "email")}
    assert Reminder.objects.filter(installment=soon, status=Status.CANCELLED).count() == 2


def test_cap_is_per_local_day_not_per_run():
    Policy.objects.update(reminder_daily_cap=1)
    customer = CustomerFactory()
    instalment_due(D + days(3), customer=customer)  # T-3 on D
    assert reminders_select(on=D, now=NOW).queued == 1
    instalment_due(D + days(4), customer=customer)  # T-3 on D+1
    result = reminders_select(on=D + days(1), now=at(D + days(1), 9))
    assert (result.queued, result.capped) == (1, 0)  # D+1 is a new day for the customer


def test_hold_lifted_reminders_resume():
    installment = instalment_due(D - days(1))
    put_on_hold(installment)
    reminders_select(on=D, now=NOW)
    assert not Reminder.objects.exists()
    Order.objects.filter(pk=installment.order_id).update(hold="", hold_since=None)
    reminders_select(on=D + days(2), now=at(D + days(2), 9))
    assert _kinds() == {installment.pk: {"T+3"}}


def test_no_channels_no_reminders():
    Policy.objects.update(reminder_by_sms=False, reminder_by_email=False)
    instalment_due(D)
    assert reminders_select(on=D, now=NOW).queued == 0
    assert not Reminder.objects.exists()


def test_selection_is_set_based_for_a_larger_book():
    """Many instalments across customers and dates: one pass, every expected row, no duplicates."""
    dues = [D + days(3), D + days(1), D, D - days(1), D - days(3), D - days(7), D - days(14)]
    made = [instalment_due(due) for due in dues for _ in range(3)]
    result = reminders_select(on=D, now=NOW)
    assert result.queued == len(made)
    assert Reminder.objects.values("installment").distinct().count() == len(made)


def test_business_dates_are_independent():
    installment = instalment_due(D + days(3))
    reminders_select(on=D, now=NOW)
    reminders_select(on=D + days(2), now=at(D + days(2), 9))
    reminders_select(on=D + days(3), now=at(D + days(3), 9))
    assert _kinds() == {installment.pk: {"T-3", "T-1", "T0"}}
    assert set(Reminder.objects.values_list("business_date", flat=True)) == {D, D + days(2), D + days(3)}
    assert isinstance(Reminder.objects.first().business_date, datetime.date)
