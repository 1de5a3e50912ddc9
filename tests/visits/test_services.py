"""The rules of home visits (DESIGN.md, "Home visits"), each refused by the service whichever page
or command asks: eligibility, one's own approval, two different field agents, 09:00–20:00 in the
customer's time zone (Ürümqi is not Shanghai), a customer who has paid or holds a pending promise,
and only the visit's two field agents at the door."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from accounts.roles import Role
from collection.models import Bucket, CaseEvent, CaseEventType, CaseStatus, CollectionCase, Promise
from orders.models import Installment, InstallmentStatus
from tests.factories import UserFactory
from visits.models import Visit, VisitPhoto, VisitStatus
from visits.services import (
    Position,
    VisitError,
    visit_approve,
    visit_check_in,
    visit_check_out,
    visit_record_outcome,
    visit_reject,
    visit_request,
)

from .builders import (
    SHANGHAI,
    URUMQI,
    at,
    done_visit,
    field_agent,
    photo_upload,
    requested_visit,
    scheduled_visit,
    visitable_case,
)

pytestmark = pytest.mark.django_db

D = datetime.date(2026, 3, 10)
HERE = Position(latitude=Decimal("22.540503"), longitude=Decimal("113.934528"), accuracy=Decimal("15"))


@pytest.fixture
def manager():
    return UserFactory(roles=[Role.COLLECTIONS_MANAGER])


@pytest.fixture
def agents():
    return field_agent("walker-a"), field_agent("walker-b")


def _code(excinfo) -> str:
    return excinfo.value.code


# --- Request ----------------------------------------------------------------------------------------


def test_a_request_on_an_m3_case_moves_the_case_and_writes_its_event():
    case = visitable_case()
    visit = visit_request(case=case, by=case.assigned_agent, reason="失联", proposed_date=D, now=at(D, 8))
    case.refresh_from_db()
    assert visit.status == VisitStatus.REQUESTED
    assert case.status == CaseStatus.VISIT_REQUESTED
    event = CaseEvent.objects.get(case=case, type=CaseEventType.VISIT_REQUESTED)
    assert event.payload["visit"] == visit.pk and event.actor == case.assigned_agent
    assert visit.history.count() == 1


@pytest.mark.parametrize("bucket", [Bucket.CURRENT, Bucket.M1, Bucket.M2])
def test_a_case_before_m3_is_not_eligible(bucket):
    case = visitable_case(bucket=bucket, dpd=20)
    with pytest.raises(VisitError) as excinfo:
        visit_request(case=case, by=case.assigned_agent, reason="x", proposed_date=D, now=at(D, 8))
    assert _code(excinfo) == "not_eligible"
    assert not Visit.objects.exists()
    assert CollectionCase.objects.get(pk=case.pk).status == CaseStatus.OPEN


def test_a_manager_may_decide_a_visit_before_m3_and_an_agent_may_not(manager):
    case = visitable_case(bucket=Bucket.M2, dpd=45)
    with pytest.raises(VisitError) as excinfo:
        visit_request(
            case=case,
            by=case.assigned_agent,
            reason="x",
            proposed_date=D,
            manager_decision=True,
            now=at(D, 8),
        )
    assert _code(excinfo) == "not_allowed"
    visit = visit_request(
        case=case, by=manager, reason="x", proposed_date=D, manager_decision=True, now=at(D, 8)
    )
    assert visit.manager_decision


def test_a_case_outside_the_agents_queues_cannot_be_requested():
    case = visitable_case()
    stranger = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    with pytest.raises(VisitError) as excinfo:
        visit_request(case=case, by=stranger, reason="x", proposed_date=D, now=at(D, 8))
    assert _code(excinfo) == "not_visible"


def test_a_field_agent_cannot_request_a_visit():
    case = visitable_case()
    with pytest.raises(VisitError):
        visit_request(case=case, by=field_agent(), reason="x", proposed_date=D, now=at(D, 8))


def test_one_visit_on_the_way_per_case():
    visit = requested_visit(day=D)
    with pytest.raises(VisitError) as excinfo:
        visit_request(case=visit.case, by=visit.requested_by, reason="x", proposed_date=D, now=at(D, 9))
    assert _code(excinfo) in {"visit_open", "bad_transition"}


def test_a_request_needs_a_reason_and_a_date_not_past():
    case = visitable_case()
    with pytest.raises(VisitError) as excinfo:
        visit_request(case=case, by=case.assigned_agent, reason="  ", proposed_date=D, now=at(D, 8))
    assert _code(excinfo) == "no_reason"
    with pytest.raises(VisitError) as excinfo:
        visit_request(
            case=case,
            by=case.assigned_agent,
            reason="x",
            proposed_date=D - datetime.timedelta(days=1),
            now=at(D, 8),
        )
    assert _code(excinfo) == "date_past"


# --- Approval ---------------------------------------------------------------------------------------


def test_a_manager_approves_with_two_field_agents(manager, agents):
    visit = requested_visit(day=D)
    visit = visit_approve(visit=visit, by=manager, field_agents=agents, scheduled_for=at(D, 10), now=at(D, 8))
    assert visit.status == VisitStatus.SCHEDULED
    assert {visit.field_agent_1, visit.field_agent_2} == set(agents)
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.VISIT_SCHEDULED
    assert CaseEvent.objects.filter(case=visit.case, type=CaseEventType.VISIT_APPROVED).count() == 1


def test_nobody_approves_their_own_request(agents):
    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    case = visitable_case()
    visit = visit_request(case=case, by=manager, reason="x", proposed_date=D, now=at(D, 8))
    with pytest.raises(VisitError) as excinfo:
        visit_approve(visit=visit, by=manager, field_agents=agents, scheduled_for=at(D, 10), now=at(D, 8))
    assert _code(excinfo) == "own_request"
    with pytest.raises(VisitError) as excinfo:
        visit_reject(visit=visit, by=manager, reason="no")
    assert _code(excinfo) == "own_request"
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.REQUESTED


def test_an_agent_cannot_approve(agents):
    visit = requested_visit(day=D)
    with pytest.raises(VisitError) as excinfo:
        visit_approve(
            visit=visit,
            by=UserFactory(roles=[Role.COLLECTIONS_AGENT]),
            field_agents=agents,
            scheduled_for=at(D, 10),
        )
    assert _code(excinfo) == "not_allowed"


@pytest.mark.parametrize("how_many", [0, 1])
def test_fewer_than_two_field_agents_are_refused(manager, agents, how_many):
    visit = requested_visit(day=D)
    with pytest.raises(VisitError) as excinfo:
        visit_approve(
            visit=visit,
            by=manager,
            field_agents=list(agents[:how_many]),
            scheduled_for=at(D, 10),
            now=at(D, 8),
        )
    assert _code(excinfo) == "too_few_agents"


def test_the_same_field_agent_twice_is_refused(manager, agents):
    visit = requested_visit(day=D)
    with pytest.raises(VisitError) as excinfo:
        visit_approve(
            visit=visit,
            by=manager,
            field_agents=[agents[0], agents[0]],
            scheduled_for=at(D, 10),
            now=at(D, 8),
        )
    assert _code(excinfo) == "same_agent"


def test_only_field_agents_are_sent(manager, agents):
    visit = requested_visit(day=D)
    with pytest.raises(VisitError) as excinfo:
        visit_approve(
            visit=visit,
            by=manager,
            field_agents=[agents[0], UserFactory(roles=[Role.COLLECTIONS_AGENT])],
            scheduled_for=at(D, 10),
            now=at(D, 8),
        )
    assert _code(excinfo) == "not_a_field_agent"


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(8, 59, False), (9, 0, True), (12, 0, True), (19, 59, True), (20, 0, False), (23, 0, False)],
)
def test_the_visit_time_is_between_nine_and_eight_customer_local(manager, agents, hour, minute, allowed):
    visit = requested_visit(day=D)
    when = at(D, hour, minute)
    if allowed:
        visit_approve(visit=visit, by=manager, field_agents=agents, scheduled_for=when, now=at(D, 8))
    else:
        with pytest.raises(VisitError) as excinfo:
            visit_approve(visit=visit, by=manager, field_agents=agents, scheduled_for=when, now=at(D, 8))
        assert _code(excinfo) == "outside_hours"


def test_the_window_is_the_customers_own_urumqi_not_shanghai(manager, agents):
    """09:30 in Shanghai is 07:30 in Ürümqi: too early for a customer there, fine for one in Shanghai."""
    urumqi = requested_visit(day=D, timezone="Asia/Urumqi", province="新疆维吾尔自治区", city="乌鲁木齐市")
    shanghai = requested_visit(day=D)
    half_past_nine_beijing = at(D, 9, 30, zone=SHANGHAI)
    with pytest.raises(VisitError) as excinfo:
        visit_approve(
            visit=urumqi, by=manager, field_agents=agents, scheduled_for=half_past_nine_beijing, now=at(D, 8)
        )
    assert _code(excinfo) == "outside_hours"
    assert "Asia/Urumqi" in excinfo.value.message and "07:30" in excinfo.value.message
    visit_approve(
        visit=shanghai, by=manager, field_agents=agents, scheduled_for=half_past_nine_beijing, now=at(D, 8)
    )
    # 21:30 in Shanghai is 19:30 in Ürümqi: still within the customer's hours there.
    visit_approve(visit=urumqi, by=manager, field_agents=agents, scheduled_for=at(D, 21, 30), now=at(D, 8))
    assert Visit.objects.get(pk=urumqi.pk).scheduled_for.astimezone(URUMQI).hour == 19


def test_a_customer_who_has_paid_is_not_visited(manager, agents):
    visit = requested_visit(day=D)
    Installment.objects.filter(customer=visit.customer).update(status=InstallmentStatus.PAID)
    with pytest.raises(VisitError) as excinfo:
        visit_approve(visit=visit, by=manager, field_agents=agents, scheduled_for=at(D, 10), now=at(D, 8))
    assert _code(excinfo) == "paid"


def test_a_customer_with_a_pending_promise_is_not_visited(manager, agents):
    visit = requested_visit(day=D)
    Promise.objects.create(
        case=visit.case,
        customer=visit.customer,
        amount=Decimal("100.00"),
        due_date=D + datetime.timedelta(days=3),
    )
    with pytest.raises(VisitError) as excinfo:
        visit_approve(visit=visit, by=manager, field_agents=agents, scheduled_for=at(D, 10), now=at(D, 8))
    assert _code(excinfo) == "promise_pending"


def test_a_broken_promise_does_not_stop_a_visit(manager, agents):
    visit = requested_visit(day=D)
    Promise.objects.create(
        case=visit.case,
        customer=visit.customer,
        amount=Decimal("100.00"),
        due_date=D - datetime.timedelta(days=3),
        status="broken",
        decided_on=D - datetime.timedelta(days=2),
    )
    visit_approve(visit=visit, by=manager, field_agents=agents, scheduled_for=at(D, 10), now=at(D, 8))


def test_a_paid_customer_or_pending_promise_cannot_be_requested_either():
    case = visitable_case()
    Promise.objects.create(case=case, customer=case.customer, amount=Decimal("1.00"), due_date=D)
    with pytest.raises(VisitError) as excinfo:
        visit_request(case=case, by=case.assigned_agent, reason="x", proposed_date=D, now=at(D, 8))
    assert _code(excinfo) == "promise_pending"


def test_rejection_needs_a_reason_and_returns_the_case_to_contacted(manager):
    visit = requested_visit(day=D)
    with pytest.raises(VisitError):
        visit_reject(visit=visit, by=manager, reason=" ")
    visit = visit_reject(visit=visit, by=manager, reason="先电话联系紧急联系人")
    assert visit.status == VisitStatus.REJECTED and visit.decision_reason
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.CONTACTED
    assert CaseEvent.objects.filter(case=visit.case, type=CaseEventType.VISIT_REJECTED).exists()
    with pytest.raises(VisitError):
        visit_approve(
            visit=visit, by=manager, field_agents=[field_agent(), field_agent()], scheduled_for=at(D, 10)
        )


# --- At the door ------------------------------------------------------------------------------------


def test_check_in_records_time_and_position_and_its_event(agents):
    visit = scheduled_visit(day=D, agents=agents)
    visit = visit_check_in(visit=visit, by=agents[1], at=at(D, 10, 2), position=HERE)
    assert visit.status == VisitStatus.CHECKED_IN
    assert visit.check_in_by == agents[1]
    assert (visit.check_in_latitude, visit.check_in_longitude) == (
        Decimal("22.540503"),
        Decimal("113.934528"),
    )
    assert not visit.check_in_position_refused
    assert CaseEvent.objects.filter(case=visit.case, type=CaseEventType.VISIT_CHECKED_IN).exists()


def test_a_refused_position_is_recorded_as_refused(agents):
    visit = scheduled_visit(day=D, agents=agents)
    visit = visit_check_in(visit=visit, by=agents[0], at=at(D, 10), position=None)
    assert visit.check_in_position_refused and visit.check_in_latitude is None
    visit = visit_check_out(visit=visit, by=agents[0], at=at(D, 11), position=None)
    assert visit.check_out_position_refused


def test_only_the_two_assigned_field_agents_check_in(agents):
    visit = scheduled_visit(day=D, agents=agents)
    for outsider in (field_agent(), UserFactory(roles=[Role.COLLECTIONS_MANAGER])):
        with pytest.raises(VisitError) as excinfo:
            visit_check_in(visit=visit, by=outsider, at=at(D, 10), position=HERE)
        assert _code(excinfo) == "not_assigned"


@pytest.mark.parametrize(("hour", "allowed"), [(8, False), (9, True), (19, True), (20, False), (21, False)])
def test_check_in_is_refused_outside_the_hours(agents, hour, allowed):
    visit = scheduled_visit(day=D, agents=agents)
    if allowed:
        visit_check_in(visit=visit, by=agents[0], at=at(D, hour, 30 if hour == 19 else 0), position=HERE)
    else:
        with pytest.raises(VisitError) as excinfo:
            visit_check_in(visit=visit, by=agents[0], at=at(D, hour), position=HERE)
        assert _code(excinfo) == "outside_hours"
        assert Visit.objects.get(pk=visit.pk).status == VisitStatus.SCHEDULED


def test_check_in_in_urumqi_follows_the_customers_clock(agents):
    visit = scheduled_visit(day=D, agents=agents, hour=12, timezone="Asia/Urumqi")
    # 10:30 Beijing time is 08:30 in Ürümqi: too early at the customer's door.
    with pytest.raises(VisitError):
        visit_check_in(visit=visit, by=agents[0], at=at(D, 10, 30, zone=SHANGHAI), position=HERE)
    # 21:30 Beijing time is 19:30 there: still allowed.
    visit_check_in(visit=visit, by=agents[0], at=at(D, 21, 30, zone=SHANGHAI), position=HERE)


def test_check_in_is_refused_once_the_customer_has_paid_or_promised(agents):
    visit = scheduled_visit(day=D, agents=agents)
    Promise.objects.create(case=visit.case, customer=visit.customer, amount=Decimal("50.00"), due_date=D)
    with pytest.raises(VisitError) as excinfo:
        visit_check_in(visit=visit, by=agents[0], at=at(D, 10), position=HERE)
    assert _code(excinfo) == "promise_pending"
    Promise.objects.all().delete()
    Installment.objects.filter(customer=visit.customer).update(status=InstallmentStatus.PAID)
    with pytest.raises(VisitError) as excinfo:
        visit_check_in(visit=visit, by=agents[0], at=at(D, 10), position=HERE)
    assert _code(excinfo) == "paid"


def test_check_in_before_the_scheduled_day_is_refused(agents):
    visit = scheduled_visit(day=D, agents=agents)
    with pytest.raises(VisitError) as excinfo:
        visit_check_in(visit=visit, by=agents[0], at=at(D - datetime.timedelta(days=1), 10), position=HERE)
    assert _code(excinfo) == "too_early"


def test_a_position_off_the_earth_is_refused(agents):
    visit = scheduled_visit(day=D, agents=agents)
    for lat, lon in (("91", "0"), ("0", "181"), ("NaN", "1"), ("abc", "1")):
        with pytest.raises(VisitError) as excinfo:
            visit_check_in(visit=visit, by=agents[0], at=at(D, 10), position=Position.parse(lat, lon))
        assert _code(excinfo) == "bad_position"


def test_the_outcome_makes_the_visit_done_with_its_photos(agents):
    visit = scheduled_visit(day=D, agents=agents)
    visit = visit_check_in(visit=visit, by=agents[0], at=at(D, 10), position=HERE)
    visit = visit_record_outcome(
        visit=visit,
        by=agents[1],
        outcome="promise_made",
        notes="本人在家",
        photos=[photo_upload()],
        now=at(D, 10, 40),
    )
    assert visit.status == VisitStatus.DONE and visit.outcome == "promise_made"
    photo = VisitPhoto.objects.get(visit=visit)
    assert photo.content_type == "image/png" and photo.width == 40 and photo.height == 30
    assert photo.file.name.startswith(f"visits/{visit.pk}/") and photo.file.name.endswith(".png")
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.VISITED
    assert CaseEvent.objects.filter(case=visit.case, type=CaseEventType.VISIT_DONE).exists()
    visit = visit_check_out(visit=visit, by=agents[1], at=at(D, 11), position=HERE)
    assert visit.check_out_at == at(D, 11)


def test_the_outcome_needs_a_check_in_and_an_assigned_agent(agents):
    visit = scheduled_visit(day=D, agents=agents)
    with pytest.raises(VisitError) as excinfo:
        visit_record_outcome(visit=visit, by=agents[0], outcome="not_home")
    assert _code(excinfo) == "not_checked_in"
    visit = visit_check_in(visit=visit, by=agents[0], at=at(D, 10), position=HERE)
    with pytest.raises(VisitError) as excinfo:
        visit_record_outcome(visit=visit, by=field_agent(), outcome="not_home")
    assert _code(excinfo) == "not_assigned"
    with pytest.raises(VisitError):
        visit_record_outcome(visit=visit, by=agents[0], outcome="cake")


def test_a_refused_outcome_leaves_no_photo_file_behind(agents):
    visit = scheduled_visit(day=D, agents=agents)
    visit = visit_check_in(visit=visit, by=agents[0], at=at(D, 10), position=HERE)
    storage = VisitPhoto._meta.get_field("file").storage
    before = set(_files(storage))
    with pytest.raises(VisitError):
        visit_record_outcome(visit=visit, by=field_agent(), outcome="not_home", photos=[photo_upload()])
    assert set(_files(storage)) == before and not VisitPhoto.objects.exists()


def _files(storage, folder=""):
    try:
        dirs, files = storage.listdir(folder)
    except FileNotFoundError:
        return []
    found = [f"{folder}/{name}".lstrip("/") for name in files]
    for name in dirs:
        found += _files(storage, f"{folder}/{name}".lstrip("/"))
    return found


def test_the_database_refuses_the_same_agent_twice_and_self_approval():
    visit = done_visit(day=D)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(field_agent_2=visit.field_agent_1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(approved_by=visit.requested_by)
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(field_agent_2=None)
