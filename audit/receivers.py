"""Signal receivers that write the audit trail: sign-ins, history rows, second-factor resets,
passwords set by someone else and sign-in lockouts lifted (accounts.signals)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.utils import timezone
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record
from simple_history.utils import get_change_reason_from_object

from accounts import signals as account_signals
from bnpl_admin.bulk import bulk_insert_rows

from . import services
from .models import AuditAction


def on_logged_in(sender, request, user, **kwargs) -> None:
    services.audit_record(actor=user, action=AuditAction.LOGIN, request=request)


def on_logged_out(sender, request, user, **kwargs) -> None:
    # A sign-out of a session that had already expired has no user.
    if user is not None:
        services.audit_record(actor=user, action=AuditAction.LOGOUT, request=request)


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django has already replaced the password in `credentials` with asterisks.
    from django.contrib.auth import get_user_model

    username = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or ""
    services.login_failed_record(username=username, request=request)


def on_history_record(sender, history_instance, instance=None, **kwargs) -> None:
    services.history_records_audit(
        records=[history_instance], instances=[instance], request=_current_request()
    )


def on_second_factor_reset(sender, user=None, by=None, request=None, reason="", **kwargs) -> None:
    """accounts.signals.second_factor_reset: `user` had their second factor reset by `by`."""
    user = user or kwargs.get("target")
    actor = by or kwargs.get("actor") or getattr(request, "user", None)
    services.audit_record(
        actor=actor,
        action=AuditAction.SECOND_FACTOR_RESET,
        obj=user,
        reason=reason,
        request=request,
    )


def on_password_set_by_other(
    sender, user, by, reason="", sessions_ended=0, second_factor_devices_removed=0, request=None, **kwargs
) -> None:
    """accounts.signals.password_set_by_other: `by` set `user`'s password."""
    services.audit_record(
        actor=by,
        action=AuditAction.PASSWORD_SET,
        obj=user,
        reason=reason,
        payload={
            "sessions_ended": sessions_ended,
            "second_factor_devices_removed": second_factor_devices_removed,
        },
        request=request,
    )


def on_sign_in_lockout_lifted(sender, attempt, by, request=None, **kwargs) -> None:
    """accounts.signals.sign_in_lockout_lifted: `by` deleted this django-axes access attempt."""
    services.audit_record(
        actor=by,
        action=AuditAction.LOCKOUT_LIFTED,
        obj=attempt,
        changes={"failures_since_start": [attempt.failures_since_start, 0]},
        payload={"username": attempt.username, "ip_address": attempt.ip_address},
        request=request,
    )


def _current_request():
    """The request HistoryRequestMiddleware keeps for the history rows of this thread, if any."""
    return getattr(HistoricalRecords.context, "request", None)


def _history_rows_create(
    manager,
    objs,
    batch_size=None,
    update=False,
    default_user=None,
    default_change_reason="",
    default_date=None,
    custom_historical_attrs=None,
):
    """The rows HistoryManager.bulk_history_create writes (django-simple-history 3.13), the same
    values built the same way, inserted with bnpl_admin.bulk.bulk_insert_rows: by COPY on
    PostgreSQL instead of an INSERT whose every value is quoted in Python, which cost more than
    the insert for the thousands of rows a rescoring batch writes (bulk_create elsewhere)."""
    model = manager.model
    history_type = "~" if update else "+"
    tracked = [field.attname for field in model.tracked_fields]
    rows = []
    for instance in objs:
        row = model(
            history_date=getattr(instance, "_history_date", default_date or timezone.now()),
            history_user=getattr(
                instance, "_history_user", default_user or model.get_default_history_user(instance)
            ),
            history_change_reason=get_change_reason_from_object(instance) or default_change_reason,
            history_type=history_type,
            **{name: getattr(instance, name) for name in tracked},
            **(custom_historical_attrs or {}),
        )
        if hasattr(model, "history_relation"):
            row.history_relation_id = instance.pk
        rows.append(row)
    bulk_insert_rows(rows)
    return rows


def _audit_bulk_history(original):
    """bulk_create_with_history and bulk_update_with_history send no signal per row: wrap the
    one method both call, so the rows they write reach the trail as a batch."""

    def bulk_history_create(self, objs, *args, **kwargs):
        if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
            return original(self, objs, *args, **kwargs)
        created = _history_rows_create(self, objs, *args, **kwargs)
        if created:
            services.history_records_audit(
                records=list(created), instances=list(objs), request=_current_request()
            )
        return created

    bulk_history_create.audit_wrapped = True
    return bulk_history_create


def connect() -> None:
    user_logged_in.connect(on_logged_in, dispatch_uid="audit_logged_in")
    user_logged_out.connect(on_logged_out, dispatch_uid="audit_logged_out")
    user_login_failed.connect(on_login_failed, dispatch_uid="audit_login_failed")
    post_create_historical_record.connect(on_history_record, dispatch_uid="audit_history_record")
    if not getattr(HistoryManager.bulk_history_create, "audit_wrapped", False):
        HistoryManager.bulk_history_create = _audit_bulk_history(HistoryManager.bulk_history_create)
    account_signals.second_factor_reset.connect(
        on_second_factor_reset, dispatch_uid="audit_second_factor_reset"
    )
    account_signals.password_set_by_other.connect(on_password_set_by_other, dispatch_uid="audit_password_set")
    account_signals.sign_in_lockout_lifted.connect(
        on_sign_in_lockout_lifted, dispatch_uid="audit_sign_in_lockout_lifted"
    )
