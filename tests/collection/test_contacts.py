"""Contacts on a case under the conduct rules: contact_record refuses what the profile in force
forbids (and keeps the refusal on the timeline), the case's contact page, and the daily limit
under two agents at the same moment (PostgreSQL)."""

import datetime
import threading
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.roles import Role
from collection import services as collection_services
from collection.models import CaseEvent, CaseEventType, CaseStatus, ContactAttempt
from collection.services import CaseError, ContactRefused, contact_record
from orders.services import order_hold_open
from policy.models import Policy
from tests.conftest import login_verified
from tests.factories import (
    CollectionCaseFactory,
    CustomerFactory,
    EmergencyContactFactory,
    UserFactory,
    delivered_order,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")
NEW_YORK = ZoneInfo("America/New_York")
D = datetime.date(2026, 3, 10)


def at(day, hour, minute=0, zone=SHANGHAI):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


@pytest.fixture
def agent():
    return UserFactory(roles=[Role.COLLECTIONS_AGENT])


@pytest.fixture
def case(agent):
    return CollectionCaseFactory(assigned_agent=agent)


def record(case, agent, now, **kwargs):
    fields = {"channel": "phone", "party": "debtor", "outcome": "reached", **kwargs}
    return contact_record(case=case, agent=agent, now=now, **fields)


# --- The service --------------------------------------------------------------------------------


def test_an_accepted_contact_is_recorded_with_its_event(case, agent):
    attempt = record(case, agent, at(D, 10), summary="客户说 13812345678 是新号码")
    assert (attempt.customer, attempt.agent, attempt.outcome) == (case.customer, agent, "reached")
    assert attempt.summary == "客户说 138****5678 是新号码"  # numbers in free text are masked
    event = CaseEvent.objects.get(case=case, type=CaseEventType.CONTACT)
    assert (event.actor, event.payload["contact"], event.payload["outcome"]) == (agent, attempt.pk, "reached")
    assert attempt.history.count() == 1


def test_a_promise_moves_the_case_to_promised(case, agent):
    delivered_order(customer=case.customer, plan="pay_later", delivered_on=D - datetime.timedelta(days=30))
    due = D + datetime.timedelta(days=3)
    attempt = record(case, agent, at(D, 10), outcome="promise_made", promise_amount="100.00", promise_due=due)
    case.refresh_from_db()
    assert case.status == CaseStatus.PROMISED
    assert (attempt.promise.amount, attempt.promise.due_date) == (Decimal("100.00"), due)
    # A second promise while the first waits for its date is refused, and leaves no contact either.
    with pytest.raises(CaseError) as refused:
        record(case, agent, at(D, 11), outcome="promise_made", promise_amount="50.00", promise_due=due)
    assert refused.value.code == "promise_pending"
    assert ContactAttempt.objects.filter(case=case).count() == 1
    assert CaseEvent.objects.filter(case=case, type=CaseEventType.STATUS_CHANGED).count() == 1


def test_the_fourth_effective_call_of_the_day_is_refused_and_the_refusal_kept(case, agent):
    other_agent = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    for hour, who in ((9, agent), (10, other_agent), (11, agent)):
        record(case, who, at(D, hour))
    with translation.override("zh-hans"), pytest.raises(ContactRefused) as refused:
        record(case, agent, at(D, 12))
    assert refused.value.code == "daily_attempts"
    assert refused.value.decision.allowed_from == at(D + datetime.timedelta(days=1), 8)
    assert "3" in refused.value.message and "限" in refused.value.message  # in Chinese
    assert ContactAttempt.objects.filter(case=case).count() == 3
    event = CaseEvent.objects.get(case=case, type=CaseEventType.CONTACT_REFUSED)
    assert (event.actor, event.payload["reason"], event.payload["profile"]) == (agent, "daily_attempts", "CN")
    assert event.payload["allowed_from"] == at(D + datetime.timedelta(days=1), 8).isoformat()


def test_the_window_is_the_customers_own(agent):
    urumqi = CollectionCaseFactory(assigned_agent=agent, customer=CustomerFactory(timezone="Asia/Urumqi"))
    shanghai = CollectionCaseFactory(assigned_agent=agent)
    now = at(D, 9, 0)  # 07:00 in Urumqi
    record(shanghai, agent, now)
    with pytest.raises(ContactRefused) as refused:
        record(urumqi, agent, now)
    assert refused.value.code == "outside_hours"
    assert refused.value.decision.allowed_from == at(D, 8, 0, URUMQI)


def test_us_profile_from_the_policy_refuses_a_call_after_a_conversation(agent):
    Policy.objects.update(conduct_profile="US")
    case = CollectionCaseFactory(assigned_agent=agent, customer=CustomerFactory(timezone="America/New_York"))
    record(case, agent, at(D, 10, 0, NEW_YORK))
    with pytest.raises(ContactRefused) as refused:
        record(case, agent, at(D + datetime.timedelta(days=3), 10, 0, NEW_YORK), outcome="no_answer")
    assert refused.value.code == "after_conversation"
    # The CN profile would have allowed it.
    Policy.objects.update(conduct_profile="CN")
    record(case, agent, at(D + datetime.timedelta(days=3), 10, 0, NEW_YORK), outcome="no_answer")


def test_an_emergency_contact_waits_for_seven_unreachable_days(case, agent):
    sister = EmergencyContactFactory(customer=case.customer)
    with pytest.raises(ContactRefused) as refused:
        record(case, agent, at(D, 10), party="emergency_contact", emergency_contact=sister)
    assert refused.value.code == "debtor_not_tried"
    record(case, agent, at(D, 10), outcome="no_answer")
    with pytest.raises(ContactRefused):
        record(
            case,
            agent,
            at(D + datetime.timedelta(days=6), 10),
            party="emergency_contact",
            emergency_contact=sister,
        )
    attempt = record(
        case,
        agent,
        at(D + datetime.timedelta(days=7), 10),
        party="emergency_contact",
        emergency_contact=sister,
    )
    assert attempt.emergency_contact == sister


def test_a_hold_on_the_order_pauses_contacts(agent):
    order = delivered_order()
    order_hold_open(order=order, kind="dispute")
    case = CollectionCaseFactory(assigned_agent=agent, customer=order.customer)
    with pytest.raises(ContactRefused) as refused:
        record(case, agent, at(D, 10))
    assert refused.value.code == "on_hold"
    # The customer calling in is recorded.
    record(case, agent, at(D, 10), direction="inbound")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channel": "fax"}, "channel"),
        ({"outcome": "maybe"}, "outcome"),
        ({"party": "emergency_contact"}, "emergency contact"),
        ({"summary": "x" * 2001}, "too long"),
    ],
)
def test_bad_input_is_a_domain_error(case, agent, kwargs, message):
    with translation.override("en"), pytest.raises(CaseError, match=message):
        record(case, agent, at(D, 10), **kwargs)
    assert not ContactAttempt.objects.exists()


