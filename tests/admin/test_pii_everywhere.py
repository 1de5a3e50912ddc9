"""No page of the console shows a customer's full phone number or national id, to anyone.

The pages are not listed here: every URL the resolver knows (tests/audit/site_map.py), every
admin history version, every admin search and every admin autocomplete field is requested
as each principal, a superuser and a staff user of each role included. The only way to the
full value is the audited reveal page (audit.views.pii_reveal), after a reason is given.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib import admin
from django.template import Template
from django.test import Client
from django.urls import reverse

from accounts.models import Customer, EmergencyContact
from accounts.roles import Role
from audit.models import AuditAction, AuditEvent
from bnpl_admin.access import ANONYMOUS
from reminders.models import OutboxMessage, Reminder
from tests.audit.site_map import build_site_data, discover, sample_value, targets
from tests.conftest import login_verified
from tests.factories import CustomerFactory, EmergencyContactFactory, UserFactory

PHONE, MASKED_PHONE = "13812345678", "138****5678"
OLD_PHONE = "13700001111"
NATIONAL_ID, MASKED_ID = "110101199001011234", "110***********1234"
OLD_NATIONAL_ID = "11010119800101999X"
CONTACT_PHONE, MASKED_CONTACT_PHONE = "13987654321", "139****4321"
OLD_CONTACT_PHONE = "13622223333"


@pytest.fixture
def fast_pages(monkeypatch):
    """Hundreds of pages: skip the test client's copy of every template context (the bodies
    are still rendered in full) and the log line of each expected 403 and 404."""
    monkeypatch.setattr(Template, "_render", lambda self, context: self.nodelist.render(context))
    monkeypatch.setattr(logging.getLogger("django.request"), "level", logging.ERROR)


def _variants(value: str) -> set[str]:
    """A number as it may be written on a page: raw, grouped by spaces or dashes, x or X."""
    out = {value, value.lower(), value.upper()}
    # A mobile number as 138 1234 5678; a national id as region, birth date, sequence.
    mobile = len(value) == 11
    parts = (value[:3], value[3:7], value[7:]) if mobile else (value[:6], value[6:14], value[14:])
    for sep in (" ", "-", "&nbsp;"):
        out.add(sep.join(parts))
    return out


def _secrets() -> set[str]:
    """Every full number the database holds or ever held, in each way it may be written."""
    values: set[str] = set()
    for model, fields in ((Customer, ("phone", "national_id")), (EmergencyContact, ("phone",))):
        for row in model.history.values_list(*fields):
            values.update(v for v in row if v)
    values.update(Reminder.objects.filter(channel="sms").values_list("recipient", flat=True))
    values.update(OutboxMessage.objects.filter(channel="sms").values_list("recipient", flat=True))
    return {variant for value in values if len(value) >= 11 for variant in _variants(value)}


@pytest.fixture
def site(db):
    data = build_site_data()
    # One customer and one contact with known numbers, each changed once, so every history
    # page has an old and a new value to show.
    customer = CustomerFactory(phone=OLD_PHONE, national_id=OLD_NATIONAL_ID)
    customer.phone, customer.national_id = PHONE, NATIONAL_ID
    customer.save()
    contact = EmergencyContactFactory(customer=customer, phone=OLD_CONTACT_PHONE)
    contact.phone = CONTACT_PHONE
    contact.save()
    data.objects[Customer], data.objects[EmergencyContact] = customer, contact
    # Staff users of every role (only operations admins are staff by default: the others
    # would see the admin if someone ticked the box), next to the principals of the matrix.
    principals = dict(data.users)
    for role in Role:
        user = UserFactory(username=f"pii_{role.name.lower()}", is_staff=True, roles=[role])
        principals[f"staff {role}"] = user
    return data, principals


def _clients(principals):
    for name in (ANONYMOUS, *principals):
        client = Client()
        if name != ANONYMOUS:
            login_verified(client, principals[name])
        yield name, client


def _normal(number: str) -> str:
    return re.sub(r"\s|-|&nbsp;", "", number).upper()


def _leaks(path: str, response, secrets: set[str]) -> list[str]:
    """The full numbers a response shows, other than one the request itself carried: a search
    box, a sign-in page's `next` or a search link shows back what the visitor typed."""
    typed = {_normal(value) for values in parse_qs(urlsplit(path).query).values() for value in values}
    # A file (a visit's photo) streams: read what it streams.
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace") + " " + response.get("Location", "")
    return sorted(s for s in secrets if s in text and _normal(s) not in typed)


