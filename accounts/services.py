"""Every write to staff users, customers and credit lines that matters.

Staff users: roles, flags, passwords set by someone else, sign-in lockouts lifted. Each service
checks its actor, so the admin, a management command or a crafted request meet the same rule:
an operations admin fixes data but can never become someone else.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bnpl_admin.bulk import bulk_update_rows, bulk_update_values
from bnpl_admin.errors import DomainError

from . import signals
from .models import CreditLine, CreditLineStatus, User
from .roles import Role


def credit_line_status_check(*, status: str, to: str, reason: str, by) -> str:
    """Whether `by` may move a line from `status` to `to`, saying why; returns the reason.

    A person freezes an active line or unfreezes a frozen one, with a reason and the
    permission (DESIGN.md, "Ageing"); nothing else changes a line's status by hand. The
    admin's form calls this to show a refusal as a form error; the services call it again
    with the row locked.
    """
    reason = (reason or "").strip()
    if to == CreditLineStatus.FROZEN:
        if not reason:
            raise DomainError(_("Freezing a credit line needs a reason."), code="no_reason")
        if by is None or not by.has_perm("accounts.freeze_creditline"):
            raise DomainError(_("You may not freeze credit lines."), code="not_allowed")
        if status != CreditLineStatus.ACTIVE:
            raise DomainError(_("Only an active credit line can be frozen."), code="not_active")
    elif to == CreditLineStatus.ACTIVE:
        if not reason:
            raise DomainError(_("Unfreezing a credit line needs a reason."), code="no_reason")
        if by is None or not by.has_perm("accounts.freeze_creditline"):
            raise DomainError(_("You may not unfreeze credit lines."), code="not_allowed")
        if status != CreditLineStatus.FROZEN:
            raise DomainError(_("This credit line is not frozen."), code="not_frozen")
    else:
        raise DomainError(
            _("A credit line is frozen or unfrozen by hand; no other status change is made here."),
            code="bad_status",
        )
    return reason


def _status_set(line: CreditLine, *, to: str, stored_reason: str, reason: str, by) -> CreditLine:
    line.status, line.status_reason, line.status_changed_at = to, stored_reason, timezone.now()
    # The history row is the record: who, when, and the reason as its change reason.
    line._change_reason = reason
    if by is not None:
        line._history_user = by
    line.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    return line


@transaction.atomic
def credit_line_freeze(*, credit_line: CreditLine, reason: str, by) -> CreditLine:
    """A person freezes an active line, with a reason (the sweep has credit_lines_freeze_overdue)."""
    line = CreditLine.objects.select_for_update().get(pk=credit_line.pk)
    reason = credit_line_status_check(status=line.status, to=CreditLineStatus.FROZEN, reason=reason, by=by)
    return _status_set(line, to=CreditLineStatus.FROZEN, stored_reason=reason, reason=reason, by=by)


@transaction.atomic
def credit_line_unfreeze(*, credit_line: CreditLine, reason: str, by) -> CreditLine:
    """A person unfreezes a line, never the sweep (DESIGN.md, "Ageing")."""
    line = CreditLine.objects.select_for_update().get(pk=credit_line.pk)
    reason = credit_line_status_check(status=line.status, to=CreditLineStatus.ACTIVE, reason=reason, by=by)
    return _status_set(
        line, to=CreditLineStatus.ACTIVE, stored_reason=f"Unfrozen: {reason}", reason=reason, by=by
    )


def credit_line_status_change(*, credit_line: CreditLine, to: str, reason: str, by) -> CreditLine:
    """The admin's status field: freezing or unfreezing, through the service that does it."""
    if to == CreditLineStatus.FROZEN:
        return credit_line_freeze(credit_line=credit_line, reason=reason, by=by)
    if to == CreditLineStatus.ACTIVE:
        return credit_line_unfreeze(credit_line=credit_line, reason=reason, by=by)
    credit_line_status_check(status=credit_line.status, to=to, reason=reason, by=by)  # refuses
    return credit_line


