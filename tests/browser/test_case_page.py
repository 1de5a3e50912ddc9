"""The case page (customer 360) in Chromium: an agent adds a note with htmx and sees it on the
timeline without the page reloading; screenshots at 1280 and 390 px in both languages go to
var/screenshots/case-*.png, and the phone page never scrolls sideways."""

import datetime

import pytest
from django.utils import timezone

from accounts.roles import Role
from collection.models import (
    CollectionCase,
    ContactChannel,
    ContactOutcome,
    ContactParty,
    Team,
)
from collection.services import case_assign, case_note_add, contact_record
from orders.models import Installment, Plan
from reminders.models import Channel as ReminderChannel
from reminders.models import Reminder, installment_key
from reminders.models import Status as ReminderStatus
from sweep.services import sweep_run
from tests.browser.conftest import screenshot
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.factories import EmergencyContactFactory, UserFactory, delivered_order, noon, posted_payment

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LANGUAGES = {"zh-CN": "zh-hans", "en-US": "en"}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def _rich_case(agent) -> CollectionCase:
    """A customer two months late on two orders, with a payment, a contact, reminders and a note."""
    first = delivered_order(
        amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2026, 1, 10)
    )
    customer = first.customer
    delivered_order(
        customer=customer, amount="2399.00", plan=Plan.INSTALMENTS_12, delivered_on=datetime.date(2026, 1, 20)
    )
    EmergencyContactFactory(customer=customer, name="王芳", relationship="姐姐")
    posted_payment(customer=customer, amount="120.00", on=datetime.date(2026, 2, 15))
    sweep_run(on=datetime.date(2026, 3, 20))
    case = CollectionCase.objects.get(customer=customer)
    manager = UserFactory(username="casemgr", roles=[Role.COLLECTIONS_MANAGER])
    Team.objects.create(name="华南催收一组", manager=manager).members.add(agent)
    case_assign(case=case, agent=agent, by=manager)
    contact_record(
        case=case,
        agent=agent,
        channel=ContactChannel.PHONE,
        party=ContactParty.DEBTOR,
        outcome=ContactOutcome.REACHED,
        summary="客户表示本周内还款",
        now=noon(timezone.localdate() - datetime.timedelta(days=1)),
    )
    for installment in Installment.objects.filter(customer=customer, sequence=1):
        sent = noon(installment.due_date + datetime.timedelta(days=3))
        Reminder.objects.create(
            key=installment_key(installment.pk, "T+3", ReminderChannel.SMS),
            kind="T+3",
            offset_days=3,
            channel=ReminderChannel.SMS,
            customer=customer,
            installment=installment,
            business_date=sent.date(),
            send_on=sent.date(),
            not_before=sent,
            next_attempt_at=sent,
            status=ReminderStatus.SENT,
            sent_at=sent,
            recipient=customer.phone,
            body="您的账单已逾期，请尽快还款。",
        )
    case_note_add(case=case, by=agent, text="客户称工资下周五发放。")
    return case


def test_an_agent_adds_a_note_with_htmx_and_sees_it_on_the_timeline_without_a_reload(page):
    agent, device = staff(Role.COLLECTIONS_AGENT, "agentnote", language="zh-hans")
    case = _rich_case(agent)
    sign_in(page, "agentnote")
    pass_second_factor(page, device)
    page.goto(f"{page.base_url}/collections/{case.pk}/")
    page.evaluate("window.notReloaded = true")

    page.click(f"a[href='/collections/cases/{case.pk}/note/']")
    page.fill("#case-action-panel textarea[name=text]", "已发送还款链接，客户确认收到。")
    page.click("#case-action-panel button[type=submit]")

    page.locator("#case-action-panel .action-done").wait_for()
    page.locator("#case-timeline li.entry", has_text="已发送还款链接").wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#case-timeline li.entry").first.inner_text().find("已发送还款链接") >= 0
    screenshot(page, "case-note-added-zh-hans")


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_case_page_reads_well_on_a_desktop_and_a_phone(page, locale):
    language = LANGUAGES[locale]
    manager, device = staff(Role.COLLECTIONS_MANAGER, f"shots-{language}", language=language)
    agent = UserFactory(
        username=f"agent-{language}", roles=[Role.COLLECTIONS_AGENT], first_name="丽", last_name="陈"
    )
    case = _rich_case(agent)
    page.set_extra_http_headers({"Accept-Language": locale})
    sign_in(page, manager.username)
    pass_second_factor(page, device)

    page.goto(f"{page.base_url}/collections/{case.pk}/")
    assert page.locator("details.case-section[open]").count() >= 9
    screenshot(page, f"case-1280-{language}")
    page.click(f"a[href='/collections/cases/{case.pk}/reassign/']")
    page.locator("#case-action-panel select[name=agent]").wait_for()
    screenshot(page, f"case-reassign-1280-{language}")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{page.base_url}/collections/{case.pk}/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate(
        "[document.documentElement.scrollWidth, innerWidth]"
    )
    # On a phone the long sections start folded; the summary and the timeline stay open.
    assert page.locator("details[data-fold-on-phone]:not([open])").count() == 3
    screenshot(page, f"case-390-{language}")
    page.click("details[data-fold-on-phone] summary >> nth=0")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, f"case-390-orders-open-{language}")
