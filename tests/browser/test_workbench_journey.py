"""The collections workbench end to end in Chromium, as its users work it (issue 11, "Done when"):

an agent signs in, opens their queue, opens a case and records a contact with a promise to pay; an
outbound call outside the contact window is refused with its reason; a manager approves a home
visit (two field agents) and a settlement; a field agent on a phone-sized screen checks in with a
(mocked) position and records the outcome with a photo. Screenshots of each page in both
languages go to var/screenshots/journey-*.png.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.roles import Role
from bnpl_admin.dates import business_date
from collection.models import ContactAttempt, Promise
from collection.services import case_open
from orders.models import Plan
from settlements.models import ArrangementRequest, ArrangementStatus
from settlements.services import arrangement_propose
from tests.browser.conftest import CHROMIUM, screenshot
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.browser.test_visits_in_browser import DOORSTEP, _visiting_hour
from tests.factories import delivered_order
from tests.settlements.books import overdue_case
from tests.visits.builders import SHANGHAI, at, png_bytes, requested_visit, scheduled_visit, visitable_case
from visits.models import VisitStatus

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}


def _context(browser, live_server, language: str, **options):
    """A browser context whose page errors fail the test (collected in `errors`)."""
    context = browser.new_context(
        locale=LOCALES[language], extra_http_headers={"Accept-Language": LOCALES[language]}, **options
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.base_url = live_server.url
    return context, page


@pytest.mark.parametrize("language", LOCALES)
def test_the_workbench_from_the_agents_queue_to_the_field_agents_phone(browser, live_server, language):
    moment = _visiting_hour()
    with time_machine.travel(moment, tick=True):
        today = business_date()
        agent, agent_device = staff(Role.COLLECTIONS_AGENT, "j-agent", language=language)
        _manager, manager_device = staff(Role.COLLECTIONS_MANAGER, "j-manager", language=language)
        walker, walker_device = staff(Role.FIELD_AGENT, "j-walker", language=language)
        partner, _ = staff(Role.FIELD_AGENT, "j-partner")
        # The agent's cases: one to promise on, one to call too late, one in M3 to visit, one to settle.
        promised = case_open(
            customer=delivered_order(
                amount="1000.00", plan=Plan.PAY_LATER, delivered_on=today - datetime.timedelta(days=40)
            ).customer,
            agent=agent,
        )
        late_call = case_open(
            customer=delivered_order(
                amount="600.00", plan=Plan.PAY_LATER, delivered_on=today - datetime.timedelta(days=35)
            ).customer,
            agent=agent,
        )
        visit = requested_visit(
            day=today + datetime.timedelta(days=1), case=visitable_case(agent=agent), requester=agent
        )
        settled = overdue_case(agent=agent, amount="2399.00", days_ago=75)
        settlement = arrangement_propose(
            case=settled, by=agent, kind="settlement", late_fee_discount="0.50", fee_discount="5.00"
        )
        # Today's visit of the field agents (approved earlier by another manager).
        todays = scheduled_visit(
            day=today, agents=(walker, partner), hour=min(moment.astimezone(SHANGHAI).hour, 19)
        )

        # --- The agent: queue → case → contact with a promise -----------------------------------
        context, page = _context(browser, live_server, language, viewport=DESKTOP)
        sign_in(page, "j-agent")
        pass_second_factor(page, agent_device)
        page.goto(page.base_url + reverse("collections:my_queue"))
        row_link = page.locator(f"a[href='{reverse('collections:case_detail', args=[promised.pk])}']")
        assert row_link.count() >= 1, "the case is in the agent's queue"
        screenshot(page, f"journey-1-my-queue-{language}")
        row_link.first.click()
        page.wait_for_url(f"**{reverse('collections:case_detail', args=[promised.pk])}")
        page.wait_for_selector(".case-360, h1")
        assert page.locator("h1").count() == 1, "the case page opens whole, not inside the queue"
        screenshot(page, f"journey-2-case-{language}")
        page.goto(page.base_url + reverse("collections:case_contacts", args=[promised.pk]))
        page.select_option("#id_direction", "inbound")
        page.select_option("#id_outcome", "promise_made")
        page.fill("#id_promise_amount", "300.00")
        page.fill("#id_promise_due", (today + datetime.timedelta(days=3)).isoformat())
        page.click("#case-contacts form button[type=submit]")
        page.wait_for_selector(".promise-pending")
        assert Promise.objects.get(case=promised).amount == 300
        screenshot(page, f"journey-3-promise-{language}")
        context.close()
        assert not page.errors, page.errors

        # --- The manager: a home visit with two field agents, then the settlement -----------------
        context, page = _context(browser, live_server, language, viewport=DESKTOP)
        sign_in(page, "j-manager")
        pass_second_factor(page, manager_device)
        page.goto(page.base_url + reverse("visits:requested"))
        screenshot(page, f"journey-4-visit-requests-{language}")
        page.goto(page.base_url + reverse("visits:decide", args=[visit.pk]))
        page.select_option("#id_field_agent_1", str(walker.pk))
        page.select_option("#id_field_agent_2", str(partner.pk))
        page.fill("#id_time", "10:30")
        with page.expect_navigation():
            page.locator("form:has(input[value=approve]) button[type=submit]").click()
        visit.refresh_from_db()
        assert visit.status == VisitStatus.SCHEDULED, page.locator("main").inner_text()
        screenshot(page, f"journey-5-visit-approved-{language}")
        page.goto(page.base_url + reverse("settlements:decide", args=[settlement.pk]))
        screenshot(page, f"journey-6-settlement-{language}")
        page.select_option("#id_decision", "approve")
        page.fill("#id_reason", "核实收入证明")
        page.click("main form button[type=submit]")
        page.wait_for_url(f"**{reverse('settlements:approval_queue')}")
        assert ArrangementRequest.objects.get(pk=settlement.pk).status == ArrangementStatus.APPROVED
        screenshot(page, f"journey-7-settlements-{language}")
        context.close()
        assert not page.errors, page.errors

        # --- The field agent on a phone: check in with the position, outcome with a photo ---------
        context, page = _context(
            browser, live_server, language, viewport=PHONE, geolocation=DOORSTEP, permissions=["geolocation"]
        )
        sign_in(page, "j-walker")
        pass_second_factor(page, walker_device)
        page.goto(page.base_url + reverse("visits:today"))
        screenshot(page, f"journey-8-phone-today-{language}")
        page.goto(page.base_url + reverse("visits:detail", args=[todays.pk]))
        with page.expect_navigation():
            page.locator("form[data-geolocate] button[type=submit]").first.click()
        todays.refresh_from_db()
        assert todays.status == VisitStatus.CHECKED_IN and not todays.check_in_position_refused
        page.select_option("#id_outcome", "promise_made")
        page.fill("#id_notes", "见到本人，承诺周五前还款")
        page.set_input_files(
            "#id_photos",
            files=[{"name": "door.png", "mimeType": "image/png", "buffer": png_bytes(size=(640, 480))}],
        )
        with page.expect_navigation():
            page.locator("form[enctype] button[type=submit]").click()
        todays.refresh_from_db()
        assert todays.status == VisitStatus.DONE and todays.photos.count() == 1
        screenshot(page, f"journey-9-phone-visit-done-{language}")
        context.close()
        assert not page.errors, page.errors

    # --- Late in the evening: the agent's outbound call is refused, with the reason -------------
    with time_machine.travel(at(today, 22, 30), tick=True):
        context, page = _context(browser, live_server, language, viewport=DESKTOP)
        sign_in(page, "j-agent")
        pass_second_factor(page, agent_device)
        page.goto(page.base_url + reverse("collections:case_contacts", args=[late_call.pk]))
        page.select_option("#id_channel", "phone")
        page.select_option("#id_direction", "outbound")
        page.select_option("#id_outcome", "no_answer")
        page.click("#case-contacts form button[type=submit]")
        page.wait_for_selector("#case-contacts .errorlist")
        assert not ContactAttempt.objects.filter(case=late_call).exists()
        refusal = page.locator("#case-contacts .errorlist").inner_text()
        assert "21:00" in refusal or "08:00" in refusal, refusal  # says why, and from when
        screenshot(page, f"journey-10-refused-late-call-{language}")
        context.close()
        assert not page.errors, page.errors


assert CHROMIUM  # the tests need Debian's Chromium (tests/browser/conftest.py)
