"""Settlements in a real browser: an agent previews and proposes a restructure on a case (htmx), a
manager approves it on the request's page; screenshots of each page at desktop and phone width in
both languages (var/screenshots/settlements-*.png)."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from settlements.models import ArrangementRequest, ArrangementStatus
from settlements.services import arrangement_propose
from tests.browser.conftest import screenshot
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.settlements.books import overdue_case

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_agent_proposes_and_a_manager_approves(browser, live_server, language):
    agent, agent_device = staff(Role.COLLECTIONS_AGENT, "agent", language=language)
    _manager, manager_device = staff(Role.COLLECTIONS_MANAGER, "manager", language=language)
    case = overdue_case(agent=agent, amount="2399.00", days_ago=75)
    # A second request already waiting, so the queue shows more than one kind.
    other = overdue_case(agent=agent, amount="800.00", days_ago=40)
    arrangement_propose(
        case=other, by=agent, kind="settlement", late_fee_discount="0.50", fee_discount="5.00"
    )

    context = browser.new_context(locale=LANGUAGES[language], viewport=SIZES["desktop"])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.base_url = live_server.url
    sign_in(page, "agent")
    pass_second_factor(page, agent_device)
    propose = page.base_url + reverse("settlements:propose", args=[case.pk])
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.goto(propose)
        page.select_option("#id_kind", "restructure")
        page.select_option("#id_months", "6")
        page.click("button[value=preview]")
        page.wait_for_selector("#settlement-propose caption")
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{size}: the page scrolls sideways"
        screenshot(page, f"settlements-propose-{size}-{language}")
    page.fill("#id_reason", "客户收入下降")
    page.click("button[value=propose]")
    page.wait_for_url(f"**{reverse('collections:case_detail', args=[case.pk])}")
    request = ArrangementRequest.objects.get(case=case)
    assert request.months == 6

    context.clear_cookies()
    sign_in(page, "manager")
    pass_second_factor(page, manager_device)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.goto(page.base_url + reverse("settlements:approval_queue"))
        screenshot(page, f"settlements-queue-{size}-{language}")
        page.goto(page.base_url + reverse("settlements:decide", args=[request.pk]))
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{size}: the page scrolls sideways"
        screenshot(page, f"settlements-decide-{size}-{language}")
    page.select_option("#id_decision", "approve")
    page.fill("#id_reason", "核实收入证明")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**{reverse('settlements:approval_queue')}")
    request.refresh_from_db()
    assert request.status == ArrangementStatus.APPROVED
    context.close()
    assert not errors, errors
