"""Scorecard versions (maker–checker, edit after use), nightly rescoring and its limit proposals."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import CreditLine, CreditLineStatus
from accounts.roles import Role
from bnpl_admin.signals import sweep_done
from decisionlog.models import DecisionKind, DecisionLogEntry
from risk import services
from risk.models import Bin, CustomerScore, LimitChange, LimitChangeKind, LimitChangeStatus, VersionStatus
from tests.factories import CustomerFactory, UserFactory, delivered_order
from tests.risk.cards import hand_card, months_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def analysts():
    return UserFactory(roles=[Role.RISK_ANALYST]), UserFactory(roles=[Role.RISK_ANALYST])


def _active(card, maker, checker):
    services.scorecard_activation_request(version=card, by=maker)
    return services.scorecard_activate(version=card, by=checker)


# --- Maker–checker ------------------------------------------------------------------------------


def test_activation_needs_a_second_analyst(analysts):
    maker, checker = analysts
    version = hand_card(by=maker)
    services.scorecard_activation_request(version=version, by=maker)
    with pytest.raises(services.RiskError) as refused:
        services.scorecard_activate(version=version, by=maker)
    assert refused.value.code == "own_request"
    version = services.scorecard_activate(version=version, by=checker)
    assert (version.status, version.activated_by, version.activation_requested_by) == (
        VersionStatus.ACTIVE,
        checker,
        maker,
    )
    entry = DecisionLogEntry.objects.get(kind=DecisionKind.SCORECARD_ACTIVATION)
    assert entry.actor == checker and entry.content["requested_by"] == maker.pk


def test_activating_another_version_retires_the_active_one(analysts):
    maker, checker = analysts
    first = _active(hand_card(by=maker), maker, checker)
    second = _active(months_card(by=maker), checker, maker)
    first.refresh_from_db()
    assert first.status == VersionStatus.RETIRED and second.status == VersionStatus.ACTIVE


def test_an_operations_admin_cannot_activate(analysts):
    maker, _checker = analysts
    version = services.scorecard_activation_request(version=hand_card(by=maker), by=maker)
    with pytest.raises(services.RiskError):
        services.scorecard_activate(version=version, by=UserFactory(roles=[Role.OPERATIONS_ADMIN]))


def test_rejecting_needs_a_reason_and_returns_the_draft(analysts):
    maker, checker = analysts
    version = services.scorecard_activation_request(version=hand_card(by=maker), by=maker)
    with pytest.raises(services.RiskError):
        services.scorecard_activation_reject(version=version, by=checker, reason=" ")
    version = services.scorecard_activation_reject(version=version, by=checker, reason="bins too coarse")
    assert version.status == VersionStatus.DRAFT


# --- Editing after use is refused: copy instead ---------------------------------------------------


def test_a_version_that_scored_anyone_cannot_be_edited_but_can_be_copied(analysts):
    maker, checker = analysts
    version = _active(hand_card(by=maker), maker, checker)
    CustomerFactory()
    services.customers_rescore(on=timezone.localdate())
    a_bin = Bin.objects.filter(characteristic__version=version).first()
    with pytest.raises(services.RiskError) as refused:
        services.bin_points_set(bin=a_bin, points=99, by=maker)
    assert refused.value.code == "in_use"
    copy = services.scorecard_version_copy(version=version, by=maker)
    assert copy.status == VersionStatus.DRAFT and copy.number == version.number + 1
    assert (
        Bin.objects.filter(characteristic__version=copy).count()
        == Bin.objects.filter(characteristic__version=version).count()
    )
    copied_bin = Bin.objects.get(
        characteristic__version=copy, position=a_bin.position, characteristic__code=a_bin.characteristic.code
    )
    assert services.bin_points_set(bin=copied_bin, points=99, by=maker).points == 99


# --- Rescoring ----------------------------------------------------------------------------------


def _customer(*, months: float, limit: str):
    now = timezone.now()
    customer = CustomerFactory(created_at=now - datetime.timedelta(days=int(months * 30) + 1))
    CreditLine.objects.filter(customer=customer).update(limit=Decimal(limit), grade="C")
    return customer


def test_rescoring_proposes_limits_by_the_rules(analysts):
    maker, checker = analysts
    _active(months_card(by=maker), maker, checker)
    falls = _customer(months=2.5, limit="20000.00")  # C: ¥5,000, a decrease applied at once
    small = _customer(months=2.5, limit="4000.00")  # C: +¥1,000 ≤ ¥2,000, applied at once
    big = _customer(months=5, limit="1500.00")  # A: +¥18,500, waits for a second analyst
    late = _customer(months=5, limit="1500.00")  # A, but arrears: no increase
    delivered_order(
        customer=late, amount="300.00", delivered_on=timezone.localdate() - datetime.timedelta(days=80)
    )
    new = _customer(months=0, limit="5000.00")  # E: frozen, limit 0

    summary = services.customers_rescore(on=timezone.localdate())

    def line(c):
        return CreditLine.objects.get(customer=c)

    assert line(falls).limit == Decimal("5000.00")
    assert line(small).limit == Decimal("5000.00")
    assert line(big).limit == Decimal("1500.00")
    assert LimitChange.objects.get(customer=big).status == LimitChangeStatus.PENDING
    assert line(late).limit == Decimal("1500.00") and not LimitChange.objects.filter(customer=late).exists()
    assert (line(new).status, line(new).limit) == (CreditLineStatus.FROZEN, Decimal("0.00"))
    assert LimitChange.objects.get(customer=new).kind == LimitChangeKind.FREEZE
    assert summary.pending == 1 and summary.applied == {"decrease": 1, "increase": 1, "freeze": 1}
    assert line(big).grade == "A" and line(big).score == 590
    # A score and a limit change each in the decision log.
    assert DecisionLogEntry.objects.filter(kind=DecisionKind.SCORE).count() == 5
    assert DecisionLogEntry.objects.filter(kind=DecisionKind.LIMIT_CHANGE).count() == 4


def test_rescoring_twice_on_one_day_writes_nothing_new(analysts):
    maker, checker = analysts
    _active(months_card(by=maker), maker, checker)
    _customer(months=5, limit="1500.00")
    _customer(months=2.5, limit="20000.00")
    on = timezone.localdate()
    services.customers_rescore(on=on)
    counts = (CustomerScore.objects.count(), LimitChange.objects.count(), DecisionLogEntry.objects.count())
    again = services.customers_rescore(on=on)
    assert (again.scored, again.skipped) == (0, 2)
    assert (
        CustomerScore.objects.count(),
        LimitChange.objects.count(),
        DecisionLogEntry.objects.count(),
    ) == counts


def test_a_second_analyst_approves_a_pending_increase(analysts):
    maker, checker = analysts
    _active(months_card(by=maker), maker, checker)
    big = _customer(months=5, limit="1500.00")
    services.customers_rescore(on=timezone.localdate())
    change = LimitChange.objects.get(customer=big)
    change = services.limit_change_approve(change=change, by=checker, reason="good history")
    assert change.status == LimitChangeStatus.APPROVED
    assert CreditLine.objects.get(customer=big).limit == Decimal("20000.00")
    assert DecisionLogEntry.objects.filter(kind=DecisionKind.LIMIT_CHANGE, actor=checker).exists()


def test_nobody_approves_their_own_proposal(analysts):
    maker, checker = analysts
    customer = _customer(months=5, limit="1500.00")
    change = services.limit_increase_propose(
        customer=customer, new_limit=Decimal("3000.00"), by=maker, reason="asked", on=timezone.localdate()
    )
    with pytest.raises(services.RiskError) as refused:
        services.limit_change_approve(change=change, by=maker)
    assert refused.value.code == "own_request"
    with pytest.raises(services.RiskError):
        services.limit_change_reject(change=change, by=checker, reason="")
    assert (
        services.limit_change_reject(change=change, by=checker, reason="no").status
        == LimitChangeStatus.REJECTED
    )


def test_the_sweep_publishes_rescoring(analysts, monkeypatch, django_capture_on_commit_callbacks):
    published = []
    monkeypatch.setattr("risk.tasks.rescore.delay", lambda on: published.append(on))
    on = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        sweep_done.send(sender=None, business_date=on, run_id=1)
    assert published == [on.isoformat()]


def test_an_increase_made_stale_by_a_later_decrease_cannot_be_approved(analysts):
    maker, checker = analysts
    customer = _customer(months=5, limit="1500.00")
    change = services.limit_increase_propose(
        customer=customer, new_limit=Decimal("3000.00"), by=maker, reason="asked", on=timezone.localdate()
    )
    CreditLine.objects.filter(customer=customer).update(limit=Decimal("1000.00"))
    with pytest.raises(services.RiskError) as refused:
        services.limit_change_approve(change=change, by=checker)
    assert refused.value.code == "stale"
