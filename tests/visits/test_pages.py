"""The pages of home visits: who sees what (row level: another field agent's visit is a 404, the
address only for the visit's own field agents), the steps at the door through the browser's
forms, the photo door, the managers' decision, the case action, and their query counts."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.roles import Role
from bnpl_admin.dates import business_date
from collection.case_actions import case_actions_for
from collection.models import Bucket, CaseStatus, CollectionCase
from tests.conftest import login_verified
from tests.factories import UserFactory
from visits.models import Visit, VisitPhoto, VisitStatus

from .builders import (
    at,
    done_visit,
    field_agent,
    photo_upload,
    png_bytes,
    requested_visit,
    scheduled_visit,
    visitable_case,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return business_date()


@pytest.fixture
def pair():
    return field_agent("walker-a", first_name="大伟", last_name="张"), field_agent("walker-b")


def _client(client, user):
    login_verified(client, user)
    return client


# --- Row level ------------------------------------------------------------------------------------


def test_my_visits_today_shows_my_visits_with_their_addresses_and_no_one_elses(client, today, pair):
    mine = scheduled_visit(day=today, agents=pair, street="科技园路1号")
    theirs = scheduled_visit(day=today, street="深南大道9号")
    tomorrow = scheduled_visit(day=today + datetime.timedelta(days=1), agents=pair, street="明天路3号")
    html = _client(client, pair[0]).get(reverse("visits:today")).content.decode()
    assert reverse("visits:detail", args=[mine.pk]) in html and "科技园路1号" in html
    assert reverse("visits:detail", args=[theirs.pk]) not in html and "深南大道9号" not in html
    assert "明天路3号" not in html and reverse("visits:detail", args=[tomorrow.pk]) not in html


def test_another_field_agents_visit_is_a_404(client, today, pair):
    theirs = done_visit(day=today)
    client = _client(client, pair[0])
    assert client.get(reverse("visits:detail", args=[theirs.pk])).status_code == 404
    photo = theirs.photos.get()
    assert client.get(reverse("visits:photo", args=[photo.pk])).status_code == 404
    for name in ("visits:check_in", "visits:check_out", "visits:outcome"):
        assert client.post(reverse(name, args=[theirs.pk])).status_code == 404


def test_the_address_is_shown_to_the_visits_own_agents_and_masked_for_managers(client, today, pair):
    visit = scheduled_visit(day=today, agents=pair, street="科技园路1号")
    html = _client(client, pair[1]).get(reverse("visits:detail", args=[visit.pk])).content.decode()
    assert "科技园路1号" in html
    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    html = _client(client, manager).get(reverse("visits:detail", args=[visit.pk])).content.decode()
    assert "科技园路1号" not in html and "南山区" not in html and "深圳市 ****" in html
    listing = client.get(reverse("visits:requested")).content.decode()
    assert "科技园路1号" not in listing


def test_a_field_agent_sees_the_cases_of_their_visits_only(today, pair):
    visit = scheduled_visit(day=today, agents=pair)
    scheduled_visit(day=today)
    assigned_to_them = visitable_case(agent=pair[0])
    seen = set(CollectionCase.objects.visible_to(pair[0]))
    assert seen == {visit.case}
    assert assigned_to_them not in seen


def test_roles_without_visit_permissions_are_refused(client, today):
    visit = done_visit(day=today)
    photo = visit.photos.get()
    for role in (Role.COLLECTIONS_AGENT, Role.RISK_ANALYST):
        client = _client(client, UserFactory(roles=[role]))
        assert client.get(reverse("visits:detail", args=[visit.pk])).status_code == 403
        assert client.get(reverse("visits:photo", args=[photo.pk])).status_code == 403
        assert client.get(reverse("visits:today")).status_code == 403
        assert client.get(reverse("visits:requested")).status_code == 403
    ops = UserFactory(roles=[Role.OPERATIONS_ADMIN], is_staff=True)
    assert _client(client, ops).get(reverse("visits:photo", args=[photo.pk])).status_code == 403


# --- The photo door ---------------------------------------------------------------------------------


def test_a_photo_is_served_inline_unsniffed_uncached_to_its_agents_and_managers(client, today, pair):
    visit = done_visit(day=today, agents=pair)
    photo = visit.photos.get()
    for user in (pair[0], pair[1], UserFactory(roles=[Role.COLLECTIONS_MANAGER])):
        response = _client(client, user).get(reverse("visits:photo", args=[photo.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("inline;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response["Cache-Control"]
        assert b"".join(response.streaming_content) == photo.file.open("rb").read()


def test_a_photo_has_no_public_url(today):
    photo = done_visit(day=today).photos.get()
    with pytest.raises(ValueError):
        photo.file.url  # noqa: B018


# --- At the door, through the forms ------------------------------------------------------------------


def _position(**extra):
    return {"latitude": "22.540503", "longitude": "113.934528", "accuracy": "12.5", **extra}


def test_check_in_then_outcome_with_a_photo_then_check_out(client, today, pair):
    visit = scheduled_visit(day=today, agents=pair)
    with time_machine.travel(at(today, 10, 30), tick=False):
        client = _client(client, pair[0])  # signed in at that hour: the session's clock travels too
        response = client.post(reverse("visits:check_in", args=[visit.pk]), _position())
        assert response.status_code == 302
        visit.refresh_from_db()
        assert visit.status == VisitStatus.CHECKED_IN and visit.check_in_latitude == Decimal("22.540503")
        response = client.post(
            reverse("visits:outcome", args=[visit.pk]),
            {"outcome": "met_debtor", "notes": "见到本人", "photos": [photo_upload(), photo_upload("b.png")]},
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        response = client.post(reverse("visits:check_out", args=[visit.pk]), {"refused": "1"})
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DONE and visit.photos.count() == 2
    assert visit.check_out_position_refused
    assert CollectionCase.objects.get(pk=visit.case_id).status == CaseStatus.VISITED


def test_check_in_outside_the_hours_is_refused_with_its_reason_on_the_page(client, today, pair):
    visit = scheduled_visit(day=today, agents=pair)
    with time_machine.travel(at(today, 21, 0), tick=False):
        client = _client(client, pair[0])
        response = client.post(reverse("visits:check_in", args=[visit.pk]), _position(), follow=True)
    assert response.status_code == 200
    assert "20:00" in response.content.decode()
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.SCHEDULED


def test_a_refused_position_through_the_form_is_recorded_as_refused(client, today, pair):
    visit = scheduled_visit(day=today, agents=pair)
    with time_machine.travel(at(today, 11), tick=False):
        _client(client, pair[1]).post(reverse("visits:check_in", args=[visit.pk]), {"refused": "1"})
    visit.refresh_from_db()
    assert visit.check_in_position_refused and visit.check_in_by == pair[1]


def test_a_bad_photo_is_a_form_error_not_a_500_and_nothing_is_kept(client, today, pair):
    visit = scheduled_visit(day=today, agents=pair)
    with time_machine.travel(at(today, 10, 30), tick=False):
        client = _client(client, pair[0])
        client.post(reverse("visits:check_in", args=[visit.pk]), _position())
        fake = photo_upload("evil.jpg", content=b"not an image at all", content_type="image/jpeg")
        response = client.post(
            reverse("visits:outcome", args=[visit.pk]), {"outcome": "not_home", "photos": [fake]}
        )
    assert response.status_code == 422
    assert "evil.jpg" in response.content.decode()
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.CHECKED_IN
    assert not VisitPhoto.objects.exists()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    data=st.dictionaries(
        st.sampled_from(["latitude", "longitude", "accuracy", "refused"]),
        st.one_of(st.text(max_size=30), st.sampled_from(["NaN", "1e400", "-91", "181", "Infinity", "0x10"])),
    )
)
def test_any_position_input_is_a_check_in_or_a_message_never_a_500(data):
    from django.test import Client

    today = business_date()
    visit = Visit.objects.filter(status=VisitStatus.SCHEDULED).first() or scheduled_visit(day=today)
    with time_machine.travel(at(today, 10, 30), tick=False):
        client = Client()
        login_verified(client, visit.field_agent_1)
        response = client.post(reverse("visits:check_in", args=[visit.pk]), data)
    assert response.status_code == 302
    Visit.objects.filter(pk=visit.pk).update(
        status=VisitStatus.SCHEDULED,
        check_in_at=None,
        check_in_by=None,
        check_in_latitude=None,
        check_in_longitude=None,
        check_in_accuracy=None,
        check_in_position_refused=False,
    )


# --- Managers -----------------------------------------------------------------------------------------


def test_a_manager_approves_a_request_on_its_page(client, today, pair):
    visit = requested_visit(day=today + datetime.timedelta(days=1))
    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    client = _client(client, manager)
    page = client.get(reverse("visits:decide", args=[visit.pk]))
    assert page.status_code == 200
    response = client.post(
        reverse("visits:decide", args=[visit.pk]),
        {
            "action": "approve",
            "field_agent_1": pair[0].pk,
            "field_agent_2": pair[1].pk,
            "date": (today + datetime.timedelta(days=1)).isoformat(),
            "time": "10:30",
        },
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == VisitStatus.SCHEDULED and visit.approved_by == manager


def test_a_manager_sees_the_rule_when_the_time_is_outside_the_hours(client, today, pair):
    visit = requested_visit(day=today + datetime.timedelta(days=1), timezone="Asia/Urumqi")
    client = _client(client, UserFactory(roles=[Role.COLLECTIONS_MANAGER]))
    response = client.post(
        reverse("visits:decide", args=[visit.pk]),
        {
            "action": "approve",
            "field_agent_1": pair[0].pk,
            "field_agent_2": pair[0].pk,
            "date": (today + datetime.timedelta(days=1)).isoformat(),
            "time": "08:30",
        },
    )
    assert response.status_code == 200
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.REQUESTED
    response = client.post(
        reverse("visits:decide", args=[visit.pk]),
        {
            "action": "approve",
            "field_agent_1": pair[0].pk,
            "field_agent_2": pair[1].pk,
            "date": (today + datetime.timedelta(days=1)).isoformat(),
            "time": "08:30",
        },
    )
    assert "Asia/Urumqi" in response.content.decode()


def test_a_managers_own_request_cannot_be_approved_on_the_page(client, today, pair):
    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    visit = requested_visit(day=today, requester=manager)
    client = _client(client, manager)
    html = client.get(reverse("visits:decide", args=[visit.pk])).content.decode()
    assert 'value="approve"' not in html
    client.post(
        reverse("visits:decide", args=[visit.pk]),
        {"action": "reject", "reason": "mine"},
    )
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.REQUESTED


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    data=st.dictionaries(
        st.sampled_from(["action", "field_agent_1", "field_agent_2", "date", "time", "note", "reason"]),
        st.one_of(
            st.text(max_size=40),
            st.integers(-(10**20), 10**20).map(str),
            st.sampled_from(["approve", "reject", "0001-01-01", "9999-12-31", "24:00", "\x00"]),
        ),
    )
)
def test_any_decision_input_is_a_page_or_a_form_error(data):
    from django.test import Client

    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    visit = Visit.objects.filter(status=VisitStatus.REQUESTED).first() or requested_visit(day=business_date())
    client = Client()
    login_verified(client, manager)
    response = client.post(reverse("visits:decide", args=[visit.pk]), data)
    assert response.status_code in (200, 302)


# --- The case action -----------------------------------------------------------------------------------


def test_the_case_action_is_offered_on_eligible_cases_only():
    case = visitable_case()
    early = visitable_case(agent=case.assigned_agent, bucket=Bucket.M1, dpd=10)
    assert "visit_request" in [a.key for a, _url in case_actions_for(user=case.assigned_agent, case=case)]
    assert "visit_request" not in [
        a.key for a, _url in case_actions_for(user=case.assigned_agent, case=early)
    ]
    assert "visit_request" not in [a.key for a, _url in case_actions_for(user=field_agent(), case=case)]


def test_the_case_action_requests_a_visit_with_htmx(client, today):
    case = visitable_case()
    client = _client(client, case.assigned_agent)
    url = reverse("visits:request", args=[case.pk])
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
    assert "<html" in client.get(url).content.decode()
    refused = client.post(url, {"reason": "", "proposed_date": "x"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422
    response = client.post(
        url, {"reason": "失联30天", "proposed_date": today.isoformat()}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response["HX-Redirect"] == reverse(
        "collections:case_detail", args=[case.pk]
    )
    assert Visit.objects.get(case=case).status == VisitStatus.REQUESTED


def test_the_case_action_on_another_teams_case_is_a_404(client):
    case = visitable_case()
    client = _client(client, UserFactory(roles=[Role.COLLECTIONS_AGENT]))
    assert client.get(reverse("visits:request", args=[case.pk])).status_code == 404


# --- Query counts -------------------------------------------------------------------------------------


def test_my_visits_today_reads_a_fixed_number_of_queries(client, today, pair, django_assert_max_num_queries):
    client = _client(client, pair[0])
    scheduled_visit(day=today, agents=pair)
    client.get(reverse("visits:today"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("visits:today"))
    for _ in range(6):
        scheduled_visit(day=today, agents=pair)
    with django_assert_max_num_queries(len(few)):
        response = client.get(reverse("visits:today"))
    assert response.content.decode().count('class="visit-card"') == 7


def test_the_visit_page_reads_a_fixed_number_of_queries(client, today, pair, django_assert_max_num_queries):
    visit = done_visit(day=today, agents=pair, photos=[photo_upload(), photo_upload(), photo_upload()])
    client = _client(client, pair[0])
    client.get(reverse("visits:detail", args=[visit.pk]))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("visits:detail", args=[visit.pk]))
    assert response.content.decode().count("<img ") == 3


def test_the_decision_page_reads_a_fixed_number_of_queries(client, today, django_assert_max_num_queries):
    visit = requested_visit(day=today)
    client = _client(client, UserFactory(roles=[Role.COLLECTIONS_MANAGER]))
    client.get(reverse("visits:decide", args=[visit.pk]))
    with django_assert_max_num_queries(14):
        assert client.get(reverse("visits:decide", args=[visit.pk])).status_code == 200


def test_png_bytes_is_a_real_png():
    assert png_bytes().startswith(b"\x89PNG")


def test_htmx_swaps_a_refused_forms_errors_in(client):
    """A form refused by validation answers 422 with its errors; htmx swaps no 4xx by default, so
    the page's htmx configuration must name 422 as a response to swap, before the 4xx rule."""
    import json
    import re

    case = visitable_case()
    html = _client(client, case.assigned_agent).get(reverse("collections:case_detail", args=[case.pk]))
    found = re.findall(r'<meta name="htmx-config" content=\'([^\']+)\'>', html.content.decode())
    assert len(found) == 1, "htmx reads only the first htmx-config of a page: exactly one, in base.html"
    config = json.loads(found[0])
    assert config["includeIndicatorStyles"] is False  # an inline style breaks the content security policy
    rules = config["responseHandling"]
    first = next(rule for rule in rules if re.fullmatch(rule["code"].replace(".", r"\d"), "422"))
    assert first["swap"] is True
