"""Assignment rules by bucket: kept by managers, run after each sweep, idempotent, every change an event."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from bnpl_admin.signals import sweep_done
from collection.assignment import assignment_rule_create, assignment_rule_update, cases_assign_by_rules
from collection.models import AssignmentRule, Bucket, CaseEvent, CaseEventType, CollectionCase, Team
from collection.services import CaseError, case_assign
from tests.conftest import login_verified
from tests.factories import CollectionCaseFactory, UserFactory

pytestmark = pytest.mark.django_db

ON = datetime.date(2026, 3, 20)


def _agent(username: str):
    return UserFactory(username=username, roles=[Role.COLLECTIONS_AGENT])


@pytest.fixture
def manager():
    return UserFactory(username="boss", roles=[Role.COLLECTIONS_MANAGER], language="en")


@pytest.fixture
def teams(manager):
    early = Team.objects.create(name="early", manager=manager)
    late = Team.objects.create(name="late", manager=manager)
    ann, bob, dan = _agent("ann"), _agent("bob"), _agent("dan")
    early.members.add(ann, bob)
    late.members.add(dan)
    return {"early": early, "late": late, "ann": ann, "bob": bob, "dan": dan}


def _case(bucket: str, *, agent=None, dpd: int = 10) -> CollectionCase:
    return CollectionCaseFactory(bucket=bucket, days_past_due=dpd, assigned_agent=agent)


def _age(case: CollectionCase, new: str) -> None:
    """What the sweep does when a case changes bucket: the field and an ageing event."""
    payload = {"by": "sweep", "old": case.bucket, "new": new, "dpd": 31}
    CaseEvent.objects.create(case=case, type=CaseEventType.AGEING, payload=payload)
    CollectionCase.objects.filter(pk=case.pk).update(bucket=new, days_past_due=31)


def test_unassigned_cases_go_to_the_rule_team_of_their_bucket_each_change_an_event(teams, manager):
    assignment_rule_create(by=manager, bucket=Bucket.M1, team=teams["early"], method="round robin")
    assignment_rule_create(by=manager, bucket=Bucket.M2, team=teams["late"], method="by load")
    m1 = [_case(Bucket.M1, dpd=10 + i) for i in range(4)]
    m2 = [_case(Bucket.M2, dpd=40)]
    m3 = _case(Bucket.M3, dpd=70)  # no rule: stays unassigned

    result = cases_assign_by_rules(on=ON)

    assert result["assigned"] == 5 and result["M1"] == 4 and result["M2"] == 1
    agents = {CollectionCase.objects.get(pk=c.pk).assigned_agent for c in m1}
    assert agents == {teams["ann"], teams["bob"]}
    assert CollectionCase.objects.get(pk=m2[0].pk).assigned_agent == teams["dan"]
    assert CollectionCase.objects.get(pk=m3.pk).assigned_agent is None
    events = CaseEvent.objects.filter(type=CaseEventType.ASSIGNED)
    assert events.count() == 5
    event = events.get(case=m2[0])
    assert event.actor is None
    rule = AssignmentRule.objects.get(bucket=Bucket.M2)
    assert event.payload["assignment_rule"] == rule.pk and event.payload["team"] == "late"
    # The case's history says which rule moved it.
    assert (
        CollectionCase.history.filter(id=m2[0].pk)
        .latest("history_date")
        .history_change_reason.startswith(f"rule {rule.pk}")
    )


def test_running_twice_assigns_nothing_more(teams, manager):
    assignment_rule_create(by=manager, bucket=Bucket.M1, team=teams["early"], method="by load")
    for i in range(3):
        _case(Bucket.M1, dpd=5 + i)
    assert cases_assign_by_rules(on=ON)["assigned"] == 3
    before = CaseEvent.objects.count()
    assert cases_assign_by_rules(on=ON)["assigned"] == 0
    assert CaseEvent.objects.count() == before


def test_a_case_that_moved_bucket_goes_to_the_next_team_but_a_hand_assignment_since_stays(teams, manager):
    assignment_rule_create(by=manager, bucket=Bucket.M2, team=teams["late"], method="by load")
    moved = _case(Bucket.M1, agent=None)
    case_assign(case=moved, agent=teams["ann"], by=manager)
    kept_by_hand = _case(Bucket.M1, agent=None)
    case_assign(case=kept_by_hand, agent=teams["ann"], by=manager)
    _age(moved, Bucket.M2)
    _age(kept_by_hand, Bucket.M2)
    # A manager chooses the agent again after the case aged: the rule leaves it there.
    later = timezone.now() + datetime.timedelta(seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        case_assign(case=kept_by_hand, agent=teams["bob"], by=manager)
    never_moved = _case(Bucket.M2, agent=teams["ann"])
    case_assign(case=never_moved, agent=teams["bob"], by=manager)

    with mock.patch("django.utils.timezone.now", return_value=later + datetime.timedelta(seconds=1)):
        assert cases_assign_by_rules(on=ON)["assigned"] == 1
    assert CollectionCase.objects.get(pk=moved.pk).assigned_agent == teams["dan"]
    assert CollectionCase.objects.get(pk=kept_by_hand.pk).assigned_agent == teams["bob"]
    assert CollectionCase.objects.get(pk=never_moved.pk).assigned_agent == teams["bob"]


def test_cases_of_an_agent_who_left_are_reassigned(teams, manager):
    assignment_rule_create(by=manager, bucket=Bucket.M1, team=teams["early"], method="by load")
    case = _case(Bucket.M1, agent=teams["ann"])
    teams["ann"].is_active = False
    teams["ann"].save(update_fields=["is_active"])
    assert cases_assign_by_rules(on=ON)["assigned"] == 1
    assert CollectionCase.objects.get(pk=case.pk).assigned_agent == teams["bob"]


def test_the_first_rule_by_order_wins_an_inactive_rule_or_an_empty_team_falls_through(teams, manager):
    empty = Team.objects.create(name="empty", manager=manager)
    assignment_rule_create(by=manager, bucket=Bucket.M1, team=empty, method="by load", ordering=1)
    off = assignment_rule_create(
        by=manager, bucket=Bucket.M1, team=teams["late"], method="by load", ordering=2
    )
    assignment_rule_update(
        rule=off, by=manager, bucket=Bucket.M1, team=teams["late"], method="by load", ordering=2, active=False
    )
    assignment_rule_create(by=manager, bucket=Bucket.M1, team=teams["early"], method="by load", ordering=3)
    case = _case(Bucket.M1)
    cases_assign_by_rules(on=ON)
    assert CollectionCase.objects.get(pk=case.pk).assigned_agent in {teams["ann"], teams["bob"]}


def test_only_a_manager_keeps_the_rules_and_a_rule_is_for_an_overdue_bucket(teams, manager):
    with pytest.raises(CaseError):
        assignment_rule_create(by=teams["ann"], bucket=Bucket.M1, team=teams["early"], method="by load")
    with pytest.raises(CaseError):
        assignment_rule_create(by=manager, bucket=Bucket.CURRENT, team=teams["early"], method="by load")
    rule = assignment_rule_create(by=manager, bucket=Bucket.M3, team=teams["early"], method="round robin")
    assert rule.history.count() == 1 and rule.history.first().history_user == manager


def test_sweep_done_publishes_the_rules_task_once_committed(django_capture_on_commit_callbacks):
    task = "collection.tasks.cases_assign_by_rules_task.delay"
    with mock.patch(task) as delay, django_capture_on_commit_callbacks(execute=True):
        sweep_done.send(sender=None, business_date=ON, run_id=1)
    delay.assert_called_once_with(ON.isoformat())


def test_the_task_assigns_by_the_rules(teams, manager):
    from collection.tasks import cases_assign_by_rules_task

    assignment_rule_create(by=manager, bucket=Bucket.M1, team=teams["late"], method="by load")
    case = _case(Bucket.M1)
    assert cases_assign_by_rules_task(ON.isoformat())["assigned"] == 1
    assert CollectionCase.objects.get(pk=case.pk).assigned_agent == teams["dan"]


def test_a_real_sweep_chains_the_rules(teams, manager, django_capture_on_commit_callbacks):
    """The nightly sweep opens cases; its sweep_done publishes the task that assigns them."""
    from sweep.services import sweep_run
    from tests.factories import delivered_order

    assignment_rule_create(by=manager, bucket=Bucket.M1, team=teams["late"], method="by load")
    today = timezone.localdate()
    order = delivered_order(delivered_on=today - datetime.timedelta(days=45))
    with (
        mock.patch(
            "collection.tasks.cases_assign_by_rules_task.delay",
            side_effect=lambda day: cases_assign_by_rules(on=datetime.date.fromisoformat(day)),
        ) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        sweep_run(on=today)
    assert delay.called
    case = CollectionCase.objects.open().get(customer=order.customer)
    assert case.bucket == Bucket.M1 and case.assigned_agent == teams["dan"]


# --- The rules page ---------------------------------------------------------------------------------


def test_a_manager_adds_edits_and_deactivates_a_rule_on_the_page(client, teams, manager):
    login_verified(client, manager)
    response = client.get(reverse("collections:assignment_rules"))
    assert response.status_code == 200
    response = client.post(
        reverse("collections:assignment_rule_add"),
        {"bucket": "M2", "team": teams["late"].pk, "method": "by load", "ordering": 5, "active": "on"},
    )
    assert response.status_code == 302
    rule = AssignmentRule.objects.get()
    assert (rule.bucket, rule.team, rule.active, rule.created_by) == ("M2", teams["late"], True, manager)
    response = client.post(
        reverse("collections:assignment_rule_edit", args=[rule.pk]),
        {"bucket": "M2", "team": teams["late"].pk, "method": "round robin", "ordering": 5},
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.method, rule.active) == ("round robin", False)
    assert rule.history.count() == 2
    page = client.get(reverse("collections:assignment_rules")).content.decode()
    assert "late" in page


def test_bad_input_on_the_rule_form_is_a_form_error(client, teams, manager):
    login_verified(client, manager)
    response = client.post(
        reverse("collections:assignment_rule_add"),
        {"bucket": "current", "team": 999999, "method": "by magic", "ordering": -1},
    )
    assert response.status_code == 200
    assert not AssignmentRule.objects.exists()
    assert response.context["form"].errors.keys() == {"bucket", "team", "method", "ordering"}


def test_an_agent_may_not_open_the_rules(client, teams):
    login_verified(client, teams["ann"])
    assert client.get(reverse("collections:assignment_rules")).status_code == 403
    assert client.get(reverse("collections:assignment_rule_add")).status_code == 403
