"""An analyst bulk-freezes in Chromium: filters → preview → confirm → progress → done, in both
languages, and the restriction and decision log pages at 1280 px and on a 390-px phone.
Screenshots go to var/screenshots/restrictions-*.png."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import CreditLine, CreditLineStatus, Grade
from accounts.roles import Role
from restrictions import services
from restrictions.models import RestrictionJob, RestrictionJobStatus
from restrictions.tasks import restriction_job_run_task
from tests.browser.conftest import screenshot
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LANGUAGES = {"zh-CN": "zh-hans", "en-US": "en"}
PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def slow_worker(monkeypatch):
    """The job's task runs in a thread as a worker would, a few lines per batch with a pause, so
    the page shows it running before it is done."""
    real_batch = services.restriction_job_batch

    def slow_batch(**kwargs):
        time.sleep(0.7)
        return real_batch(**kwargs)

    def delay(job_id):
        def work():
            try:
                services.restriction_job_run(job=RestrictionJob.objects.get(pk=job_id), batch_size=4)
            finally:
                connection.close()

        threading.Thread(target=work, daemon=True).start()

    monkeypatch.setattr(services, "restriction_job_batch", slow_batch)
    monkeypatch.setattr(restriction_job_run_task, "delay", delay)


def _grade_e(n: int) -> list[int]:
    ids = [CustomerFactory().credit_line.pk for _ in range(n)]
    CreditLine.objects.filter(pk__in=ids).update(grade=Grade.E)
    return ids


@pytest.mark.parametrize("locale", LANGUAGES)
def test_bulk_freeze_with_preview_confirm_progress_done(page, slow_worker, locale):
    language = LANGUAGES[locale]
    slug = f"restrictions-{language}"
    line_ids = _grade_e(14)
    username = f"risk-{language}"
    _, device = staff(Role.RISK_ANALYST, username, language=language)
    page.set_extra_http_headers({"Accept-Language": locale})
    sign_in(page, username)
    pass_second_factor(page, device)

    page.goto(page.base_url + reverse("restrictions:job_list"))
    screenshot(page, f"{slug}-01-jobs")
    page.click("a.button")  # a new bulk restriction
    page.wait_for_url("**" + reverse("restrictions:bulk"))
    page.select_option("#id_grade", "E")
    page.select_option("#id_action", "freeze")
    page.select_option("#id_reason_code", "poor_grade")
    page.fill("#id_text", "等级 E 客户统一冻结" if language == "zh-hans" else "grade E: no credit")
    screenshot(page, f"{slug}-02-bulk-form")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/restrictions/jobs/*/")
    job = RestrictionJob.objects.get(requested_by__username=username)
    assert page.locator("#preview-lines").inner_text() == "14"
    assert job.status == RestrictionJobStatus.PREVIEWED
    assert not CreditLine.objects.filter(pk__in=line_ids, status=CreditLineStatus.FROZEN).exists()
    screenshot(page, f"{slug}-03-preview")

    page.click("#confirm-job")
    page.wait_for_load_state()
    # Running: the progress part polls every 2 s until the job is done.
    page.wait_for_selector("#job-status.status-running", timeout=10_000)
    screenshot(page, f"{slug}-04-running")
    page.wait_for_selector("#job-status.status-done", timeout=30_000)
    screenshot(page, f"{slug}-05-done")
    assert page.locator("#job-progress progress").get_attribute("value") == "100"
    assert CreditLine.objects.filter(pk__in=line_ids, status=CreditLineStatus.FROZEN).count() == 14

    # The other pages, at 1280 px and on a phone.
    customer_id = CreditLine.objects.get(pk=line_ids[0]).customer_id
    pages = {
        "customer": reverse("restrictions:customer", args=[customer_id]),
        "decision-log": reverse("decisionlog:entry_list"),
        "decision-entry": reverse("decisionlog:entry_detail", args=[1]),
        "verification": reverse("decisionlog:verification"),
        "anchors": reverse("decisionlog:anchors"),
        "job": reverse("restrictions:job_detail", args=[job.pk]),
        "jobs": reverse("restrictions:job_list"),
        "bulk": reverse("restrictions:bulk"),
    }
    for name, path in pages.items():
        page.goto(page.base_url + path)
        page.wait_for_load_state()
        screenshot(page, f"{slug}-page-{name}")
    page.set_viewport_size(PHONE)
    for name, path in pages.items():
        page.goto(page.base_url + path)
        page.wait_for_load_state()
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{name} scrolls sideways on a phone: {widths}"
        screenshot(page, f"phone-{slug}-{name}")
