"""The try-an-order form, the review queue and a decision's page: who opens them, what they show,
how many queries they take, and bad input answered in words, never a 500."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.navigation import navigation_for
from accounts.roles import Role
from decisions.models import OrderDecision, ReviewOutcome
from decisions.services import order_decide
from tests.conftest import login_verified
from tests.decisions.builders import analyst, seasoned_customer
from tests.factories import MerchantFactory, UserFactory

pytestmark = pytest.mark.django_db

TRY = reverse("decisions:try_order")
QUEUE = reverse("decisions:review_queue")


def _client(user, language="en") -> Client:
    user.language = language  # the console speaks the signed-in user's language
    user.save(update_fields=["language"])
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    login_verified(client, user)
    client.cookies["django_language"] = language
    return client


@pytest.fixture
def analyst_client():
    return _client(analyst())


def _referral(customer=None, amount="300.00") -> OrderDecision:
    return order_decide(
        customer=customer or seasoned_customer(),
        amount=Decimal(amount),
        merchant=MerchantFactory(name="风险商户", is_risky=True),
        channel="livestream",
    )


def test_the_navigation_shows_the_decision_pages_to_exactly_risk_analysts(db):
    urls = {TRY, QUEUE}
    for role in Role:
        user = UserFactory(username=f"nav-{role.name}", roles=[role])
        shown = {item["url"] for item in navigation_for(user)} & urls
        assert shown == (urls if role == Role.RISK_ANALYST else set()), role


def test_trying_an_order_shows_the_outcome_reasons_and_inputs_and_records_a_trial(analyst_client):
    customer = seasoned_customer()
    merchant = MerchantFactory(name="风险商户", is_risky=True)
    response = analyst_client.post(
        TRY,
        {
            "platform_user_id": customer.platform_user_id,
            "amount": "300.00",
            "merchant": merchant.pk,
            "channel": "livestream",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-outcome="refer"' in html
    assert "The merchant is flagged as risky." in html
    assert "Available credit (¥)" in html and "19900.00" in html
    decision = OrderDecision.objects.get()
    assert decision.is_trial and decision.decided_by.username == "analyst"


def test_a_referral_is_approved_from_its_page(analyst_client):
    decision = _referral()
    page = reverse("decisions:decision_detail", args=[decision.pk])
    response = analyst_client.get(page)
    assert response.status_code == 200 and 'class="review-form"' in response.content.decode()
    response = analyst_client.post(page, {"outcome": "approved", "note": "收入稳定"})
    assert response.status_code == 302 and response["Location"] == QUEUE
    decision.refresh_from_db()
    assert decision.review_outcome == ReviewOutcome.APPROVED
    # Reviewed: the page shows the review and no form; a second POST changes nothing.
    html = analyst_client.get(page).content.decode()
    assert 'class="review-form"' not in html and "收入稳定" in html
    analyst_client.post(page, {"outcome": "declined", "note": "no"})
    decision.refresh_from_db()
    assert decision.review_outcome == ReviewOutcome.APPROVED


def test_a_review_without_a_note_is_a_form_error(analyst_client):
    decision = _referral()
    page = reverse("decisions:decision_detail", args=[decision.pk])
    response = analyst_client.post(page, {"outcome": "declined", "note": ""})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    decision.refresh_from_db()
    assert decision.review_outcome == ""


def test_the_queue_lists_waiting_referrals_oldest_first_with_exposure(analyst_client):
    first = _referral()
    second = _referral()
    reviewed = _referral()
    from decisions.services import order_review

    order_review(decision=reviewed, by=analyst("other"), outcome=ReviewOutcome.DECLINED, note="no")
    order_decide(
        customer=seasoned_customer(), amount=Decimal("10.00"), merchant=MerchantFactory(), channel="mall"
    )
    response = analyst_client.get(QUEUE)
    rows = [row.record for row in response.context["table"].page.object_list]
    assert [r.pk for r in rows] == [first.pk, second.pk]
    assert rows[0].exposure == Decimal("100.00")
    assert "¥100.00" in response.content.decode()


def test_a_missing_decision_is_a_404(analyst_client):
    assert analyst_client.get(reverse("decisions:decision_detail", args=[999999])).status_code == 404


@pytest.mark.parametrize("page", ["try", "detail", "queue"])
def test_the_query_count_of_each_page_is_bounded(analyst_client, page, django_assert_max_num_queries):
    decisions = [_referral() for _ in range(3)]
    url = {
        "try": TRY,
        "detail": reverse("decisions:decision_detail", args=[decisions[0].pk]),
        "queue": QUEUE,
    }[page]
    analyst_client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert analyst_client.get(url).status_code == 200
    for _ in range(10):
        _referral()
    with django_assert_max_num_queries(len(few)):
        assert analyst_client.get(url).status_code == 200
    assert len(few) <= 16, [q["sql"][:80] for q in few.captured_queries]


def test_posting_a_trial_takes_a_fixed_number_of_queries(analyst_client, django_assert_max_num_queries):
    customer = seasoned_customer()
    merchant = MerchantFactory(name="日常好物")
    data = {
        "platform_user_id": customer.platform_user_id,
        "amount": "10.00",
        "merchant": merchant.pk,
        "channel": "mall",
    }
    analyst_client.post(TRY, data)
    with django_assert_max_num_queries(30):
        assert analyst_client.post(TRY, data).status_code == 200


@pytest.mark.parametrize("role", [r for r in Role if r != Role.RISK_ANALYST])
def test_other_roles_may_not_try_or_review(role):
    decision = _referral()
    client = _client(UserFactory(username=f"other-{role.name}", roles=[role]))
    for url in (TRY, QUEUE, reverse("decisions:decision_detail", args=[decision.pk])):
        assert client.get(url).status_code == 403
    response = client.post(
        reverse("decisions:decision_detail", args=[decision.pk]), {"outcome": "approved", "note": "x"}
    )
    assert response.status_code == 403
    decision.refresh_from_db()
    assert decision.review_outcome == ""


_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "1e400", "NaN", "sNaN", "Infinity", "0.001", "9" * 20, "１００", "\x00"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(user_id=_text, amount=_text, merchant=_text, channel=_text)
def test_generated_bad_input_on_the_form_is_never_a_500(analyst_client, user_id, amount, merchant, channel):
    client = analyst_client
    response = client.post(
        TRY, {"platform_user_id": user_id, "amount": amount, "merchant": merchant, "channel": channel}
    )
    assert response.status_code == 200


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(outcome=_text, note=_text)
def test_generated_bad_input_on_the_review_is_never_a_500(analyst_client, outcome, note):
    decision = _referral()
    response = analyst_client.post(
        reverse("decisions:decision_detail", args=[decision.pk]), {"outcome": outcome, "note": note}
    )
    assert response.status_code in (200, 302)


def test_the_pages_read_as_chinese(db, english_messages):
    from tests.hardening.test_zh_pages import _leaks, _raw_choice_values

    decision = _referral()
    client = _client(analyst("zh-analyst"), language="zh-hans")
    customer = seasoned_customer()
    pages = [
        client.get(reverse("decisions:decision_detail", args=[decision.pk])),
        client.post(
            TRY,
            {
                "platform_user_id": customer.platform_user_id,
                "amount": "300.00",
                "merchant": decision.merchant_id,
                "channel": "mall",
            },
        ),
        client.post(TRY, {"platform_user_id": "nobody", "amount": "x", "merchant": "", "channel": ""}),
        client.post(reverse("decisions:decision_detail", args=[decision.pk]), {"outcome": "x", "note": ""}),
    ]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert not _leaks(html, english_messages, _raw_choice_values())
