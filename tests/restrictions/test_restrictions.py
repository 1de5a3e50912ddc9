"""Restrictions: one line at a time, and bulk jobs (filters, preview, maker–checker, resumable runs),
each change in the audit trail and the decision log."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import CreditLine, CreditLineStatus, Grade
from accounts.roles import Role
from audit.models import AuditEvent
from bnpl_admin.dates import business_date
from bnpl_admin.errors import DomainError
from decisionlog.models import DecisionKind, DecisionLogEntry
from decisionlog.services import decision_log_verify
from orders.models import Installment, InstallmentStatus
from policy.models import Policy
from restrictions import services
from restrictions.models import (
    Restriction,
    RestrictionAction,
    RestrictionJob,
    RestrictionJobStatus,
    RestrictionReason,
)
from restrictions.selectors import lines_matching, restriction_preview
from tests.factories import CustomerFactory, MerchantFactory, UserFactory, delivered_order

pytestmark = pytest.mark.django_db


def _line(
    grade=Grade.C, status=CreditLineStatus.ACTIVE, limit="5000.00", owes: str | None = None
) -> CreditLine:
    customer = CustomerFactory()
    if owes:  # an open order carrying this much of the limit, placed before the grade changes
        delivered_order(customer=customer, amount=owes)
    line = customer.credit_line
    CreditLine.objects.filter(pk=line.pk).update(
        grade=grade, status=status, limit=Decimal(limit), status_reason="x" if status != "active" else ""
    )
    line.refresh_from_db()
    return line


def _run(job, *, run_tasks, by):
    services.restriction_job_confirm(job=job, by=by)
    job.refresh_from_db()
    return job


# --- One line at a time ---------------------------------------------------------------------------


def test_freeze_one_line_records_history_restriction_and_decision(analyst):
    line = _line()
    restriction = services.restriction_apply(
        credit_line=line,
        action=RestrictionAction.FREEZE,
        reason_code=RestrictionReason.FRAUD_SUSPECTED,
        text="chargebacks",
        by=analyst,
    )
    line.refresh_from_db()
    assert line.status == CreditLineStatus.FROZEN
    assert "chargebacks" in line.status_reason
    assert (restriction.from_status, restriction.to_status, restriction.by) == ("active", "frozen", analyst)
    assert restriction.available_before == Decimal("5000.00")
    history = line.history.latest("history_date")
    assert (history.status, history.history_user, history.history_change_reason.endswith("chargebacks")) == (
        "frozen",
        analyst,
        True,
    )
    entry = DecisionLogEntry.objects.get(sequence=restriction.decision_sequence)
    assert entry.kind == DecisionKind.RESTRICTION
    assert entry.subject == f"accounts.creditline:{line.pk}"
    assert entry.content["reason_code"] == "fraud_suspected" and entry.content["to"] == "frozen"
    assert entry.actor == analyst
    assert AuditEvent.objects.filter(object_id=str(line.pk), actor=analyst).exists()
    assert decision_log_verify().ok


def test_unfreeze_and_close_then_closed_is_final(analyst):
    line = _line()
    for action in (RestrictionAction.FREEZE, RestrictionAction.UNFREEZE, RestrictionAction.CLOSE):
        services.restriction_apply(
            credit_line=line,
            action=action,
            reason_code=RestrictionReason.CUSTOMER_REQUEST,
            text="",
            by=analyst,
        )
    line.refresh_from_db()
    assert line.status == CreditLineStatus.CLOSED
    for action in RestrictionAction.values:
        with pytest.raises(DomainError):
            services.restriction_apply(
                credit_line=line,
                action=action,
                reason_code=RestrictionReason.REVIEW_CLEARED,
                text="",
                by=analyst,
            )
    # Nor through the accounts services, the admin's status field or a bulk job.
    with pytest.raises(DomainError):
        account_services.credit_line_unfreeze(credit_line=line, reason="reopen", by=analyst)
    with pytest.raises(DomainError):
        account_services.credit_line_status_change(credit_line=line, to="active", reason="reopen", by=analyst)
    job = services.restriction_job_preview(
        spec={"grade": "C"},
        action=RestrictionAction.UNFREEZE,
        reason_code="review_cleared",
        text="",
        by=analyst,
    )
    assert job.preview_lines == 0 and job.preview_skipped == 1
    line.refresh_from_db()
    assert line.status == CreditLineStatus.CLOSED
    assert Restriction.objects.filter(credit_line=line).count() == 3
    assert DecisionLogEntry.objects.filter(kind=DecisionKind.RESTRICTION).count() == 3


def test_other_roles_may_not_restrict_and_other_needs_text(analyst):
    line = _line()
    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    with pytest.raises(DomainError):
        services.restriction_apply(
            credit_line=line, action="freeze", reason_code="arrears", text="", by=manager
        )
    with pytest.raises(DomainError):
        services.restriction_apply(
            credit_line=line, action="freeze", reason_code="other", text=" ", by=analyst
        )
    line.refresh_from_db()
    assert line.status == CreditLineStatus.ACTIVE
    assert not DecisionLogEntry.objects.exists()


# --- Filters --------------------------------------------------------------------------------------


def test_filter_by_grade():
    e_lines = [_line(Grade.E) for _ in range(3)]
    _line(Grade.D)
    assert set(lines_matching(spec={"grade": "E"}, on=business_date())) == set(e_lines)


def test_filter_by_a_chosen_merchant_and_by_flagged_merchants():
    shop = MerchantFactory(name="Flagged shop", is_risky=True)
    other = MerchantFactory(name="Good shop")
    bought = delivered_order(merchant=shop).customer
    elsewhere = delivered_order(merchant=other).customer
    on = business_date()
    assert [line.customer for line in lines_matching(spec={"merchant": shop.pk}, on=on)] == [bought]
    assert [line.customer for line in lines_matching(spec={"flagged_merchants": True}, on=on)] == [bought]
    assert [line.customer for line in lines_matching(spec={"merchant": other.pk}, on=on)] == [elsewhere]


def _instalment_due(days_ago: int, *, paid_days_ago: int | None = None) -> CreditLine:
    order = delivered_order(delivered_on=business_date() - datetime.timedelta(days=days_ago + 40))
    first = order.installments.order_by("sequence").first()
    Installment.objects.filter(order=order).exclude(pk=first.pk).update(
        due_date=business_date() + datetime.timedelta(days=20)
    )
    due = business_date() - datetime.timedelta(days=days_ago)
    if paid_days_ago is None:
        Installment.objects.filter(pk=first.pk).update(due_date=due, status=InstallmentStatus.OVERDUE)
    else:
        paid = timezone.make_aware(
            datetime.datetime.combine(
                business_date() - datetime.timedelta(days=paid_days_ago), datetime.time(12)
            )
        )
        Installment.objects.filter(pk=first.pk).update(
            due_date=due, status=InstallmentStatus.PAID, paid_at=paid
        )
    return order.customer.credit_line


def test_filter_more_than_30_days_past_due_in_the_last_90_days():
    unpaid_45 = _instalment_due(45)
    unpaid_31 = _instalment_due(31)  # 31 DPD today: in
    _instalment_due(30)  # 30 DPD today: not yet more than 30
    paid_late_recently = _instalment_due(80, paid_days_ago=20)  # 60 DPD when paid, 20 days ago
    _instalment_due(60, paid_days_ago=50)  # paid at 10 DPD: never more than 30
    _instalment_due(200, paid_days_ago=120)  # 80 DPD, but paid 120 days ago: before the window
    paid_at_edge = _instalment_due(150, paid_days_ago=89)  # past 30 DPD on day 89 of the window
    matched = set(lines_matching(spec={"dpd_over": 30, "within_days": 90}, on=business_date()))
    assert matched == {unpaid_45, unpaid_31, paid_late_recently, paid_at_edge}


# --- Bulk jobs ------------------------------------------------------------------------------------


def test_preview_counts_equal_what_the_job_changes(analyst, run_tasks, django_capture_on_commit_callbacks):
    targets = [_line(Grade.E, limit="1500.00") for _ in range(4)]
    targets.append(_line(Grade.E, limit="1500.00", owes="1000.00"))  # 500 still available
    already = _line(Grade.E, status=CreditLineStatus.FROZEN)
    closed = _line(Grade.E, status=CreditLineStatus.CLOSED)
    _line(Grade.A)
    job = services.restriction_job_preview(
        spec={"grade": "E"},
        action=RestrictionAction.FREEZE,
        reason_code="poor_grade",
        text="grade E",
        by=analyst,
    )
    assert (job.preview_lines, job.preview_skipped) == (5, 2)
    assert job.preview_available == Decimal("6500.00")  # 4 x 1500 + 500
    assert job.status == RestrictionJobStatus.PREVIEWED
    assert CreditLine.objects.filter(status=CreditLineStatus.FROZEN).count() == 1  # nothing yet
    with django_capture_on_commit_callbacks(execute=True):
        services.restriction_job_confirm(job=job, by=analyst)
    job.refresh_from_db()
    assert job.status == RestrictionJobStatus.DONE
    assert (job.changed, job.done, job.total) == (5, 5, 5)
    changed = Restriction.objects.filter(job=job)
    assert set(changed.values_list("credit_line_id", flat=True)) == {line.pk for line in targets}
    assert sum(r.available_before for r in changed) == job.preview_available
    assert CreditLine.objects.filter(pk__in=[t.pk for t in targets], status="frozen").count() == 5
    for line in (already, closed):
        assert not Restriction.objects.filter(credit_line=line).exists()
    entries = DecisionLogEntry.objects.filter(kind=DecisionKind.RESTRICTION)
    assert entries.count() == 5
    assert {e.content["job"] for e in entries} == {job.pk}
    assert {e.actor_id for e in entries} == {analyst.pk}
    # Each line's change is in the audit trail, with the analyst as the person.
    for line in targets:
        assert AuditEvent.objects.filter(object_id=str(line.pk), actor=analyst).exists()
    assert decision_log_verify().ok


def test_a_killed_run_retried_gives_the_same_result(analyst, monkeypatch, django_capture_on_commit_callbacks):
    lines = [_line(Grade.E) for _ in range(7)]
    job = services.restriction_job_preview(
        spec={"grade": "E"}, action=RestrictionAction.CLOSE, reason_code="poor_grade", text="", by=analyst
    )
    RestrictionJob.objects.filter(pk=job.pk).update(status=RestrictionJobStatus.QUEUED)
    real_batch = services.restriction_job_batch
    calls = {"n": 0}

    def dies_in_the_third_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            # The worker dies inside the batch's transaction, after writing: all of it rolls back.
            with transaction.atomic():
                real_batch(**kwargs)
                raise SystemExit("killed")
        return real_batch(**kwargs)

    monkeypatch.setattr(services, "restriction_job_batch", dies_in_the_third_batch)
    with pytest.raises(SystemExit):
        services.restriction_job_run(job=job, batch_size=2)
    job.refresh_from_db()
    # A killed worker leaves the job running: two whole batches done, the third rolled back.
    assert (job.status, job.done, job.changed) == (RestrictionJobStatus.RUNNING, 4, 4)
    assert Restriction.objects.filter(job=job).count() == 4
    assert CreditLine.objects.filter(status=CreditLineStatus.CLOSED).count() == 4
    # The broker hands the message to another worker, which runs the task again.
    services.restriction_job_run(job=job, batch_size=2)
    job.refresh_from_db()
    assert (job.status, job.done, job.changed, job.total) == (RestrictionJobStatus.DONE, 7, 7, 7)
    assert Restriction.objects.filter(job=job).count() == 7
    assert set(Restriction.objects.filter(job=job).values_list("credit_line_id", flat=True)) == {
        line.pk for line in lines
    }
    assert DecisionLogEntry.objects.count() == 7
    assert decision_log_verify().ok
    # And once more, as a duplicate delivery would: nothing changes.
    services.restriction_job_run(job=job, batch_size=2)
    assert DecisionLogEntry.objects.count() == 7


def test_a_failed_job_resumes_after_its_cursor(
    analyst, monkeypatch, run_tasks, django_capture_on_commit_callbacks
):
    for _ in range(5):
        _line(Grade.E)
    job = services.restriction_job_preview(
        spec={"grade": "E"}, action=RestrictionAction.FREEZE, reason_code="poor_grade", text="", by=analyst
    )
    real_batch = services.restriction_job_batch
    calls = {"n": 0}

    def fails_second(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return real_batch(**kwargs)

    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    monkeypatch.setattr(services, "restriction_job_batch", fails_second)
    # robust=True: the error is logged, the confirmation stays committed.
    with django_capture_on_commit_callbacks(execute=True):
        services.restriction_job_confirm(job=job, by=analyst)
    job.refresh_from_db()
    assert (job.status, job.changed) == (RestrictionJobStatus.FAILED, 2)
    assert "database went away" in job.error
    with django_capture_on_commit_callbacks(execute=True):
        services.restriction_job_resume(job=job, by=analyst)
    job.refresh_from_db()
    assert (job.status, job.changed, job.done) == (RestrictionJobStatus.DONE, 5, 5)
    assert Restriction.objects.count() == 5


def test_above_the_threshold_a_second_analyst_approves(
    analyst, checker, run_tasks, django_capture_on_commit_callbacks
):
    Policy.objects.update(restriction_approval_lines=2)
    for _ in range(3):
        _line(Grade.E)
    job = services.restriction_job_preview(
        spec={"grade": "E"}, action=RestrictionAction.FREEZE, reason_code="poor_grade", text="", by=analyst
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.restriction_job_confirm(job=job, by=analyst)
    job.refresh_from_db()
    assert job.status == RestrictionJobStatus.AWAITING_APPROVAL
    assert not run_tasks
    with pytest.raises(DomainError) as refused:
        services.restriction_job_approve(job=job, by=analyst)
    assert refused.value.code == "own_job"
    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    with pytest.raises(DomainError):
        services.restriction_job_approve(job=job, by=manager)
    assert not CreditLine.objects.filter(status="frozen").exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.restriction_job_approve(job=job, by=checker)
    job.refresh_from_db()
    assert (job.status, job.approved_by, job.changed) == (RestrictionJobStatus.DONE, checker, 3)
    assert run_tasks == [job.pk]


def test_at_the_threshold_no_approval_is_needed(analyst, run_tasks, django_capture_on_commit_callbacks):
    Policy.objects.update(restriction_approval_lines=2)
    for _ in range(2):
        _line(Grade.E)
    job = services.restriction_job_preview(
        spec={"grade": "E"}, action=RestrictionAction.FREEZE, reason_code="poor_grade", text="", by=analyst
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.restriction_job_confirm(job=job, by=analyst)
    job.refresh_from_db()
    assert job.status == RestrictionJobStatus.DONE


def test_the_database_refuses_an_own_approval(analyst):
    job = services.restriction_job_preview(
        spec={"grade": "E"}, action=RestrictionAction.FREEZE, reason_code="poor_grade", text="", by=analyst
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        RestrictionJob.objects.filter(pk=job.pk).update(approved_by=analyst)


def test_only_the_requester_confirms_and_a_filter_is_needed(analyst, checker):
    with pytest.raises(DomainError):
        services.restriction_job_preview(
            spec={}, action="freeze", reason_code="poor_grade", text="", by=analyst
        )
    job = services.restriction_job_preview(
        spec={"grade": "E"}, action="freeze", reason_code="poor_grade", text="", by=analyst
    )
    with pytest.raises(DomainError):
        services.restriction_job_confirm(job=job, by=checker)


def test_the_preview_selector_matches_the_job_over_a_merchant_filter(
    analyst, run_tasks, django_capture_on_commit_callbacks
):
    shop = MerchantFactory(name="Livestream gadgets", is_risky=True)
    buyers = [delivered_order(merchant=shop, amount="300.00").customer for _ in range(3)]
    delivered_order(merchant=MerchantFactory(name="Other"))
    preview = restriction_preview(spec={"merchant": shop.pk}, action="freeze", on=business_date())
    assert preview.lines == 3
    job = services.restriction_job_preview(
        spec={"merchant": shop.pk}, action="freeze", reason_code="merchant_risk", text="", by=analyst
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.restriction_job_confirm(job=job, by=analyst)
    assert set(Restriction.objects.values_list("customer_id", flat=True)) == {c.pk for c in buyers}
