"""The demo book's decisions (made through the service) and the bench's decision measurement."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from decisionlog.models import DecisionLogEntry
from decisions.models import OrderDecision, Outcome, ReviewOutcome

pytestmark = pytest.mark.django_db


def test_the_demo_book_has_approved_declined_and_referred_orders_and_some_waiting():
    out = StringIO()
    call_command("seed_demo", "--customers", "60", "--seed", "11", stdout=out)
    decisions = list(OrderDecision.objects.all())
    outcomes = Counter(d.outcome for d in decisions)
    assert outcomes[Outcome.APPROVE] and outcomes[Outcome.DECLINE] and outcomes[Outcome.REFER], outcomes
    reviews = Counter(d.review_outcome for d in decisions if d.outcome == Outcome.REFER)
    assert reviews[ReviewOutcome.NONE] >= 3  # waiting in the review queue
    assert reviews[ReviewOutcome.EXPIRED] and reviews[ReviewOutcome.DECLINED], reviews
    assert sum(1 for d in decisions if d.order_id) >= 50  # the demo orders, decided and linked
    # Each decision and each review is in the decision log (beside the demo's scores, limit
    # changes and restrictions, which their own apps' tests count).
    logged = DecisionLogEntry.objects.filter(kind__in=["order_decision", "order_review"]).count()
    assert logged == len(decisions) + sum(reviews.values()) - reviews[ReviewOutcome.NONE]
    assert "order decisions" in out.getvalue()


def test_the_bench_measures_decisions_and_leaves_nothing_behind():
    from bench.decisions import measure_decisions
    from tests.decisions.builders import seasoned_customer
    from tests.factories import MerchantFactory

    for _ in range(3):
        seasoned_customer()
    MerchantFactory()
    result = measure_decisions(count=12, say=lambda text: None)
    assert result["count"] == 12 and result["decisions_per_s"] > 0
    assert result["queries_per_decision"] == 15
    assert sum(result["outcomes"].values()) == 14  # the two warm-up decisions too
    assert not OrderDecision.objects.exists() and not DecisionLogEntry.objects.exists()