def _history_pages() -> list[str]:
    """Every version of every customer and contact: the old values are on these pages."""
    pages = []
    for model in (Customer, EmergencyContact):
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}_simple_history"
        for object_id, version_id in model.history.values_list("id", "history_id"):
            pages.append(reverse(name, args=[object_id, version_id]))
    return pages


def _search_terms() -> list[str]:
    # Full numbers, and parts of them (which must not work as an oracle either).
    return [PHONE, NATIONAL_ID, CONTACT_PHONE, OLD_PHONE, PHONE[:7], PHONE[-4:], NATIONAL_ID[:6]]


def _search_pages() -> list[str]:
    pages = []
    for model, model_admin in admin.site._registry.items():
        if not model_admin.search_fields:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        pages += [f"{url}?{urlencode({'q': term})}" for term in _search_terms()]
    return pages


def _autocomplete_pages() -> list[str]:
    pages = []
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            for term in ["", *_search_terms()]:
                query = {
                    "app_label": model._meta.app_label,
                    "model_name": model._meta.model_name,
                    "field_name": field_name,
                    "term": term,
                }
                pages.append(f"{reverse('admin:autocomplete')}?{urlencode(query)}")
    return pages


def test_no_page_shows_a_full_number_to_anyone(site, fast_pages):
    data, principals = site
    secrets = _secrets()
    assert {PHONE, NATIONAL_ID, CONTACT_PHONE, OLD_PHONE, "138 1234 5678"} <= secrets
    pages = [target.path for target in targets(discover(), sample_value(data))]
    pages += _history_pages() + _search_pages() + _autocomplete_pages()

    leaks, seen = [], set()
    for principal, client in _clients(principals):
        for path in pages:
            response = client.get(path, follow=True)
            if response.status_code == 200:
                seen.add((principal, path.split("?")[0]))
            found = _leaks(path, response, secrets)
            if found:
                leaks.append(f"as {principal}: GET {path} shows {', '.join(found)}")

    assert not leaks, f"{len(leaks)} pages show full numbers:\n" + "\n".join(leaks)
    # The walk reached the pages that hold the numbers, masked, for those who may see them.
    customer = data.objects[Customer]
    for principal in ("superuser", str(Role.OPERATIONS_ADMIN), f"staff {Role.COLLECTIONS_AGENT}"):
        for name, args in (
            ("accounts_customer_changelist", []),
            ("accounts_customer_change", [customer.pk]),
            ("accounts_customer_history", [customer.pk]),
            ("accounts_emergencycontact_changelist", []),
        ):
            assert (principal, reverse(f"admin:{name}", args=args)) in seen, (principal, name)


@pytest.mark.parametrize("principal", ["superuser", str(Role.OPERATIONS_ADMIN)])
def test_the_numbers_are_masked_where_they_are_shown(site, principal):
    data, principals = site
    customer, contact = data.objects[Customer], data.objects[EmergencyContact]
    client = Client()
    login_verified(client, principals[principal])

    customers = client.get(reverse("admin:accounts_customer_changelist")).text
    page = client.get(reverse("admin:accounts_customer_change", args=[customer.pk])).text
    history = client.get(reverse("admin:accounts_customer_history", args=[customer.pk])).text
    contacts = client.get(reverse("admin:accounts_emergencycontact_changelist")).text

    assert MASKED_PHONE in customers and MASKED_ID in customers
    assert MASKED_PHONE in page and MASKED_ID in page and MASKED_CONTACT_PHONE in page
    assert "137****1111" in history and MASKED_PHONE in history  # old → new, masked
    assert MASKED_CONTACT_PHONE in contacts
    # The change page links each number to the audited reveal.
    for obj, field in ((customer, "phone"), (customer, "national_id"), (contact, "phone")):
        reveal = reverse("audit:reveal", args=[obj._meta.app_label, obj._meta.model_name, obj.pk, field])
        assert reveal in page, field


