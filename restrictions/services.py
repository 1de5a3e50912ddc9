"""Every write of restrictions: one line at a time, and bulk jobs (preview, confirm, approve, run).

Each line's change goes through the same three records: the credit line's history row (the audit
trail), a `Restriction` row (reason code and text), and a decision log entry (kind restriction).
A bulk job is run in batches by `restriction_job_run`; each batch is one transaction that also
moves the job's cursor, so a worker killed halfway leaves either a whole batch or none, and the
retried task resumes after the last whole batch. Lines already in the target state are skipped
(the batch selects only lines in a status the action moves from).
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import CreditLine
from bnpl_admin.bulk import bulk_update_rows
from bnpl_admin.dates import business_date
from bnpl_admin.errors import DomainError
from decisionlog.models import DecisionKind
from decisionlog.services import decision_log_append, decision_log_append_many, subject_of
from policy.selectors import policy_in_force

from .models import (
    ACTION_FROM,
    ACTION_TO,
    PERMISSION_APPROVE,
    PERMISSION_BULK,
    PERMISSION_RESTRICT,
    Restriction,
    RestrictionAction,
    RestrictionJob,
    RestrictionJobStatus,
    RestrictionReason,
)
from .selectors import lines_to_change, restriction_preview, with_available_credit

BATCH_SIZE = 500


class RestrictionError(DomainError):
    pass


def _reason(code: str, text: str) -> str:
    """The line's stored status reason: the code's label in the business language and the text."""
    label = RestrictionReason(code).label
    return f"{label}: {text}"[:190] if text else str(label)


def _log_content(
    *, line: CreditLine, action: str, code: str, text: str, from_status: str, available, job=None
):
    return {
        "action": action,
        "credit_line": line.pk,
        "customer": line.customer_id,
        "from": from_status,
        "to": ACTION_TO[action],
        "reason_code": code,
        "reason_text": text,
        "limit": line.limit,
        "available_before": available,
        "job": job.pk if job else None,
    }


def _check_reason(code: str, text: str) -> str:
    if code not in RestrictionReason.values:
        raise RestrictionError(_("Choose a reason code."), code="no_reason")
    text = (text or "").strip()
    if code == RestrictionReason.OTHER and not text:
        raise RestrictionError(_("Say why in the text when the reason is 'Other'."), code="no_text")
    return text


@transaction.atomic
def restriction_apply(
    *, credit_line: CreditLine, action: str, reason_code: str, text: str, by
) -> Restriction:
    """Freeze, unfreeze or close one line, from the customer's restriction page."""
    if by is None or not by.has_perm(PERMISSION_RESTRICT):
        raise RestrictionError(_("You may not restrict credit lines."), code="not_allowed")
    text = _check_reason(reason_code, text)
    line = with_available_credit(CreditLine.objects.filter(pk=credit_line.pk)).select_for_update().get()
    from_status, available = line.status, line.available
    reason = _reason(reason_code, text)
    if action == RestrictionAction.FREEZE:
        line = account_services.credit_line_freeze(credit_line=line, reason=reason, by=by)
    elif action == RestrictionAction.UNFREEZE:
        line = account_services.credit_line_unfreeze(credit_line=line, reason=reason, by=by)
    elif action == RestrictionAction.CLOSE:
        line = account_services.credit_line_close(credit_line=line, reason=reason, by=by)
    else:
        raise RestrictionError(_("Unknown action."), code="bad_action")
    entry = decision_log_append(
        kind=DecisionKind.RESTRICTION,
        subject=subject_of(line),
        content=_log_content(
            line=line,
            action=action,
            code=reason_code,
            text=text,
            from_status=from_status,
            available=available,
        ),
        actor=by,
    )
    return Restriction.objects.create(
        credit_line=line,
        customer_id=line.customer_id,
        action=action,
        reason_code=reason_code,
        reason_text=text,
        from_status=from_status,
        to_status=line.status,
        available_before=available,
        by=by,
        created_at=entry.recorded_at,
        decision_sequence=entry.sequence,
    )


# --- Bulk jobs ---------------------------------------------------------------------------------


def approval_threshold(*, on: datetime.date | None = None) -> int:
    return policy_in_force(on=on or business_date()).restriction_approval_lines