def overdue_freeze_reason(*, days: int, on: datetime.date) -> str:
    """The reason the sweep stores on a credit line it freezes. Stored text, so in the business's
    language (LANGUAGE_CODE) whoever or whatever runs the sweep: a worker, a command, the demo
    seeder, or a request in another language."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("Overdue: %(days)d days past due (sweep %(date)s)") % {
            "days": days,
            "date": f"{on:%Y-%m-%d}",
        }


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
        line.status_reason = overdue_freeze_reason(days=dpd_by_customer[line.customer_id], on=on)
        line.status_changed_at = now
    with transaction.atomic(savepoint=False):
        bulk_update_rows(lines, ["status", "status_reason", "status_changed_at"])
        CreditLine.history.bulk_history_create(
            lines, update=True, default_change_reason="overdue sweep", batch_size=500
        )
    return len(lines)


# --- Staff users: who may change whom ----------------------------------------------------------

# The flags of a staff account; roles are its groups.
USER_FLAGS = ("is_active", "is_staff", "is_superuser")
# Only a superuser hands out or takes away what reaches the whole admin.
SUPERUSER_ONLY_FLAGS = frozenset({"is_staff", "is_superuser"})
SUPERUSER_ONLY_ROLES = frozenset({str(Role.OPERATIONS_ADMIN)})


def user_is_protected(user: User) -> bool:
    """A superuser or an operations admin: accounts only a superuser may change.

    Whoever may set such an account's password or reset its second factor could sign in as it,
    and so hold its powers: an operations admin's peers are protected from them like superusers.
    """
    if user.is_superuser:
        return True
    return user.pk is not None and user.groups.filter(name__in=SUPERUSER_ONLY_ROLES).exists()


def user_manage_check(*, user: User, by) -> None:
    """Raise DomainError unless `by` may change `user`'s account (roles, flags, password, factor).

    Nobody changes their own account this way, superusers included: a stolen session must not
    be able to widen itself, and the own password has its own page that asks for the old one.
    """
    if by is None or not getattr(by, "is_authenticated", False):
        raise DomainError(_("Sign in to change staff accounts."), code="not_allowed")
    if not (by.is_superuser or by.has_perm("accounts.change_user")):
        raise DomainError(_("You may not change staff accounts."), code="not_allowed")
    if user.pk is not None and user.pk == by.pk:
        raise DomainError(
            _("Nobody changes their own roles, flags, password or second factor here; ask a superuser."),
            code="own_account",
        )
    if not by.is_superuser and user_is_protected(user):
        raise DomainError(
            _("Only a superuser may change a superuser's or an operations admin's account."),
            code="protected_account",
        )


def user_roles_check(*, user: User, by, old: set[str], new: set[str], permissions_changed: bool) -> None:
    """Raise DomainError unless `by` may change `user`'s roles from `old` to `new` (group names)."""
    user_manage_check(user=user, by=by)
    if not (by.is_superuser or by.has_perm("accounts.change_user_roles")):
        raise DomainError(_("You may not change the roles of staff users."), code="not_allowed")
    unknown = new - set(Role.values)
    if unknown:
        raise DomainError(
            _("Only the roles of accounts.roles can be given: %(names)s is not one.")
            % {"names": ", ".join(sorted(unknown))},
            code="unknown_role",
        )
    if not by.is_superuser and (old ^ new) & SUPERUSER_ONLY_ROLES:
        raise DomainError(
            _("Only a superuser grants or removes the Operations admin role."), code="superuser_only"
        )
    if permissions_changed and not by.is_superuser:
        raise DomainError(
            _("Permissions come with roles; only a superuser gives a user permissions of their own."),
            code="superuser_only",
        )


def user_flags_check(*, user: User, by, changed: Iterable[str]) -> None:
    """Raise DomainError unless `by` may change these flags of `user`."""
    changed = set(changed)
    user_manage_check(user=user, by=by)
    if not by.is_superuser and changed & SUPERUSER_ONLY_FLAGS:
        raise DomainError(
            _("Only a superuser gives or takes away admin access (staff or superuser status)."),
            code="superuser_only",
        )