@pytest.mark.parametrize("principal", ["superuser", str(Role.OPERATIONS_ADMIN)])
@pytest.mark.parametrize(
    ("changelist", "term", "field"),
    [
        ("accounts_customer_changelist", PHONE, "phone"),
        ("accounts_customer_changelist", NATIONAL_ID, "national_id"),
        ("accounts_emergencycontact_changelist", CONTACT_PHONE, "phone"),
    ],
)
def test_a_search_by_a_full_number_finds_it_and_is_recorded_as_a_reveal(
    site, principal, changelist, term, field
):
    data, principals = site
    user = principals[principal]
    client = Client()
    login_verified(client, user)

    response = client.get(reverse(f"admin:{changelist}"), {"q": term}, follow=True)

    assert response.status_code == 200
    # The search box shows back what was typed; the row found shows its numbers masked.
    others = {PHONE, NATIONAL_ID, CONTACT_PHONE} - {term}
    assert not [number for number in others if number in response.text]
    obj = data.objects[Customer if "customer" in changelist else EmergencyContact]
    assert [row.pk for row in response.context["cl"].result_list] == [obj.pk]
    event = AuditEvent.objects.get(action=AuditAction.PII_REVEAL)
    assert (event.actor, event.object_id, event.reason) == (user, str(obj.pk), "search")
    assert event.payload["field"] == field
    assert term not in str(event.payload) + event.object_repr

    # Part of a number is no search on it: it finds nobody by the number and reveals nothing.
    for part in (term[:7], term[-4:], term[:-1]):
        response = client.get(reverse(f"admin:{changelist}"), {"q": part})
        assert obj not in response.context["cl"].result_list
    assert AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).count() == 1


def test_an_autocomplete_by_a_full_number_is_recorded_as_a_reveal(site):
    data, principals = site
    customer = data.objects[Customer]
    client = Client()
    login_verified(client, principals["superuser"])
    query = {"app_label": "accounts", "model_name": "creditline", "field_name": "customer", "term": PHONE}

    response = client.get(reverse("admin:autocomplete"), query)

    assert [r["id"] for r in response.json()["results"]] == [str(customer.pk)]
    assert PHONE not in response.text
    event = AuditEvent.objects.get(action=AuditAction.PII_REVEAL)
    assert (event.object_id, event.reason) == (str(customer.pk), "search")


PII_FIELD_NAMES = {"phone", "national_id", "recipient"}


def _pii_lookups() -> list[tuple[str, str]]:
    """Every lookup on a personal data field of every admin's model, as a query string would
    name it: exact (a search that bypasses the record) and partial (an oracle, digit by digit)."""
    out = []
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for field in model._meta.concrete_fields:
            paths = [field.name] if field.name in PII_FIELD_NAMES else []
            if field.many_to_one and field.related_model is Customer:
                paths += [f"{field.name}__{name}" for name in ("phone", "national_id")]
            out += [(url, f"{path}{suffix}") for path in paths for suffix in ("", "__startswith", "__regex")]
    return out


def test_the_numbers_are_not_filters_in_the_address(site):
    """A lookup in the query string would bypass the audited search, or answer digit by digit."""
    _data, principals = site
    client = Client()
    login_verified(client, principals["superuser"])
    lookups = _pii_lookups()
    assert ("/admin/reminders/reminder/", "recipient__startswith") in lookups

    answers = {(url, lookup): client.get(url, {lookup: PHONE[:3]}).status_code for url, lookup in lookups}

    assert {key: status for key, status in answers.items() if status != 400} == {}
