"""An agent records a contact with a promise to pay in the browser (htmx, the promise fields shown
only with the outcome "promise made"), then sees it on the case page; screenshots at desktop and
phone width in both languages (var/screenshots/promise-*.png)."""

import datetime

import pytest
from django.urls import reverse

from accounts.roles import Role
from bnpl_admin.dates import business_date
from collection.models import Promise
from collection.services import case_open
from orders.models import Plan
from tests.browser.conftest import screenshot
from tests.browser.test_phone_width import LANGUAGES
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.factories import delivered_order

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("language", LANGUAGES.values())
def test_an_agent_records_a_promise_and_sees_it_on_the_case(page, language):
    user, device = staff(Role.COLLECTIONS_AGENT, f"promise-{language}", language=language)
    order = delivered_order(
        amount="1000.00", plan=Plan.PAY_LATER, delivered_on=business_date() - datetime.timedelta(days=40)
    )
    case = case_open(customer=order.customer, agent=user)
    sign_in(page, user.username)
    pass_second_factor(page, device)
    contacts = page.base_url + reverse("collections:case_contacts", args=[case.pk])
    page.goto(contacts)
    fields = page.locator(".promise-fields")
    assert fields.is_hidden()  # shown only with the outcome "promise made"
    page.select_option("#id_direction", "inbound")  # an inbound call is allowed at any hour
    page.select_option("#id_outcome", "promise_made")
    assert fields.is_visible()
    page.fill("#id_promise_amount", "5000")  # more than is owed: the service says so on the field
    page.fill("#id_promise_due", (business_date() + datetime.timedelta(days=3)).isoformat())
    page.click("#case-contacts form button[type=submit]")
    page.wait_for_selector("#case-contacts .errorlist")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        screenshot(page, f"promise-contacts-error-{size}-{language}")
    page.fill("#id_promise_amount", "300.00")
    page.click("#case-contacts form button[type=submit]")
    page.wait_for_selector(".promise-pending")
    assert Promise.objects.get(case=case).amount == 300
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        screenshot(page, f"promise-contacts-{size}-{language}")
        page.goto(page.base_url + reverse("collections:case_detail", args=[case.pk]))
        page.wait_for_selector(".promise-summary")
        screenshot(page, f"promise-case-{size}-{language}")
        page.goto(contacts)
