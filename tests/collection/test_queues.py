"""The collections workbench: teams share queues, managers assign in bulk, agents work by priority."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from collection.models import CaseEvent, CaseEventType, CaseStatus, CollectionCase, Team
from collection.selectors import cases_queue, my_queue
from collection.services import (
    BY_LOAD,
    ROUND_ROBIN,
    CaseError,
    case_assign,
    case_open,
    case_transition,
    cases_assign_bulk,
    contact_record,
)
from orders.models import Hold, Installment, InstallmentStatus
from policy.selectors import policy_in_force
from tests.conftest import login_verified
from tests.factories import CollectionCaseFactory, CustomerFactory, UserFactory, delivered_order

pytestmark = pytest.mark.django_db


def _agent(username: str):
    return UserFactory(username=username, roles=[Role.COLLECTIONS_AGENT])


@pytest.fixture
def manager():
    return UserFactory(username="boss", roles=[Role.COLLECTIONS_MANAGER], language="en")


@pytest.fixture
def teams(manager):
    """Two teams: south (ann, bob, cat) and east (dan)."""
    south = Team.objects.create(name="south", manager=manager)
    east = Team.objects.create(name="east", manager=manager)
    ann, bob, cat, dan = (_agent(name) for name in ("ann", "bob", "cat", "dan"))
    south.members.add(ann, bob, cat)
    east.members.add(dan)
    return {"south": south, "east": east, "ann": ann, "bob": bob, "cat": cat, "dan": dan}


def _open_cases(n: int, *, agent=None, dpd: int = 10) -> list[CollectionCase]:
    return [CollectionCaseFactory(assigned_agent=agent, days_past_due=dpd + i) for i in range(n)]


def _load(agent) -> int:
    return CollectionCase.objects.open().filter(assigned_agent=agent).count()


# --- Who sees which case ---------------------------------------------------------------------------


def test_an_agent_sees_the_cases_of_their_team_and_not_of_another(teams):
    own, teammates, other_team, nobodys = (
        CollectionCaseFactory(assigned_agent=teams["ann"]),
        CollectionCaseFactory(assigned_agent=teams["bob"]),
        CollectionCaseFactory(assigned_agent=teams["dan"]),
        CollectionCaseFactory(),
    )
    seen = set(CollectionCase.objects.visible_to(teams["ann"]))
    assert seen == {own, teammates}
    assert set(CollectionCase.objects.visible_to(teams["dan"])) == {other_team}
    assert nobodys not in seen


def test_an_agent_in_no_team_sees_only_their_own_cases(teams):
    loner = _agent("loner")
    own = CollectionCaseFactory(assigned_agent=loner)
    CollectionCaseFactory(assigned_agent=teams["ann"])
    assert list(CollectionCase.objects.visible_to(loner)) == [own]


def test_a_field_agent_in_a_team_still_sees_only_the_cases_of_their_visits(teams):
    from bnpl_admin.dates import business_date
    from tests.visits.builders import field_agent, scheduled_visit

    field = UserFactory(username="walker", roles=[Role.FIELD_AGENT])
    teams["south"].members.add(field)
    own = scheduled_visit(day=business_date(), agents=(field, field_agent())).case
    CollectionCaseFactory(assigned_agent=teams["ann"])
    assert list(CollectionCase.objects.visible_to(field)) == [own]


def test_a_manager_sees_every_case(teams, manager):
    cases = {CollectionCaseFactory(assigned_agent=teams["ann"]), CollectionCaseFactory()}
    assert set(CollectionCase.objects.visible_to(manager)) == cases


def test_filtering_the_queue_by_another_teams_case_id_finds_nothing(client, teams):
    """A case id of another team is not on any page of the agent's (the queue reads visible_to)."""
    theirs = CollectionCaseFactory(assigned_agent=teams["dan"], days_past_due=5)
    mine = CollectionCaseFactory(assigned_agent=teams["ann"], days_past_due=5)
    login_verified(client, teams["ann"])
    response = client.get(reverse("collections:case_queue"), {"per_page": 100})
    ids = [row.record.pk for row in response.context["table"].page.object_list]
    assert mine.pk in ids and theirs.pk not in ids
    export = client.get(reverse("collections:case_queue"), {"_export": "csv"}).content.decode()
    assert theirs.customer.platform_user_id not in export


