"""Cases change only through the case services: the admin, the sweep and the state map."""

import datetime

import pytest
from django.urls import reverse

from accounts.roles import Role
from collection.models import CASE_TRANSITIONS, CaseEvent, CaseEventType, CaseStatus, CollectionCase
from collection.services import CaseError, case_transition, cases_age
from tests.conftest import login_verified
from tests.factories import CollectionCaseFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

NO_INLINES = {"events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"}


@pytest.fixture
def manager():
    return UserFactory(roles=[Role.COLLECTIONS_MANAGER], is_staff=True)


def _events(case, type_):
    return list(CaseEvent.objects.filter(case=case, type=type_).values_list("actor", "payload"))


def test_reassigning_a_case_in_the_admin_records_who_gave_it_to_whom(client, manager):
    before, after = (UserFactory(roles=[Role.COLLECTIONS_AGENT], is_staff=True) for _ in range(2))
    case = CollectionCaseFactory(assigned_agent=before)
    login_verified(client, manager)

    response = client.post(
        reverse("admin:collections_collectioncase_change", args=[case.pk]),
        {"assigned_agent": after.pk, **NO_INLINES},
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assigned_agent == after
    assert _events(case, CaseEventType.ASSIGNED) == [
        (manager.pk, {"old": before.pk, "new": after.pk, "agent": after.username, "reason": "admin"})
    ]
    record = case.history.latest()
    assert (record.assigned_agent_id, record.history_user, record.history_change_reason) == (
        after.pk,
        manager,
        "admin",
    )

    # Saving it again unchanged is no new assignment.
    client.post(
        reverse("admin:collections_collectioncase_change", args=[case.pk]),
        {"assigned_agent": after.pk, **NO_INLINES},
    )
    assert len(_events(case, CaseEventType.ASSIGNED)) == 1


def test_opening_a_case_in_the_admin_records_who_opened_it(client, superuser):
    customer = CustomerFactory()
    agent = UserFactory(roles=[Role.COLLECTIONS_AGENT], is_staff=True)
    login_verified(client, superuser)

    response = client.post(
        reverse("admin:collections_collectioncase_add"),
        {"customer": customer.pk, "assigned_agent": agent.pk, **NO_INLINES},
    )

    assert response.status_code == 302
    case = CollectionCase.objects.get(customer=customer)
    assert response.url == reverse("admin:collections_collectioncase_changelist")
    assert (case.status, case.assigned_agent) == (CaseStatus.OPEN, agent)
    assert _events(case, CaseEventType.OPENED) == [
        (
            superuser.pk,
            {
                "assigned_agent": agent.pk,
                "agent": agent.username,
                "agent_name": agent.get_full_name(),
                "reason": "admin",
            },
        )
    ]
    assert case.history.get().history_user == superuser


# --- The state map -------------------------------------------------------------------------

PAIRS = [(old, new) for old in CaseStatus for new in CaseStatus if old != new]


def _case_in(status: CaseStatus) -> CollectionCase:
    case = CollectionCaseFactory()
    closed = status in (CaseStatus.RESOLVED, CaseStatus.WRITTEN_OFF)
    CollectionCase.objects.filter(pk=case.pk).update(
        status=status, closed_at=case.opened_at if closed else None
    )
    return case


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{o.value}->{n.value}" for o, n in PAIRS])
def test_a_case_moves_only_along_the_map(old, new, manager):
    case = _case_in(old)

    if new in CASE_TRANSITIONS[old]:
        case_transition(case=case, to=new, by=manager, reason="call")
        case.refresh_from_db()
        assert case.status == new
        assert case.history.latest().history_user == manager
    else:
        with pytest.raises(CaseError):
            case_transition(case=case, to=new, by=manager, reason="call")
        case.refresh_from_db()
        assert case.status == old
        assert not CaseEvent.objects.filter(case=case).exists()


def test_the_sweep_resolves_a_paid_up_case_only_where_the_map_allows(monkeypatch):
    # If the map kept a proposed write-off from resolving (a manager must decide), the sweep
    # would leave it open when the customer pays: the sweep reads the map, not its own rule.
    monkeypatch.setitem(
        CASE_TRANSITIONS, CaseStatus.WRITE_OFF_PROPOSED, {CaseStatus.OPEN, CaseStatus.WRITTEN_OFF}
    )
    proposed = _case_in(CaseStatus.WRITE_OFF_PROPOSED)
    promised = _case_in(CaseStatus.PROMISED)
    ids = sorted([proposed.customer_id, promised.customer_id])

    counts = cases_age(
        on=datetime.date(2026, 3, 10),
        customer_from=ids[0],
        customer_to=ids[-1] + 1,
        dpd_by_customer={},
        still_owing=set(),
    )

    proposed.refresh_from_db()
    promised.refresh_from_db()
    assert (proposed.status, proposed.is_open) == (CaseStatus.WRITE_OFF_PROPOSED, True)
    assert (promised.status, promised.is_open) == (CaseStatus.RESOLVED, False)
    assert counts["cases_resolved"] == 1
    assert not CaseEvent.objects.filter(case=proposed).exists()
