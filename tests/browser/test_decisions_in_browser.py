"""The risk analyst's order decision flow in Chromium: try an order → referred → open the review
queue → approve it with a note. Screenshots of each page at desktop and phone width in both
languages: var/screenshots/decisions-*.png."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from decisions.models import OrderDecision, ReviewOutcome
from tests.browser.conftest import screenshot
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.decisions.builders import seasoned_customer
from tests.factories import MerchantFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_analyst_tries_an_order_and_approves_the_referral(page, language):
    analyst, device = staff(Role.RISK_ANALYST, "risk", language=language)
    customer = seasoned_customer()
    MerchantFactory(name="日常好物")
    risky = MerchantFactory(name="潮玩直播间", is_risky=True)
    page.set_extra_http_headers({"Accept-Language": LANGUAGES[language]})
    sign_in(page, "risk")
    pass_second_factor(page, device)

    page.goto(page.base_url + reverse("decisions:try_order"))
    page.fill("#id_platform_user_id", customer.platform_user_id)
    page.fill("#id_amount", "1288.00")
    page.select_option("#id_merchant", str(risky.pk))
    page.select_option("#id_channel", "livestream")
    page.click("form.try-order button[type=submit]")
    page.wait_for_selector(".decision-outcome[data-outcome=refer]")
    assert page.locator("li[data-code=merchant_risk_flag]").count() == 1
    decision = OrderDecision.objects.get()
    assert decision.is_trial and decision.outcome == "refer"
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{size}: the page scrolls sideways"
        screenshot(page, f"decisions-try-{size}-{language}")
    page.set_viewport_size(SIZES["desktop"])

    page.click(f"a[href='{reverse('decisions:review_queue')}']:not(nav a)")
    page.wait_for_selector(".review-queue tbody tr")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{size}: the page scrolls sideways"
        screenshot(page, f"decisions-queue-{size}-{language}")
    page.set_viewport_size(SIZES["desktop"])

    page.click(f"a[href='{reverse('decisions:decision_detail', args=[decision.pk])}']")
    page.wait_for_selector("form.review-form")
    # The decision's own page, not swapped into the list's part by the list's htmx boost.
    assert page.locator("header.topbar").count() == 1
    assert page.url.endswith(reverse("decisions:decision_detail", args=[decision.pk]))
    page.check("input[name=outcome][value=approved]")
    page.fill("#id_note", "已电话核实收入，同意" if language == "zh-hans" else "Income checked by phone")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{size}: the page scrolls sideways"
        screenshot(page, f"decisions-review-{size}-{language}")
    page.set_viewport_size(SIZES["desktop"])
    page.click("form.review-form button[type=submit]")
    page.wait_for_url("**" + reverse("decisions:review_queue"))
    assert page.locator(".messages li").count() == 1
    decision.refresh_from_db()
    assert decision.review_outcome == ReviewOutcome.APPROVED and decision.reviewed_by == analyst
    screenshot(page, f"decisions-queue-after-{language}")