@transaction.atomic
def restriction_job_preview(*, spec: dict, action: str, reason_code: str, text: str, by) -> RestrictionJob:
    """Count what the action would change (lines and their available credit) and keep it as a
    job awaiting confirmation; nothing changes yet."""
    if by is None or not by.has_perm(PERMISSION_BULK):
        raise RestrictionError(_("You may not restrict credit lines in bulk."), code="not_allowed")
    if not any(
        spec.get(key) not in (None, "", False)
        for key in ("grade", "merchant", "flagged_merchants", "dpd_over")
    ):
        raise RestrictionError(_("Choose at least one filter."), code="no_filter")
    if action not in RestrictionAction.values:
        raise RestrictionError(_("Unknown action."), code="bad_action")
    text = _check_reason(reason_code, text)
    preview = restriction_preview(spec=spec, action=action, on=business_date())
    return RestrictionJob.objects.create(
        filter_spec=spec,
        action=action,
        reason_code=reason_code,
        reason_text=text,
        requested_by=by,
        preview_lines=preview.lines,
        preview_available=preview.available,
        preview_skipped=preview.skipped,
        total=preview.lines,
    )


def _enqueue(job: RestrictionJob) -> None:
    from .tasks import restriction_job_run_task

    transaction.on_commit(lambda: restriction_job_run_task.delay(job.pk), robust=True)


@transaction.atomic
def restriction_job_confirm(*, job: RestrictionJob, by, publish: bool = True) -> RestrictionJob:
    """The requester confirms the previewed job: it is queued, or waits for a second analyst when
    it previewed more lines than the policy's threshold. `publish=False` leaves the queued job for
    the caller to run (the demo seeder runs it in its own transaction, with no worker)."""
    job = RestrictionJob.objects.select_for_update().get(pk=job.pk)
    if job.requested_by_id != getattr(by, "pk", None):
        raise RestrictionError(
            _("Only the analyst who previewed this job may confirm it."), code="not_requester"
        )
    if job.status != RestrictionJobStatus.PREVIEWED:
        raise RestrictionError(_("This job is no longer waiting for confirmation."), code="not_previewed")
    if job.preview_lines > approval_threshold():
        job.status = RestrictionJobStatus.AWAITING_APPROVAL
        job.save(update_fields=["status"])
        return job
    job.status = RestrictionJobStatus.QUEUED
    job.save(update_fields=["status"])
    if publish:
        _enqueue(job)
    return job


@transaction.atomic
def restriction_job_approve(*, job: RestrictionJob, by) -> RestrictionJob:
    """A second analyst approves a big job (maker–checker): nobody approves their own."""
    job = RestrictionJob.objects.select_for_update().get(pk=job.pk)
    if by is None or not by.has_perm(PERMISSION_APPROVE):
        raise RestrictionError(_("You may not approve bulk restrictions."), code="not_allowed")
    if job.requested_by_id == by.pk:
        raise RestrictionError(_("Nobody approves their own bulk restriction."), code="own_job")
    if job.status != RestrictionJobStatus.AWAITING_APPROVAL:
        raise RestrictionError(_("This job is not waiting for approval."), code="not_awaiting")
    job.status = RestrictionJobStatus.QUEUED
    job.approved_by, job.approved_at = by, timezone.now()
    job.save(update_fields=["status", "approved_by", "approved_at"])
    _enqueue(job)
    return job


@transaction.atomic
def restriction_job_cancel(*, job: RestrictionJob, by) -> RestrictionJob:
    """A job not yet queued is cancelled by its requester or by an approver."""
    job = RestrictionJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (RestrictionJobStatus.PREVIEWED, RestrictionJobStatus.AWAITING_APPROVAL):
        raise RestrictionError(_("Only a job that has not started can be cancelled."), code="started")
    if job.requested_by_id != by.pk and not by.has_perm(PERMISSION_APPROVE):
        raise RestrictionError(_("You may not cancel this job."), code="not_allowed")
    job.status = RestrictionJobStatus.CANCELLED
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return job


