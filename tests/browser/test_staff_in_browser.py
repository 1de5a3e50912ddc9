"""Staff use the console in a real browser: sign-in with the second factor, lockout, idle
timeout, each role's main page, a refused page and the language switch. Every page must load
without a console error (the `page` fixture checks); screenshots go to var/screenshots/."""

import base64
import datetime
import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.middleware import LAST_SEEN_AT
from accounts.roles import Role
from orders.models import Plan
from sweep.services import sweep_run
from tests.browser.conftest import screenshot
from tests.factories import UserFactory, delivered_order

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def staff(role: Role, username: str, **extra):
    user = UserFactory(username=username, roles=[role], first_name="小", last_name="王", **extra)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"


def sign_in(page, username: str, password: str = PASSWORD):
    page.goto(page.base_url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def pass_second_factor(page, device):
    assert "/account/two-factor/" in page.url, page.url
    page.fill("#id_code", current_code(device))
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def book():
    late = delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2026, 1, 10))
    sweep_run(on=datetime.date(2026, 3, 20))
    return late


def test_sign_in_needs_the_second_factor(page, book):
    _, device = staff(Role.COLLECTIONS_MANAGER, "manager")
    sign_in(page, "manager")
    screenshot(page, "01-second-step")
    # The password alone opens nothing.
    page.goto(page.base_url + "/")
    assert "/account/two-factor/" in page.url
    page.fill("#id_code", "000000" if current_code(device) != "000000" else "111111")
    page.click("main form button[type=submit]")
    assert "/account/two-factor/" in page.url
    # django-otp throttles a device after a wrong code: one second after the first.
    page.wait_for_timeout(1200)
    pass_second_factor(page, device)
    assert page.url.rstrip("/") == page.base_url
    cards = page.locator(".card .value").all_inner_texts()
    assert cards and all(text.strip().isdigit() for text in cards)
    screenshot(page, "02-manager-home")


def test_first_sign_in_enrols_an_authenticator_and_shows_backup_codes(page):
    UserFactory(username="newagent", roles=[Role.COLLECTIONS_AGENT])
    sign_in(page, "newagent")
    assert "/account/two-factor/setup/" in page.url
    assert page.locator("svg[role=img]").count() == 1  # the QR code
    screenshot(page, "03-enrolment")
    device = TOTPDevice.objects.get(user__username="newagent", confirmed=False)
    page.fill("#id_code", current_code(device))
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    screenshot(page, "04-backup-codes")
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    body = page.locator("main").inner_text()
    assert body.count("-") >= 10 or len(page.locator("main li").all()) >= 10


@pytest.mark.expected_http_errors(429)
def test_five_wrong_passwords_lock_the_account_for_this_address(page):
    staff(Role.RISK_ANALYST, "risk")
    for _ in range(5):
        sign_in(page, "risk", password="not the password at all")
    sign_in(page, "risk")  # the right password, too late
    assert "/account/two-factor/" not in page.url
    text = page.locator("main").inner_text()
    assert "30" in text  # the message says for how long
    screenshot(page, "05-lockout")


def test_idle_for_thirty_minutes_signs_out(page, book):
    _, device = staff(Role.RISK_ANALYST, "risk")
    sign_in(page, "risk")
    pass_second_factor(page, device)
    assert page.url.rstrip("/") == page.base_url
    session_key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=session_key)
    session[LAST_SEEN_AT] = int(time.time()) - 31 * 60
    session.save()
    page.goto(page.base_url + "/")
    assert "/login/" in page.url
    screenshot(page, "06-idle-signed-out")


@pytest.mark.parametrize(
    ("role", "username", "is_staff", "expected_nav"),
    [
        (Role.RISK_ANALYST, "risk", False, None),
        (Role.COLLECTIONS_AGENT, "agent1", False, None),
        (Role.FIELD_AGENT, "field1", False, None),
        (Role.COLLECTIONS_MANAGER, "manager", False, "/audit/"),
        (Role.OPERATIONS_ADMIN, "ops", True, "/admin/"),
    ],
)
def test_each_role_reaches_its_home_page(page, book, role, username, is_staff, expected_nav):
    _, device = staff(role, username, is_staff=is_staff)
    sign_in(page, username)
    pass_second_factor(page, device)
    assert page.url.rstrip("/") == page.base_url
    assert str(role) in page.locator("header").inner_text() or page.locator(".role").count() == 1
    links = [a.get_attribute("href") for a in page.locator("header nav a").all()]
    if expected_nav:
        assert expected_nav in links
    screenshot(page, f"07-home-{username}")


@pytest.mark.expected_http_errors(403)
def test_an_agent_is_refused_the_data_admin(page):
    _, device = staff(Role.COLLECTIONS_AGENT, "agent1")
    sign_in(page, "agent1")
    pass_second_factor(page, device)
    response = page.goto(page.base_url + "/admin/orders/payment/")
    assert "/admin/orders/payment/" not in page.url or response.status == 403
    screenshot(page, "08-refused")


def test_the_language_switch_turns_the_console_english(page, book):
    _, device = staff(Role.OPERATIONS_ADMIN, "ops", is_staff=True)
    sign_in(page, "ops")
    pass_second_factor(page, device)
    page.click("form.language button[value=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Home" in page.locator("header nav").inner_text()
    screenshot(page, "09-english")
    page.click("form.language button[value=zh-hans]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot(page, "10-chinese")


def test_base32_helper_matches_the_device_key():
    # Guards current_code(): the device's key as an authenticator app would read it.
    user = UserFactory(username="keycheck")
    device = TOTPDevice.objects.create(user=user, name="phone")
    assert base64.b32decode(base64.b32encode(device.bin_key)) == device.bin_key
