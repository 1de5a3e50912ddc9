"""A console list page (bnpl_admin.lists) in a real browser: the audit trail at desktop and phone
width in both languages (screenshots in var/screenshots/list-audit-*.png), the table scrolling
inside its box, and htmx replacing only the table when the page size or a filter changes."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from collection.models import CollectionCase
from tests.browser.conftest import SCREENSHOTS, screenshot
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.factories import CollectionCaseFactory, CustomerFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def _trail(manager):
    agent = UserFactory(username="wangfang", first_name="芳", last_name="王", roles=[Role.COLLECTIONS_AGENT])
    case = CollectionCaseFactory()
    customer = CustomerFactory()
    AuditEvent.objects.create(
        action=AuditAction.CHANGED,
        actor=manager,
        actor_username=manager.username,
        content_type=ContentType.objects.get_for_model(CollectionCase),
        object_id=str(case.pk),
        object_repr=str(case),
        changes={"assigned_agent": [None, str(agent.pk)], "status": ["open", "promised"]},
        reason="客户承诺周五还款",
    )
    audit_record(actor=manager, action=AuditAction.PII_REVEAL, obj=customer, reason="客户来电核实身份")
    audit_record(
        actor=manager,
        action=AuditAction.EXPORT,
        payload={"list": "audit-events", "rows": 120, "truncated": False, "filters": {"action": "login"}},
    )
    # Yesterday's sign-ins fill a second page; today's acts above come first.
    fillers = [audit_record(actor=manager, action=AuditAction.LOGIN).pk for _ in range(60)]
    AuditEvent.objects.filter(pk__in=fillers).update(created_at=timezone.now() - datetime.timedelta(days=1))
    # The newest, so on the first page after the sign-in.
    AuditEvent.objects.create(
        created_at=timezone.now() + datetime.timedelta(hours=1),
        action=AuditAction.LOGIN_FAILED,
        actor_username="a" * 75 + "b" * 75,
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_audit_trail_at_desktop_and_phone_width(page, language):
    manager, device = staff(Role.COLLECTIONS_MANAGER, "manager", language=language)
    _trail(manager)
    page.set_extra_http_headers({"Accept-Language": LANGUAGES[language]})
    sign_in(page, "manager")
    pass_second_factor(page, device)

    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.goto(page.base_url + reverse("audit:event_list"))
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{size}: the page scrolls sideways"
        # The table keeps readable columns and scrolls inside its own box.
        box = page.locator(".object-list .table-container")
        assert box.evaluate("el => el.scrollWidth >= el.clientWidth")
        long_cell = page.locator('td[title="' + "a" * 75 + "b" * 75 + '"]')
        assert long_cell.evaluate("td => td.getBoundingClientRect().width") < 400
        screenshot(page, f"list-audit-{size}-{language}")
        page.screenshot(path=str(SCREENSHOTS / f"list-audit-{size}-{language}-top.png"))


def test_htmx_replaces_only_the_table(page):
    manager, device = staff(Role.COLLECTIONS_MANAGER, "manager", language="en")
    _trail(manager)
    sign_in(page, "manager")
    pass_second_factor(page, device)
    page.goto(page.base_url + reverse("audit:event_list"))
    assert page.locator("tbody tr").count() == 50
    page.evaluate("window.notReloaded = true")

    page.click(".per-page a:text-is('100')")
    page.wait_for_url("**per_page=100**")
    page.wait_for_function("document.querySelectorAll('tbody tr').length > 50")

    assert page.evaluate("window.notReloaded === true"), "the whole page was loaded again"
    page.select_option("#id_action", "pii_reveal")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**action=pii_reveal**")
    page.wait_for_function("document.querySelectorAll('tbody tr').length === 1")
    assert page.evaluate("window.notReloaded === true")
    assert "客户来电核实身份" in page.locator("tbody").inner_text()