# --- Bulk assignment -------------------------------------------------------------------------------


def test_round_robin_spreads_the_cases_evenly_over_the_team(teams, manager):
    cases = _open_cases(7)
    changed = cases_assign_bulk(cases=CollectionCase.objects.all(), team=teams["south"], by=manager)
    assert changed == 7
    loads = sorted(_load(teams[name]) for name in ("ann", "bob", "cat"))
    assert loads == [2, 2, 3]
    assert _load(teams["dan"]) == 0
    assert {c.assigned_agent for c in CollectionCase.objects.filter(pk__in=[c.pk for c in cases])} <= {
        teams["ann"],
        teams["bob"],
        teams["cat"],
    }


def test_by_load_gives_the_cases_to_the_least_loaded_members(teams, manager):
    _open_cases(4, agent=teams["ann"], dpd=100)
    _open_cases(1, agent=teams["bob"], dpd=100)
    new = _open_cases(5)
    cases_assign_bulk(
        cases=CollectionCase.objects.filter(pk__in=[c.pk for c in new]),
        team=teams["south"],
        method=BY_LOAD,
        by=manager,
    )
    # cat had none and bob one: they catch up with ann (4) before she gets any.
    assert (_load(teams["ann"]), _load(teams["bob"]), _load(teams["cat"])) == (4, 3, 3)


def test_round_robin_and_by_load_differ_when_loads_differ(teams, manager):
    _open_cases(6, agent=teams["ann"], dpd=100)
    new = _open_cases(3)
    cases_assign_bulk(
        cases=CollectionCase.objects.filter(pk__in=[c.pk for c in new]),
        team=teams["south"],
        method=BY_LOAD,
        by=manager,
    )
    assert _load(teams["ann"]) == 6  # round robin would have given ann one more


def test_every_assignment_writes_an_event_and_a_history_row(teams, manager):
    before = _open_cases(2, agent=teams["dan"])
    cases_assign_bulk(cases=CollectionCase.objects.all(), team=teams["south"], method=ROUND_ROBIN, by=manager)
    for case in before:
        case.refresh_from_db()
        event = CaseEvent.objects.get(case=case, type=CaseEventType.ASSIGNED)
        assert event.actor == manager
        assert event.payload["old"] == teams["dan"].pk
        assert event.payload["new"] == case.assigned_agent_id
        assert event.payload["team"] == "south" and event.payload["rule"] == ROUND_ROBIN
        latest = case.history.order_by("-history_id").first()
        assert latest.assigned_agent_id == case.assigned_agent_id and latest.history_user == manager


def test_a_case_that_keeps_its_agent_records_nothing(teams, manager):
    (case,) = _open_cases(1, agent=teams["ann"])
    assert cases_assign_bulk(cases=CollectionCase.objects.all(), agent=teams["ann"], by=manager) == 0
    assert not CaseEvent.objects.filter(case=case, type=CaseEventType.ASSIGNED).exists()


def test_closed_cases_are_not_assigned(teams, manager):
    (case,) = _open_cases(1)
    case_transition(case=case, to=CaseStatus.RESOLVED, by=manager)
    assert cases_assign_bulk(cases=CollectionCase.objects.all(), team=teams["south"], by=manager) == 0
    case.refresh_from_db()
    assert case.assigned_agent is None


@pytest.mark.parametrize(
    "role", [Role.COLLECTIONS_AGENT, Role.FIELD_AGENT, Role.RISK_ANALYST, Role.OPERATIONS_ADMIN]
)
def test_only_a_manager_may_assign(teams, role):
    _open_cases(2)
    someone = UserFactory(username="someone", roles=[role])
    with pytest.raises(CaseError) as refused:
        cases_assign_bulk(cases=CollectionCase.objects.all(), team=teams["south"], by=someone)
    assert refused.value.code == "not_allowed"
    assert not CollectionCase.objects.filter(assigned_agent__isnull=False).exists()


