"""The risk console in Chromium: an analyst requests a scorecard's activation, a second analyst
activates it from the approvals queue; screenshots in Chinese and English, desktop and phone."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import CreditLine
from accounts.roles import Role
from risk import services
from risk.models import VersionStatus
from tests.browser.conftest import screenshot
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.factories import CustomerFactory
from tests.risk.cards import hand_card, months_card

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_second_analyst_activates_the_scorecard(page):
    maker, maker_device = staff(Role.RISK_ANALYST, "risk", language="zh-hans")
    checker, checker_device = staff(Role.RISK_ANALYST, "risk2", language="en")
    # A book scored by an active card, with a limit increase waiting.
    active = months_card(by=maker)
    services.scorecard_activation_request(version=active, by=maker)
    services.scorecard_activate(version=active, by=checker)
    now = timezone.now()
    for i in range(4):
        customer = CustomerFactory(created_at=now - datetime.timedelta(days=45 * i + 1))
        CreditLine.objects.filter(customer=customer).update(limit=Decimal("1500.00"))
    services.customers_rescore(on=timezone.localdate())
    draft = hand_card(name="演示评分卡", by=maker)

    sign_in(page, "risk")
    pass_second_factor(page, maker_device)
    page.goto(page.base_url + "/risk/scorecards/")
    screenshot(page, "risk-01-scorecards-zh")
    page.goto(page.base_url + f"/risk/scorecards/{draft.pk}/")
    page.click("button:has-text('申请启用')")
    page.wait_for_load_state()
    assert "需由另一位分析师启用" in page.locator("main").inner_text()
    screenshot(page, "risk-02-activation-requested-zh")
    customer = CustomerFactory._meta.model.objects.order_by("created_at").first()
    page.goto(page.base_url + f"/risk/customers/{customer.pk}/")
    screenshot(page, "risk-03-customer-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "risk-04-customer-zh-390")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(page.base_url + "/risk/approvals/")
    assert "您的申请：由另一位分析师决定。" in page.locator("main").inner_text()

    page.context.clear_cookies()
    sign_in(page, "risk2")
    pass_second_factor(page, checker_device)
    page.goto(page.base_url + "/risk/approvals/")
    screenshot(page, "risk-05-approvals-en")
    row = page.locator("section.activations tr", has_text="演示评分卡")
    row.locator("input[name=reason]").fill("checked the bins")
    row.locator("button[value=approve]").click()
    page.wait_for_load_state()
    draft.refresh_from_db()
    assert (draft.status, draft.activated_by) == (VersionStatus.ACTIVE, checker)
    page.goto(page.base_url + f"/risk/scorecards/{draft.pk}/")
    assert "Active" in page.locator("h1").inner_text()
    screenshot(page, "risk-06-version-active-en")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "risk-07-version-en-390")
