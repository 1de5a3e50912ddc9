"""Scorecard versions with points set by hand, for tests whose figures are worked out by hand."""

from __future__ import annotations

from decimal import Decimal

from accounts.models import Grade
from risk.characteristics import MISSING
from risk.services import DEFAULT_LIMITS, BandSpec, BinSpec, scorecard_version_draft_create

D = Decimal

# A score of 500 + points: A ≥ 590, B ≥ 570, C ≥ 550, D ≥ 530, E below.
BANDS = [
    BandSpec(Grade.A, 590, DEFAULT_LIMITS[Grade.A]),
    BandSpec(Grade.B, 570, DEFAULT_LIMITS[Grade.B]),
    BandSpec(Grade.C, 550, DEFAULT_LIMITS[Grade.C]),
    BandSpec(Grade.D, 530, DEFAULT_LIMITS[Grade.D]),
    BandSpec(Grade.E, -100000, DEFAULT_LIMITS[Grade.E]),
]


def hand_card(*, name: str = "Hand card", by=None):
    """Four characteristics, base 500 (best possible: 500 + 50 + 30 + 12 + 15 = 607)."""
    return scorecard_version_draft_create(
        scorecard_name=name,
        base_points=500,
        characteristics=[
            (
                "worst_dpd_12m",
                [BinSpec(50, upper=D(1)), BinSpec(20, lower=D(1), upper=D(15)), BinSpec(0, lower=D(15))],
            ),
            (
                "on_time_share",
                [BinSpec(0, upper=D("0.8")), BinSpec(30, lower=D("0.8")), BinSpec(10, category=MISSING)],
            ),
            (
                "channel_mix",
                [
                    BinSpec(0, category="livestream"),
                    BinSpec(10, category="short_video"),
                    BinSpec(12, category="mall"),
                    BinSpec(5, category="mixed"),
                    BinSpec(3, category="none"),
                ],
            ),
            ("months_on_book", [BinSpec(0, upper=D(6)), BinSpec(15, lower=D(6))]),
        ],
        bands=BANDS,
        fitted={"method": "hand-set"},
        by=by,
    )


def months_card(*, name: str = "Months card", by=None):
    """Only months on book decides: under 1 → E (500), 1–2 → D (530), 2–3 → C (550),
    3–4 → B (570), 4 and more → A (590)."""
    return scorecard_version_draft_create(
        scorecard_name=name,
        base_points=500,
        characteristics=[
            (
                "months_on_book",
                [
                    BinSpec(0, upper=D(1)),
                    BinSpec(30, lower=D(1), upper=D(2)),
                    BinSpec(50, lower=D(2), upper=D(3)),
                    BinSpec(70, lower=D(3), upper=D(4)),
                    BinSpec(90, lower=D(4)),
                ],
            )
        ],
        bands=BANDS,
        fitted={"method": "hand-set"},
        by=by,
    )


def risk_rows(*, maker, checker, customers=None, name: str = "Walk card") -> None:
    """A row of every risk model for the walks over every page: an active version that scored the
    book, the limit changes it applied or queued, and an increase proposed by hand (with history)."""
    import datetime

    from django.utils import timezone

    from accounts.models import CreditLine, Customer
    from risk import services
    from tests.factories import CustomerFactory

    version = hand_card(name=name, by=maker)
    services.scorecard_activation_request(version=version, by=maker)
    services.scorecard_activate(version=version, by=checker)
    old = CustomerFactory(created_at=timezone.now() - datetime.timedelta(days=400))
    CreditLine.objects.filter(customer=old).update(limit=Decimal("1500.00"))
    services.customers_rescore(on=timezone.localdate())
    customer = (customers or Customer.objects).exclude(limit_changes__status="pending_approval").first()
    CreditLine.objects.filter(customer=customer).update(limit=Decimal("100.00"))
    services.limit_increase_propose(
        customer=customer, new_limit=Decimal("200.00"), by=maker, reason="walk", on=timezone.localdate()
    )
    services.scorecard_version_copy(version=version, by=maker)
