"""A field agent on a phone (390 × 844) opens today's visits, checks in with the phone's position
(Playwright's mocked geolocation) and records the outcome with a photo; a manager approves a
request on a desktop. Screenshots of each page in both languages go to var/screenshots/visits-*."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from bnpl_admin.dates import business_date
from tests.browser.conftest import CHROMIUM, screenshot
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.visits.builders import SHANGHAI, at, png_bytes, requested_visit, scheduled_visit
from visits.models import Visit, VisitStatus

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LANGUAGES = {"zh-CN": "zh-hans", "en-US": "en"}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
DOORSTEP = {"latitude": 22.540503, "longitude": 113.934528, "accuracy": 20}


def _visiting_hour() -> datetime.datetime:
    """A moment within the visiting hours, never in the past (the browser's cookies keep the real
    clock): now when now is one, else 10:30 on the next day that has one."""
    now = timezone.now().astimezone(SHANGHAI)
    if datetime.time(9, 30) <= now.time() < datetime.time(19, 0):
        return now
    day = now.date() if now.time() < datetime.time(9, 30) else now.date() + datetime.timedelta(days=1)
    return at(day, 10, 30)


@pytest.fixture
def phone(browser, live_server, request):
    """A phone-sized browser that grants the page its (mocked) position; console errors fail."""
    locale = request.param
    context = browser.new_context(
        locale=locale,
        viewport=PHONE,
        geolocation=DOORSTEP,
        permissions=["geolocation"],
        extra_http_headers={"Accept-Language": locale},
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.base_url = live_server.url
    page.locale = locale
    yield page
    context.close()
    assert not problems, problems


def _fits(page, what: str) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{what} scrolls sideways"


@pytest.mark.parametrize("phone", list(LANGUAGES), indirect=True)
def test_a_field_agent_checks_in_and_records_the_outcome_with_a_photo(phone):
    page = phone
    slug = page.locale
    moment = _visiting_hour()
    with time_machine.travel(moment, tick=True):
        day = business_date()
        agent, device = staff(Role.FIELD_AGENT, "walker", language=LANGUAGES[slug])
        partner, _ = staff(Role.FIELD_AGENT, "partner")
        pair = (agent, partner)
        visit = scheduled_visit(day=day, agents=pair, hour=10, street="科技园南路88号3栋2单元1201室")
        later = scheduled_visit(day=day, agents=pair, hour=15, district="福田区", street="深南中路1号")
        scheduled_visit(day=day, hour=11, street="别人的地址9号")  # another pair's visit: never shown

        sign_in(page, "walker")
        pass_second_factor(page, device)
        page.goto(page.base_url + reverse("visits:today"))
        cards = page.locator(".visit-card")
        assert cards.count() == 2
        assert "科技园南路88号" in cards.nth(0).inner_text() and "深南中路1号" in cards.nth(1).inner_text()
        assert "别人的地址" not in page.content()
        _fits(page, "my visits today")
        screenshot(page, f"visits-phone-today-{slug}")

        cards.nth(0).locator("a.button").click()
        page.wait_for_load_state()
        assert page.url.endswith(reverse("visits:detail", args=[visit.pk]))
        _fits(page, "the visit page")
        screenshot(page, f"visits-phone-visit-{slug}")

        # The script asks for the position first, then sends the form: wait for that page.
        with page.expect_navigation():
            page.locator("form[data-geolocate] button[type=submit]").first.click()
        visit.refresh_from_db()
        assert visit.status == VisitStatus.CHECKED_IN, page.locator("main").inner_text()
        assert not visit.check_in_position_refused
        assert visit.check_in_latitude == Decimal("22.540503")
        _fits(page, "the visit after check-in")
        screenshot(page, f"visits-phone-checked-in-{slug}")

        page.select_option("#id_outcome", "promise_made")
        page.fill("#id_notes", "见到本人，承诺周五前还款")
        page.set_input_files(
            "#id_photos",
            files=[{"name": "door.png", "mimeType": "image/png", "buffer": png_bytes(size=(640, 480))}],
        )
        with page.expect_navigation():
            page.locator("form[enctype] button[type=submit]").click()
        visit.refresh_from_db()
        assert visit.status == VisitStatus.DONE and visit.photos.count() == 1
        image = page.locator(".photos img")
        assert image.count() == 1
        # The photo loads lazily (it may sit below the fold on a phone): bring it into view and wait for it.
        image.scroll_into_view_if_needed()
        image.evaluate("img => img.decode()")
        assert image.evaluate("img => img.naturalWidth") == 640  # served by the checked view
        _fits(page, "the visit after the outcome")
        screenshot(page, f"visits-phone-done-{slug}")

        with page.expect_navigation():
            page.locator("form[data-geolocate] button[type=submit]").first.click()
        visit.refresh_from_db()
        assert visit.check_out_at is not None
        page.set_viewport_size({"width": 1280, "height": 800})
        screenshot(page, f"visits-desktop-done-{slug}")
        page.goto(page.base_url + reverse("visits:today"))
        screenshot(page, f"visits-desktop-today-{slug}")
        assert Visit.objects.get(pk=later.pk).status == VisitStatus.SCHEDULED


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_a_refused_position_is_recorded_as_refused(browser, live_server, locale):
    context = browser.new_context(
        locale=locale, viewport=PHONE, extra_http_headers={"Accept-Language": locale}
    )
    context.clear_permissions()  # headless Chromium answers "denied" without a grant
    page = context.new_page()
    page.base_url = live_server.url
    with time_machine.travel(_visiting_hour(), tick=True):
        agent, device = staff(Role.FIELD_AGENT, "walker", language=LANGUAGES[locale])
        partner, _ = staff(Role.FIELD_AGENT, "partner")
        visit = scheduled_visit(day=business_date(), agents=(agent, partner))
        sign_in(page, "walker")
        pass_second_factor(page, device)
        page.goto(page.base_url + reverse("visits:detail", args=[visit.pk]))
        with page.expect_navigation():
            page.locator("form[data-geolocate] button[type=submit]").first.click()
        visit.refresh_from_db()
        assert visit.status == VisitStatus.CHECKED_IN and visit.check_in_position_refused
        screenshot(page, f"visits-phone-refused-{locale}")
    context.close()


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_a_manager_approves_a_request_with_two_field_agents(page, locale):
    page.set_extra_http_headers({"Accept-Language": locale})
    with time_machine.travel(_visiting_hour(), tick=True):
        _manager, device = staff(Role.COLLECTIONS_MANAGER, "boss", language=LANGUAGES[locale])
        first, _ = staff(Role.FIELD_AGENT, "walker")
        second, _ = staff(Role.FIELD_AGENT, "partner")
        visit = requested_visit(day=business_date() + datetime.timedelta(days=1), timezone="Asia/Urumqi")
        requested_visit(day=business_date() + datetime.timedelta(days=1))
        sign_in(page, "boss")
        pass_second_factor(page, device)
        page.goto(page.base_url + reverse("visits:requested"))
        assert page.locator("table.visit-requests tbody tr").count() == 2
        screenshot(page, f"visits-desktop-requested-{locale}")
        page.set_viewport_size(PHONE)
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        screenshot(page, f"visits-phone-requested-{locale}")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(page.base_url + reverse("visits:decide", args=[visit.pk]))
        page.select_option("#id_field_agent_1", str(first.pk))
        page.select_option("#id_field_agent_2", str(second.pk))
        page.fill("#id_time", "08:30")  # Ürümqi time: too early for the customer
        with page.expect_navigation():
            page.locator("form:has(input[value=approve]) button[type=submit]").click()
        assert "Asia/Urumqi" in page.locator("main").inner_text()
        screenshot(page, f"visits-desktop-refused-{locale}")
        page.fill("#id_time", "10:30")
        with page.expect_navigation():
            page.locator("form:has(input[value=approve]) button[type=submit]").click()
        visit.refresh_from_db()
        assert visit.status == VisitStatus.SCHEDULED
        screenshot(page, f"visits-desktop-approved-{locale}")


assert CHROMIUM  # the tests need Debian's Chromium (tests/browser/conftest.py)
