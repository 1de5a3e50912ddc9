"""Cancelling a home visit (visits.services.visit_cancel): a collections manager cancels any visit
not yet started, the agent who asked for it only while it waits for a decision; field agents and
everybody else are refused, and so is a visit already at the door, done, rejected or cancelled.
The case goes back to "contacted" as after a rejection, with its event and its audit record."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import translation

from accounts.roles import Role
from audit.models import AuditEvent
from bnpl_admin.dates import business_date
from collection.case_actions import case_actions_for
from collection.models import CaseEvent, CaseEventType, CaseStatus, CollectionCase, Team
from collection.sentences import case_event_sentence
from tests.conftest import login_verified
from tests.factories import UserFactory
from visits.models import Visit, VisitStatus
from visits.services import (
    REASON_MAX_LENGTH,
    Position,
    VisitError,
    visit_cancel,
    visit_check_in,
    visit_check_out,
    visit_reject,
)

from .builders import at, done_visit, field_agent, requested_visit, scheduled_visit, visitable_case

pytestmark = pytest.mark.django_db

D = datetime.date(2026, 3, 10)
HERE = Position(latitude=Decimal("22.540503"), longitude=Decimal("113.934528"))
WHY = "客户已主动联系，约定到店还款"


@pytest.fixture
def manager():
    return UserFactory(roles=[Role.COLLECTIONS_MANAGER])


@pytest.fixture
def agents():
    return field_agent("walker-a"), field_agent("walker-b")


def _unchanged(visit: Visit, status: str) -> None:
    """The refused cancellation left the visit, its case and the timeline as they were."""
    fresh = Visit.objects.get(pk=visit.pk)
    assert fresh.status == status
    assert fresh.cancelled_by is None and fresh.cancelled_at is None and fresh.cancel_reason == ""
    assert not CaseEvent.objects.filter(case_id=visit.case_id, type=CaseEventType.VISIT_CANCELLED).exists()


# --- Who may cancel -----------------------------------------------------------------------------------


def test_a_manager_cancels_a_requested_visit_and_the_case_goes_back_to_contacted(manager):
    visit = requested_visit(day=D)
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.VISIT_REQUESTED

    visit = visit_cancel(visit=visit, by=manager, reason=f"  {WHY} ", now=at(D, 9))

    assert visit.status == VisitStatus.CANCELLED
    assert (visit.cancelled_by, visit.cancelled_at, visit.cancel_reason) == (manager, at(D, 9), WHY)
    assert visit.approved_by is None and visit.decided_at is None  # a cancellation is not a decision
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.CONTACTED


def test_a_manager_cancels_a_scheduled_visit_and_the_case_goes_back_to_contacted(manager, agents):
    approver = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    visit = scheduled_visit(day=D, agents=agents, manager=approver)
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.VISIT_SCHEDULED

    visit = visit_cancel(visit=visit, by=manager, reason=WHY, now=at(D, 9))

    fresh = Visit.objects.get(pk=visit.pk)
    assert fresh.status == VisitStatus.CANCELLED and fresh.cancelled_by == manager
    # The approval stays on record: who approved it, when, with whom.
    assert fresh.approved_by == approver and {fresh.field_agent_1, fresh.field_agent_2} == set(agents)
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.CONTACTED


def test_the_manager_who_requested_a_visit_may_cancel_it(manager):
    visit = requested_visit(day=D, requester=manager)
    assert visit_cancel(visit=visit, by=manager, reason=WHY).status == VisitStatus.CANCELLED


def test_the_requesting_agent_cancels_their_request_while_it_waits_for_a_decision():
    visit = requested_visit(day=D)
    agent = visit.requested_by
    assert agent.groups.filter(name=Role.COLLECTIONS_AGENT).exists()

    visit = visit_cancel(visit=visit, by=agent, reason=WHY)

    assert visit.status == VisitStatus.CANCELLED and visit.cancelled_by == agent
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.CONTACTED


def test_the_requesting_agent_may_not_cancel_once_it_is_approved(agents):
    visit = scheduled_visit(day=D, agents=agents)
    with translation.override("en"), pytest.raises(VisitError) as excinfo:
        visit_cancel(visit=visit, by=visit.requested_by, reason=WHY)
    assert excinfo.value.code == "approved"
    assert "manager" in excinfo.value.message
    _unchanged(visit, VisitStatus.SCHEDULED)
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.VISIT_SCHEDULED


def test_another_agent_of_the_same_team_may_not_cancel_the_request(manager):
    visit = requested_visit(day=D)
    teammate = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    team = Team.objects.create(name="深圳一组", manager=manager)
    team.members.add(visit.requested_by, teammate)
    assert CollectionCase.objects.visible_to(teammate).filter(pk=visit.case_id).exists()

    with pytest.raises(VisitError) as excinfo:
        visit_cancel(visit=visit, by=teammate, reason=WHY)
    assert excinfo.value.code == "not_allowed"
    _unchanged(visit, VisitStatus.REQUESTED)


def test_the_visits_own_field_agents_may_not_cancel_it(agents):
    visit = scheduled_visit(day=D, agents=agents)
    for agent in (*agents, field_agent()):
        with pytest.raises(VisitError) as excinfo:
            visit_cancel(visit=visit, by=agent, reason=WHY)
        assert excinfo.value.code == "not_allowed"
    _unchanged(visit, VisitStatus.SCHEDULED)


@pytest.mark.parametrize("role", [Role.RISK_ANALYST, Role.OPERATIONS_ADMIN])
def test_other_roles_may_not_cancel(role):
    visit = requested_visit(day=D)
    with pytest.raises(VisitError) as excinfo:
        visit_cancel(visit=visit, by=UserFactory(roles=[role]), reason=WHY)
    assert excinfo.value.code == "not_allowed"
    _unchanged(visit, VisitStatus.REQUESTED)


def test_a_requester_whose_case_left_their_queues_may_not_cancel_it():
    visit = requested_visit(day=D)
    requester = visit.requested_by
    CollectionCase.objects.filter(pk=visit.case_id).update(
        assigned_agent=UserFactory(roles=[Role.COLLECTIONS_AGENT])
    )
    with pytest.raises(VisitError) as excinfo:
        visit_cancel(visit=visit, by=requester, reason=WHY)
    assert excinfo.value.code == "not_visible"
    _unchanged(visit, VisitStatus.REQUESTED)


# --- Which visits may be cancelled ------------------------------------------------------------------------


def _checked_in(agents):
    visit = scheduled_visit(day=D, agents=agents)
    return visit_check_in(visit=visit, by=agents[0], at=at(D, 10), position=HERE)


def _checked_out(agents):
    return visit_check_out(visit=_checked_in(agents), by=agents[0], at=at(D, 11), position=HERE)


def _rejected(agents):
    return visit_reject(
        visit=requested_visit(day=D), by=UserFactory(roles=[Role.COLLECTIONS_MANAGER]), reason="先电话"
    )


def _cancelled(agents):
    return visit_cancel(
        visit=requested_visit(day=D), by=UserFactory(roles=[Role.COLLECTIONS_MANAGER]), reason="已还款"
    )


def _done(agents):
    return done_visit(day=D, agents=agents, photos=[])


@pytest.mark.parametrize(
    ("build", "status", "words"),
    [
        (_checked_in, VisitStatus.CHECKED_IN, "Checked in"),
        (_checked_out, VisitStatus.CHECKED_IN, "checked out"),
        (_done, VisitStatus.DONE, "Done"),
        (_rejected, VisitStatus.REJECTED, "Rejected"),
        (_cancelled, VisitStatus.CANCELLED, "Cancelled"),
    ],
)
def test_a_visit_started_or_closed_cannot_be_cancelled(manager, agents, build, status, words):
    visit = build(agents)
    case_status = CollectionCase.objects.get(pk=visit.case_id).status
    events = CaseEvent.objects.filter(case_id=visit.case_id).count()
    history = visit.history.count()

    with translation.override("en"), pytest.raises(VisitError) as excinfo:
        visit_cancel(visit=visit, by=manager, reason=WHY)

    assert excinfo.value.code == "not_cancellable"
    assert words in excinfo.value.message and "cancel" in excinfo.value.message
    fresh = Visit.objects.get(pk=visit.pk)
    assert fresh.status == status and fresh.cancelled_by_id in (None, visit.cancelled_by_id)
    assert CollectionCase.objects.get(pk=visit.case_id).status == case_status
    assert CaseEvent.objects.filter(case_id=visit.case_id).count() == events
    assert visit.history.count() == history


def test_the_refusal_reads_in_the_users_language(manager, agents):
    visit = _checked_in(agents)
    with translation.override("zh-hans"), pytest.raises(VisitError) as excinfo:
        visit_cancel(visit=visit, by=manager, reason=WHY)
    assert "取消" in excinfo.value.message and "cancel" not in excinfo.value.message


# --- The reason ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "code"),
    [("", "no_reason"), ("   \n ", "no_reason"), (None, "no_reason"), ("长" * 1001, "reason_too_long")],
)
def test_a_reason_is_required_and_bounded(manager, reason, code):
    visit = requested_visit(day=D)
    with pytest.raises(VisitError) as excinfo:
        visit_cancel(visit=visit, by=manager, reason=reason)
    assert excinfo.value.code == code
    _unchanged(visit, VisitStatus.REQUESTED)


def test_a_reason_of_the_longest_length_is_kept_whole(manager):
    visit = visit_cancel(visit=requested_visit(day=D), by=manager, reason="长" * REASON_MAX_LENGTH)
    assert len(Visit.objects.get(pk=visit.pk).cancel_reason) == REASON_MAX_LENGTH


def test_a_phone_number_typed_into_the_reason_is_masked(manager):
    visit = visit_cancel(visit=requested_visit(day=D), by=manager, reason="客户 13812345678 已还款")
    assert "13812345678" not in Visit.objects.get(pk=visit.pk).cancel_reason


# --- The record: the case event and the audit trail -------------------------------------------------


def test_the_case_timeline_gets_a_visit_cancelled_event(manager, agents):
    visit = scheduled_visit(day=D, agents=agents)
    visit_cancel(visit=visit, by=manager, reason=WHY, now=at(D, 9, 15))

    event = CaseEvent.objects.get(case_id=visit.case_id, type=CaseEventType.VISIT_CANCELLED)
    assert event.actor == manager and event.created_at == at(D, 9, 15)
    assert event.payload == {"visit": visit.pk, "was": "scheduled", "reason": WHY}
    # The case's own move is on the timeline too, through the case map.
    moved = CaseEvent.objects.filter(case_id=visit.case_id, type=CaseEventType.STATUS_CHANGED).latest("id")
    assert moved.payload["old"] == CaseStatus.VISIT_SCHEDULED and moved.payload["new"] == CaseStatus.CONTACTED
    with translation.override("en"):
        assert case_event_sentence(event.type, event.payload) == (
            f"Scheduled home visit cancelled. Reason: {WHY}."
        )
    with translation.override("zh-hans"):
        sentence = case_event_sentence(event.type, event.payload)
    assert "取消" in sentence and WHY in sentence and "visit" not in sentence


def test_the_cancellation_is_in_the_audit_trail_with_who_when_old_and_new(manager):
    visit = requested_visit(day=D)
    visit_cancel(visit=visit, by=manager, reason=WHY, now=at(D, 9))

    record = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Visit), object_id=str(visit.pk)
    ).latest("id")
    assert record.actor == manager and record.reason == "visit_cancel"
    assert record.changes["status"] == ["requested", "cancelled"]
    assert record.changes["cancel_reason"] == ["", WHY]
    assert "cancelled_by" in record.changes and "cancelled_at" in record.changes
    latest = visit.history.latest("history_id")
    assert latest.history_user == manager and latest.status == VisitStatus.CANCELLED


def test_the_database_refuses_a_cancelled_visit_without_who_when_why():
    from django.db import IntegrityError, transaction

    visit = requested_visit(day=D)
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(status=VisitStatus.CANCELLED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(cancel_reason="x")


def test_a_cancelled_visit_frees_the_case_for_a_new_request(manager):
    visit = visit_cancel(visit=requested_visit(day=D), by=manager, reason=WHY)
    again = requested_visit(day=D, case=CollectionCase.objects.get(pk=visit.case_id))
    assert again.status == VisitStatus.REQUESTED and again.pk != visit.pk


# --- The pages: the visit page, the requests page and the case action --------------------------------


@pytest.fixture
def today():
    return business_date()


def _signed_in(client, user):
    login_verified(client, user)
    return client


def _nothing_changed(visit: Visit) -> None:
    _unchanged(visit, visit.status)
    assert CollectionCase.objects.get(pk=visit.case_id).status in (
        CaseStatus.VISIT_REQUESTED,
        CaseStatus.VISIT_SCHEDULED,
    )


def test_the_visit_page_offers_the_cancel_form_to_managers_only(client, today, manager, agents):
    visit = scheduled_visit(day=today, agents=agents)
    action = f'action="{reverse("visits:cancel", args=[visit.pk])}"'
    assert action in _signed_in(client, manager).get(reverse("visits:detail", args=[visit.pk])).text
    assert action not in _signed_in(client, agents[0]).get(reverse("visits:detail", args=[visit.pk])).text
    done = done_visit(day=today, photos=[])
    page = _signed_in(client, manager).get(reverse("visits:detail", args=[done.pk])).text
    assert reverse("visits:cancel", args=[done.pk]) not in page


def test_a_manager_cancels_on_the_visit_page(client, today, manager, agents):
    visit = scheduled_visit(day=today, agents=agents)
    client = _signed_in(client, manager)
    response = client.post(reverse("visits:cancel", args=[visit.pk]), {"reason": WHY})
    assert response.status_code == 302 and response["Location"] == reverse("visits:detail", args=[visit.pk])
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.CANCELLED
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.CONTACTED
    page = client.get(response["Location"]).text
    assert WHY in page and reverse("visits:cancel", args=[visit.pk]) not in page


@pytest.mark.parametrize(
    ("reason", "language", "message"),
    [
        ("", "zh-hans", "请说明取消理由。"),
        ("   ", "zh-hans", "请说明取消理由。"),
        ("", "en", "Say why the visit is cancelled."),
    ],
)
def test_a_blank_reason_on_the_visit_page_is_a_form_error(client, today, agents, reason, language, message):
    visit = scheduled_visit(day=today, agents=agents)
    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER], language=language)
    response = _signed_in(client, manager).post(reverse("visits:cancel", args=[visit.pk]), {"reason": reason})
    assert response.status_code == 200
    assert message in response.text
    _nothing_changed(visit)


def test_a_refused_cancellation_on_the_visit_page_says_why(client, today, manager, agents):
    visit = _checked_in(agents)
    response = _signed_in(client, manager).post(
        reverse("visits:cancel", args=[visit.pk]), {"reason": WHY}, follow=True
    )
    assert response.status_code == 200 and "已不能取消" in response.text
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.CHECKED_IN


def test_a_post_to_cancel_by_a_wrong_role_is_refused_and_changes_nothing(client, today, agents):
    visit = scheduled_visit(day=today, agents=agents)
    requester = visit.requested_by
    for user in (agents[0], requester, UserFactory(roles=[Role.RISK_ANALYST])):
        response = _signed_in(client, user).post(reverse("visits:cancel", args=[visit.pk]), {"reason": WHY})
        assert response.status_code == 403
    ops = UserFactory(roles=[Role.OPERATIONS_ADMIN], is_staff=True)
    response = _signed_in(client, ops).post(reverse("visits:cancel", args=[visit.pk]), {"reason": WHY})
    assert response.status_code == 403
    _nothing_changed(visit)


def test_a_manager_cancels_a_request_from_the_requests_page(client, today, manager):
    visit = requested_visit(day=today)
    other = requested_visit(day=today)
    client = _signed_in(client, manager)
    page = client.get(reverse("visits:requested")).text
    for each in (visit, other):
        assert f'action="{reverse("visits:cancel", args=[each.pk])}"' in page
    response = client.post(
        reverse("visits:cancel", args=[visit.pk]), {"reason": WHY, "back": "requested"}, follow=True
    )
    assert response.redirect_chain == [(reverse("visits:requested"), 302)]
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.CANCELLED
    assert Visit.objects.get(pk=other.pk).status == VisitStatus.REQUESTED
    assert reverse("visits:cancel", args=[visit.pk]) not in response.text  # off the list now
    assert reverse("visits:cancel", args=[other.pk]) in response.text


def _action_keys(user, case) -> list[str]:
    return [action.key for action, _url in case_actions_for(user=user, case=case)]


def test_the_case_action_is_offered_to_who_may_cancel_only(today, manager, agents):
    requested = requested_visit(day=today)
    requester = requested.requested_by
    teammate = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    team = Team.objects.create(name="深圳二组", manager=manager)
    team.members.add(requester, teammate)
    case = CollectionCase.objects.get(pk=requested.case_id)
    assert "visit_cancel" in _action_keys(requester, case)
    assert "visit_cancel" in _action_keys(manager, case)
    assert "visit_cancel" not in _action_keys(teammate, case)
    assert "visit_cancel" not in _action_keys(agents[0], case)

    scheduled = scheduled_visit(day=today, agents=agents)
    case = CollectionCase.objects.get(pk=scheduled.case_id)
    assert "visit_cancel" not in _action_keys(scheduled.requested_by, case)
    assert "visit_cancel" in _action_keys(manager, case)

    plain = visitable_case()
    assert "visit_cancel" not in _action_keys(manager, plain)
    assert "visit_cancel" not in _action_keys(plain.assigned_agent, plain)


def test_the_case_page_shows_the_cancel_action_into_its_panel(client, today):
    visit = requested_visit(day=today)
    page = (
        _signed_in(client, visit.requested_by)
        .get(reverse("collections:case_detail", args=[visit.case_id]))
        .text
    )
    url = reverse("visits:case_cancel", args=[visit.case_id])
    assert f'hx-get="{url}" hx-target="#case-action-panel" data-action="visit_cancel"' in page


def test_the_requesting_agent_cancels_through_the_case_action_with_htmx(client, today):
    visit = requested_visit(day=today)
    client = _signed_in(client, visit.requested_by)
    url = reverse("visits:case_cancel", args=[visit.case_id])
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'name="reason"' in fragment.text
    assert "<html" in client.get(url).text

    blank = client.post(url, {"reason": "  "}, HTTP_HX_REQUEST="true")
    assert blank.status_code == 200 and "请说明取消理由。" in blank.text
    _nothing_changed(visit)

    done = client.post(url, {"reason": WHY}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    assert done["HX-Redirect"] == reverse("collections:case_detail", args=[visit.case_id])
    fresh = Visit.objects.get(pk=visit.pk)
    assert fresh.status == VisitStatus.CANCELLED and fresh.cancel_reason == WHY
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.CONTACTED
    assert CaseEvent.objects.filter(case_id=visit.case_id, type=CaseEventType.VISIT_CANCELLED).count() == 1


def test_a_manager_cancels_a_scheduled_visit_through_the_case_action(client, today, manager, agents):
    visit = scheduled_visit(day=today, agents=agents)
    response = _signed_in(client, manager).post(
        reverse("visits:case_cancel", args=[visit.case_id]), {"reason": WHY}
    )
    assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.CANCELLED


def test_the_case_action_for_another_teams_case_is_a_404_and_changes_nothing(client, today):
    visit = requested_visit(day=today)
    stranger = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    url = reverse("visits:case_cancel", args=[visit.case_id])
    client = _signed_in(client, stranger)
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": WHY}, HTTP_HX_REQUEST="true").status_code == 404
    _nothing_changed(visit)


def test_the_case_action_posted_by_who_may_not_cancel_is_a_403_and_changes_nothing(
    client, today, manager, agents
):
    requested = requested_visit(day=today)
    teammate = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    team = Team.objects.create(name="深圳三组", manager=manager)
    team.members.add(requested.requested_by, teammate)
    scheduled = scheduled_visit(day=today, agents=agents)
    refused = [
        (requested, teammate),  # sees the case, did not ask for the visit
        (scheduled, scheduled.requested_by),  # asked for it, but a manager approved it since
        (scheduled, agents[0]),  # a field agent of the visit
        (requested, UserFactory(roles=[Role.RISK_ANALYST])),
    ]
    for visit, user in refused:
        response = _signed_in(client, user).post(
            reverse("visits:case_cancel", args=[visit.case_id]), {"reason": WHY}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 403, user
    _nothing_changed(requested)
    _nothing_changed(scheduled)


def test_the_visit_page_reads_a_fixed_number_of_queries_for_a_manager(
    client, today, manager, agents, django_assert_max_num_queries
):
    visit = scheduled_visit(day=today, agents=agents)
    client = _signed_in(client, manager)
    client.get(reverse("visits:detail", args=[visit.pk]))
    with django_assert_max_num_queries(12):
        page = client.get(reverse("visits:detail", args=[visit.pk]))
    assert reverse("visits:cancel", args=[visit.pk]) in page.text
