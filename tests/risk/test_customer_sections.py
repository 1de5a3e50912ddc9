"""The customer's risk page's sections (bnpl_admin.customer_sections): the order decisions, the
orders and the restrictions of that customer and no other, the one-line restriction form, who
sees what, the same number of queries however long the customer's history, and both languages."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import CreditLineStatus
from accounts.roles import Role
from decisions.models import ReviewOutcome
from decisions.rules import MERCHANT_RISK_FLAG, reason_label
from decisions.services import order_decide, order_review
from orders.models import Channel, Plan
from orders.services import order_place
from restrictions.models import Restriction
from restrictions.services import restriction_apply
from tests.conftest import login_verified
from tests.factories import CustomerFactory, MerchantFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user, language="en") -> Client:
    user.language = language  # the console speaks the signed-in user's language
    user.save(update_fields=["language"])
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    login_verified(client, user)
    client.cookies["django_language"] = language
    return client


@pytest.fixture
def analyst():
    return UserFactory(username="analyst", roles=[Role.RISK_ANALYST], language="en")


def _page(customer) -> str:
    return reverse("risk:customer_risk", args=[customer.pk])


def _book(customer, analyst, *, tag: str, orders: int = 2, restrictions: int = 1):
    """`orders` orders at an ordinary shop, each decided (linked); one more at a flagged shop,
    referred and approved by the analyst; then `restrictions` freezes and unfreezes of the line."""
    shop = MerchantFactory(name=f"{tag}-shop")
    start = timezone.now() - datetime.timedelta(days=90)
    for i in range(orders):
        order = order_place(
            customer=customer,
            merchant=shop,
            external_reference=f"{tag}-ORD-{i}",
            amount=Decimal("100.00"),
            plan=Plan.PAY_LATER,
            channel=Channel.SHORT_VIDEO,
            item_summary="T恤",
            placed_at=start + datetime.timedelta(days=i),
        )
        order_decide(
            customer=customer,
            amount=order.amount,
            merchant=shop,
            channel=order.channel,
            placed_at=order.placed_at,
            order=order,
        )
    risky = MerchantFactory(name=f"{tag}-flagged", is_risky=True)
    order = order_place(
        customer=customer,
        merchant=risky,
        external_reference=f"{tag}-ORD-RISKY",
        amount=Decimal("300.00"),
        plan=Plan.PAY_LATER,
        channel=Channel.LIVESTREAM,
        item_summary="耳机",
        placed_at=timezone.now() - datetime.timedelta(hours=1),
    )
    referral = order_decide(
        customer=customer,
        amount=order.amount,
        merchant=risky,
        channel=order.channel,
        placed_at=order.placed_at,
        order=order,
    )
    assert MERCHANT_RISK_FLAG in referral.reason_codes
    order_review(
        decision=referral, by=analyst, outcome=ReviewOutcome.APPROVED, note=f"{tag} checked by phone"
    )
    line = customer.credit_line
    for i in range(restrictions):
        line.refresh_from_db()
        restriction_apply(
            credit_line=line,
            action="freeze" if line.status == CreditLineStatus.ACTIVE else "unfreeze",
            reason_code="arrears",
            text=f"{tag}-restriction-{i}",
            by=analyst,
        )
    return customer


def test_each_section_shows_this_customers_rows_and_no_one_elses(analyst):
    mine = _book(CustomerFactory(), analyst, tag="MINE")
    _book(CustomerFactory(), analyst, tag="THEIRS")
    html = _client(analyst).get(_page(mine)).content.decode()
    # The sections, in the registry's order, under the line, scores and limits.
    at = [html.index(f'<section id="{key}">') for key in ("limits", "decisions", "orders", "restrictions")]
    assert at == sorted(at)
    # Order decisions: the order, the outcome, the reason in words, the review and its reviewer.
    decisions = html[at[1] : at[2]]
    assert "MINE-ORD-0" in decisions and "MINE-ORD-RISKY" in decisions
    assert "Refer to an analyst" in decisions and "Approve" in decisions
    assert "The merchant is flagged as risky." in decisions
    assert "Approved by an analyst, analyst" in decisions and "MINE checked by phone" in decisions
    # Newest first: the referral (placed an hour ago) before the orders of 90 days ago.
    assert decisions.index("MINE-ORD-RISKY") < decisions.index("MINE-ORD-0")
    # Orders: number, merchant, amount, status, channel.
    orders = html[at[2] : at[3]]
    for text in ("MINE-ORD-1", "MINE-shop", "MINE-flagged", "¥300.00", "Approved", "Livestream"):
        assert text in orders, text
    # Restrictions: the action, the reason in words with the text, who, the line's change.
    restrictions = html[at[3] :]
    assert "Freeze" in restrictions and "Serious arrears: MINE-restriction-0" in restrictions
    assert "analyst" in restrictions and "Active → Frozen" in restrictions
    assert "THEIRS" not in html


def test_a_waiting_referral_links_to_the_review_queue_filtered_to_the_customer(analyst):
    customer = _book(CustomerFactory(), analyst, tag="DONE", orders=0, restrictions=0)
    queue = f"{reverse('decisions:review_queue')}?platform_user_id={customer.platform_user_id}"
    client = _client(analyst)
    assert queue not in client.get(_page(customer)).content.decode()  # reviewed: nothing waits
    waiting = order_decide(
        customer=customer,
        amount=Decimal("200.00"),
        merchant=MerchantFactory(name="DONE-flagged"),
        channel=Channel.LIVESTREAM,
    )
    assert waiting.outcome == "refer"
    html = client.get(_page(customer)).content.decode()
    assert f'href="{queue}"' in html
    assert f'href="{reverse("decisions:decision_detail", args=[waiting.pk])}"' in html
    assert "Waiting for review" in html and "not yet placed" in html
    assert customer.name in client.get(queue).content.decode()


def test_a_bulk_job_restriction_names_its_job(analyst):
    customer = _book(CustomerFactory(), analyst, tag="JOB", orders=0, restrictions=1)
    from restrictions.services import restriction_job_preview

    job = restriction_job_preview(
        spec={"grade": "E"}, action="freeze", reason_code="poor_grade", text="", by=analyst
    )
    Restriction.objects.filter(customer=customer).update(job=job)
    html = _client(analyst).get(_page(customer)).content.decode()
    assert f'href="{reverse("restrictions:job_detail", args=[job.pk])}">#{job.pk}<' in html


def test_the_restriction_form_on_the_risk_page_changes_the_line_and_comes_back(analyst):
    customer = CustomerFactory()
    client = _client(analyst)
    html = client.get(_page(customer)).content.decode()
    action = reverse("restrictions:customer", args=[customer.pk])
    assert f'action="{action}"' in html
    assert f'name="next" value="{_page(customer)}#restrictions"' in html
    assert f'href="{action}"' in html  # and the customer's restriction page
    response = client.post(
        action,
        {
            "action": "freeze",
            "reason_code": "fraud_suspected",
            "text": "device farm",
            "next": _page(customer),
        },
    )
    assert response.status_code == 302 and response["Location"] == _page(customer)
    customer.credit_line.refresh_from_db()
    assert customer.credit_line.status == CreditLineStatus.FROZEN
    html = client.get(_page(customer)).content.decode()
    assert "The credit line is changed." in html
    assert "Suspected fraud: device farm" in html
    # A frozen line is unfrozen or closed, not frozen again.
    form = html[html.index('<section id="restrictions">') :]
    assert 'value="unfreeze"' in form and 'value="freeze"' not in form


def test_a_next_to_another_site_is_ignored(analyst):
    customer = CustomerFactory()
    action = reverse("restrictions:customer", args=[customer.pk])
    response = _client(analyst).post(
        action,
        {"action": "freeze", "reason_code": "arrears", "text": "", "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == action


def test_bad_input_from_the_risk_page_is_a_form_error_not_a_change(analyst):
    customer = CustomerFactory()
    response = _client(analyst).post(
        reverse("restrictions:customer", args=[customer.pk]),
        {"action": "melt", "reason_code": "?", "text": "x" * 500, "next": _page(customer)},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'name="next" value="{_page(customer)}"' in html  # the form still comes back
    customer.credit_line.refresh_from_db()
    assert customer.credit_line.status == CreditLineStatus.ACTIVE


def test_a_closed_line_offers_no_form(analyst):
    customer = CustomerFactory()
    restriction_apply(
        credit_line=customer.credit_line, action="close", reason_code="deceased", text="", by=analyst
    )
    html = _client(analyst).get(_page(customer)).content.decode()
    section = html[html.index('<section id="restrictions">') :]
    assert "This credit line is closed; closing is final." in section
    assert 'name="action"' not in section


def test_without_the_restriction_permissions_there_is_no_restrictions_section():
    """A reader with the risk page's permission but none of the restrictions app's sees the other
    sections and no restrictions, no form."""
    reader = UserFactory(username="reader", language="en")
    reader.user_permissions.add(
        Permission.objects.get(codename="work_risk", content_type__app_label="risk"),
        Permission.objects.get(codename="view_orderdecision", content_type__app_label="decisions"),
        Permission.objects.get(codename="view_order", content_type__app_label="orders"),
    )
    customer = CustomerFactory()
    html = _client(reader).get(_page(customer)).content.decode()
    assert '<section id="decisions">' in html and '<section id="orders">' in html
    assert '<section id="restrictions">' not in html
    assert reverse("restrictions:customer", args=[customer.pk]) not in html
    # Nor the review queue, nor the decisions' pages: they need the review permission.
    assert reverse("decisions:review_queue") not in html


def test_may_read_restrictions_but_not_restrict_sees_rows_and_no_form(analyst):
    customer = _book(CustomerFactory(), analyst, tag="RO", orders=0, restrictions=1)
    reader = UserFactory(username="reader", language="en")
    reader.user_permissions.add(
        Permission.objects.get(codename="work_risk", content_type__app_label="risk"),
        Permission.objects.get(codename="view_restriction", content_type__app_label="restrictions"),
    )
    html = _client(reader).get(_page(customer)).content.decode()
    section = html[html.index('<section id="restrictions">') :]
    assert "RO-restriction-0" in section
    assert 'name="action"' not in section
    assert reverse("restrictions:customer", args=[customer.pk]) not in section


@pytest.mark.parametrize(
    "role", [Role.COLLECTIONS_AGENT, Role.COLLECTIONS_MANAGER, Role.FIELD_AGENT, Role.OPERATIONS_ADMIN]
)
def test_other_roles_are_refused_the_page(role, analyst):
    customer = _book(CustomerFactory(), analyst, tag="X", orders=1, restrictions=1)
    response = _client(UserFactory(username=f"other-{role.name}", roles=[role])).get(_page(customer))
    assert response.status_code == 403
    assert "X-ORD-0" not in response.content.decode()


def test_the_page_takes_the_same_queries_for_a_short_and_a_long_history(analyst):
    few = _book(CustomerFactory(), analyst, tag="FEW", orders=1, restrictions=1)
    many = _book(CustomerFactory(), analyst, tag="MANY", orders=25, restrictions=25)
    client = _client(analyst)
    client.get(_page(few))  # the session and the permissions are read once
    counts = {}
    for name, customer in (("few", few), ("many", many)):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(_page(customer))
        assert response.status_code == 200
        counts[name] = len(queries)
    assert counts["few"] == counts["many"], counts
    html = response.content.decode()
    # Bounded: the newest 20 of each, and the page says so.
    assert "Only the newest 20 decisions are shown." in html
    assert "Only the newest 20 orders are shown." in html
    assert "Only the newest 20 restrictions are shown." in html
    assert "MANY-ORD-24" in html and "MANY-ORD-0<" not in html
    assert "MANY-restriction-24" in html and "MANY-restriction-0<" not in html


def test_the_sections_speak_chinese_to_a_chinese_reader(analyst):
    customer = _book(CustomerFactory(), analyst, tag="ZH", orders=1, restrictions=1)
    html = _client(analyst, language="zh-hans").get(_page(customer)).content.decode()
    for heading in ("订单决策", "订单", "限制措施"):
        assert f"<h2>{heading}</h2>" in html, heading
    with translation.override("zh-hans"):
        reason = reason_label(MERCHANT_RISK_FLAG)
        arrears = str(Restriction._meta.get_field("reason_code").flatchoices[0][1])
    assert reason in html and "The merchant is flagged as risky." not in html
    # (The line's stored status reason at the top is data, written in the business language.)
    section = html[html.index('<section id="restrictions">') :]
    assert arrears in section and "Serious arrears" not in section
    for english in ("Order decisions", "Restrictions", "Only the newest", "Refer to an analyst"):
        assert english not in html, english
