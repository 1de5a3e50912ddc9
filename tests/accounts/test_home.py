"""The staff home page: private by default, navigation and counts by role."""

import datetime

import pytest
from django.urls import reverse

from accounts.roles import Role
from collection.models import CollectionCase
from orders.models import Plan
from sweep.services import sweep_run
from tests.conftest import login_verified
from tests.factories import UserFactory, delivered_order

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_the_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_is_public(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "员工登录" in response.content.decode()


def test_signing_in_with_both_factors_leads_home(client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.security.signin import current_code

    user = UserFactory(username="risk1", roles=[Role.RISK_ANALYST], language="en")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    response = client.post(
        reverse("login"), {"username": "risk1", "password": "correct horse battery staple"}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith(reverse("otp_verify"))
    response = client.post(reverse("otp_verify"), {"code": current_code(device), "next": "/"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Risk analyst" in response.content.decode()


@pytest.fixture
def book():
    late = delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2026, 1, 10))
    delivered_order(amount="200.00", plan=Plan.PAY_LATER, delivered_on=datetime.date(2026, 3, 1))
    sweep_run(on=datetime.date(2026, 3, 20))
    return late


def _cards(response) -> dict[str, int]:
    return {card["key"]: card["value"] for card in response.context["headline"]}


def test_manager_sees_the_book_counts(client, book, django_assert_max_num_queries):
    login_verified(client, UserFactory(roles=[Role.COLLECTIONS_MANAGER]))
    # 12, and one query for each of the operations checks a manager is shown (bnpl_admin.operations).
    with django_assert_max_num_queries(17):
        response = client.get("/")
    assert _cards(response) == {"open_orders": 2, "overdue_installments": 3, "open_cases": 2}


def test_agent_counts_only_their_own_cases(client, book):
    agent = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    login_verified(client, agent)
    assert _cards(client.get("/"))["open_cases"] == 0
    CollectionCase.objects.filter(customer=book.customer).update(assigned_agent=agent)
    assert _cards(client.get("/"))["open_cases"] == 1


def test_field_agent_sees_no_portfolio_counts_and_no_admin_link(client, book):
    login_verified(client, UserFactory(roles=[Role.FIELD_AGENT]))
    response = client.get("/")
    assert set(_cards(response)) == {"open_cases"}
    assert reverse("admin:index") not in response.content.decode()


def test_operations_admin_gets_the_data_admin_link(client):
    login_verified(client, UserFactory(roles=[Role.OPERATIONS_ADMIN], is_staff=True))
    assert reverse("admin:index") in client.get("/").content.decode()


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("is_staff", [False, True])
def test_the_shortcuts_heading_shows_only_with_links_under_it(client, role, is_staff):
    from accounts.navigation import navigation_for

    user = UserFactory(roles=[role], is_staff=is_staff, language="zh-hans")
    login_verified(client, user)
    html = client.get(reverse("home")).content.decode()
    others = [item for item in navigation_for(user) if item["url_name"] != "home"]
    assert ("常用入口" in html) == bool(others)
    section = html.split("常用入口", 1)[1].split("</section>", 1)[0] if others else ""
    for item in others:
        assert f'href="{item["url"]}"' in section
    assert section.count("<li>") == len(others)
