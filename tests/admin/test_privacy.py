"""Phone numbers and national ids are masked in the admin for everyone; who may reveal them may
also replace them through a write-only input."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from tests.conftest import login_verified
from tests.factories import CustomerFactory, EmergencyContactFactory, UserFactory

PHONE, MASKED_PHONE = "13812345678", "138****5678"
NATIONAL_ID, MASKED_ID = "110101199001011234", "110***********1234"
CONTACT_PHONE, MASKED_CONTACT_PHONE = "13987654321", "139****4321"


@pytest.fixture
def customer(db):
    customer = CustomerFactory(phone=PHONE, national_id=NATIONAL_ID)
    EmergencyContactFactory(customer=customer, phone=CONTACT_PHONE)
    return customer


@pytest.fixture
def agent(db):
    """Like a collections agent: staff, may view customers and contacts, may not reveal."""
    user = UserFactory(roles=[Role.COLLECTIONS_AGENT], is_staff=True)
    assert user.has_perm("accounts.view_customer") and not user.has_perm("accounts.reveal_pii")
    return user


@pytest.fixture
def ops_admin(db):
    return UserFactory(roles=[Role.OPERATIONS_ADMIN], is_staff=True)


def _assert_masked(text: str) -> None:
    for raw in (PHONE, NATIONAL_ID, CONTACT_PHONE):
        assert raw not in text


def test_agent_sees_masked_numbers_in_the_lists(client, agent, customer):
    login_verified(client, agent)

    customers = client.get(reverse("admin:accounts_customer_changelist"))
    contacts = client.get(reverse("admin:accounts_emergencycontact_changelist"))

    assert customers.status_code == contacts.status_code == 200
    assert MASKED_PHONE in customers.text and MASKED_ID in customers.text
    assert MASKED_CONTACT_PHONE in contacts.text
    _assert_masked(customers.text)
    _assert_masked(contacts.text)


def test_agent_never_sees_the_raw_numbers_on_the_customer_page(client, agent, customer):
    login_verified(client, agent)
    contact = customer.emergency_contacts.get()

    pages = [
        client.get(reverse("admin:accounts_customer_change", args=[customer.pk])),
        client.get(reverse("admin:accounts_emergencycontact_change", args=[contact.pk])),
    ]

    assert [p.status_code for p in pages] == [200, 200]
    assert MASKED_PHONE in pages[0].text and MASKED_ID in pages[0].text
    assert MASKED_CONTACT_PHONE in pages[0].text  # the inline of contacts
    assert MASKED_CONTACT_PHONE in pages[1].text
    for page in pages:
        _assert_masked(page.text)


def test_history_shows_changed_numbers_masked(client, agent, customer):
    customer.phone = "13800001111"
    customer.national_id = "11010119900101999X"
    customer.save()
    login_verified(client, agent)
    first_version = customer.history.earliest()

    history = client.get(reverse("admin:accounts_customer_history", args=[customer.pk]))
    old_version = client.get(
        reverse("admin:accounts_customer_simple_history", args=[customer.pk, first_version.pk])
    )

    assert history.status_code == old_version.status_code == 200
    # The change is visible, as masked old → new values.
    assert MASKED_PHONE in history.text and "138****1111" in history.text
    assert MASKED_ID in history.text and "110***********999X" in history.text
    assert MASKED_PHONE in old_version.text
    for page in (history, old_version):
        _assert_masked(page.text)
        assert "13800001111" not in page.text and "11010119900101999X" not in page.text


def test_agent_cannot_search_or_filter_on_the_numbers(client, agent, customer):
    login_verified(client, agent)
    url = reverse("admin:accounts_customer_changelist")

    by_id = client.get(url, {"q": NATIONAL_ID})
    by_phone = client.get(url, {"q": PHONE})
    by_name = client.get(url, {"q": customer.platform_user_id})

    assert by_id.context["cl"].result_count == 0
    assert by_phone.context["cl"].result_count == 0
    assert by_name.context["cl"].result_count == 1
    # A lookup in the address would answer yes or no about each digit.
    assert client.get(url, {"national_id__startswith": "110"}).status_code == 400
    assert client.get(url, {"phone__startswith": "138"}).status_code == 400
    contacts = reverse("admin:accounts_emergencycontact_changelist")
    assert client.get(contacts, {"phone__startswith": "139"}).status_code == 400


def _form_data(page) -> dict:
    """What the change page would post back unchanged: its form and its inline formsets."""
    data = {}
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
        forms += list(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if hasattr(value, "hour"):  # a date and time, posted as two inputs
                data[f"{form.add_prefix(name)}_0"] = value.strftime("%Y-%m-%d")
                data[f"{form.add_prefix(name)}_1"] = value.strftime("%H:%M:%S")
            elif value is not None:
                data[form.add_prefix(name)] = value
    return data


def test_operations_admin_sees_the_numbers_masked_and_may_only_reveal_them(client, ops_admin, customer):
    login_verified(client, ops_admin)

    changelist = client.get(reverse("admin:accounts_customer_changelist"))
    page = client.get(reverse("admin:accounts_customer_change", args=[customer.pk]))

    for response in (changelist, page):
        assert MASKED_PHONE in response.text and MASKED_ID in response.text
        _assert_masked(response.text)
    form = page.context["adminform"].form
    # The numbers are not inputs; each has a write-only input for a new one, empty.
    assert "phone" not in form.fields and "national_id" not in form.fields
    assert form["new_phone"].value() in (None, "") and form["new_national_id"].value() in (None, "")
    assert reverse("audit:reveal", args=["accounts", "customer", customer.pk, "phone"]) in page.text


def test_operations_admin_replaces_a_number_through_the_write_only_input(client, ops_admin, customer):
    login_verified(client, ops_admin)
    url = reverse("admin:accounts_customer_change", args=[customer.pk])
    data = _form_data(client.get(url))
    data.update({"new_phone": "13911112222"})

    response = client.post(url, data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    customer.refresh_from_db()
    # The phone changed, the national id (left blank) did not; the history shows it masked.
    assert (customer.phone, customer.national_id) == ("13911112222", NATIONAL_ID)
    history = client.get(reverse("admin:accounts_customer_history", args=[customer.pk]))
    assert MASKED_PHONE in history.text and "139****2222" in history.text
    assert "13911112222" not in history.text
    _assert_masked(history.text)


@pytest.mark.parametrize("value", ["12", "1391111222x", "1" * 16])
def test_a_bad_new_number_is_a_form_error_and_changes_nothing(client, ops_admin, customer, value):
    login_verified(client, ops_admin)
    url = reverse("admin:accounts_customer_change", args=[customer.pk])
    data = _form_data(client.get(url))
    data.update({"new_phone": value, "name": "改了"})

    response = client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["new_phone"]
    customer.refresh_from_db()
    assert (customer.phone, customer.name) != (value, "改了")
    _assert_masked(response.text)


def test_a_new_contact_on_the_customer_page_needs_its_phone(client, ops_admin, customer):
    login_verified(client, ops_admin)
    url = reverse("admin:accounts_customer_change", args=[customer.pk])
    data = _form_data(client.get(url))
    data["emergency_contacts-TOTAL_FORMS"] = str(int(data["emergency_contacts-TOTAL_FORMS"]) + 1)
    row = int(data["emergency_contacts-TOTAL_FORMS"]) - 1
    data.update(
        {f"emergency_contacts-{row}-name": "李四", f"emergency_contacts-{row}-relationship": "friend"}
    )

    without_phone = client.post(url, data)
    data[f"emergency_contacts-{row}-new_phone"] = "13655556666"
    with_phone = client.post(url, data)

    assert without_phone.status_code == 200
    assert with_phone.status_code == 302
    assert list(customer.emergency_contacts.order_by("id").values_list("phone", flat=True)) == [
        CONTACT_PHONE,
        "13655556666",
    ]


def test_an_editor_without_reveal_changes_the_name_and_not_the_numbers(client, customer):
    """A risk analyst may change customers but not see their ids: the numbers are not inputs."""
    analyst = UserFactory(roles=[Role.RISK_ANALYST], is_staff=True)
    assert analyst.has_perm("accounts.change_customer") and not analyst.has_perm("accounts.reveal_pii")
    login_verified(client, analyst)
    url = reverse("admin:accounts_customer_change", args=[customer.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    assert "national_id" not in form.fields and "phone" not in form.fields
    _assert_masked(page.text)

    data = {name: form[name].value() or "" for name in form.fields}
    data.update(
        {
            "name": "新名字",
            "national_id": "999999999999999999",
            "phone": "13000000000",
            "created_at_0": form["created_at"].value().strftime("%Y-%m-%d"),
            "created_at_1": form["created_at"].value().strftime("%H:%M:%S"),
        }
    )
    for prefix in ("credit_line", "emergency_contacts", "orders"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update({"credit_line-TOTAL_FORMS": "1", "credit_line-INITIAL_FORMS": "1"})
    line = customer.credit_line
    data.update(
        {
            "credit_line-0-id": line.pk,
            "credit_line-0-customer": customer.pk,
            "credit_line-0-limit": str(line.limit),
            "credit_line-0-grade": line.grade,
            "credit_line-0-score": line.score,
            "credit_line-0-status": line.status,
            "credit_line-0-status_reason": "",
        }
    )
    contact = customer.emergency_contacts.get()
    data.update(
        {
            "emergency_contacts-TOTAL_FORMS": "1",
            "emergency_contacts-INITIAL_FORMS": "1",
            "emergency_contacts-0-id": contact.pk,
            "emergency_contacts-0-customer": customer.pk,
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "新名字"
    assert (customer.phone, customer.national_id) == (PHONE, NATIONAL_ID)
