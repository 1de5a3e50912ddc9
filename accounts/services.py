"""Every write to customers and credit lines that matters: freezing and unfreezing credit."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from bnpl_admin.bulk import bulk_update_rows
from bnpl_admin.errors import DomainError

from .models import CreditLine, CreditLineStatus


@transaction.atomic
def credit_line_freeze(*, credit_line: CreditLine, reason: str, by=None) -> CreditLine:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Freezing a credit line needs a reason.", code="no_reason")
    line = CreditLine.objects.select_for_update().get(pk=credit_line.pk)
    if line.status != CreditLineStatus.ACTIVE:
        raise DomainError("Only an active credit line can be frozen.", code="not_active")
    line.status, line.status_reason, line.status_changed_at = (
        CreditLineStatus.FROZEN,
        reason,
        timezone.now(),
    )
    line._change_reason = reason
    line.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    return line


@transaction.atomic
def credit_line_unfreeze(*, credit_line: CreditLine, reason: str, by) -> CreditLine:
    """A person unfreezes a line, never the sweep (DESIGN.md, "Ageing")."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Unfreezing a credit line needs a reason.", code="no_reason")
    if by is None or not by.has_perm("accounts.freeze_creditline"):
        raise DomainError("You may not unfreeze credit lines.", code="not_allowed")
    line = CreditLine.objects.select_for_update().get(pk=credit_line.pk)
    if line.status != CreditLineStatus.FROZEN:
        raise DomainError("This credit line is not frozen.", code="not_frozen")
    line.status, line.status_reason, line.status_changed_at = (
        CreditLineStatus.ACTIVE,
        f"Unfrozen: {reason}",
        timezone.now(),
    )
    line._change_reason = reason
    line.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    return line


def credit_lines_freeze_overdue(
    *, on: datetime.date, dpd_by_customer: dict[int, int], freeze_at_dpd: int
) -> int:
    """The sweep's freeze step, in the caller's transaction: active lines of customers at or past
    `freeze_at_dpd` are frozen with the reason recorded, each change written to the history table."""
    due = [c for c, dpd in dpd_by_customer.items() if dpd >= freeze_at_dpd]
    if not due:
        return 0
    now = timezone.now()
    # With the customer, which the audit trail names each line by.
    active = CreditLine.objects.filter(customer_id__in=due, status=CreditLineStatus.ACTIVE)
    lines = list(active.select_related("customer"))
    for line in lines:
        line.status = CreditLineStatus.FROZEN
        line.status_reason = (
            f"Overdue: {dpd_by_customer[line.customer_id]} days past due (sweep {on:%Y-%m-%d})"
        )
        line.status_changed_at = now
    with transaction.atomic(savepoint=False):
        bulk_update_rows(lines, ["status", "status_reason", "status_changed_at"])
        CreditLine.history.bulk_history_create(
            lines, update=True, default_change_reason="overdue sweep", batch_size=500
        )
    return len(lines)