@transaction.atomic
def user_set_roles(
    *, user: User, roles: Iterable[Group], by, permissions: Iterable[Permission] | None = None
) -> User:
    """Give `user` exactly these roles (and, from a superuser, these direct permissions).

    One history row records the change, with who made it and the roles before and after; the
    audit trail reads it (audit.receivers).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    roles = list(roles)
    old = set(user.groups.values_list("name", flat=True))
    new = {group.name for group in roles}
    old_permissions = set(user.user_permissions.values_list("pk", flat=True))
    permissions = None if permissions is None else list(permissions)
    permissions_changed = permissions is not None and {p.pk for p in permissions} != old_permissions
    if old == new and not permissions_changed:
        return user
    user_roles_check(user=user, by=by, old=old, new=new, permissions_changed=permissions_changed)

    # Setting a many-to-many field writes a history row per added and per removed batch;
    # write one for the whole change instead, after it, so the trail shows old → new at once.
    user.skip_history_when_saving = True
    try:
        user.groups.set(roles)
        if permissions_changed:
            user.user_permissions.set(permissions)
    finally:
        del user.skip_history_when_saving
    user._history_user = by
    user._change_reason = f"roles: {', '.join(sorted(old)) or '-'} → {', '.join(sorted(new)) or '-'}"[:100]
    user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def user_set_flags(*, user: User, by, **flags: bool) -> User:
    """Set some of is_active, is_staff, is_superuser; the history row keeps who, old and new."""
    user = User.objects.select_for_update().get(pk=user.pk)
    unknown = flags.keys() - set(USER_FLAGS)
    if unknown:
        raise ValueError(f"not a user flag: {sorted(unknown)}")
    changed = {name: bool(value) for name, value in flags.items() if getattr(user, name) != bool(value)}
    if not changed:
        return user
    user_flags_check(user=user, by=by, changed=changed)
    for name, value in changed.items():
        setattr(user, name, value)
    user._history_user = by
    user._change_reason = "flags: " + ", ".join(f"{name} {value}" for name, value in sorted(changed.items()))
    user.save(update_fields=list(changed))
    return user


@transaction.atomic
def user_set_password_by(*, user: User, password: str | None, by, request=None) -> User:
    """Someone else sets `user`'s password (None: no password sign-in at all).

    The user's sessions end and their second factor is removed, so whoever knows the new
    password still cannot pass as them without enrolling a new factor, which the trail shows.
    """
    from . import otp

    user = User.objects.select_for_update().get(pk=user.pk)
    user_manage_check(user=user, by=by)
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError(" ".join(exc.messages), code="weak_password") from exc
        user.set_password(password)
    # The history table leaves the password out; the audit event below is the record.
    user.skip_history_when_saving = True
    try:
        user.save(update_fields=["password"])
    finally:
        del user.skip_history_when_saving
    sessions = user_sessions_end(user=user)
    devices = otp.second_factor_devices_delete(user=user)
    # The trail's record (audit.receivers), written in this transaction.
    signals.password_set_by_other.send(
        sender=User,
        user=user,
        by=by,
        reason="password sign-in disabled" if password is None else "password set",
        sessions_ended=sessions,
        second_factor_devices_removed=devices,
        request=request,
    )
    return user


@transaction.atomic
def user_delete(*, user: User, by) -> None:
    """Delete a staff account; the history row keeps who deleted it."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user_manage_check(user=user, by=by)
    user._history_user = by
    user.delete()


def user_sessions_end(*, user: User) -> int:
    """Delete every stored session signed in as `user`; returns how many.

    Sessions are rows of django.contrib.sessions (the database backend), keyed by a random
    id, not by user: decode the live ones. A staff console has a few hundred at most. With
    any other session engine there are no rows to find, and none are needed: the password
    set by someone else changes the user's session auth hash, which Django checks on every
    request, so each of their sessions ends at its next request anyway.
    """
    from django.contrib.sessions.models import Session

    if settings.SESSION_ENGINE not in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    ):
        return 0
    store = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    live = Session.objects.filter(expire_date__gt=timezone.now())
    for key, data in live.values_list("session_key", "session_data").iterator():
        if store().decode(data).get(SESSION_KEY) == str(user.pk):
            store(session_key=key).delete()
            ended += 1
    return ended


