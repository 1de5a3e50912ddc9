"""The main pages at desktop width, in both languages: the operations admin's home, the audit
trail and the data admin's main lists and change pages open without an error, in the staff
member's language, and a screenshot of each goes to var/screenshots/desktop-*.png (the phone
width is tests/browser/test_phone_width.py)."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from collection.models import CollectionCase
from tests.browser.conftest import screenshot
from tests.browser.test_phone_width import LANGUAGES, book  # noqa: F401 (a fixture)
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
# What the page's <html lang> says for each language the staff member chose.
HTML_LANG = {"zh-hans": "zh-hans", "en": "en"}


def _pages(order, user) -> list[tuple[str, str]]:
    """The pages to open: those of the lists below the user's role may see."""
    case = CollectionCase.objects.get(customer=order.customer)
    change = [
        ("customer", "admin:accounts_customer_change", order.customer_id),
        ("order", "admin:orders_order_change", order.pk),
        ("case", "admin:collections_collectioncase_change", case.pk),
    ]
    lists = [
        "accounts_customer",
        "accounts_creditline",
        "orders_order",
        "orders_installment",
        "orders_payment",
        "orders_manualpaymentrequest",
        "collections_collectioncase",
        "collections_caseevent",
        "policy_policy",
        "sweep_sweeprun",
        "reminders_reminder",
        "audit_auditevent",
    ]
    return [
        ("home", reverse("home")),
        ("audit", reverse("audit:event_list")),
        ("admin", reverse("admin:index")),
        *(
            (f"admin-{name}-list", reverse(f"admin:{name}_changelist"))
            for name in lists
            if user.has_perm("{}.view_{}".format(*name.split("_", 1)))
        ),
        *((f"admin-{name}", reverse(url, args=[pk])) for name, url, pk in change),
        ("admin-post-payment", reverse("admin:orders_payment_post", args=[order.customer_id])),
    ]


# The Django admin's pages link no icon, so the browser asks for /favicon.ico and gets a 404.
@pytest.mark.expected_http_errors(404)
@pytest.mark.parametrize("language", LANGUAGES.values())
def test_the_main_pages_open_at_desktop_width_in_the_staff_members_language(page, book, language):  # noqa: F811
    user, device = staff(Role.OPERATIONS_ADMIN, "desk-ops", is_staff=True, language=language)
    page.set_viewport_size(DESKTOP)
    sign_in(page, "desk-ops")
    pass_second_factor(page, device)
    pages = _pages(book, user)
    assert len(pages) > 10, pages
    for name, path in pages:
        response = page.goto(page.base_url + path)
        page.wait_for_load_state()
        assert response.status == 200, (name, response.status)
        assert page.url.startswith(page.base_url + path), (name, page.url)
        assert page.evaluate("document.documentElement.lang").lower() == HTML_LANG[language], name
        screenshot(page, f"desktop-{language}-{name}")
