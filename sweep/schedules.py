"""The beat schedules (django-celery-beat rows): the sweep's, and every change made to any of them."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _
from django_celery_beat.models import PeriodicTask

from audit.models import AuditAction
from audit.services import audit_record
from bnpl_admin.beat import beat_schedules_ensure
from bnpl_admin.errors import DomainError

SCHEDULES = [
    # name, task, minute, hour (in TIME_ZONE)
    ("Nightly overdue sweep", "sweep.start", "30", "0"),
    ("Portfolio snapshot after the sweep", "sweep.snapshot", "30", "2"),
    # Republishes chunks lost with a worker or the broker and closes runs whose finish was lost.
    ("Sweep watchdog", "sweep.watchdog", "*/5", "*"),
    # After the sweep: stored totals against their entries, the result in the audit trail.
    ("Nightly ledger reconciliation", "orders.reconcile_ledgers", "0", "2"),
]


def schedules_ensure(apps, *args, **kwargs) -> None:
    """Create the schedules that are missing; leave ones staff have edited alone."""
    beat_schedules_ensure(apps, SCHEDULES)


# --- Changes to beat's schedules: who may make which, and the audit trail -----------------------

# What an operations admin may change on a periodic task: switch it on or off. The task, its
# arguments and its schedule decide what runs and for which date (a sweep for next year's
# date, every 15 minutes, once froze hundreds of customers), so only a superuser edits them.
OPERATIONS_EDITABLE_TASK_FIELDS = frozenset({"enabled"})


def beat_change_check(*, obj, by, fields: Iterable[str]) -> None:
    """Raise DomainError unless `by` may change these fields of a beat row (a task, a schedule)."""
    fields = set(fields)
    if by is None or not getattr(by, "is_authenticated", False):
        raise DomainError(_("Sign in to change schedules."), code="not_allowed")
    if by.is_superuser:
        return
    opts = obj._meta
    if not by.has_perm(f"{opts.app_label}.change_{opts.model_name}"):
        raise DomainError(_("You may not change schedules."), code="not_allowed")
    if not isinstance(obj, PeriodicTask) or obj.pk is None or fields - OPERATIONS_EDITABLE_TASK_FIELDS:
        raise DomainError(
            _("You may switch a schedule on or off; only a superuser changes what it runs and when."),
            code="superuser_only",
        )


@transaction.atomic
def periodic_task_set_enabled(*, task: PeriodicTask, enabled: bool, by, request=None) -> PeriodicTask:
    """Switch a schedule on or off; the audit trail records who, when, old and new."""
    task = PeriodicTask.objects.select_for_update().get(pk=task.pk)
    if task.enabled == enabled:
        return task
    beat_change_check(obj=task, by=by, fields={"enabled"})
    old = task.enabled
    task.enabled = enabled
    # save() also tells beat to reload its schedule (PeriodicTasks.changed).
    task.save(update_fields=["enabled", "last_run_at", "date_changed"])
    audit_record(
        actor=by,
        action=AuditAction.CHANGED,
        obj=task,
        changes={"enabled": [old, enabled]},
        request=request,
    )
    return task


@transaction.atomic
def beat_entry_save(*, obj, by, request=None):
    """Save a beat row as edited in the admin (a periodic task, a crontab, an interval...).

    Checks the fields that differ from the stored row against beat_change_check, then records
    them in the audit trail, old and new; a new row is recorded with its values.
    """
    model = type(obj)
    stored = model.objects.select_for_update().filter(pk=obj.pk).first() if obj.pk else None
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    if stored is None:
        changes = {f.name: [None, f.value_from_object(obj)] for f in fields}
    else:
        changes = {
            f.name: [f.value_from_object(stored), f.value_from_object(obj)]
            for f in fields
            if f.value_from_object(stored) != f.value_from_object(obj)
        }
    # Kept by beat itself, not by people: never a reason to refuse or to record.
    for name in ("date_changed", "last_run_at", "total_run_count"):
        if stored is not None:
            changes.pop(name, None)
    if stored is not None and not changes:
        return obj
    beat_change_check(obj=stored or obj, by=by, fields=changes)
    obj.save()
    audit_record(
        actor=by,
        action=AuditAction.CREATED if stored is None else AuditAction.CHANGED,
        obj=obj,
        changes=changes,
        request=request,
    )
    return obj


@transaction.atomic
def beat_entry_delete(*, obj, by, request=None) -> None:
    """Delete a beat row (superusers only); the trail keeps what it held."""
    if by is None or not getattr(by, "is_superuser", False):
        raise DomainError(_("Only a superuser deletes schedules."), code="superuser_only")
    changes = {
        f.name: [f.value_from_object(obj), None] for f in type(obj)._meta.concrete_fields if not f.primary_key
    }
    audit_record(actor=by, action=AuditAction.DELETED, obj=obj, changes=changes, request=request)
    obj.delete()
