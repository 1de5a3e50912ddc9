"""Promises to pay: made in a contact, decided by the ledger (allocations of the payments made after
the promise, by its date), after each sweep, the same whichever nights ran."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.roles import Role
from bnpl_admin.signals import sweep_done
from collection import tasks
from collection.models import (
    CaseEvent,
    CaseEventType,
    CaseStatus,
    CollectionCase,
    Promise,
    PromiseStatus,
)
from collection.selectors import case_promise_summary, my_queue
from collection.services import (
    CaseError,
    PromiseError,
    case_transition,
    contact_record,
    promise_make,
    promise_outcome,
    promises_decide,
)
from orders.models import PaymentAllocation, PaymentStatus
from orders.services import payment_post, payment_reverse
from policy.selectors import policy_in_force
from sweep.models import SweepRun
from tests.conftest import login_verified
from tests.factories import CollectionCaseFactory, CustomerFactory, UserFactory, delivered_order

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date(2026, 3, 10)  # the day the promise is made
ONE = datetime.timedelta(days=1)


def at(day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


def day(n: int) -> datetime.date:
    return D + datetime.timedelta(days=n)


@pytest.fixture
def agent():
    return UserFactory(roles=[Role.COLLECTIONS_AGENT])


def owing_case(agent, *, amount="1000.00", overdue_days=10) -> CollectionCase:
    """An open case of a customer whose one pay-later instalment fell due `overdue_days` before D."""
    customer = CustomerFactory()
    delivered_order(
        customer=customer, amount=amount, plan="pay_later", delivered_on=D - (14 + overdue_days) * ONE
    )
    return CollectionCaseFactory(customer=customer, assigned_agent=agent)


@pytest.fixture
def case(agent):
    return owing_case(agent)


_refs = iter(range(1, 10**9))


def pay(case, amount, moment) -> object:
    with time_machine.travel(moment, tick=False):
        payment, _replayed = payment_post(
            customer=case.customer, amount=Decimal(amount), reference=f"P-{next(_refs)}", received_at=moment
        )
    return payment


def promise(case, agent, amount="300.00", due=None, made=None) -> Promise:
    made = made or at(D, 10)
    with time_machine.travel(made, tick=False):
        return promise_make(case=case, by=agent, amount=Decimal(amount), due_date=due or day(5), now=made)


def decide(on: datetime.date):
    with time_machine.travel(at(on, 0, 30), tick=False):
        return promises_decide(on=on)


def state(p: Promise):
    p.refresh_from_db()
    return p.status, p.decided_on, p.paid_amount


# --- Making a promise ---------------------------------------------------------------------------


def test_a_promise_in_a_contact_is_made_with_it(case, agent):
    attempt = contact_record(
        case=case,
        agent=agent,
        channel="phone",
        party="debtor",
        outcome="promise_made",
        now=at(D, 10),
        promise_amount=Decimal("300.00"),
        promise_due=day(5),
    )
    made = attempt.promise
    assert (made.case, made.customer, made.made_by, made.amount, made.due_date, made.status) == (
        case,
        case.customer,
        agent,
        Decimal("300.00"),
        day(5),
        PromiseStatus.PENDING,
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.PROMISED
    event = CaseEvent.objects.get(case=case, type=CaseEventType.PROMISE_MADE)
    assert event.payload == {
        "promise": made.pk,
        "amount": "300.00",
        "due_date": "2026-03-15",
        "contact": attempt.pk,
    }
    assert made.history.get().history_user == agent


@pytest.mark.parametrize(
    ("amount", "due", "code"),
    [
        ("0.00", 5, "promise_not_positive"),
        ("-1.00", 5, "promise_not_positive"),
        ("0.001", 5, "promise_bad_amount"),
        ("NaN", 5, "promise_bad_amount"),
        ("1000.01", 5, "promise_above_owed"),  # owes 1,000.00
        ("100.00", -1, "promise_date_out_of_range"),  # yesterday
        ("100.00", 31, "promise_date_out_of_range"),  # the policy allows 30 days
    ],
)
def test_a_promise_out_of_bounds_is_refused_and_leaves_nothing(case, agent, amount, due, code):
    with pytest.raises(PromiseError) as refused:
        contact_record(
            case=case,
            agent=agent,
            channel="phone",
            party="debtor",
            outcome="promise_made",
            now=at(D, 10),
            promise_amount=Decimal(amount),
            promise_due=day(due),
        )
    assert refused.value.code == code
    assert not case.contacts.exists() and not Promise.objects.exists()
    assert not CaseEvent.objects.filter(case=case).exists()


def test_the_latest_date_follows_the_dated_policy(case, agent):
    policy = policy_in_force(on=D)
    policy.promise_max_days = 40
    policy.save()
    assert promise(case, agent, due=day(40)).due_date == day(40)


def test_the_ceiling_is_what_is_owed_by_the_promise_date(agent):
    """A 3-instalment order: only the instalments due by the promised date can take allocations."""
    customer = CustomerFactory()
    order = delivered_order(customer=customer, amount="1000.00", delivered_on=D - 40 * ONE)
    case = CollectionCaseFactory(customer=customer, assigned_agent=agent)
    first, second = order.installments.order_by("sequence")[:2]
    assert first.due_date < D < second.due_date <= day(30)
    owed_first = first.principal_due + first.fee_due
    with pytest.raises(PromiseError) as refused:
        promise(case, agent, amount=str(owed_first + Decimal("0.01")), due=second.due_date - ONE)
    assert "¥339.34" in refused.value.message
    assert promise(case, agent, amount=str(owed_first + Decimal("0.01")), due=second.due_date).pk


def test_only_the_debtor_promises(case, agent):
    from tests.factories import EmergencyContactFactory

    sister = EmergencyContactFactory(customer=case.customer)
    with pytest.raises(PromiseError) as refused:
        contact_record(
            case=case,
            agent=agent,
            channel="phone",
            party="emergency_contact",
            emergency_contact=sister,
            direction="inbound",
            outcome="promise_made",
            now=at(D, 10),
            promise_amount=Decimal("10.00"),
            promise_due=day(1),
        )
    assert refused.value.code == "promise_not_debtor"


def test_amounts_go_only_with_a_promise(case, agent):
    with pytest.raises(PromiseError):
        contact_record(
            case=case,
            agent=agent,
            channel="phone",
            party="debtor",
            outcome="reached",
            now=at(D, 10),
            promise_amount=Decimal("10.00"),
            promise_due=day(1),
        )


def test_one_pending_promise_per_case_service_and_database(case, agent):
    first = promise(case, agent)
    with pytest.raises(PromiseError) as refused:
        promise(case, agent, amount="10.00", made=at(D, 11))
    assert refused.value.code == "promise_pending"
    # The partial unique index holds whatever writes, with a message a person can read.
    second = Promise(case=case, customer=case.customer, amount=Decimal("1.00"), due_date=day(3))
    with pytest.raises(ValidationError) as invalid:
        second.validate_constraints()
    assert "已有一个尚未到期的还款承诺" in str(invalid.value)  # LANGUAGE_CODE: Chinese
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    # Once the first is decided, a new promise may be made.
    decide(day(6))
    assert state(first)[0] == PromiseStatus.BROKEN
    assert promise(case, agent, amount="10.00", due=day(8), made=at(day(6), 10)).pk


def test_a_closed_case_takes_no_promise(case, agent):
    case_transition(case=case, to=CaseStatus.RESOLVED)
    with pytest.raises(CaseError):
        promise(case, agent)


def test_a_right_party_contact_moves_the_case_to_contacted(case, agent):
    contact_record(case=case, agent=agent, channel="phone", party="debtor", outcome="no_answer", now=at(D, 9))
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN  # nobody reached
    contact_record(case=case, agent=agent, channel="phone", party="debtor", outcome="reached", now=at(D, 10))
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED
    # A broken promise, then the debtor is reached again: contacted.
    promise(case, agent, made=at(D, 11))
    decide(day(6))
    case.refresh_from_db()
    assert case.status == CaseStatus.BROKEN_PROMISE
    contact_record(
        case=case, agent=agent, channel="sms", party="debtor", outcome="reached", now=at(day(6), 10)
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED


# --- Decided by the ledger ----------------------------------------------------------------------


def test_kept_early_when_payments_after_the_promise_cover_it(case, agent):
    p = promise(case, agent)
    assert decide(day(2)) == {}  # nothing paid yet: it waits for its date
    pay(case, "300.00", at(day(2), 15))
    assert state(p)[0] == PromiseStatus.PENDING  # covered, it waits for the night's decision
    assert decide(day(3)) == {"kept": 1}  # the first run after the payment, before the date
    assert state(p) == (PromiseStatus.KEPT, day(2), Decimal("300.00"))
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED
    event = CaseEvent.objects.get(case=case, type=CaseEventType.PROMISE_KEPT)
    assert event.payload["paid"] == "300.00" and event.actor is None


def test_a_payment_before_the_promise_does_not_count(case, agent):
    pay(case, "300.00", at(D, 9, 59))
    p = promise(case, agent, amount="300.00")
    assert decide(day(5)) == {}  # due on day 5: the customer has the whole day
    assert decide(day(6)) == {"broken": 1}
    assert state(p) == (PromiseStatus.BROKEN, day(5), Decimal("0.00"))
    case.refresh_from_db()
    assert case.status == CaseStatus.BROKEN_PROMISE
    assert CaseEvent.objects.filter(case=case, type=CaseEventType.PROMISE_BROKEN).count() == 1


def test_partial_payments_add_up(case, agent):
    p = promise(case, agent)
    pay(case, "100.00", at(day(1), 12))
    pay(case, "150.00", at(day(3), 12))
    decide(day(4))
    assert state(p)[0] == PromiseStatus.PENDING
    pay(case, "50.00", at(day(5), 23, 59))  # on the due date, late in the evening: still in time
    decide(day(6))
    assert state(p) == (PromiseStatus.KEPT, day(5), Decimal("300.00"))


def test_short_by_a_fen_is_broken_with_what_was_paid(case, agent):
    p = promise(case, agent)
    pay(case, "299.99", at(day(5), 12))
    decide(day(6))
    assert state(p) == (PromiseStatus.BROKEN, day(5), Decimal("299.99"))


def test_a_payment_the_day_after_is_too_late(case, agent):
    p = promise(case, agent)
    pay(case, "300.00", at(day(6), 0, 5))
    decide(day(7))
    assert state(p) == (PromiseStatus.BROKEN, day(5), Decimal("0.00"))


def test_a_reversed_payment_does_not_keep_a_promise(case, agent, settings):
    ops = UserFactory(roles=[Role.OPERATIONS_ADMIN])
    p = promise(case, agent)
    payment = pay(case, "300.00", at(day(1), 12))
    with time_machine.travel(at(day(1), 13), tick=False):
        payment_reverse(payment=payment, reason="bounced", by=ops)
    decide(day(6))
    assert state(p) == (PromiseStatus.BROKEN, day(5), Decimal("0.00"))


def test_deciding_twice_changes_nothing(case, agent):
    p = promise(case, agent)
    pay(case, "100.00", at(day(2), 12))
    first = decide(day(6))
    events = CaseEvent.objects.count()
    history = p.history.count()
    assert decide(day(6)) == {} and decide(day(7)) == {}
    assert first == {"broken": 1} and CaseEvent.objects.count() == events and p.history.count() == history


def test_the_task_run_twice_gives_the_same_result(case, agent):
    p = promise(case, agent)
    with time_machine.travel(at(day(6), 0, 30), tick=False):
        assert tasks.promises_decide_task.run(day(6).isoformat()) == {"date": "2026-03-16", "broken": 1}
        assert tasks.promises_decide_task.run(day(6).isoformat()) == {"date": "2026-03-16"}
        assert tasks.promises_decide_task.run("not a date")["refused"]
    assert state(p)[0] == PromiseStatus.BROKEN


def test_the_sweep_publishes_the_task_once_committed(monkeypatch, django_capture_on_commit_callbacks):
    published = []
    monkeypatch.setattr(tasks.promises_decide_task, "delay", lambda on: published.append(on))
    with django_capture_on_commit_callbacks(execute=True):
        sweep_done.send(sender=SweepRun, business_date=D, run_id=1)
        assert published == []  # not before the sweep's work is committed
    assert published == ["2026-03-10"]


def test_the_sweep_never_decides_ahead_of_today(case, agent):
    p = promise(case, agent)
    with time_machine.travel(at(day(5), 12), tick=False):
        assert promises_decide(on=day(9)) == {}  # a run for a future date decides as of today
    assert state(p)[0] == PromiseStatus.PENDING


def test_skipped_nights_decide_each_promise_by_its_own_dates(agent):
    """The book does not depend on which nights ran: every night, or only the last one."""

    def book():
        cases = [owing_case(agent) for _ in range(4)]
        made = [
            promise(cases[0], agent, "200.00", day(2)),
            promise(cases[1], agent, "200.00", day(4)),
            promise(cases[2], agent, "200.00", day(6)),
            promise(cases[3], agent, "200.00", day(3)),
        ]
        pay(cases[0], "200.00", at(day(1), 12))  # kept early
        pay(cases[1], "50.00", at(day(3), 12))  # broken, partly paid
        pay(cases[2], "120.00", at(day(2), 12))  # kept in two parts, the second on its date
        pay(cases[2], "80.00", at(day(6), 20))
        return made  # cases[3]: nothing paid, broken

    nightly = book()
    for n in range(1, 10):
        decide(day(n))
    skipped = book()
    decide(day(9))
    outcome = [state(p)[:3] for p in nightly]
    assert outcome == [state(p)[:3] for p in skipped]
    assert [o[0] for o in outcome] == ["kept", "broken", "kept", "broken"]
    assert [o[1] for o in outcome] == [day(1), day(4), day(6), day(3)]
    assert CaseEvent.objects.filter(type=CaseEventType.PROMISE_KEPT).count() == 4


def test_a_case_closed_before_the_date_cancels_the_promise(case, agent):
    p = promise(case, agent)
    with time_machine.travel(at(day(2), 9), tick=False):
        case_transition(case=case, to=CaseStatus.RESOLVED)
    decide(day(3))
    assert state(p) == (PromiseStatus.CANCELLED, day(2), Decimal("0.00"))
    assert CaseEvent.objects.filter(case=case, type=CaseEventType.PROMISE_CANCELLED).exists()


# --- A reversal re-decides the promises it took money from -------------------------------------


@pytest.fixture
def ops():
    return UserFactory(roles=[Role.OPERATIONS_ADMIN])


def reverse_payment(payment, moment, by):
    with time_machine.travel(moment, tick=False):
        return payment_reverse(payment=payment, reason="bounced", by=by)


def promise_events(case, kind: str):
    return list(CaseEvent.objects.filter(case=case, type=kind).order_by("id"))


def test_a_reversal_before_the_date_reopens_a_kept_promise(case, agent, ops):
    p = promise(case, agent)
    payment = pay(case, "300.00", at(day(1), 12))
    decide(day(2))
    assert state(p) == (PromiseStatus.KEPT, day(1), Decimal("300.00"))
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED

    reverse_payment(payment, at(day(3), 13), ops)

    # The ledger no longer covers it and its date (day 5) has not passed: it waits again.
    assert state(p) == (PromiseStatus.PENDING, None, Decimal("0.00"))
    case.refresh_from_db()
    assert case.status == CaseStatus.PROMISED
    [event] = promise_events(case, "promise_reopened")
    assert event.actor == ops
    assert event.payload["payment"] == payment.external_reference
    assert event.payload["promise"] == p.pk
    latest = p.history.latest()
    assert latest.history_user == ops and latest.history_change_reason == "re-decided after a reversal"
    assert latest.prev_record.status == PromiseStatus.KEPT
    # A pending promise pauses the after-due reminders again, and the sweep decides it as any other.
    from reminders.selectors import after_due_paused

    assert after_due_paused(customer_id=case.customer_id, on=day(3))
    assert decide(day(6)) == {"broken": 1}
    assert state(p) == (PromiseStatus.BROKEN, day(5), Decimal("0.00"))
    case.refresh_from_db()
    assert case.status == CaseStatus.BROKEN_PROMISE


def test_a_reversal_on_the_due_date_reopens_it_too(case, agent, ops):
    p = promise(case, agent)
    payment = pay(case, "300.00", at(day(1), 12))
    decide(day(2))
    reverse_payment(payment, at(day(5), 18), ops)  # the customer still has the rest of day 5 to pay
    assert state(p)[0] == PromiseStatus.PENDING
    pay(case, "300.00", at(day(5), 22))
    decide(day(6))
    assert state(p) == (PromiseStatus.KEPT, day(5), Decimal("300.00"))


def test_a_reversal_after_the_date_breaks_a_kept_promise(case, agent, ops):
    p = promise(case, agent)
    payment = pay(case, "300.00", at(day(1), 12))
    decide(day(2))
    reverse_payment(payment, at(day(7), 13), ops)

    # What the ledger now says: nothing paid towards it by its date, so broken on that date.
    assert state(p) == (PromiseStatus.BROKEN, day(5), Decimal("0.00"))
    case.refresh_from_db()
    assert case.status == CaseStatus.BROKEN_PROMISE
    [event] = promise_events(case, CaseEventType.PROMISE_BROKEN)
    assert event.actor == ops
    assert event.payload["by"] == "reversal" and event.payload["payment"] == payment.external_reference
    assert event.payload["decided_on"] == day(5).isoformat() and event.payload["paid"] == "0.00"
    assert p.history.latest().history_user == ops
    assert decide(day(8)) == {}  # nothing left for the sweep


def test_a_promise_kept_by_two_payments_stays_kept_when_one_is_enough(case, agent, ops):
    p = promise(case, agent)
    small = pay(case, "100.00", at(day(1), 12))
    pay(case, "300.00", at(day(2), 12))
    decide(day(3))
    assert state(p) == (PromiseStatus.KEPT, day(2), Decimal("400.00"))
    events = CaseEvent.objects.filter(case=case).count()

    reverse_payment(small, at(day(4), 13), ops)

    # Still kept, from the same day; what was paid towards it no longer counts the bounced 100.
    assert state(p) == (PromiseStatus.KEPT, day(2), Decimal("300.00"))
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED
    assert CaseEvent.objects.filter(case=case).count() == events


def test_a_reversal_leaves_other_customers_promises_alone(agent, ops):
    mine, theirs = owing_case(agent), owing_case(agent)
    p, q = promise(mine, agent), promise(theirs, agent)
    payment = pay(mine, "300.00", at(day(1), 12))
    pay(theirs, "300.00", at(day(1), 12))
    decide(day(2))
    history = q.history.count()

    reverse_payment(payment, at(day(3), 13), ops)

    assert state(p)[0] == PromiseStatus.PENDING
    assert state(q) == (PromiseStatus.KEPT, day(1), Decimal("300.00"))
    assert q.history.count() == history
    assert (
        not CaseEvent.objects.filter(case=theirs, type__startswith="promise_")
        .exclude(type__in=[CaseEventType.PROMISE_MADE, CaseEventType.PROMISE_KEPT])
        .exists()
    )


def test_the_redecision_run_twice_changes_nothing(case, agent, ops):
    from collection.services import promises_redecide_after_reversal

    p = promise(case, agent)
    payment = pay(case, "300.00", at(day(1), 12))
    decide(day(2))
    reverse_payment(payment, at(day(7), 13), ops)
    events, history = CaseEvent.objects.count(), p.history.count()
    payment.refresh_from_db()
    with time_machine.travel(at(day(7), 14), tick=False):
        assert promises_redecide_after_reversal(payment=payment, by=ops) == {}
    assert CaseEvent.objects.count() == events and p.history.count() == history
    assert state(p) == (PromiseStatus.BROKEN, day(5), Decimal("0.00"))


def test_a_failed_reversal_leaves_the_promise_as_it_was(case, agent, ops):
    from orders.models import PaymentStatus
    from orders.signals import payment_reversed

    p = promise(case, agent)
    payment = pay(case, "300.00", at(day(1), 12))
    decide(day(2))
    events = CaseEvent.objects.count()

    def fails(sender, **kwargs):
        # Connected after the collections app's receiver: the promise is re-decided by now.
        assert Promise.objects.get(pk=p.pk).status == PromiseStatus.PENDING
        raise RuntimeError("the provider refused the reversal")

    payment_reversed.connect(fails, dispatch_uid="test.fails")
    try:
        with pytest.raises(RuntimeError):
            reverse_payment(payment, at(day(3), 13), ops)
    finally:
        payment_reversed.disconnect(dispatch_uid="test.fails")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.POSTED
    assert state(p) == (PromiseStatus.KEPT, day(1), Decimal("300.00"))
    assert CaseEvent.objects.count() == events


def test_a_reopened_promise_gives_way_to_a_newer_one_on_its_case(case, agent, ops):
    first = promise(case, agent, amount="300.00", due=day(8))
    payment = pay(case, "300.00", at(day(1), 12))
    decide(day(2))
    newer = promise(case, agent, amount="100.00", due=day(9), made=at(day(2), 10))

    reverse_payment(payment, at(day(3), 13), ops)

    # One promise waits on a case at a time: the newer one stays, the reopened one is cancelled.
    assert state(first) == (PromiseStatus.CANCELLED, day(3), Decimal("0.00"))
    assert state(newer)[0] == PromiseStatus.PENDING
    [event] = promise_events(case, CaseEventType.PROMISE_CANCELLED)
    assert event.payload["superseded_by"] == newer.pk and event.payload["by"] == "reversal"


def test_a_kept_promise_on_a_case_closed_since_is_cancelled(case, agent, ops):
    p = promise(case, agent)
    payment = pay(case, "300.00", at(day(1), 12))
    decide(day(2))
    with time_machine.travel(at(day(2), 9), tick=False):
        case_transition(case=case, to=CaseStatus.RESOLVED)
    reverse_payment(payment, at(day(3), 13), ops)
    # The ledger's rule for an uncovered promise whose case closed before its date.
    assert state(p) == (PromiseStatus.CANCELLED, day(2), Decimal("0.00"))
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED


@pytest.mark.parametrize(
    ("kind", "payload", "english", "chinese"),
    [
        (
            "promise_reopened",
            {"by": "reversal", "payment": "P-9", "amount": "300.00", "due_date": "2026-03-15"},
            "Promise of ¥300.00 by 2026-03-15 reopened after the reversal of payment P-9",
            "还款 P-9 冲正",
        ),
        (
            "promise_broken",
            {
                "by": "reversal",
                "payment": "P-9",
                "amount": "300.00",
                "due_date": "2026-03-15",
                "paid": "0.00",
                "decided_on": "2026-03-15",
            },
            "Promise of ¥300.00 by 2026-03-15 broken after the reversal of payment P-9",
            "还款 P-9 冲正",
        ),
        (
            "promise_cancelled",
            {
                "by": "reversal",
                "payment": "P-9",
                "amount": "300.00",
                "due_date": "2026-03-15",
                "decided_on": "2026-03-13",
                "superseded_by": 7,
            },
            "cancelled after the reversal of payment P-9",
            "还款 P-9 冲正",
        ),
    ],
)
def test_the_reversal_events_read_in_both_languages(kind, payload, english, chinese):
    from django.utils import translation

    from collection.sentences import case_event_sentence

    with translation.override("en"):
        assert english in case_event_sentence(kind, payload)
    with translation.override("zh-hans"):
        sentence = case_event_sentence(kind, payload)
    assert chinese in sentence and "Promise" not in sentence and "%(" not in sentence


# --- The rule over random payments (hypothesis) ------------------------------------------------------

_payments = st.lists(
    st.tuples(
        st.integers(min_value=-2, max_value=8),  # day of receipt, from the promise's day
        st.sampled_from([9, 11, 23]),  # hour: before or after the promise (made at 10:00 on day 0)
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("150.00"), places=2),
        # Reversed or not: so many days after its receipt (up to day 9), at noon or late at night.
        st.none() | st.tuples(st.integers(min_value=0, max_value=6), st.sampled_from([12, 23])),
    ),
    max_size=5,
)


def _history(payments, nights) -> list[tuple]:
    """The random history in the order it happens: payments, their reversals, the promise (at 10:00
    on day 0) and the nights whose sweep decided promises (at 00:30)."""
    moments = [(at(D, 10), 0, "promise", None)] + [(at(day(n), 0, 30), 0, "sweep", n) for n in nights]
    for i, (offset, hour, value, reversal) in enumerate(payments):
        received = at(day(offset), hour)
        moments.append((received, 1, "pay", (i, value)))
        if reversal is not None:
            later, late_hour = reversal
            reversed_at = max(
                at(day(min(offset + later, 9)), late_hour), received + datetime.timedelta(minutes=1)
            )
            moments.append((reversed_at, 2, "reverse", i))
    return sorted(moments, key=lambda m: m[:2])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payments=_payments,
    amount=st.decimals(min_value=Decimal("1.00"), max_value=Decimal("300.00"), places=2),
    nights=st.sets(st.integers(min_value=1, max_value=9)),
)
def test_kept_iff_the_allocations_after_the_promise_cover_it_by_its_date(agent, payments, amount, nights):
    """Whatever the history of payments, reversals and nights the sweep ran, the promise is what the
    ledger says: kept iff the payments made after it and not reversed cover it by its date, and the
    same as deciding it again from scratch."""
    ops = UserFactory(roles=[Role.OPERATIONS_ADMIN])
    case = owing_case(agent)
    made, posted = None, {}
    for moment, _rank, what, detail in _history(payments, nights):
        if what == "promise":
            made = promise(case, agent, amount=str(amount), due=day(5))
        elif what == "sweep":
            decide(day(detail))
        elif what == "pay":
            posted[detail[0]] = pay(case, detail[1], moment)
        else:
            reverse_payment(posted[detail], moment, ops)
    decide(day(10))
    covered = sum(
        (
            a.amount
            for a in PaymentAllocation.objects.filter(
                payment__customer=case.customer,
                payment__status=PaymentStatus.POSTED,
                payment__received_at__gt=made.made_at,
                business_date__lte=day(5),
            )
        ),
        Decimal("0.00"),
    )
    status, decided_on, paid = state(made)
    assert status in (PromiseStatus.KEPT, PromiseStatus.BROKEN)
    assert (status == PromiseStatus.KEPT) == (covered >= amount)
    if status == PromiseStatus.BROKEN:
        assert (decided_on, paid) == (day(5), covered)
    else:
        assert paid >= amount  # what covered it on the night it was decided
    # Decided again from scratch, on the last night, the ledger gives the same decision.
    Promise.objects.filter(pk=made.pk).update(status=PromiseStatus.PENDING, decided_on=None)
    decide(day(10))
    again = state(made)
    assert again[:2] == (status, decided_on)
    if status == PromiseStatus.BROKEN:
        assert again[2] == paid


@given(
    daily=st.dictionaries(
        st.integers(min_value=0, max_value=12).map(day),
        st.decimals(min_value=Decimal("-100.00"), max_value=Decimal("100.00"), places=2),
        max_size=8,
    ),
    on=st.integers(min_value=1, max_value=14).map(day),
)
def test_the_outcome_depends_on_the_ledger_not_on_the_night(daily, on):
    """Decided on some night, the outcome is the one a later night would have given."""
    amount, due = Decimal("100.00"), day(5)
    decided = promise_outcome(amount=amount, due_date=due, on=on, daily=daily)
    late = promise_outcome(amount=amount, due_date=due, on=day(30), daily=daily)
    if decided is not None and decided.status == PromiseStatus.BROKEN:
        assert decided == late
    if decided is None:
        assert on <= due
    # Kept early only when the ledger up to that night covers it; never broken before its date.
    if decided is not None and on <= due:
        assert decided.status == PromiseStatus.KEPT


# --- The case page, the contacts page and the queues -------------------------------------------------


def test_the_summary_counts_promises_by_outcome(case, agent):
    promise(case, agent, amount="100.00", due=day(1))
    decide(day(2))
    promise(case, agent, amount="100.00", due=day(4), made=at(day(2), 10))
    pay(case, "100.00", at(day(3), 12))
    decide(day(4))
    promise(case, agent, amount="50.00", due=day(9), made=at(day(4), 10))
    summary = case_promise_summary(case)
    assert (summary.made, summary.kept, summary.broken, summary.cancelled) == (3, 1, 1, 0)
    assert summary.pending.amount == Decimal("50.00")


@pytest.fixture
def manager():
    return UserFactory(roles=[Role.COLLECTIONS_MANAGER], language="en")


def test_the_case_page_shows_kept_and_broken_in_both_languages(client, case, agent, manager):
    promise(case, agent, amount="100.00", due=day(1))
    decide(day(2))
    login_verified(client, manager)
    body = client.get(reverse("collections:case_detail", args=[case.pk])).content.decode()
    assert "Kept: 0 · Broken: 1" in body
    assert "Promise of ¥100.00 by 2026-03-11 broken" in body
    manager.language = "zh-hans"
    manager.save()
    zh = client.get(reverse("collections:case_detail", args=[case.pk])).content.decode()
    assert "还款承诺" in zh and "已违约：1" in zh and "Broken: 1" not in zh


def test_the_case_page_reads_a_fixed_number_of_queries(client, agent, manager, django_assert_max_num_queries):
    case = owing_case(agent)
    login_verified(client, manager)
    url = reverse("collections:case_detail", args=[case.pk])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(4):
        promise(case, agent, amount="10.00", due=day(n * 2), made=at(day(n * 2), 10))
        decide(day(n * 2 + 1))
    promise(case, agent, amount="10.00", due=day(20), made=at(day(9), 10))
    with django_assert_max_num_queries(len(few) + 1):  # + the pending promise
        assert client.get(url).status_code == 200


def _contacts_url(case):
    return reverse("collections:case_contacts", args=[case.pk])


def _form(**extra):
    return {"channel": "phone", "party": "debtor", "direction": "inbound", "outcome": "promise_made", **extra}


def test_the_contacts_page_records_a_promise(client, case, agent):
    login_verified(client, agent)
    from bnpl_admin.dates import business_date

    case_today = owing_case(agent, overdue_days=10)
    today = business_date()
    response = client.post(
        _contacts_url(case_today), _form(promise_amount="120.50", promise_due=(today + 2 * ONE).isoformat())
    )
    assert response.status_code == 302
    made = Promise.objects.get(case=case_today)
    assert (made.amount, made.due_date, made.contact.outcome) == (
        Decimal("120.50"),
        today + 2 * ONE,
        "promise_made",
    )
    page = client.get(_contacts_url(case_today)).content.decode()
    assert "¥120.50" in page and 'name="promise_amount"' in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_form(), "promise_amount"),
        (_form(promise_amount="50"), "promise_due"),
        (_form(promise_amount="0", promise_due="2026-03-12"), "promise_amount"),
        (_form(promise_amount="99999999", promise_due="TODAY+1"), "promise_amount"),
        (_form(promise_amount="10", promise_due="1999-01-01"), "promise_due"),
        (_form(outcome="reached", promise_amount="10"), "promise_amount"),
    ],
)
def test_bad_promise_input_is_a_form_error_on_its_field(client, case, agent, data, field):
    from bnpl_admin.dates import business_date

    data = {k: (business_date() + ONE).isoformat() if v == "TODAY+1" else v for k, v in data.items()}
    login_verified(client, agent)
    response = client.post(_contacts_url(case), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Promise.objects.exists() and not case.contacts.exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amount=st.one_of(st.text(max_size=30), st.decimals(allow_nan=True, allow_infinity=True).map(str)),
    due=st.one_of(st.text(max_size=20), st.dates().map(str)),
    outcome=st.sampled_from(["promise_made", "reached", "", "x"]),
)
def test_generated_promise_input_never_fails(client, case, agent, amount, due, outcome):
    login_verified(client, agent)
    response = client.post(
        _contacts_url(case), _form(outcome=outcome, promise_amount=amount, promise_due=due)
    )
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert "errorlist" in response.content.decode()


def test_the_contacts_page_is_a_fragment_for_htmx_and_sends_back_to_its_page(client, case, agent):
    from bnpl_admin.dates import business_date

    login_verified(client, agent)
    fragment = client.get(_contacts_url(case), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith("<div") or 'id="case-contacts"' in fragment[:400]
    assert "<html" not in fragment and 'name="promise_amount"' in fragment
    back = reverse("collections:case_detail", args=[case.pk])
    response = client.post(
        _contacts_url(case),
        _form(promise_amount="10.00", promise_due=(business_date() + ONE).isoformat()),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{back}",
    )
    assert (response.status_code, response["HX-Redirect"]) == (200, back)


def test_the_contacts_page_reads_a_fixed_number_of_queries(client, agent, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = owing_case(agent)
    login_verified(client, agent)
    client.get(_contacts_url(case))
    with CaptureQueriesContext(connection) as few:
        client.get(_contacts_url(case))
    for n in range(3):
        promise(case, agent, amount="10.00", due=day(n * 2), made=at(day(n * 2), 10))
        decide(day(n * 2 + 1))
    with django_assert_max_num_queries(len(few) + 1):  # + the pending promise, when there is one
        assert client.get(_contacts_url(case)).status_code == 200


def test_the_queue_counts_broken_promises_and_weighs_a_promise_due_today(agent):
    from bnpl_admin.dates import business_date

    quiet, broken, due_today = (owing_case(agent) for _ in range(3))
    promise(broken, agent, amount="10.00", due=day(1))
    decide(day(2))
    today = business_date()
    made = datetime.datetime.combine(today, datetime.time(0, 1), tzinfo=SHANGHAI)
    with time_machine.travel(made, tick=False):
        promise_make(case=due_today, by=agent, amount=Decimal("10.00"), due_date=today, now=made)
    policy = policy_in_force(on=today)
    for name in ("amount", "dpd", "days_since_contact", "broken_promise", "promise_due_today"):
        setattr(policy, f"queue_weight_{name}", Decimal("0"))
    policy.queue_weight_broken_promise = Decimal("20")
    policy.save()
    assert next(c.pk for c in my_queue(user=agent)) == broken.pk
    scores = {c.pk: c.priority for c in my_queue(user=agent)}
    assert scores[broken.pk] == 20 and scores[quiet.pk] == 0
    policy.queue_weight_broken_promise = Decimal("0")
    policy.queue_weight_promise_due_today = Decimal("30")
    policy.save()
    scores = {c.pk: c.priority for c in my_queue(user=agent)}
    assert scores[due_today.pk] == 30 and scores[broken.pk] == 0


def test_the_queue_filters_by_promises_last_contact_channel_and_merchant(client, agent, manager):
    from orders.models import Installment, InstallmentStatus, Merchant, Order

    broken, pending, plain = (owing_case(agent) for _ in range(3))
    contact_record(case=broken, agent=agent, channel="phone", party="debtor", outcome="reached", now=at(D, 9))
    promise(broken, agent, amount="10.00", due=day(1))
    decide(day(2))
    contact_record(
        case=pending, agent=agent, channel="phone", party="debtor", outcome="no_answer", now=at(D, 9)
    )
    promise(pending, agent, amount="10.00", due=day(5), made=at(day(3), 10))
    Installment.objects.update(status=InstallmentStatus.OVERDUE)
    Order.objects.filter(customer=plain.customer).update(channel="livestream")
    toys = Merchant.objects.create(name="玩具店", category="toys")
    Order.objects.filter(customer=pending.customer).update(merchant=toys)
    login_verified(client, manager)

    def ids(**query):
        response = client.get(reverse("collections:case_queue"), {**query, "per_page": 100})
        assert response.status_code == 200
        assert not response.context["filter"].errors
        return {row.record.pk for row in response.context["table"].page.object_list}

    assert ids(promise_due_after="2026-03-14", promise_due_before="2026-03-16") == {pending.pk}
    assert ids(promise_due_after="2026-03-16") == set()
    assert ids(broken_promises="1") == {broken.pk}
    assert ids(broken_promises="0") == {broken.pk, pending.pk, plain.pk}
    assert ids(last_contact_after="2026-03-10", last_contact_before="2026-03-10") == {broken.pk, pending.pk}
    assert ids(last_contact_outcome="no_answer") == {pending.pk}
    assert ids(last_contact_outcome="reached") == {broken.pk}
    assert ids(channel="livestream") == {plain.pk}
    assert ids(channel="short_video") == {broken.pk, pending.pk}
    assert ids(merchant_category="toys") == {pending.pk}
    bad = client.get(reverse("collections:case_queue"), {"broken_promises": "-1", "merchant_category": "x"})
    assert bad.status_code == 200 and set(bad.context["filter"].errors) == {
        "broken_promises",
        "merchant_category",
    }
