"""A pending promise to pay pauses the customer's after-due reminders until its date: collections
fills the reminders app's hook (reminders.selectors.after_due_pause_add) in its AppConfig.ready."""

from decimal import Decimal

import pytest
import time_machine

from accounts.roles import Role
from collection.services import promise_make, promises_decide
from reminders.models import CancelReason, Reminder, Status
from reminders.selectors import _after_due_pauses
from reminders.services import reminder_deliver, reminders_select
from tests.factories import CollectionCaseFactory, UserFactory

from .builders import D, at, days, instalment_due

pytestmark = pytest.mark.django_db


def _kinds(installment) -> set[str]:
    return set(Reminder.objects.filter(installment=installment).values_list("kind", flat=True))


@pytest.fixture
def promised():
    """An instalment due 3 days before D, and its customer's promise (made on D - 1) to pay by D + 4."""
    installment = instalment_due(D - days(3), email="a@example.com")
    case = CollectionCaseFactory(customer=installment.customer)
    agent = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    made = at(D - days(1), 10)
    with time_machine.travel(made, tick=False):
        promise = promise_make(case=case, by=agent, amount=Decimal("100.00"), due_date=D + days(4), now=made)
    return installment, promise


def test_the_hook_is_registered_by_collections():
    from collection.selectors import promises_pending_through

    assert promises_pending_through in _after_due_pauses


def test_no_after_due_reminder_while_a_promise_waits_for_its_date(promised):
    installment, _promise = promised
    other = instalment_due(D - days(3), email="b@example.com")
    reminders_select(on=D, now=at(D, 10))
    assert _kinds(installment) == set()  # T+3 paused
    assert _kinds(other) == {"T+3"}  # a customer without a promise is reminded


def test_reminders_before_and_on_the_due_date_are_not_paused(promised):
    installment, _promise = promised
    later = instalment_due(D, customer=installment.customer)  # another order, due today
    reminders_select(on=D, now=at(D, 10))
    assert _kinds(later) == {"T0"}


def test_on_the_promise_date_still_paused_and_after_a_broken_promise_reminded_again(promised):
    installment, promise = promised
    reminders_select(on=D + days(4), now=at(D + days(4), 10))  # T+7, on the promise's date
    assert _kinds(installment) == set()
    with time_machine.travel(at(D + days(11), 0, 30), tick=False):
        promises_decide(on=D + days(11))
    promise.refresh_from_db()
    assert promise.status == "broken"
    reminders_select(on=D + days(11), now=at(D + days(11), 10))  # T+14
    assert _kinds(installment) == {"T+14"}


def test_a_reminder_selected_before_the_promise_is_cancelled_at_delivery():
    installment = instalment_due(D - days(3), email="")
    reminders_select(on=D, now=at(D, 7))
    (reminder,) = Reminder.objects.filter(installment=installment)
    assert reminder.kind == "T+3"
    case = CollectionCaseFactory(customer=installment.customer)
    with time_machine.travel(at(D, 7, 30), tick=False):
        promise_make(case=case, by=None, amount=Decimal("10.00"), due_date=D + days(2), now=at(D, 7, 30))
    assert reminder_deliver(reminder_id=reminder.pk, now=at(D, 8)).status == "cancelled"
    reminder.refresh_from_db()
    assert (reminder.status, reminder.cancel_reason) == (Status.CANCELLED, CancelReason.PAUSED)
