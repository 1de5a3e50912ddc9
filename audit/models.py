"""AuditEvent: one row per audited act (a sign-in, a change, a reveal of personal data, an export).

The rows are written by audit.services only and never changed or deleted from the console;
personal data in them is stored masked (audit.privacy), so the trail itself is not a copy of
the numbers it protects.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Sign-in failed")
    LOGOUT = "logout", _("Signed out")
    CREATED = "created", _("Created")
    CHANGED = "changed", _("Changed")
    DELETED = "deleted", _("Deleted")
    PII_REVEAL = "pii_reveal", _("Personal data revealed")
    EXPORT = "export", _("Exported")
    SECOND_FACTOR_RESET = "second_factor_reset", _("Second factor reset")
    PASSWORD_SET = "password_set", _("Password set by someone else")
    LOCKOUT_LIFTED = "lockout_lifted", _("Sign-in lockout lifted")
    LEDGERS_RECONCILED = "ledgers_reconciled", _("Ledgers reconciled")


# django-simple-history's history_type to our action.
HISTORY_ACTIONS = {"+": AuditAction.CREATED, "~": AuditAction.CHANGED, "-": AuditAction.DELETED}
# How the list shows a change action, as simple-history does.
ACTION_SIGNS = {AuditAction.CREATED: "+", AuditAction.CHANGED: "~", AuditAction.DELETED: "-"}


class AuditEventQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The trail is for managers and operations admins (accounts.roles): all of it or nothing."""
        if not (user and user.is_authenticated and user.has_perm("audit.view_auditevent")):
            return self.none()
        return self


class AuditEvent(models.Model):
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    action = models.CharField(_("action"), max_length=24, choices=AuditAction.choices)
    # Who did it. A deleted user's events keep the name they had (actor_username); for a
    # failed sign-in this is the name that was tried, and actor stays empty.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_username = models.CharField(_("username"), max_length=150, blank=True)
    content_type = models.ForeignKey(
        ContentType,
        verbose_name=_("object type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    # {"field": [old, new]}: values as JSON text, personal data masked.
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)
    # The django-simple-history row this event stands for, if any.
    history_id = models.BigIntegerField(_("history record id"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="audit_newest"),
            models.Index(fields=["content_type", "object_id", "-created_at"], name="audit_object"),
            models.Index(fields=["actor_username", "-created_at"], name="audit_person"),
            models.Index(fields=["action", "-created_at"], name="audit_action"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username or '-'} {self.get_action_display()}"

    @property
    def sign(self) -> str:
        return ACTION_SIGNS.get(self.action, "")
