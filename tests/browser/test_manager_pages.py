"""The collections manager's pages in Chromium: the manager view draws its ECharts chart under the
content security policy (no console error), the rules page lists and edits rules, at desktop
and phone width in both languages; screenshots in var/screenshots/manager-*.png."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from collection.assignment import assignment_rule_create
from collection.models import Team
from tests.browser.conftest import screenshot
from tests.browser.test_phone_width import LANGUAGES, NO_SIDEWAYS_SCROLL
from tests.browser.test_staff_in_browser import pass_second_factor, sign_in, staff
from tests.collection.test_performance import _world

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("language", LANGUAGES.values())
def test_the_manager_view_and_the_rules_in_the_browser(page, language):
    manager, device = staff(Role.COLLECTIONS_MANAGER, "desk-manager", language=language)
    _world(manager, n=3)
    assignment_rule_create(
        by=manager, bucket="M1", team=Team.objects.get(name="south"), method="by load", ordering=10
    )
    assignment_rule_create(by=manager, bucket="M2", team=Team.objects.get(name="east"), method="round robin")
    sign_in(page, "desk-manager")
    pass_second_factor(page, device)
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.goto(page.base_url + reverse("collections:performance"))
        page.wait_for_selector("#performance-chart canvas")
        assert page.locator("table.performance").count() == 2
        if width == "phone":
            assert page.evaluate(NO_SIDEWAYS_SCROLL)
        screenshot(page, f"manager-{language}-{width}-performance")
        page.goto(page.base_url + reverse("collections:assignment_rules"))
        assert page.locator("table.assignment-rules tbody tr").count() == 2
        if width == "phone":
            assert page.evaluate(NO_SIDEWAYS_SCROLL)
        screenshot(page, f"manager-{language}-{width}-rules")
    page.click("table.assignment-rules tbody tr >> nth=0 >> a")
    page.wait_for_load_state()
    screenshot(page, f"manager-{language}-desktop-rule-edit")
    page.uncheck("#id_active")
    page.click("main form.rule-form button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith(reverse("collections:assignment_rules"))