def test_a_team_without_members_is_refused(manager):
    empty = Team.objects.create(name="empty", manager=manager)
    _open_cases(1)
    with pytest.raises(CaseError):
        cases_assign_bulk(cases=CollectionCase.objects.all(), team=empty, by=manager)


def test_the_refusal_is_in_the_users_language(teams):
    from django.utils import translation

    someone = _agent("zh")
    with translation.override("zh-hans"), pytest.raises(CaseError) as refused:
        cases_assign_bulk(cases=CollectionCase.objects.all(), team=teams["south"], by=someone)
    assert "Only" not in refused.value.message


# --- The queue page ----------------------------------------------------------------------------------


def _ids(response) -> set[int]:
    return {row.record.pk for row in response.context["table"].page.object_list}


@pytest.fixture
def book(teams):
    """Four cases that differ in every filtered field."""

    def case(agent, dpd, province, city, *, overdue=False, hold=False, opened=None):
        customer = CustomerFactory(province=province, city=city)
        if overdue or hold:
            order = delivered_order(customer=customer, amount="3000.00")
            order.installments.filter(sequence=1).update(status=InstallmentStatus.OVERDUE)
            if hold:
                order.hold = Hold.DISPUTE
                order.save(update_fields=["hold"])
        made = case_open(customer=customer, agent=agent)
        CollectionCase.objects.filter(pk=made.pk).update(
            days_past_due=dpd, bucket="M1" if dpd <= 30 else "M3", opened_at=opened or timezone.now()
        )
        return made

    last_year = timezone.now() - datetime.timedelta(days=400)
    return {
        "a": case(teams["ann"], 5, "广东省", "深圳市", overdue=True),
        "b": case(teams["bob"], 70, "广东省", "广州市", hold=True),
        "c": case(teams["dan"], 20, "浙江省", "杭州市", opened=last_year),
        "d": case(None, 80, "浙江省", "宁波市"),
        **teams,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, "abcd"),
        ({"bucket": "M3"}, "bd"),
        ({"dpd_min": "10", "dpd_max": "75"}, "bc"),
        ({"amount_overdue_min": "1"}, "ab"),
        ({"amount_overdue_max": "0"}, "cd"),
        ({"status": "open"}, "abcd"),
        ({"province": "浙江省"}, "cd"),
        ({"city": "广州市"}, "b"),
        ({"on_hold": "true"}, "b"),
        ({"on_hold": "false"}, "acd"),
        (
            {
                "opened_after": "2000-01-01",
                "opened_before": (timezone.localdate() - datetime.timedelta(days=300)).isoformat(),
            },
            "c",
        ),
    ],
)
def test_each_filter_narrows_the_queue(client, book, manager, query, expected):
    login_verified(client, manager)
    response = client.get(reverse("collections:case_queue"), {**query, "per_page": 100})
    assert response.status_code == 200
    assert _ids(response) == {book[key].pk for key in expected}


def test_the_agent_and_team_filters(client, book, manager):
    login_verified(client, manager)
    url = reverse("collections:case_queue")
    assert _ids(client.get(url, {"agent": book["bob"].pk})) == {book["b"].pk}
    assert _ids(client.get(url, {"team": book["south"].pk})) == {book["a"].pk, book["b"].pk}
    assert _ids(client.get(url, {"team": book["east"].pk})) == {book["c"].pk}


def test_the_queue_shows_amount_overdue_team_and_last_event(book, manager):
    rows = {case.pk: case for case in cases_queue(user=manager)}
    a = rows[book["a"].pk]
    first = Installment.objects.with_outstanding().get(customer=book["a"].customer, sequence=1)
    assert a.amount_overdue == first.amount_outstanding > 0
    assert a.team_name == "south" and a.last_event_at is not None
    assert rows[book["d"].pk].amount_overdue == Decimal("0.00") and rows[book["d"].pk].team_name is None
    assert rows[book["b"].pk].on_hold and not a.on_hold


