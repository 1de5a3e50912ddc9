"""Revealing a phone number or an identity number: a reason, a permission, a record in the trail."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditAction, AuditEvent
from audit.services import pii_reveal
from bnpl_admin.errors import DomainError
from tests.audit.conftest import CONTACT_PHONE, MASKED_ID, MASKED_PHONE, NATIONAL_ID, PHONE


def _url(obj, field: str) -> str:
    return reverse("audit:reveal", args=[obj._meta.app_label, obj._meta.model_name, obj.pk, field])


def test_the_page_asks_for_a_reason_and_shows_only_the_masked_number(verified_client, manager, customer):
    response = verified_client(manager).get(_url(customer, "phone"))

    assert response.status_code == 200
    assert MASKED_PHONE in response.text and PHONE not in response.text
    assert 'name="reason"' in response.text
    assert not AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).exists()
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(("field", "raw"), [("phone", PHONE), ("national_id", NATIONAL_ID)])
def test_a_reveal_with_a_reason_shows_the_number_and_is_recorded(
    verified_client, manager, customer, field, raw
):
    response = verified_client(manager).post(
        _url(customer, field), {"reason": "  客户来电要求回拨  "}, REMOTE_ADDR="10.0.0.8"
    )

    assert response.status_code == 200
    assert raw in response.text
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action=AuditAction.PII_REVEAL)
    assert (event.actor, event.object_id, event.reason) == (manager, str(customer.pk), "客户来电要求回拨")
    assert event.payload == {"field": field}
    assert event.ip_address == "10.0.0.8"
    assert raw not in str(event.changes) + str(event.payload) + event.reason + event.object_repr


def test_an_emergency_contact_phone_can_be_revealed(verified_client, ops_admin, customer):
    contact = customer.emergency_contacts.get()

    response = verified_client(ops_admin).post(
        _url(contact, "phone"), {"reason": "debtor unreachable 7 days"}
    )

    assert CONTACT_PHONE in response.text
    assert AuditEvent.objects.get(action=AuditAction.PII_REVEAL).object_id == str(contact.pk)


def test_without_a_reason_nothing_is_revealed_or_recorded(verified_client, manager, customer):
    client = verified_client(manager)
    for data in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": "a\x00b"}):
        response = client.post(_url(customer, "national_id"), data)
        assert response.status_code == 200
        assert NATIONAL_ID not in response.text and MASKED_ID in response.text
        assert response.context["form"].errors
    assert not AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).exists()


def test_an_agent_may_not_reveal(verified_client, agent, customer):
    response = verified_client(agent).post(_url(customer, "phone"), {"reason": "curious"})

    assert response.status_code == 403
    assert PHONE not in response.text
    assert not AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).exists()


@pytest.mark.parametrize(
    "args",
    [
        ("accounts", "customer", "{pk}", "name"),
        ("accounts", "customer", "{pk}", "street"),
        ("accounts", "emergencycontact", "{pk}", "national_id"),
        ("accounts", "user", "{pk}", "password"),
        ("orders", "order", "{pk}", "phone"),
        ("nosuchapp", "customer", "{pk}", "phone"),
        ("accounts", "customer", "999999999", "phone"),
        ("accounts", "customer", str(10**30), "phone"),
    ],
)
def test_only_the_declared_fields_of_existing_rows(verified_client, manager, customer, args):
    path = "/audit/reveal/{}/{}/{}/{}/".format(*(a.format(pk=customer.pk) for a in args))

    response = verified_client(manager).post(path, {"reason": "test"})

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).exists()


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reason=st.text(max_size=600))
def test_any_reason_is_a_reveal_or_a_form_error(verified_client, manager, customer, reason):
    before = AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).count()

    response = verified_client(manager).post(_url(customer, "phone"), {"reason": reason})

    assert response.status_code == 200
    revealed = AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).count() - before
    valid = bool(reason.strip()) and len(reason.strip()) <= 500 and "\x00" not in reason
    assert revealed == (1 if valid else 0)
    assert (PHONE in response.text) == valid


@pytest.mark.parametrize(
    ("who", "field", "reason", "code"),
    [
        ("agent", "phone", "call back", "not_allowed"),
        ("manager", "phone", "   ", "reason_required"),
        ("manager", "name", "call back", "not_revealable"),
    ],
)
def test_the_service_refuses_without_permission_reason_or_a_declared_field(
    request, customer, who, field, reason, code
):
    user = request.getfixturevalue(who)

    with pytest.raises(DomainError) as refused:
        pii_reveal(user=user, obj=customer, field=field, reason=reason)

    assert refused.value.code == code
    assert not AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).exists()
