"""A credit line's status changes in the admin only as a freeze or an unfreeze, through the services:
with the permission and a reason, recorded in the line's history under who did it and why."""

import pytest
from django.contrib.auth.models import Permission
from django.forms import MultiWidget
from django.urls import reverse
from django.utils import translation

from accounts.models import CreditLine, CreditLineStatus
from accounts.roles import Role
from tests.conftest import login_verified
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def risk_analyst(db):
    """Freezes and unfreezes lines (accounts.freeze_creditline)."""
    return UserFactory(username="risk", roles=[Role.RISK_ANALYST], is_staff=True, language="en")


@pytest.fixture
def line_editor(db):
    """Changes a line's limit and grade, but may not freeze or unfreeze it."""
    user = UserFactory(username="editor", is_staff=True, language="en")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", codename__in=["view_creditline", "change_creditline"]
        )
    )
    return user


@pytest.fixture
def line(db):
    return CustomerFactory().credit_line


def _change(client, line, **overrides):
    data = {
        "limit": str(line.limit),
        "grade": line.grade,
        "score": "" if line.score is None else str(line.score),
        "status": line.status,
        "status_reason": line.status_reason,
        "_save": "Save",
        **overrides,
    }
    return client.post(reverse("admin:accounts_creditline_change", args=[line.pk]), data)


def _as_stored(line):
    stored = CreditLine.objects.get(pk=line.pk)
    return (stored.status, stored.status_reason, stored.status_changed_at, stored.history.count())


def test_a_freeze_without_the_permission_is_refused_and_changes_nothing(client, line_editor, line):
    before = _as_stored(line)
    login_verified(client, line_editor)
    response = _change(client, line, status=CreditLineStatus.FROZEN, status_reason="looks risky")
    assert response.status_code == 403
    assert _as_stored(line) == before


def test_a_freeze_with_the_permission_and_a_reason_is_the_services_record(client, risk_analyst, line):
    login_verified(client, risk_analyst)
    response = _change(client, line, status=CreditLineStatus.FROZEN, status_reason="fraud report 17")
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.status, line.status_reason) == (CreditLineStatus.FROZEN, "fraud report 17")
    assert line.status_changed_at is not None
    record = line.history.latest()
    assert (record.status, record.history_user, record.history_change_reason) == (
        CreditLineStatus.FROZEN,
        risk_analyst,
        "fraud report 17",
    )


@pytest.fixture
def frozen(line):
    CreditLine.objects.filter(pk=line.pk).update(status=CreditLineStatus.FROZEN, status_reason="Overdue")
    line.refresh_from_db()
    return line


def test_an_unfreeze_without_a_new_reason_is_refused_in_the_users_language(client, risk_analyst, frozen):
    before = _as_stored(frozen)
    login_verified(client, risk_analyst)
    response = _change(client, frozen, status=CreditLineStatus.ACTIVE)  # the old reason left as it was
    assert response.status_code == 200
    assert "Unfreezing a credit line needs a reason." in str(response.context["adminform"].form.errors)
    assert _as_stored(frozen) == before

    risk_analyst.language = "zh-hans"
    risk_analyst.save(update_fields=["language"])
    response = _change(client, frozen, status=CreditLineStatus.ACTIVE)
    with translation.override("zh-hans"):
        expected = translation.gettext("Unfreezing a credit line needs a reason.")
    assert expected != "Unfreezing a credit line needs a reason."
    assert expected in str(response.context["adminform"].form.errors)
    assert _as_stored(frozen) == before


def test_an_unfreeze_with_a_reason_is_the_services_record(client, risk_analyst, frozen):
    login_verified(client, risk_analyst)
    response = _change(client, frozen, status=CreditLineStatus.ACTIVE, status_reason="paid in full")
    assert response.status_code == 302
    frozen.refresh_from_db()
    assert (frozen.status, frozen.status_reason) == (CreditLineStatus.ACTIVE, "Unfrozen: paid in full")
    record = frozen.history.latest()
    assert (record.history_user, record.history_change_reason) == (risk_analyst, "paid in full")


def test_a_status_no_service_makes_is_refused(client, risk_analyst, line):
    before = _as_stored(line)
    login_verified(client, risk_analyst)
    response = _change(client, line, status=CreditLineStatus.CLOSED, status_reason="customer asked")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert _as_stored(line) == before


def test_unfreezing_on_the_customer_page_goes_through_the_service(client, risk_analyst, frozen):
    """The customer page's credit line inline: the same rules, the same record."""
    customer = frozen.customer
    login_verified(client, risk_analyst)
    url = reverse("admin:accounts_customer_change", args=[customer.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = _inline_post(page)
    data["credit_line-0-status"] = CreditLineStatus.ACTIVE
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert _as_stored(frozen)[0] == CreditLineStatus.FROZEN

    data["credit_line-0-status_reason"] = "settled by phone"
    done = client.post(url, data)
    assert done.status_code == 302
    frozen.refresh_from_db()
    assert frozen.status == CreditLineStatus.ACTIVE
    record = frozen.history.latest()
    assert (record.history_user, record.history_change_reason) == (risk_analyst, "settled by phone")


def _inline_post(page) -> dict:
    """The change form's own values, as a browser would send them back."""
    data = {}
    admin_form = page.context["adminform"].form
    for name, field in admin_form.fields.items():
        value = admin_form[name].value()
        if isinstance(field.widget, MultiWidget):  # a date and a time: name_0, name_1
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = part
        else:
            data[name] = "" if value is None else value
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value is not None and value is not False:
                    data[form.add_prefix(name)] = value
    data["_save"] = "Save"
    return data