def test_a_manager_assigns_the_filtered_cases_from_the_queue(client, book, manager):
    login_verified(client, manager)
    response = client.post(
        reverse("collections:case_assign_bulk"),
        {"team": book["east"].pk, "method": BY_LOAD, "query": "province=浙江省"},
        follow=True,
    )
    assert response.status_code == 200
    # c was dan's already (east has only dan): one case changed hands.
    assert [str(m) for m in response.context["messages"]] == ["1 case assigned to the team east."]
    book["d"].refresh_from_db()
    book["a"].refresh_from_db()
    assert book["d"].assigned_agent == book["dan"]
    assert book["a"].assigned_agent == book["ann"]  # not matching: left alone


def test_the_queue_shows_the_bulk_form_to_managers_only(client, book, manager):
    login_verified(client, manager)
    assert b'class="bulk-assign"' in client.get(reverse("collections:case_queue")).content
    client.logout()
    login_verified(client, book["ann"])
    assert b'class="bulk-assign"' not in client.get(reverse("collections:case_queue")).content


def test_an_agent_cannot_post_a_bulk_assignment(client, book):
    login_verified(client, book["ann"])
    response = client.post(
        reverse("collections:case_assign_bulk"), {"team": book["south"].pk, "method": ROUND_ROBIN}
    )
    assert response.status_code == 403
    book["d"].refresh_from_db()
    assert book["d"].assigned_agent is None


# --- My queue ------------------------------------------------------------------------------------------


def _policy_weights(**weights):
    policy = policy_in_force(on=timezone.localdate())
    for name, value in weights.items():
        setattr(policy, f"queue_weight_{name}", Decimal(value))
    policy.save()


def _mine(agent):
    return [case.pk for case in my_queue(user=agent)]


def test_my_queue_holds_only_the_agents_own_open_cases(book):
    assert _mine(book["ann"]) == [book["a"].pk]
    assert _mine(book["bob"]) == [book["b"].pk]


def test_my_queue_follows_the_weights(teams, manager):
    ann = teams["ann"]
    big = case_open(customer=CustomerFactory(), agent=ann)
    order = delivered_order(customer=big.customer, amount="9000.00")
    order.installments.filter(sequence=1).update(status=InstallmentStatus.OVERDUE)
    late = case_open(customer=CustomerFactory(), agent=ann)
    CollectionCase.objects.filter(pk=big.pk).update(days_past_due=3)
    CollectionCase.objects.filter(pk=late.pk).update(days_past_due=90)
    quiet = case_open(customer=CustomerFactory(), agent=ann)
    CollectionCase.objects.filter(pk=quiet.pk).update(days_past_due=1)
    # Nobody has tried the quiet case since it opened 60 days ago; the others opened today.
    CollectionCase.objects.filter(pk=quiet.pk).update(opened_at=timezone.now() - datetime.timedelta(days=60))

    _policy_weights(amount="100", dpd="0", broken_promise="0", days_since_contact="0")
    assert _mine(ann)[0] == big.pk
    _policy_weights(amount="0", dpd="1", broken_promise="0", days_since_contact="0")
    assert _mine(ann)[0] == late.pk
    _policy_weights(amount="0", dpd="0", broken_promise="0", days_since_contact="10")
    assert _mine(ann)[0] == quiet.pk
    scores = {case.pk: case.priority for case in my_queue(user=ann)}
    assert 590 < scores[quiet.pk] < 610  # 60 days × 10 points


