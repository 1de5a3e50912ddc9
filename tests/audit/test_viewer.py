"""The audit trail page and its CSV export: who may see them, filters, paging, masking, queries."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import CreditLine, Customer
from accounts.roles import Role
from audit.filters import AuditEventFilterSet
from audit.models import AuditAction, AuditEvent
from audit.selectors import audit_events_visible_to
from audit.services import audit_record
from tests.audit.conftest import PHONE, assert_no_raw_numbers
from tests.conftest import login_verified
from tests.factories import CustomerFactory, UserFactory

LIST = reverse("audit:event_list")
EXPORT = reverse("audit:event_export")


def _ids(response) -> list[int]:
    return [row.record.pk for row in response.context["table"].page.object_list]


def test_the_list_shows_the_newest_first_and_pages_without_counting(verified_client, manager, customer):
    for n in range(60):
        audit_record(actor=manager, action=AuditAction.EXPORT, payload={"n": n})
    client = verified_client(manager)

    first = client.get(LIST)
    second = client.get(LIST, {"page": 2})

    assert first.status_code == second.status_code == 200
    ids = _ids(first)
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    assert max(_ids(second)) < min(ids)
    assert AuditEvent.objects.latest("created_at", "id").pk == ids[0]


def test_the_list_is_for_managers_and_operations_admins(verified_client, db):
    from accounts.roles import Role

    for role, status in [
        (Role.COLLECTIONS_MANAGER, 200),
        (Role.OPERATIONS_ADMIN, 200),
        (Role.COLLECTIONS_AGENT, 403),
        (Role.RISK_ANALYST, 403),
        (Role.FIELD_AGENT, 403),
    ]:
        client = verified_client(UserFactory(roles=[role]))
        assert client.get(LIST).status_code == status, role
        assert client.get(EXPORT).status_code == status, role


def test_the_navigation_shows_the_trail_to_those_who_may_see_it(verified_client, manager, agent):
    assert LIST in verified_client(manager).get(reverse("home")).text
    other = Client()
    login_verified(other, agent)
    assert LIST not in other.get(reverse("home")).text


def test_the_list_in_few_queries_whatever_its_length(verified_client, manager, django_assert_max_num_queries):
    customers = CustomerFactory.create_batch(30)
    for customer in customers:
        audit_record(actor=manager, action=AuditAction.PII_REVEAL, obj=customer, reason="call back")
    client = verified_client(manager)
    client.get(LIST)  # the session and the permission cache are warm from here on

    with django_assert_max_num_queries(14):
        response = client.get(LIST)
    with django_assert_max_num_queries(14):
        filtered = client.get(LIST, {"action": "pii_reveal", "object_type": _type_id(Customer)})

    assert response.status_code == filtered.status_code == 200
    assert len(_ids(filtered)) == 30


def _type_id(model) -> int:
    return ContentType.objects.get_for_model(model).pk


@pytest.fixture
def trail(db, manager, ops_admin, customer):
    """Events of two people on two objects on two days."""
    other = CustomerFactory()
    yesterday = timezone.now() - datetime.timedelta(days=1)
    events = {
        "reveal": audit_record(actor=manager, action="pii_reveal", obj=customer, reason="call back"),
        "export": audit_record(actor=ops_admin, action="export", payload={"list": "x"}),
        "old": audit_record(actor=ops_admin, action="pii_reveal", obj=other, reason="old"),
    }
    AuditEvent.objects.filter(pk=events["old"].pk).update(created_at=yesterday)
    return {"customer": customer, "other": other, **events}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"person": "manager"}, {"reveal"}),
        ({"person": "ops", "action": "pii_reveal"}, {"old"}),
        ({"action": "export"}, {"export"}),
        ({"object_type": "customer", "object_id": "other"}, {"old"}),
        ({"date_after": "yesterday", "date_before": "yesterday"}, {"old"}),
        ({"date_after": "today"}, {"reveal", "export"}),
    ],
)
def test_the_filters(verified_client, manager, trail, params, expected):
    today = timezone.localdate()
    values = {
        "customer": _type_id(Customer),
        "other": str(trail["other"].pk),
        "today": today.isoformat(),
        "yesterday": (today - datetime.timedelta(days=1)).isoformat(),
    }
    query = {name: values.get(value, value) for name, value in params.items()}
    client = verified_client(manager)

    response = client.get(LIST, query)

    wanted = {trail[name].pk for name in expected}
    mine = {e.pk for e in (trail["reveal"], trail["export"], trail["old"])}
    assert set(_ids(response)) & mine == wanted


def test_bad_filters_show_the_errors_and_no_rows(verified_client, manager, trail):
    client = verified_client(manager)

    response = client.get(LIST, {"date_after": "not-a-date", "object_type": "abc", "action": "boom"})

    assert response.status_code == 200
    assert _ids(response) == []
    errors = response.context["filter"].errors
    assert {"date", "object_type", "action"} <= set(errors)


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "0"},
        {"page": "-3"},
        {"page": str(10**20)},
        {"per_page": "0"},
        {"per_page": "-1"},
        {"per_page": str(10**9)},
        {"sort": "zzz"},
        {"date_after": "0001-01-01"},
        {"date_before": "9999-12-31"},
        {"person": "\x00"},
        {"object_id": "x" * 10000},
    ],
)
def test_hand_made_queries_are_answered(verified_client, manager, trail, query):
    assert verified_client(manager).get(LIST, query).status_code == 200


def test_the_numbers_are_masked_in_the_list_even_for_who_may_reveal_them(verified_client, manager, customer):
    customer.phone = "13900001111"
    customer.save()
    client = verified_client(manager)
    assert manager.has_perm("accounts.reveal_pii")

    page = client.get(LIST, {"object_type": _type_id(Customer)})

    assert "138****5678" in page.text and "139****1111" in page.text
    assert_no_raw_numbers(page.text)
    assert "13900001111" not in page.text


# --- Export ----------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_export_is_the_filtered_list_masked_and_itself_audited(verified_client, manager, trail):
    client = verified_client(manager)
    customer = trail["customer"]
    customer.phone = "13900001111"
    customer.save()

    response = client.get(EXPORT, {"object_type": _type_id(Customer), "object_id": str(customer.pk)})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert len(header) == 10
    assert {row[4] for row in rows} == {str(customer.pk)}
    assert any("phone: 138****5678 → 139****1111" in row[6] for row in rows)
    assert_no_raw_numbers(response.content.decode("utf-8-sig"))
    assert "13900001111" not in response.content.decode("utf-8-sig")

    export = AuditEvent.objects.filter(action=AuditAction.EXPORT, actor=manager).get()
    assert export.payload["rows"] == len(rows)
    assert export.payload["filters"] == {
        "object_type": str(_type_id(Customer)),
        "object_id": str(customer.pk),
    }
    assert export.payload["truncated"] is False


def test_the_export_never_holds_a_formula(verified_client, manager, db):
    client = Client()
    client.post(reverse("login"), {"username": "=HYPERLINK(1)", "password": "x"})

    rows = _csv(verified_client(manager).get(EXPORT, {"action": "login_failed"}))[1:]

    assert rows[0][1] == "'=HYPERLINK(1)"


def test_the_export_refuses_bad_filters(verified_client, manager, db):
    response = verified_client(manager).get(EXPORT, {"date_after": "tomorrow-ish"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


# --- Field names in the reader's language ----------------------------------------------------


@pytest.fixture
def limit_cut(db):
    """A credit line whose limit was cut from 20000.00 to 5000.00."""
    line = CustomerFactory().credit_line
    line.limit = Decimal("5000.00")
    line.save()
    return line


def _changes_cells(response) -> list[str]:
    return [str(row.get_cell("changes")) for row in response.context["table"].page.object_list]


@pytest.mark.parametrize(("language", "label"), [("zh-hans", "额度金额"), ("en", "Credit limit")])
def test_a_change_names_the_field_by_its_label_in_the_readers_language(
    verified_client, limit_cut, language, label
):
    reader = UserFactory(roles=[Role.COLLECTIONS_MANAGER], language=language)

    response = verified_client(reader).get(
        LIST, {"object_type": _type_id(CreditLine), "object_id": str(limit_cut.pk), "action": "changed"}
    )

    assert _changes_cells(response) == [f"<ul class='changes'><li>{label}: 20000.00 → 5000.00</li></ul>"]
    # What is stored stays the field's name.
    assert AuditEvent.objects.get(pk=_ids(response)[0]).changes == {"limit": ["20000.00", "5000.00"]}


def test_a_field_or_model_that_is_gone_shows_by_its_stored_name(verified_client, manager, limit_cut):
    retired = ContentType.objects.create(app_label="retired", model="scorecard")
    AuditEvent.objects.create(
        action=AuditAction.CHANGED,
        content_type=ContentType.objects.get_for_model(CreditLine),
        object_id=str(limit_cut.pk),
        changes={"risk_band": ["B", "C"], "status_reason": ["", "fraud report"]},
    )
    AuditEvent.objects.create(
        action=AuditAction.CHANGED, content_type=retired, object_id="7", changes={"cutoff": [600, 620]}
    )

    cells = _changes_cells(verified_client(manager).get(LIST, {"action": "changed"}))

    assert cells[:2] == [
        "<ul class='changes'><li>cutoff: 600 → 620</li></ul>",
        "<ul class='changes'><li>risk_band: B → C</li><li>状态原因: — → fraud report</li></ul>",
    ]


def test_the_export_keeps_the_stored_field_names_for_analysis(verified_client, manager, limit_cut):
    assert manager.language == "zh-hans"

    response = verified_client(manager).get(
        EXPORT, {"object_type": _type_id(CreditLine), "object_id": str(limit_cut.pk), "action": "changed"}
    )

    [row] = _csv(response)[1:]
    assert (row[3], row[6]) == ("creditline", "limit: 20000.00 → 5000.00")


# --- Any input to the filters ----------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=300)
_filter_data = st.fixed_dictionaries(
    {},
    optional={
        "person": _text,
        "object_type": st.one_of(_text, st.integers().map(str)),
        "object_id": _text,
        "action": st.one_of(_text, st.sampled_from(AuditAction.values)),
        "date_after": st.one_of(_text, st.dates().map(str)),
        "date_before": st.one_of(_text, st.dates().map(str)),
        "page": st.one_of(_text, st.integers().map(str)),
    },
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_filter_data)
def test_any_filter_input_is_a_valid_query_or_a_form_error(manager, data):
    AuditEvent.objects.get_or_create(action=AuditAction.LOGIN, actor_username=PHONE[:3])
    filterset = AuditEventFilterSet(data, queryset=audit_events_visible_to(user=manager), request=None)

    if filterset.is_valid():
        list(filterset.qs[:5])
    else:
        assert filterset.errors
