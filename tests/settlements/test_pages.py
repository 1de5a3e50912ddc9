"""The settlements pages: the proposal as a case action, the request's page where a manager decides;
who may open them, what bad input gets, and their query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.roles import Role
from collection.case_actions import case_actions_for
from collection.models import CaseStatus, Team
from settlements.models import ArrangementRequest, ArrangementStatus
from settlements.services import arrangement_propose
from tests.conftest import login_verified
from tests.settlements.books import overdue_case, person

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    login_verified(client, user)
    return client


@pytest.fixture
def agent():
    return person(Role.COLLECTIONS_AGENT, language="en")


@pytest.fixture
def manager():
    return person(Role.COLLECTIONS_MANAGER, language="en")


@pytest.fixture
def case(agent):
    return overdue_case(agent=agent, amount="1000.00", days_ago=70)


def test_the_proposal_is_a_case_action_for_agents_and_managers(agent, manager, case):
    def keys(user) -> list[str]:
        return [a.key for a, _url in case_actions_for(user=user, case=case)]

    # Other apps register their own actions (a contact, a home visit): this one is among them.
    assert "settlement_propose" in keys(agent) and "settlement_propose" in keys(manager)
    assert "settlement_propose" not in keys(person(Role.FIELD_AGENT))
    arrangement_propose(case=case, by=agent, kind="settlement", fee_discount="1.00")
    case.refresh_from_db()
    assert "settlement_propose" not in keys(agent)  # one request at a time


def test_the_proposal_page_shows_what_is_owed_and_refuses_other_teams_cases(agent, case):
    url = reverse("settlements:propose", args=[case.pk])
    response = _client(agent).get(url)
    assert response.status_code == 200
    assert b"<html" in response.content
    assert response.context["settlement"].owed_total > 0

    fragment = _client(agent).get(url, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and b"<html" not in fragment.content

    stranger = person(Role.COLLECTIONS_AGENT)
    Team.objects.create(name="其他组", manager=person(Role.COLLECTIONS_MANAGER)).members.add(stranger)
    assert _client(stranger).get(url).status_code == 404
    assert _client(person(Role.FIELD_AGENT)).get(url).status_code == 403


def test_preview_writes_nothing_and_shows_the_new_schedule(agent, case):
    url = reverse("settlements:propose", args=[case.pk])
    response = _client(agent).post(url, {"kind": "restructure", "months": "6", "action": "preview"})
    assert response.status_code == 200
    preview = response.context["restructure"]
    assert preview.months == 6 and len(preview.orders[0][1]) == 6
    assert preview.total == response.context["settlement"].owed_total
    assert not ArrangementRequest.objects.exists()


def test_proposing_from_htmx_sends_the_page_back_to_the_case(agent, case):
    url = reverse("settlements:propose", args=[case.pk])
    response = _client(agent).post(
        url,
        {"kind": "settlement", "fee_discount": "3.00", "reason": "hardship", "action": "propose"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("collections:case_detail", args=[case.pk])
    request = ArrangementRequest.objects.get()
    assert (request.kind, request.fee_discount, request.requested_by) == (
        "settlement",
        Decimal("3.00"),
        agent,
    )


def test_a_refused_proposal_is_a_form_error(agent, case):
    url = reverse("settlements:propose", args=[case.pk])
    response = _client(agent).post(
        url,
        {"kind": "settlement", "principal_discount": "999.00", "action": "propose"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "At most ¥" in str(response.context["form"].non_field_errors())
    assert not ArrangementRequest.objects.exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.fixed_dictionaries(
        {
            "kind": st.one_of(
                st.sampled_from(["settlement", "restructure", "write_off", ""]), st.text(max_size=20)
            ),
            "late_fee_discount": st.one_of(
                st.sampled_from(["NaN", "-1", "1e400", "0.001", "sNaN", "Infinity", "１２", ""]),
                st.text(max_size=30),
            ),
            "fee_discount": st.text(max_size=30),
            "principal_discount": st.sampled_from(["-0.01", "1000000000000000", "abc", "0"]),
            "months": st.one_of(st.sampled_from(["0", "4", "12", "x", "-6", ""]), st.text(max_size=5)),
            "reason": st.text(max_size=400),
            "action": st.sampled_from(["propose", "preview", ""]),
        }
    )
)
def test_generated_bad_input_gets_form_errors_never_a_crash(agent, case, data):
    response = _client(agent).post(reverse("settlements:propose", args=[case.pk]), data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        form = response.context["form"]
        assert not form.is_valid() or form.non_field_errors() or data["action"] == "preview"


def test_a_manager_approves_anothers_request_on_its_page(agent, manager, case):
    request = arrangement_propose(case=case, by=agent, kind="settlement", fee_discount="2.00")
    url = reverse("settlements:decide", args=[request.pk])
    assert _client(agent).get(url).status_code == 403

    client = _client(manager)
    missing_reason = client.post(url, {"decision": "approve", "reason": ""})
    assert missing_reason.status_code == 200 and missing_reason.context["form"].errors["reason"]
    request.refresh_from_db()
    assert request.status == ArrangementStatus.PENDING

    response = client.post(url, {"decision": "approve", "reason": "checked the hardship letter"})
    assert response.status_code == 302 and response["Location"] == reverse("settlements:approval_queue")
    request.refresh_from_db()
    case.refresh_from_db()
    assert (request.status, request.decided_by, case.status) == (
        ArrangementStatus.APPROVED,
        manager,
        CaseStatus.CONTACTED,
    )


def test_the_requesters_own_request_is_refused_on_its_page(manager):
    case = overdue_case(agent=manager)
    request = arrangement_propose(case=case, by=manager, kind="restructure", months=3)
    client = _client(manager)
    url = reverse("settlements:decide", args=[request.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["own"]
    assert b"another manager decides it" in page.content
    response = client.post(url, {"decision": "approve", "reason": "mine"})
    assert response.status_code == 200
    assert "Nobody decides a request they made themselves." in str(
        response.context["form"].non_field_errors()
    )
    request.refresh_from_db()
    assert request.status == ArrangementStatus.PENDING


def test_the_pages_cost_a_fixed_number_of_queries(agent, manager, django_assert_max_num_queries):
    cases = [overdue_case(agent=agent) for _ in range(3)]
    request = arrangement_propose(case=cases[0], by=agent, kind="restructure", months=12)
    agent_client, manager_client = _client(agent), _client(manager)
    agent_client.get(reverse("settlements:propose", args=[cases[1].pk]))  # warm the session
    manager_client.get(reverse("settlements:decide", args=[request.pk]))
    with django_assert_max_num_queries(20):
        assert agent_client.get(reverse("settlements:propose", args=[cases[1].pk])).status_code == 200
    with django_assert_max_num_queries(20):
        response = agent_client.post(
            reverse("settlements:propose", args=[cases[2].pk]),
            {"kind": "restructure", "months": "12", "action": "preview"},
        )
        assert response.status_code == 200
    with django_assert_max_num_queries(20):
        assert manager_client.get(reverse("settlements:decide", args=[request.pk])).status_code == 200
