"""The risk console's pages: who may open them, what they show, the second analyst's decisions
through the browser's forms, and a bounded number of queries on every page."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditLine
from accounts.roles import Role
from risk import services
from risk.models import Bin, LimitChange, LimitChangeStatus, VersionStatus
from tests.conftest import login_verified
from tests.factories import CustomerFactory, UserFactory
from tests.risk.cards import hand_card, months_card

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    login_verified(client, user)
    return client


@pytest.fixture
def maker():
    return UserFactory(username="maker", roles=[Role.RISK_ANALYST], language="en")


@pytest.fixture
def checker():
    return UserFactory(username="checker", roles=[Role.RISK_ANALYST], language="en")


def _book(maker, checker, n=5):
    version = months_card(by=maker)
    services.scorecard_activation_request(version=version, by=maker)
    services.scorecard_activate(version=version, by=checker)
    now = timezone.now()
    customers = []
    for i in range(n):
        customer = CustomerFactory(created_at=now - datetime.timedelta(days=40 * i + 1))
        CreditLine.objects.filter(customer=customer).update(limit=Decimal("1500.00"))
        customers.append(customer)
    services.customers_rescore(on=timezone.localdate())
    return version, customers


def test_the_second_analyst_activates_through_the_version_page(maker, checker):
    version = hand_card(by=maker)
    page = reverse("risk:version_detail", args=[version.pk])
    as_maker, as_checker = _client(maker), _client(checker)
    assert "Request activation" in as_maker.get(page).content.decode()
    as_maker.post(reverse("risk:version_request", args=[version.pk]))
    # The maker is refused; the checker sees the buttons and activates.
    decide = reverse("risk:version_decide", args=[version.pk])
    response = as_maker.post(decide, {"decision": "approve"}, follow=True)
    assert "another analyst must activate it" in response.content.decode()
    version.refresh_from_db()
    assert version.status == VersionStatus.PENDING_ACTIVATION
    assert 'value="approve"' in as_checker.get(page).content.decode()
    as_checker.post(decide, {"decision": "approve", "reason": "ok"})
    version.refresh_from_db()
    assert (version.status, version.activated_by) == (VersionStatus.ACTIVE, checker)


def test_rejecting_without_a_reason_is_a_message_not_a_change(maker, checker):
    _book(maker, checker)
    change = LimitChange.objects.filter(status=LimitChangeStatus.PENDING).first()
    decide = reverse("risk:limit_change_decide", args=[change.pk])
    response = _client(checker).post(decide, {"decision": "reject", "reason": ""}, follow=True)
    assert "Say why you reject it." in response.content.decode()
    change.refresh_from_db()
    assert change.status == LimitChangeStatus.PENDING


def test_the_approvals_queue_approves_an_increase(maker, checker):
    _book(maker, checker)
    change = LimitChange.objects.filter(status=LimitChangeStatus.PENDING).first()
    assert change is not None
    page = _client(checker).get(reverse("risk:approvals")).content.decode()
    assert change.customer.name in page
    _client(checker).post(reverse("risk:limit_change_decide", args=[change.pk]), {"decision": "approve"})
    change.refresh_from_db()
    assert change.status == LimitChangeStatus.APPROVED
    assert CreditLine.objects.get(customer=change.customer).limit == change.new_limit


def test_a_proposal_from_the_customer_page_waits_and_its_maker_cannot_approve(maker, checker):
    _book(maker, checker)
    customer = CustomerFactory()
    CreditLine.objects.filter(customer=customer).update(limit=Decimal("1500.00"))
    page = reverse("risk:customer_risk", args=[customer.pk])
    _client(maker).post(page, {"new_limit": "30000000", "reason": "x"})  # over the form's bound: a form error
    response = _client(maker).post(page, {"new_limit": "9000.00", "reason": ""})
    assert response.status_code == 200 and not LimitChange.objects.filter(customer=customer).exists()
    _client(maker).post(page, {"new_limit": "21000.00", "reason": "asked"})
    assert not LimitChange.objects.filter(customer=customer).exists()  # above ¥20,000: refused
    _client(maker).post(page, {"new_limit": "15000.00", "reason": "asked"})
    change = LimitChange.objects.get(customer=customer)
    assert change.status == LimitChangeStatus.PENDING
    approvals = _client(maker).get(reverse("risk:approvals")).content.decode()
    assert "Your proposal: another analyst decides." in approvals
    _client(maker).post(reverse("risk:limit_change_decide", args=[change.pk]), {"decision": "approve"})
    change.refresh_from_db()
    assert change.status == LimitChangeStatus.PENDING


def test_the_customer_page_shows_reasons_in_plain_words(maker, checker):
    version = hand_card(by=maker)
    services.scorecard_activation_request(version=version, by=maker)
    services.scorecard_activate(version=version, by=checker)
    customer = CustomerFactory(created_at=timezone.now() - datetime.timedelta(days=10))
    services.customers_rescore(on=timezone.localdate())
    html = _client(maker).get(reverse("risk:customer_risk", args=[customer.pk])).content.decode()
    # No orders: months on book (2 → 0 of 15) and no orders yet (3 of 12) cost points.
    assert "A short history with us" in html
    assert "Where the customer shops is associated with more arrears." in html


@pytest.mark.parametrize("role", [Role.COLLECTIONS_AGENT, Role.OPERATIONS_ADMIN, Role.COLLECTIONS_MANAGER])
def test_other_roles_are_refused(role, maker, checker):
    version, customers = _book(maker, checker, n=1)
    client = _client(UserFactory(roles=[role]))
    for url in (
        reverse("risk:scorecard_list"),
        reverse("risk:version_detail", args=[version.pk]),
        reverse("risk:approvals"),
        reverse("risk:customer_risk", args=[customers[0].pk]),
    ):
        assert client.get(url).status_code == 403
    assert client.post(reverse("risk:version_request", args=[version.pk])).status_code == 403


def test_detail_pages_use_a_bounded_number_of_queries(maker, checker, django_assert_max_num_queries):
    version, customers = _book(maker, checker, n=3)
    client = _client(maker)
    customer = customers[-1]
    for day in range(1, 6):  # more history must not mean more queries
        services.customers_rescore(on=timezone.localdate() + datetime.timedelta(days=day))
    with django_assert_max_num_queries(16):
        assert client.get(reverse("risk:customer_risk", args=[customer.pk])).status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(reverse("risk:version_detail", args=[version.pk])).status_code == 200


def test_the_admin_refuses_to_edit_a_used_version(maker, checker, admin_client):
    version, _customers = _book(maker, checker, n=1)
    a_bin = Bin.objects.filter(characteristic__version=version).first()
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = _client(root)
    url = reverse("admin:risk_bin_change", args=[a_bin.pk])
    response = client.post(url, {"points": "99"})
    a_bin.refresh_from_db()
    assert a_bin.points != 99
    assert response.status_code in (200, 403)
    copy = services.scorecard_version_copy(version=version, by=maker)
    copied = Bin.objects.filter(characteristic__version=copy).order_by("id").first()
    client.post(reverse("admin:risk_bin_change", args=[copied.pk]), {"points": "99"})
    copied.refresh_from_db()
    assert copied.points == 99