def test_another_customers_emergency_contact_is_refused(case, agent):
    stranger = EmergencyContactFactory()
    with translation.override("en"), pytest.raises(CaseError, match="another customer"):
        record(case, agent, at(D, 10), party="emergency_contact", emergency_contact=stranger)


# --- The page -----------------------------------------------------------------------------------


def _url(case):
    return reverse("collections:case_contacts", args=[case.pk])


def test_the_page_shows_the_banner_the_form_and_recent_contacts(
    client, case, agent, django_assert_max_num_queries
):
    for n in range(3):
        ContactAttempt.objects.create(
            case=case,
            customer=case.customer,
            agent=agent,
            channel="sms",
            party="debtor",
            direction="outbound",
            outcome="no_answer",
            summary=f"try {n}",
        )
    EmergencyContactFactory.create_batch(2, customer=case.customer)
    login_verified(client, agent)
    with django_assert_max_num_queries(22):
        response = client.get(_url(case))
    body = response.content.decode()
    assert response.status_code == 200
    assert case.customer.name in body
    assert case.customer.phone not in body and case.customer.phone[:3] + "****" in body
    assert "try 2" in body and 'data-reason="debtor_reachable"' in body
    assert "audit/reveal" not in body  # agents may not reveal numbers


def test_the_page_query_count_does_not_grow_with_contacts(client, case, agent):
    login_verified(client, agent)
    client.get(_url(case))
    with CaptureQueriesContext(connection) as few:
        client.get(_url(case))
    for _ in range(15):
        ContactAttempt.objects.create(
            case=case,
            customer=case.customer,
            agent=UserFactory(),
            channel="sms",
            party="debtor",
            direction="outbound",
            outcome="no_answer",
        )
    with CaptureQueriesContext(connection) as many:
        client.get(_url(case))
    assert len(many) == len(few)


def _zone_at_noon_now() -> str:
    """A time zone where it is about noon now: the page records at the real time."""
    hour = datetime.datetime.now(datetime.UTC).hour
    offset = (12 - hour + 12) % 24 - 12  # -12 … +11 hours from UTC
    return f"Etc/GMT{-offset:+d}"  # POSIX names: Etc/GMT-8 is UTC+8


