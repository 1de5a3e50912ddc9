"""Every console page on a 390-px phone, in both languages: the page never scrolls sideways,
the navigation folds behind a menu button that opens it, and a screenshot of each page goes
to var/screenshots/phone-*.png. Also: a very long value in the audit trail (a 150-character
username) is cut in its cell, with the whole value on hover, and never widens the page."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from audit.models import AuditAction, AuditEvent
from bnpl_admin.access import AUDIT_READERS, CASE_WORKERS, PII_REVEALERS, QUEUE_WORKERS, STAFF_ROLES
from collection.models import CollectionCase
from collection.services import case_assign
from orders.models import Plan
from sweep.services import sweep_run
from tests.browser.conftest import screenshot
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.factories import delivered_order

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LANGUAGES = {"zh-CN": "zh-hans", "en-US": "en"}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def book():
    late = delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2026, 1, 10))
    sweep_run(on=datetime.date(2026, 3, 20))
    return late


def _pages_for(role: Role, customer) -> list[tuple[str, str]]:
    """(name, path) of every console page the role may open (bnpl_admin.access declares who)."""
    pages = [("home", reverse("home"))]
    if str(role) in AUDIT_READERS:
        pages.append(("audit", reverse("audit:event_list")))
    if str(role) in PII_REVEALERS:
        pages.append(("reveal", reverse("audit:reveal", args=["accounts", "customer", customer.pk, "phone"])))
    if str(role) in CASE_WORKERS:
        case = CollectionCase.objects.get(customer=customer)
        case_assign(case=case, agent=User.objects.get(username=f"phone-{role.name.lower()}"))
        pages.append(("case-contacts", reverse("collections:case_contacts", args=[case.pk])))
    if str(role) in QUEUE_WORKERS:
        case = CollectionCase.objects.get(customer=customer)
        pages += [
            ("case-queue", reverse("collections:case_queue")),
            ("my-queue", reverse("collections:my_queue")),
            ("case", reverse("collections:case_detail", args=[case.pk])),
        ]
    if str(role) in STAFF_ROLES:
        pages += [
            ("admin", reverse("admin:index")),
            ("admin-customer", reverse("admin:accounts_customer_change", args=[customer.pk])),
            ("admin-post-payment", reverse("admin:orders_payment_post", args=[customer.pk])),
        ]
    return pages


def _assert_fits(page, what: str) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{what} scrolls sideways: {widths}"


def _phone(page, locale: str):
    page.set_viewport_size(PHONE)
    page.set_extra_http_headers({"Accept-Language": locale})


# The Django admin's pages link no icon, so the browser asks for /favicon.ico and gets a 404.
@pytest.mark.expected_http_errors(404)
@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("role", list(Role))
def test_every_console_page_of_a_role_fits_a_phone(page, book, role, locale):
    username = f"phone-{role.name.lower()}"
    _, device = staff(role, username, is_staff=str(role) in STAFF_ROLES, language=LANGUAGES[locale])
    _phone(page, locale)
    sign_in(page, username)
    pass_second_factor(page, device)
    slug = f"{role.name.lower()}-{locale}"
    for name, path in _pages_for(role, book.customer):
        page.goto(page.base_url + path)
        page.wait_for_load_state()
        assert page.url.startswith(page.base_url + path), (name, page.url)
        _assert_fits(page, f"{name} for {role}")
        if not path.startswith("/admin/"):
            # The menu is folded: its links are hidden until the button opens them.
            toggle = page.locator("header .menu-toggle")
            assert toggle.is_visible(), f"{name}: no menu button on a phone"
            assert not page.locator("header nav a").first.is_visible()
            screenshot(page, f"phone-{slug}-{name}")
            toggle.click()
            assert toggle.get_attribute("aria-expanded") == "true"
            assert page.locator("header nav a").first.is_visible()
            assert page.locator("header form.language button").first.is_visible()
            _assert_fits(page, f"{name} for {role}, menu open")
            screenshot(page, f"phone-{slug}-{name}-menu")
        else:
            screenshot(page, f"phone-{slug}-{name}")


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_sign_in_pages_fit_a_phone(page, locale):
    _phone(page, locale)
    page.goto(page.base_url + reverse("login"))
    _assert_fits(page, "the sign-in page")
    screenshot(page, f"phone-signin-{locale}")
    _, device = staff(Role.FIELD_AGENT, "field", language=LANGUAGES[locale])
    sign_in(page, "field")
    assert reverse("otp_verify") in page.url
    _assert_fits(page, "the second step")
    screenshot(page, f"phone-second-step-{locale}")
    device.delete()  # no authenticator yet: the second step enrols one
    page.goto(page.base_url + reverse("otp_setup"))
    _assert_fits(page, "the enrolment page")
    screenshot(page, f"phone-enrolment-{locale}")


def test_a_very_long_value_in_the_audit_trail_is_cut_with_the_whole_on_hover(page, book):
    long_name = "a" * 75 + "b" * 75
    AuditEvent.objects.create(
        action=AuditAction.LOGIN, actor_username=long_name, object_repr="x" * 150, reason="r" * 150
    )
    _, device = staff(Role.COLLECTIONS_MANAGER, "manager")
    sign_in(page, "manager")
    pass_second_factor(page, device)
    page.goto(page.base_url + reverse("audit:event_list"))
    _assert_fits(page, "the audit trail at 1280 px")
    cell = page.locator(f'td[title="{long_name}"]')
    assert cell.count() == 1
    assert cell.evaluate("td => td.getBoundingClientRect().width") < 400
    screenshot(page, "audit-long-values")
