"""The case page (customer 360): what it shows, in a fixed number of queries, its timeline a page at a
time, and its actions with htmx (a note, a reassignment, a hold, the actions other apps register)."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from collection.case_actions import _ACTIONS, CaseAction, register_case_action
from collection.models import (
    CaseEvent,
    CaseEventType,
    CaseStatus,
    CollectionCase,
    ContactChannel,
    ContactOutcome,
    ContactParty,
    Promise,
    Team,
)
from collection.selectors import TIMELINE_PAGE_SIZE, TimelineCursor, case_timeline
from collection.services import (
    NOTE_MAX_LENGTH,
    CaseError,
    case_assign,
    case_hold,
    case_note_add,
    case_open,
    case_release,
    case_transition,
    contact_record,
)
from orders.models import Installment, InstallmentStatus, Plan
from reminders.models import Channel as ReminderChannel
from reminders.models import Reminder, installment_key
from reminders.models import Status as ReminderStatus
from tests.conftest import login_verified
from tests.factories import (
    CustomerFactory,
    EmergencyContactFactory,
    UserFactory,
    delivered_order,
    noon,
    posted_payment,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return UserFactory(username="boss", roles=[Role.COLLECTIONS_MANAGER], language="en")


@pytest.fixture
def team(manager):
    south = Team.objects.create(name="south", manager=manager)
    ann = UserFactory(username="ann", roles=[Role.COLLECTIONS_AGENT], language="en")
    bob = UserFactory(username="bob", roles=[Role.COLLECTIONS_AGENT], language="en")
    south.members.add(ann, bob)
    return {"ann": ann, "bob": bob}


def _reminder(installment: Installment, *, sent_at: datetime.datetime, kind: str = "T+3") -> Reminder:
    return Reminder.objects.create(
        key=installment_key(installment.pk, kind, ReminderChannel.SMS),
        kind=kind,
        offset_days=3,
        channel=ReminderChannel.SMS,
        customer=installment.customer,
        installment=installment,
        business_date=sent_at.date(),
        send_on=sent_at.date(),
        not_before=sent_at,
        next_attempt_at=sent_at,
        status=ReminderStatus.SENT,
        sent_at=sent_at,
        recipient=installment.customer.phone,
        body=f"您的账单已逾期，请致电 {installment.customer.phone}",
    )


def _book(*, orders: int, payments: int, notes: int, agent, manager) -> CollectionCase:
    """A customer with `orders` overdue orders, payments, notes, contacts, reminders, a promise."""
    customer = CustomerFactory()
    EmergencyContactFactory(customer=customer, name="王芳", phone="13912345678")
    delivered = timezone.localdate() - datetime.timedelta(days=75)
    for _ in range(orders):
        delivered_order(customer=customer, amount="900.00", plan=Plan.INSTALMENTS_3, delivered_on=delivered)
    # The first instalments are overdue (the sweep's status, set here without the sweep).
    Installment.objects.filter(customer=customer, sequence__lte=2).update(status=InstallmentStatus.OVERDUE)
    case = case_open(customer=customer, agent=agent, by=manager)
    for n in range(payments):
        posted_payment(customer=customer, amount="10.00", on=delivered + datetime.timedelta(days=40 + n))
    for n in range(notes):
        case_note_add(case=case, by=agent, text=f"note {n}")
    for installment in Installment.objects.filter(customer=customer, sequence=1):
        _reminder(installment, sent_at=noon(delivered + datetime.timedelta(days=33)))
    Promise.objects.create(
        case=case, customer=customer, made_by=agent, amount=Decimal("50.00"), due_date=timezone.localdate()
    )
    return case


def _count_queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


# --- What the page shows ---------------------------------------------------------------------


def test_the_case_page_shows_the_customer_360_with_numbers_masked(client, team, manager):
    case = _book(orders=2, payments=2, notes=1, agent=team["ann"], manager=manager)
    customer = case.customer
    contact_record(
        case=case,
        agent=team["ann"],
        channel=ContactChannel.SMS,
        party=ContactParty.DEBTOR,
        outcome=ContactOutcome.REACHED,
        summary="客户说下周还",
        now=noon(timezone.localdate() - datetime.timedelta(days=1)),
    )
    login_verified(client, team["ann"])

    page = client.get(reverse("collections:case_detail", args=[case.pk])).content.decode()

    order = customer.orders.first()
    payment = customer.payments.first()
    for shown in (
        "138****",  # the phone, masked
        customer.national_id[:3] + "*" * 11,  # the national id, masked
        "139****5678",  # the emergency contact's phone, masked
        "王芳",
        order.external_reference,
        payment.external_reference,
        "Late fee",
        "Total overdue",
        "¥50.00",  # the active promise
        "Kept: 0 · Broken: 0",
        "T+3",  # a reminder sent
        "客户说下周还",  # the contact's summary in the timeline
        "note 0",
        "Credit line",
        "¥20,000.00",  # money grouped, as everywhere (accounts.templatetags.money)
    ):
        assert shown in page, shown
    for hidden in (customer.phone, customer.national_id, "13912345678"):
        assert hidden not in page
    # An agent may not reveal numbers; a manager gets the audited reveal's links.
    assert reverse("audit:reveal", args=["accounts", "customer", customer.pk, "phone"]) not in page
    login_verified(client, manager)
    page = client.get(reverse("collections:case_detail", args=[case.pk])).content.decode()
    assert reverse("audit:reveal", args=["accounts", "customer", customer.pk, "national_id"]) in page


def test_the_overdue_breakdown_is_what_is_left_on_overdue_instalments_by_component(client, team, manager):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    Installment.objects.filter(customer=case.customer, sequence=1).update(late_fee_due=Decimal("1.19"))
    login_verified(client, team["ann"])

    data = client.get(reverse("collections:case_detail", args=[case.pk])).context["data"]

    # ¥900.00 in 3 at 1.8%: 300.00 principal and 5.40 fee each; instalments 1 and 2 overdue.
    assert (data.overdue.principal, data.overdue.fee, data.overdue.late_fee, data.overdue.total) == (
        Decimal("600.00"),
        Decimal("10.80"),
        Decimal("1.19"),
        Decimal("611.99"),
    )


def test_the_holds_show_orders_on_return_or_dispute_and_the_paused_collection(client, team, manager):
    from orders.services import order_hold_open

    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    order_hold_open(order=case.customer.orders.get(), kind="dispute", by=manager)
    login_verified(client, team["ann"])
    page = client.get(reverse("collections:case_detail", args=[case.pk])).content.decode()
    assert "Dispute open since" in page
    assert "Collection is paused" in page


def test_a_closed_case_is_shown_without_actions(client, team, manager):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    case_transition(case=case, to=CaseStatus.RESOLVED, by=manager)
    login_verified(client, manager)
    page = client.get(reverse("collections:case_detail", args=[case.pk])).content.decode()
    assert "This case is closed" in page
    assert reverse("collections:case_note", args=[case.pk]) not in page


# --- Queries: a fixed number whatever the size of the book -------------------------------------


def test_the_case_page_reads_the_same_number_of_queries_for_a_small_and_a_large_book(
    client, team, manager, django_assert_max_num_queries
):
    small = _book(orders=1, payments=1, notes=1, agent=team["ann"], manager=manager)
    large = _book(orders=11, payments=12, notes=30, agent=team["ann"], manager=manager)
    for case in (small, large):
        for n in range(3 if case is large else 1):
            contact_record(
                case=case,
                agent=team["ann"],
                channel=ContactChannel.SMS,
                party=ContactParty.DEBTOR,
                outcome=ContactOutcome.NO_ANSWER,
                now=noon(timezone.localdate() - datetime.timedelta(days=2 + n)),
            )
    login_verified(client, manager)
    client.get(reverse("collections:case_detail", args=[small.pk]))  # sessions, permissions cached

    few, _page = _count_queries(client, reverse("collections:case_detail", args=[small.pk]))
    many, page = _count_queries(client, reverse("collections:case_detail", args=[large.pk]))
    all_of_them, _page = _count_queries(
        client, reverse("collections:case_detail", args=[large.pk]) + "?all=1"
    )

    # The small book has a row of every kind on its first timeline page (a contact's summary is
    # one query more); the large one cannot need more.
    assert many <= few and all_of_them <= few
    assert few <= 30
    # The large book is capped, with a way to see everything.
    assert "?all=1" in page
    assert page.count('class="order"') == 10


# --- The timeline, a page at a time ------------------------------------------------------------


def test_the_timeline_pages_through_every_event_newest_first_without_gaps_or_repeats(team, manager):
    case = _book(orders=2, payments=6, notes=0, agent=team["ann"], manager=manager)
    # Forty notes at the same moment: the cursor must tell them apart.
    moment = timezone.now() - datetime.timedelta(hours=1)
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case=case,
                type=CaseEventType.NOTE,
                actor=team["ann"],
                created_at=moment,
                payload={"text": f"n{n}"},
            )
            for n in range(40)
        ]
    )
    total = (
        CaseEvent.objects.filter(case=case).count()
        + sum(order.events.count() for order in case.customer.orders.all())
        + case.customer.payments.count()
        + Reminder.objects.filter(customer=case.customer).count()
    )

    seen, cursor, pages = [], None, 0
    while True:
        page = case_timeline(customer=case.customer, before=TimelineCursor.decode(cursor))
        seen += page.entries
        pages += 1
        assert len(page.entries) == TIMELINE_PAGE_SIZE or page.next_cursor is None
        cursor = page.next_cursor
        if cursor is None:
            break

    assert pages == -(-total // TIMELINE_PAGE_SIZE)
    assert len(seen) == total
    assert len({(e.source, e.id) for e in seen}) == total
    keys = [(e.at, e.cursor.rank, e.id) for e in seen]
    assert keys == sorted(keys, reverse=True)


def test_a_deep_timeline_page_reads_as_few_queries_as_the_first(client, team, manager):
    case = _book(orders=3, payments=10, notes=120, agent=team["ann"], manager=manager)
    login_verified(client, team["ann"])
    url = reverse("collections:case_detail", args=[case.pk])
    first = client.get(url, {"part": "timeline"}, headers={"HX-Request": "true"})
    cursor = re.search(r"before=([^\"&]+)", first.content.decode()).group(1)
    from urllib.parse import unquote

    for _ in range(3):  # three pages deeper
        with CaptureQueriesContext(connection) as queries:
            deeper = client.get(
                url, {"part": "timeline", "before": unquote(cursor)}, headers={"HX-Request": "true"}
            )
        body = deeper.content.decode()
        assert body.count('class="entry ') == TIMELINE_PAGE_SIZE
        assert "<html" not in body  # only the entries and the next "load more"
        cursor = re.search(r"before=([^\"&]+)", body).group(1)
    assert len(queries) <= 12


@pytest.mark.parametrize(
    "cursor", ["junk", "2026-01-01T00:00:00~9~1", "2026-01-01T00:00:00~1~1", "x~y~z", "9" * 200]
)
def test_an_unreadable_timeline_cursor_is_the_first_page(client, team, manager, cursor):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    login_verified(client, team["ann"])
    response = client.get(reverse("collections:case_detail", args=[case.pk]), {"before": cursor})
    assert response.status_code == 200


# --- Access ------------------------------------------------------------------------------------


def test_every_case_page_url_of_another_teams_case_is_not_found(client, team, manager):
    outsider = UserFactory(username="dan", roles=[Role.COLLECTIONS_AGENT])
    theirs = case_open(customer=CustomerFactory(), agent=outsider, by=manager)
    login_verified(client, team["ann"])
    for name in ("case_detail", "case_note", "case_hold", "case_contacts"):
        assert client.get(reverse(f"collections:{name}", args=[theirs.pk])).status_code == 404, name
    assert client.post(reverse("collections:case_note", args=[theirs.pk]), {"text": "x"}).status_code == 404
    assert not CaseEvent.objects.filter(case=theirs, type=CaseEventType.NOTE).exists()


def test_case_assign_refuses_a_user_without_the_permission_to_assign(team, manager):
    ops = UserFactory(username="ops", roles=[Role.OPERATIONS_ADMIN], is_staff=True)
    case = case_open(customer=CustomerFactory(), agent=team["ann"], by=manager)
    for who in (ops, team["bob"]):
        with pytest.raises(CaseError) as refused:
            case_assign(case=case, agent=team["bob"], by=who)
        assert refused.value.code == "not_allowed"
    case.refresh_from_db()
    assert case.assigned_agent == team["ann"]
    assert case_assign(case=case, agent=team["bob"], by=manager).assigned_agent == team["bob"]


def test_the_operations_admin_cannot_reassign_a_case_in_the_data_admin(client, team, manager):
    ops = UserFactory(username="ops", roles=[Role.OPERATIONS_ADMIN], is_staff=True)
    case = case_open(customer=CustomerFactory(), agent=team["ann"], by=manager)
    login_verified(client, ops)
    url = reverse("admin:collections_collectioncase_change", args=[case.pk])

    form = client.get(url).context["adminform"].form
    response = client.post(
        url, {"assigned_agent": team["bob"].pk, "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"}
    )

    assert "assigned_agent" not in form.fields
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.assigned_agent == team["ann"]


# --- Actions with htmx -------------------------------------------------------------------------

HTMX = {"HX-Request": "true", "HX-Target": "case-action-panel"}


def test_a_note_added_with_htmx_answers_the_panel_and_tells_the_page_to_reload_its_parts(
    client, team, manager
):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    login_verified(client, team["ann"])
    url = reverse("collections:case_note", args=[case.pk])

    form = client.get(url, headers=HTMX)
    added = client.post(url, {"text": "客户电话 13800001111 已停机"}, headers=HTMX)

    assert "<html" not in form.content.decode() and 'name="text"' in form.content.decode()
    assert added.status_code == 200 and "case-changed" in added["HX-Trigger-After-Swap"]
    note = CaseEvent.objects.get(case=case, type=CaseEventType.NOTE)
    assert (note.actor, note.payload) == (team["ann"], {"text": "客户电话 138****1111 已停机"})
    timeline = client.get(
        reverse("collections:case_detail", args=[case.pk]),
        {"part": "timeline"},
        headers={"HX-Request": "true"},
    )
    assert "138****1111" in timeline.content.decode()


def test_a_note_without_htmx_goes_back_to_the_case_page(client, team, manager):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    login_verified(client, team["ann"])
    response = client.post(reverse("collections:case_note", args=[case.pk]), {"text": "called back"})
    assert response.status_code == 302 and response.url == reverse("collections:case_detail", args=[case.pk])
    assert client.get(reverse("collections:case_note", args=[case.pk])).status_code == 200


@pytest.mark.parametrize("text", ["", "   ", "x" * (NOTE_MAX_LENGTH + 1)])
def test_an_empty_or_overlong_note_is_a_form_error_and_writes_nothing(client, team, manager, text):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    login_verified(client, team["ann"])
    response = client.post(reverse("collections:case_note", args=[case.pk]), {"text": text}, headers=HTMX)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert "HX-Trigger-After-Swap" not in response
    assert not CaseEvent.objects.filter(case=case, type=CaseEventType.NOTE).exists()
    with pytest.raises(CaseError):
        case_note_add(case=case, by=team["ann"], text=text)


def test_a_manager_reassigns_with_htmx_and_an_agent_may_not(client, team, manager):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    url = reverse("collections:case_reassign", args=[case.pk])
    login_verified(client, team["ann"])
    assert client.get(url, headers=HTMX).status_code == 403
    assert client.post(url, {"agent": team["bob"].pk}, headers=HTMX).status_code == 403

    login_verified(client, manager)
    response = client.post(url, {"agent": team["bob"].pk, "reason": "holiday"}, headers=HTMX)

    assert "case-changed" in response["HX-Trigger-After-Swap"]
    case.refresh_from_db()
    assert case.assigned_agent == team["bob"]
    event = CaseEvent.objects.filter(case=case, type=CaseEventType.ASSIGNED).latest("id")
    assert (event.actor, event.payload["reason"]) == (manager, "holiday")
    header = client.get(
        reverse("collections:case_detail", args=[case.pk]), {"part": "header"}, headers={"HX-Request": "true"}
    )
    assert team["bob"].get_full_name() in header.content.decode()


def test_a_case_goes_on_hold_with_a_reason_and_is_released_to_where_it_was(client, team, manager):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    case_transition(case=case, to=CaseStatus.CONTACTED, by=team["ann"])
    login_verified(client, team["ann"])
    url = reverse("collections:case_hold", args=[case.pk])

    refused = client.post(url, {"reason": ""}, headers=HTMX)
    held = client.post(url, {"reason": "customer reports a return"}, headers=HTMX)
    case.refresh_from_db()
    assert "errorlist" in refused.content.decode()
    assert case.status == CaseStatus.ON_HOLD and "case-changed" in held["HX-Trigger-After-Swap"]
    event = CaseEvent.objects.filter(case=case, type=CaseEventType.STATUS_CHANGED).latest("id")
    assert event.payload == {"old": "contacted", "new": "on_hold", "reason": "customer reports a return"}

    assert "Release from hold" in client.get(url, headers=HTMX).content.decode()
    client.post(url, {"reason": "return refused by the merchant"}, headers=HTMX)
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED


def test_hold_and_release_need_a_reason_and_a_case_worker(team, manager):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    risk = UserFactory(username="risk", roles=[Role.RISK_ANALYST])
    with pytest.raises(CaseError):
        case_hold(case=case, by=team["ann"], reason=" ")
    with pytest.raises(CaseError):
        case_hold(case=case, by=risk, reason="x")
    with pytest.raises(CaseError):
        case_release(case=case, by=team["ann"], reason="not held")
    case = case_hold(case=case, by=team["ann"], reason="dispute by phone")
    assert case_release(case=case, by=team["ann"], reason="resolved").status == CaseStatus.OPEN


def test_the_contact_form_in_the_panel_records_a_contact_and_reloads_the_page_parts(client, team, manager):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    login_verified(client, team["ann"])
    url = reverse("collections:case_contacts", args=[case.pk])

    form = client.get(url, headers=HTMX).content.decode()
    done = client.post(
        url,
        {
            "channel": "sms",
            "party": "debtor",
            "direction": "inbound",
            "outcome": "reached",
            "summary": "回电",
        },
        headers=HTMX,
    )

    assert "<html" not in form and 'name="outcome"' in form and "Call the debtor" in form
    assert (
        "case-changed" in done["HX-Trigger-After-Swap"]
        and "The contact is recorded." in done.content.decode()
    )
    assert case.contacts.get().summary == "回电"


@pytest.fixture
def registered_action():
    register_case_action(
        CaseAction(
            key="test_settle",
            label="Propose a test settlement",
            url_name="collections:case_note",
            permission="collections.assign_collectioncase",
            applies=lambda case: case.days_past_due >= 0,
        )
    )
    yield
    _ACTIONS.pop("test_settle", None)


def test_registered_case_actions_are_buttons_into_the_action_panel_for_who_may_take_them(
    client, team, manager, registered_action
):
    case = _book(orders=1, payments=0, notes=0, agent=team["ann"], manager=manager)
    url = reverse("collections:case_detail", args=[case.pk])
    login_verified(client, manager)
    page = client.get(url).content.decode()
    assert "Propose a test settlement" in page
    assert re.search(
        r'hx-get="[^"]+/note/"\s+hx-target="#case-action-panel"\s+data-action="test_settle"', page
    )
    login_verified(client, team["ann"])
    assert "Propose a test settlement" not in client.get(url).content.decode()