def test_posting_a_contact_records_it_and_a_refusal_is_a_form_error_in_chinese(client, agent):
    case = CollectionCaseFactory(assigned_agent=agent, customer=CustomerFactory(timezone=_zone_at_noon_now()))
    login_verified(client, agent)
    form = {
        "channel": "phone",
        "party": "debtor",
        "direction": "outbound",
        "outcome": "reached",
        "summary": "ok",
    }
    for _ in range(3):
        response = client.post(_url(case), form)
        assert response.status_code == 302
    assert ContactAttempt.objects.filter(case=case).count() == 3

    response = client.post(_url(case), form)

    assert response.status_code == 200
    body = response.content.decode()
    assert "errorlist" in body and "已达到该客户每日 3 次有效通话上限" in body
    assert 'data-reason="daily_attempts"' in body
    assert ContactAttempt.objects.filter(case=case).count() == 3
    assert CaseEvent.objects.filter(case=case, type="contact_refused").count() == 1


def test_the_form_sent_by_htmx(client, agent):
    case = CollectionCaseFactory(assigned_agent=agent, customer=CustomerFactory(timezone=_zone_at_noon_now()))
    login_verified(client, agent)
    form = {"channel": "phone", "party": "debtor", "direction": "outbound", "outcome": "reached"}
    for _ in range(3):
        response = client.post(_url(case), form, HTTP_HX_REQUEST="true")
        assert (response.status_code, response["HX-Redirect"]) == (200, _url(case))
    response = client.post(_url(case), form, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert 'id="case-contacts"' in body and "errorlist" in body
    assert ContactAttempt.objects.filter(case=case).count() == 3


def test_bad_input_on_the_page_is_a_form_error(client, case, agent):
    login_verified(client, agent)
    for data in (
        {},
        {"channel": "fax", "party": "x"},
        {
            "party": "emergency_contact",
            "channel": "phone",
            "direction": "outbound",
            "outcome": "reached",
            "emergency_contact": "999999",
        },
    ):
        response = client.post(_url(case), data)
        assert response.status_code == 200
        assert "errorlist" in response.content.decode()
    assert not ContactAttempt.objects.exists()


def test_another_agents_case_is_a_404_and_a_manager_sees_it(client, case):
    other = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    login_verified(client, other)
    assert client.get(_url(case)).status_code == 404
    assert client.post(_url(case), {"channel": "phone"}).status_code == 404
    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    client.logout()
    login_verified(client, manager)
    response = client.get(_url(case))
    assert response.status_code == 200
    assert "audit/reveal" in response.content.decode()  # managers may reveal, audited


# --- Two agents at the same moment (PostgreSQL row locks) -----------------------------------------


def _run_together(*calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # collected and asserted on by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_third_and_fourth_call_at_the_same_moment_one_is_refused(postgres_only, monkeypatch):
    first, second = (UserFactory(roles=[Role.COLLECTIONS_AGENT]) for _ in range(2))
    case = CollectionCaseFactory(assigned_agent=first)
    record(case, first, at(D, 9))
    record(case, second, at(D, 10))
    # Each agent dwells between reading the day's calls and writing theirs, so that without the
    # customer's lock both would read two calls and both be accepted.
    read_history = collection_services.contact_context

    def slow_read(**kwargs):
        context = read_history(**kwargs)
        time.sleep(0.5)
        return context

    monkeypatch.setattr(collection_services, "contact_context", slow_read)

    results, errors = _run_together(
        lambda: record(case, first, at(D, 11)),
        lambda: record(case, second, at(D, 11)),
    )

    assert len([r for r in results if r is not None]) == 1
    assert [type(e) for e in errors] == [ContactRefused]
    assert errors[0].code == "daily_attempts"
    assert ContactAttempt.objects.filter(customer=case.customer).count() == 3
    assert CaseEvent.objects.filter(case=case, type=CaseEventType.CONTACT_REFUSED).count() == 1


# --- The timeline reads contacts as sentences ----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "payload", "chinese"),
    [
        (
            "contact",
            {"channel": "phone", "party": "debtor", "outcome": "promise_made"},
            "通过电话联系债务人：承诺还款。",
        ),
        (
            "contact_refused",
            {
                "channel": "phone",
                "party": "debtor",
                "outcome": "reached",
                "reason": "daily_attempts",
                "profile": "CN",
            },
            "已达到该客户每日 3 次有效通话上限",
        ),
        (
            "contact_refused",
            {"channel": "sms", "party": "emergency_contact", "outcome": "reached", "reason": "on_hold"},
            "催收已暂停",
        ),
    ],
)
def test_contact_events_read_as_sentences(kind, payload, chinese):
    from collection.sentences import case_event_sentence

    with translation.override("zh-hans"):
        sentence = case_event_sentence(kind, payload)
    assert chinese in sentence and "_" not in sentence