def restriction_job_run(
    *,
    job: RestrictionJob,
    batch_size: int | None = None,
    on: datetime.date | None = None,
    at: datetime.datetime | None = None,
) -> RestrictionJob:
    """Run a queued (or interrupted) job to the end, batch by batch. Idempotent: a done job is
    left as it is, and a retried one resumes after its cursor."""
    claimed = RestrictionJob.objects.filter(
        pk=job.pk, status__in=(RestrictionJobStatus.QUEUED, RestrictionJobStatus.RUNNING)
    ).update(status=RestrictionJobStatus.RUNNING)
    if not claimed:
        job.refresh_from_db()
        return job
    RestrictionJob.objects.filter(pk=job.pk, started_at__isnull=True).update(started_at=timezone.now())
    job.refresh_from_db()
    # The business date is the job's, once: a run resumed after midnight selects as it began.
    on = on or business_date(job.started_at)
    batch_size = batch_size or BATCH_SIZE
    try:
        while restriction_job_batch(job=job, batch_size=batch_size, on=on, at=at):
            pass
    except Exception as exc:
        # Failed, with why; its cursor stays, so resuming it carries on after the last whole batch.
        RestrictionJob.objects.filter(pk=job.pk, status=RestrictionJobStatus.RUNNING).update(
            status=RestrictionJobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    job.refresh_from_db()
    return job


@transaction.atomic
def restriction_job_resume(*, job: RestrictionJob, by) -> RestrictionJob:
    """Queue a failed job again (its requester or an approver); it resumes after its cursor."""
    job = RestrictionJob.objects.select_for_update().get(pk=job.pk)
    if job.status != RestrictionJobStatus.FAILED:
        raise RestrictionError(_("Only a failed job can be resumed."), code="not_failed")
    if job.requested_by_id != by.pk and not by.has_perm(PERMISSION_APPROVE):
        raise RestrictionError(_("You may not resume this job."), code="not_allowed")
    job.status, job.error = RestrictionJobStatus.QUEUED, ""
    job.save(update_fields=["status", "error"])
    _enqueue(job)
    return job


@transaction.atomic
def restriction_job_batch(
    *, job: RestrictionJob, batch_size: int, on: datetime.date, at: datetime.datetime | None = None
) -> bool:
    """One batch: the next lines after the cursor that the action changes, changed together with
    their history rows, Restriction rows and decision log entries, and the cursor moved, in one
    transaction. Returns False when the job is done."""
    job = RestrictionJob.objects.select_for_update().get(pk=job.pk)
    if job.status != RestrictionJobStatus.RUNNING:
        return False
    by = job.requested_by
    ids = list(
        lines_to_change(spec=job.filter_spec, action=job.action, on=on)
        .filter(pk__gt=job.cursor)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not ids:
        job.status, job.finished_at = RestrictionJobStatus.DONE, timezone.now()
        job.save(update_fields=["status", "finished_at"])
        return False
    # Locked, and read again with the lock held: a line changed since the select is skipped.
    lines = list(
        with_available_credit(CreditLine.objects.filter(pk__in=ids, status__in=ACTION_FROM[job.action]))
        .select_related("customer")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    already = set(
        Restriction.objects.filter(job=job, credit_line_id__in=[line.pk for line in lines]).values_list(
            "credit_line_id", flat=True
        )
    )
    lines = [line for line in lines if line.pk not in already]
    # `at`: the moment recorded on the lines (the demo seeder's fixed clock); else now.
    now = at or timezone.now()
    to = ACTION_TO[job.action]
    reason = _reason(job.reason_code, job.reason_text)
    stored_reason = {
        RestrictionAction.FREEZE: reason,
        RestrictionAction.UNFREEZE: f"Unfrozen: {reason}",
        RestrictionAction.CLOSE: f"Closed: {reason}",
    }[job.action][:200]
    before = {line.pk: (line.status, line.available) for line in lines}
    for line in lines:
        line.status, line.status_reason, line.status_changed_at = to, stored_reason, now
    if lines:
        bulk_update_rows(lines, ["status", "status_reason", "status_changed_at"])
        # History rows (turned into the audit trail by audit.receivers), with who and why.
        CreditLine.history.bulk_history_create(
            lines,
            update=True,
            default_user=by,
            default_change_reason=f"restriction job {job.pk}: {reason}"[:100],
            default_date=now,
        )
        sequences = decision_log_append_many(
            entries=[
                (
                    DecisionKind.RESTRICTION,
                    subject_of(line),
                    _log_content(
                        line=line,
                        action=job.action,
                        code=job.reason_code,
                        text=job.reason_text,
                        from_status=before[line.pk][0],
                        available=before[line.pk][1],
                        job=job,
                    ),
                )
                for line in lines
            ],
            actor=by,
        )
        Restriction.objects.bulk_create(
            [
                Restriction(
                    credit_line=line,
                    customer_id=line.customer_id,
                    action=job.action,
                    reason_code=job.reason_code,
                    reason_text=job.reason_text,
                    from_status=before[line.pk][0],
                    to_status=to,
                    available_before=before[line.pk][1],
                    by=by,
                    created_at=now,
                    job=job,
                    decision_sequence=sequence,
                )
                for line, sequence in zip(lines, sequences, strict=True)
            ]
        )
    job.cursor = ids[-1]
    job.done += len(ids)
    job.changed += len(lines)
    job.total = max(job.total, job.done)
    job.save(update_fields=["cursor", "done", "changed", "total"])
    return True