def test_days_since_contact_count_from_the_last_contact_attempt_not_any_event(teams, manager):
    """The weight is "days since last contact": an assignment, an ageing or a note is not a
    contact and does not make a case look recently worked; a case nobody has tried counts
    from the day it opened."""
    ann = teams["ann"]
    _policy_weights(amount="0", dpd="0", broken_promise="0", days_since_contact="10")
    long_ago = timezone.now() - datetime.timedelta(days=30)
    tried = case_open(customer=CustomerFactory(), agent=ann)
    untried = case_open(customer=CustomerFactory(), agent=ann)
    CollectionCase.objects.filter(pk__in=[tried.pk, untried.pk]).update(opened_at=long_ago)
    CaseEvent.objects.filter(case__in=[tried, untried]).update(created_at=long_ago)
    # Called 20 days ago; the other case only reassigned and aged today (events, not contacts).
    contact_record(
        case=tried,
        agent=ann,
        channel="phone",
        party="debtor",
        outcome="no_answer",
        now=timezone.now() - datetime.timedelta(days=20),
    )
    case_assign(case=untried, agent=ann, by=manager)
    CaseEvent.objects.create(case=untried, type=CaseEventType.AGEING, payload={"bucket": "M2"})

    scores = {case.pk: case.priority for case in my_queue(user=ann)}
    assert 295 < scores[untried.pk] < 305  # 30 days since it opened, nobody has tried it
    assert 195 < scores[tried.pk] < 205  # 20 days since the call
    assert _mine(ann)[0] == untried.pk


def test_my_queue_page_lists_by_priority(client, teams):
    ann = teams["ann"]
    low = case_open(customer=CustomerFactory(), agent=ann)
    high = case_open(customer=CustomerFactory(), agent=ann)
    CollectionCase.objects.filter(pk=high.pk).update(days_past_due=50)
    login_verified(client, ann)
    response = client.get(reverse("collections:my_queue"))
    assert [row.record.pk for row in response.context["table"].page.object_list] == [high.pk, low.pk]


# --- The case page ---------------------------------------------------------------------------------


def test_the_case_page_of_another_teams_case_is_not_found(client, teams):
    theirs = CollectionCaseFactory(assigned_agent=teams["dan"])
    teammates = CollectionCaseFactory(assigned_agent=teams["bob"])
    login_verified(client, teams["ann"])
    assert client.get(reverse("collections:case_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("collections:case_detail", args=[teammates.pk])).status_code == 200
    assert client.get(reverse("collections:case_detail", args=[10**9])).status_code == 404


def test_the_case_page_reads_a_fixed_number_of_queries(client, teams, manager, django_assert_max_num_queries):
    case = case_open(customer=CustomerFactory(), agent=teams["ann"], by=manager)
    login_verified(client, manager)
    url = reverse("collections:case_detail", args=[case.pk])
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for agent in ("bob", "cat", "dan", "ann") * 5:
        cases_assign_bulk(cases=CollectionCase.objects.filter(pk=case.pk), agent=teams[agent], by=manager)
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert response.content.decode().count('class="entry ') > 20


@pytest.mark.parametrize(
    "query", ["dpd_min=abc", "amount_overdue_max=1e400", "province=x\r\nSet-Cookie: a=b"]
)
def test_a_bulk_assignment_with_bad_filters_assigns_nothing_and_says_so(client, book, manager, query):
    login_verified(client, manager)
    response = client.post(
        reverse("collections:case_assign_bulk"),
        {"team": book["east"].pk, "method": ROUND_ROBIN, "query": query},
    )
    assert response.status_code == 302 and "\n" not in response["Location"]
    assert not CaseEvent.objects.filter(type=CaseEventType.ASSIGNED, actor=manager).exists()


def test_a_deep_page_builds_the_figures_of_its_own_rows_only(client, manager, django_assert_max_num_queries):
    """OFFSET over the annotated queue would build every skipped case's amount overdue, last event
    and team only to drop them (docs/performance.md): past the first page the queue reads the
    page's ids on the case table alone, then the figures of those rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _open_cases(30)
    login_verified(client, manager)
    url = reverse("collections:case_queue")
    whole = [row.record.pk for row in client.get(url, {"per_page": 100}).context["table"].page.object_list]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"per_page": 25, "page": 2})
    assert [row.record.pk for row in response.context["table"].page.object_list] == whole[25:50]
    skipping = [q["sql"] for q in queries if "OFFSET" in q["sql"].upper()]
    assert len(skipping) == 1
    for figure_table in ("orders_installment", "collections_caseevent", "collections_team"):
        assert figure_table not in skipping[0], figure_table
