"""Home visits (上门走访): requested by an agent, approved by a manager with two field agents, made
within the visiting hours, with check-in and check-out positions, an outcome and photo evidence."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Customer
from collection.models import CollectionCase

from .storage import photo_storage


class VisitStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SCHEDULED = "scheduled", _("Approved and scheduled")
    REJECTED = "rejected", _("Rejected")
    CHECKED_IN = "checked_in", _("Checked in")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


# A visit that has its two field agents (approved, or further along).
STAFFED_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.CHECKED_IN, VisitStatus.DONE)
# A visit nobody has gone out on yet: it may still be cancelled (visits.services.visit_cancel).
CANCELLABLE_STATUSES = (VisitStatus.REQUESTED, VisitStatus.SCHEDULED)


class VisitOutcome(models.TextChoices):
    MET_DEBTOR = "met_debtor", _("Met the debtor")
    PROMISE_MADE = "promise_made", _("Promise to pay made")
    PAID_ON_SITE = "paid_on_site", _("Paid on site")
    NOT_HOME = "not_home", _("Nobody at home")
    REFUSED = "refused", _("Refused to talk")
    WRONG_ADDRESS = "wrong_address", _("Wrong address")
    MOVED_AWAY = "moved_away", _("Moved away")
    OTHER = "other", _("Other")


# What only a manager, or only the visit's own field agents, may do (accounts.roles gives them).
APPROVE_PERMISSION = "visits.approve_visit"
VIEW_ALL_PERMISSION = "visits.view_all_visit"
CHECK_IN_PERMISSION = "visits.check_in_visit"
OUTCOME_PERMISSION = "visits.record_outcome_visit"
REQUEST_PERMISSION = "visits.add_visit"


class VisitQuerySet(models.QuerySet):
    def assigned_to(self, user):
        return self.filter(Q(field_agent_1=user) | Q(field_agent_2=user))

    def visible_to(self, user):
        """Row-level access: managers see every visit, a field agent only the visits they make."""
        if not user.is_authenticated or not user.has_perm("visits.view_visit"):
            return self.none()
        if user.has_perm(VIEW_ALL_PERMISSION):
            return self
        return self.assigned_to(user)


class Visit(models.Model):
    case = models.ForeignKey(
        CollectionCase, verbose_name=_("case"), on_delete=models.PROTECT, related_name="visits"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="visits"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="visits_requested",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    reason = models.TextField(_("reason"), max_length=1000)
    proposed_date = models.DateField(_("proposed date"))
    # Asked for by a manager outside the usual buckets (DESIGN.md: M3 or later, or a manager's decision).
    manager_decision = models.BooleanField(_("by a manager's decision"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=VisitStatus.choices, default=VisitStatus.REQUESTED, db_index=True
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits_decided",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reason"), max_length=1000, blank=True)
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True, db_index=True)
    # Two field agents, always two different people (DESIGN.md: a visit is made by two staff).
    field_agent_1 = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("first field agent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits_as_first_agent",
    )
    field_agent_2 = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("second field agent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits_as_second_agent",
    )
    check_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    check_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked in by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    check_in_latitude = models.DecimalField(
        _("check-in latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    check_in_longitude = models.DecimalField(
        _("check-in longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    check_in_accuracy = models.DecimalField(
        _("check-in accuracy (m)"), max_digits=9, decimal_places=1, null=True, blank=True
    )
    check_in_position_refused = models.BooleanField(_("position refused at check-in"), default=False)
    check_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    check_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked out by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    check_out_latitude = models.DecimalField(
        _("check-out latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    check_out_longitude = models.DecimalField(
        _("check-out longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    check_out_accuracy = models.DecimalField(
        _("check-out accuracy (m)"), max_digits=9, decimal_places=1, null=True, blank=True
    )
    check_out_position_refused = models.BooleanField(_("position refused at check-out"), default=False)
    outcome = models.CharField(_("outcome"), max_length=16, choices=VisitOutcome.choices, blank=True)
    notes = models.TextField(_("notes"), max_length=4000, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("outcome recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    outcome_at = models.DateTimeField(_("outcome recorded at"), null=True, blank=True)
    # Who called the visit off before anyone went, when and why (visits.services.visit_cancel);
    # an approval stays on record beside it.
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.TextField(_("cancellation reason"), max_length=1000, blank=True)

    objects = VisitQuerySet.as_manager()
    history = HistoricalRecords(
        verbose_name=_("historical home visit"), verbose_name_plural=_("historical home visits")
    )

    class Meta:
        verbose_name = _("home visit")
        verbose_name_plural = _("home visits")
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("approve_visit", "Can approve or reject home visits"),
            ("view_all_visit", "Can see every home visit, not only the own"),
            ("check_in_visit", "Can check in and out of an assigned home visit"),
            ("record_outcome_visit", "Can record the outcome of an assigned home visit"),
        ]
        indexes = [
            # The field agents' day: their visits by scheduled time.
            models.Index(fields=["field_agent_1", "scheduled_for"], name="visit_agent1_day_idx"),
            models.Index(fields=["field_agent_2", "scheduled_for"], name="visit_agent2_day_idx"),
            # The managers' list of requests waiting for a decision.
            models.Index(fields=["status", "requested_at"], name="visit_status_requested_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(field_agent_1__isnull=True)
                | Q(field_agent_2__isnull=True)
                | ~Q(field_agent_1=F("field_agent_2")),
                name="visit_two_different_agents",
                violation_error_message=_("A home visit is made by two different field agents."),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[str(s) for s in STAFFED_STATUSES])
                | Q(
                    field_agent_1__isnull=False,
                    field_agent_2__isnull=False,
                    approved_by__isnull=False,
                    scheduled_for__isnull=False,
                ),
                name="visit_staffed_when_approved",
                violation_error_message=_(
                    "An approved home visit has its approver, its time and two field agents."
                ),
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="visit_not_decided_by_requester",
                violation_error_message=_("Nobody decides their own request for a home visit."),
            ),
            models.CheckConstraint(
                condition=Q(check_in_position_refused=False)
                | Q(check_in_latitude__isnull=True, check_in_longitude__isnull=True),
                name="visit_check_in_position_or_refused",
                violation_error_message=_("A check-in has a position or records that it was refused."),
            ),
            models.CheckConstraint(
                condition=Q(check_out_position_refused=False)
                | Q(check_out_latitude__isnull=True, check_out_longitude__isnull=True),
                name="visit_check_out_position_or_refused",
                violation_error_message=_("A check-out has a position or records that it was refused."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="cancelled", cancelled_by__isnull=False, cancelled_at__isnull=False)
                    & ~Q(cancel_reason="")
                )
                | (
                    ~Q(status="cancelled")
                    & Q(cancelled_by__isnull=True, cancelled_at__isnull=True, cancel_reason="")
                ),
                name="visit_cancelled_with_who_when_why",
                violation_error_message=_(
                    "A cancelled home visit records who cancelled it, when and why; no other visit does."
                ),
            ),
        ]

    def __str__(self) -> str:
        return _("Home visit %(id)s · case %(case)s · %(status)s") % {
            "id": self.pk,
            "case": self.case_id,
            "status": self.get_status_display(),
        }

    @property
    def field_agent_ids(self) -> set[int]:
        return {pk for pk in (self.field_agent_1_id, self.field_agent_2_id) if pk is not None}

    def is_assigned_to(self, user) -> bool:
        return user.is_authenticated and user.pk in self.field_agent_ids


def _photo_name(instance: VisitPhoto, filename: str) -> str:
    # Never the uploader's file name: a random one under the visit, with the checked type's extension.
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(
        instance.content_type, "bin"
    )
    return f"visits/{instance.visit_id}/{uuid.uuid4().hex}.{extension}"


class VisitPhoto(models.Model):
    """Evidence of a visit, stored privately (visits.storage) and served only by visits.views.photo."""

    visit = models.ForeignKey(
        Visit, verbose_name=_("home visit"), on_delete=models.PROTECT, related_name="photos"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(_("file"), storage=photo_storage, upload_to=_photo_name, max_length=200)
    content_type = models.CharField(_("content type"), max_length=20)
    size = models.PositiveIntegerField(_("size (bytes)"))
    width = models.PositiveIntegerField(_("width (px)"))
    height = models.PositiveIntegerField(_("height (px)"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("visit photo")
        verbose_name_plural = _("visit photos")
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["image/jpeg", "image/png", "image/webp"]),
                name="visit_photo_image_type",
                violation_error_message=_("A visit photo is a JPEG, PNG or WebP image."),
            ),
        ]

    def __str__(self) -> str:
        return _("Photo %(id)s of home visit %(visit)s") % {"id": self.pk, "visit": self.visit_id}