# --- Sign-in lockouts (django-axes) -------------------------------------------------------------


@transaction.atomic
def sign_in_lockout_lift(*, attempts, by, request=None) -> int:
    """Delete these django-axes access attempts, which lifts the lockouts they hold; returns how many.

    One audit event per attempt: whose name and which address, and how many failures it held.
    """
    if by is None or not (by.is_superuser or by.has_perm("axes.delete_accessattempt")):
        raise DomainError(_("You may not lift sign-in lockouts."), code="not_allowed")
    rows = list(attempts.select_for_update())
    for attempt in rows:
        # The trail's record of each lift (audit.receivers), written in this transaction.
        signals.sign_in_lockout_lifted.send(sender=type(attempt), attempt=attempt, by=by, request=request)
    for attempt in rows:
        attempt.delete()
    return len(rows)


# --- Scores, grades and limits (written by the risk app's rescoring and approvals) ------------


def credit_lines_scores_set(*, rows: Iterable[tuple[int, int, str]]) -> int:
    """Set (line id, score, grade) on many lines at once, in the caller's transaction. No history
    row: each score is kept with its reasons in risk.CustomerScore, and the decision log."""
    rows = list(rows)
    if not rows:
        return 0
    return bulk_update_values(CreditLine, ["score", "grade"], rows)


def credit_lines_limits_set(
    *, changes: Iterable[tuple[CreditLine, object, bool]], reason: str, by=None
) -> int:
    """Set new limits on lines, each (line, new limit, freeze?), in the caller's transaction,
    with a history row per line (the audit trail: who, when, old and new limit, the reason).

    Used by the risk app for the limit changes rescoring applies and an analyst approves;
    a frozen line stays frozen (only a person unfreezes, credit_line_unfreeze)."""
    lines = []
    now = timezone.now()
    for line, limit, freeze in changes:
        line.limit = limit
        if freeze and line.status == CreditLineStatus.ACTIVE:
            line.status, line.status_reason, line.status_changed_at = CreditLineStatus.FROZEN, reason, now
        line.updated_at = now
        lines.append(line)
    if not lines:
        return 0
    with transaction.atomic(savepoint=False):
        bulk_update_rows(lines, ["limit", "status", "status_reason", "status_changed_at", "updated_at"])
        CreditLine.history.bulk_history_create(
            lines, update=True, default_user=by, default_change_reason=reason[:100], batch_size=500
        )
    return len(lines)


# --- Closing a credit line (restrictions, issue 12) ---------------------------------------------
# Closed is final: freezing and unfreezing refuse a closed line (credit_line_status_check), and
# nothing reopens one.


def credit_line_close_check(*, status: str, reason: str, by) -> str:
    """Whether `by` may close a line in `status`, saying why; returns the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Closing a credit line needs a reason."), code="no_reason")
    if by is None or not by.has_perm("accounts.freeze_creditline"):
        raise DomainError(_("You may not close credit lines."), code="not_allowed")
    if status == CreditLineStatus.CLOSED:
        raise DomainError(_("This credit line is already closed; closing is final."), code="closed")
    return reason


@transaction.atomic
def credit_line_close(*, credit_line: CreditLine, reason: str, by) -> CreditLine:
    """A person closes an active or frozen line for good, with a reason."""
    line = CreditLine.objects.select_for_update().get(pk=credit_line.pk)
    reason = credit_line_close_check(status=line.status, reason=reason, by=by)
    return _status_set(
        line, to=CreditLineStatus.CLOSED, stored_reason=f"Closed: {reason}"[:200], reason=reason, by=by
    )
