"""In a real browser (Chromium), the console and the data admin work under the content security policy.

A policy violation is invisible to the test client: only a browser refuses the inline code
and says so on its console. Each page here must load without a single refusal.
"""

import pytest
from django.urls import reverse

from tests.conftest import login_verified
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_page(browser, live_server, client, superuser):
    """A browser signed in as a superuser (both factors), recording every policy refusal."""
    login_verified(client, superuser)
    context = browser.new_context()
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.refusals = []
    page.on(
        "console",
        lambda msg: page.refusals.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield page
    context.close()


def test_console_and_admin_pages_load_without_a_policy_refusal(admin_page, live_server):
    customer = CustomerFactory()
    paths = [
        reverse("home"),
        reverse("admin:index"),
        reverse("admin:accounts_customer_changelist"),
        reverse("admin:accounts_customer_change", args=[customer.pk]),
        reverse("admin:accounts_customer_history", args=[customer.pk]),
        reverse("admin:accounts_user_add"),
        reverse("admin:orders_payment_changelist"),
        reverse("admin:django_celery_beat_periodictask_add"),
    ]
    for path in paths:
        response = admin_page.goto(live_server.url + path)
        assert response.status == 200, path
        assert "script-src 'self';" in response.headers["content-security-policy"] + ";"
        admin_page.wait_for_load_state("networkidle")
    assert admin_page.refusals == []


def test_the_admin_scripts_run(admin_page, live_server):
    # The sidebar filter and the periodic task form are driven by static scripts; if the
    # policy blocked them, these would not react.
    from django_celery_beat.models import CrontabSchedule

    CrontabSchedule.objects.create(minute="0", hour="2", day_of_week="*", day_of_month="*", month_of_year="*")
    admin_page.goto(live_server.url + reverse("admin:django_celery_beat_periodictask_add"))
    assert admin_page.locator(".field-crontab_translation").first.is_hidden()
    admin_page.select_option("#id_crontab", index=1)
    assert "Translation:" in admin_page.locator(".field-crontab .help").inner_text()
    assert admin_page.refusals == []
