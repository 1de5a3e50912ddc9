"""Collection cases opened for customers with overdue money, and the case timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Customer
from bnpl_admin.events import Event


class Bucket(models.TextChoices):
    """Ageing by days past due of the customer's oldest unpaid overdue instalment."""

    CURRENT = "current", _("Current")
    M1 = "M1", "M1 (1–30)"
    M2 = "M2", "M2 (31–60)"
    M3 = "M3", "M3 (61–90)"
    M4 = "M4+", "M4+ (>90)"

    @classmethod
    def for_dpd(cls, dpd: int) -> Bucket:
        if dpd <= 0:
            return cls.CURRENT
        if dpd <= 30:
            return cls.M1
        if dpd <= 60:
            return cls.M2
        if dpd <= 90:
            return cls.M3
        return cls.M4


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PROMISED = "promised", _("Promise to pay")
    VISIT_REQUESTED = "visit_requested", _("Home visit requested")
    WRITE_OFF_PROPOSED = "write_off_proposed", _("Write-off proposed")
    RESOLVED = "resolved", _("Resolved (paid)")
    WRITTEN_OFF = "written_off", _("Written off")


CLOSED_CASE_STATUSES = (CaseStatus.RESOLVED, CaseStatus.WRITTEN_OFF)

# The case lifecycle; collection.services.case_transition is the only way along it.
CASE_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.OPEN: {
        CaseStatus.PROMISED,
        CaseStatus.VISIT_REQUESTED,
        CaseStatus.WRITE_OFF_PROPOSED,
        CaseStatus.RESOLVED,
    },
    CaseStatus.PROMISED: {CaseStatus.OPEN, CaseStatus.RESOLVED, CaseStatus.VISIT_REQUESTED},
    CaseStatus.VISIT_REQUESTED: {CaseStatus.OPEN, CaseStatus.PROMISED, CaseStatus.RESOLVED},
    CaseStatus.WRITE_OFF_PROPOSED: {
        CaseStatus.OPEN,
        CaseStatus.WRITTEN_OFF,
        CaseStatus.RESOLVED,
    },
    CaseStatus.RESOLVED: set(),
    CaseStatus.WRITTEN_OFF: set(),
}


# Who works the case queues (the queue pages, and sharing the queues of one's teams).
QUEUE_PERMISSION = "collections.work_collectioncase"


class CollectionCaseQuerySet(models.QuerySet):
    def open(self):
        return self.filter(closed_at__isnull=True)

    def visible_to(self, user):
        """Row-level access: the cases a user may see (DESIGN.md, roles)."""
        if not user.is_authenticated or not user.has_perm("collections.view_collectioncase"):
            return self.none()
        if user.has_perm("collections.view_all_collectioncase"):
            return self
        if not user.has_perm(QUEUE_PERMISSION):
            # Field agents: only what is assigned to them (their visits come with the visit pages).
            return self.filter(assigned_agent=user)
        # Agents share the queues of their teams: cases assigned to anyone in a team they are in.
        teammates = Team.members.through.objects.filter(
            team__in=Team.members.through.objects.filter(user=user).values("team")
        ).values("user")
        return self.filter(Q(assigned_agent=user) | Q(assigned_agent__in=teammates))


class CollectionCase(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="collection_cases"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN, db_index=True
    )
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0)
    bucket = models.CharField(_("bucket"), max_length=8, choices=Bucket.choices, default=Bucket.CURRENT)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned agent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = CollectionCaseQuerySet.as_manager()
    history = HistoricalRecords(
        verbose_name=_("historical collection case"), verbose_name_plural=_("historical collection cases")
    )

    class Meta:
        verbose_name = _("collection case")
        verbose_name_plural = _("collection cases")
        ordering = ["-days_past_due", "id"]
        permissions = [
            ("assign_collectioncase", "Can assign cases to agents"),
            ("view_all_collectioncase", "Can see every case, not only the own queue"),
            ("work_collectioncase", "Can work the case queues"),
        ]
        indexes = [
            models.Index(fields=["bucket", "status"]),
            # The default order (worst first) of every case list: a page read off the index.
            models.Index(fields=["-days_past_due", "id"], name="case_worst_first_idx"),
        ]
        constraints = [
            # At most one open case per customer, whoever or whatever opens it.
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(closed_at__isnull=True),
                name="one_open_case_per_customer",
                violation_error_message=_("This customer already has an open case."),
            ),
            models.CheckConstraint(
                condition=Q(
                    closed_at__isnull=True,
                    status__in=[s for s in CaseStatus.values if s not in CLOSED_CASE_STATUSES],
                )
                | Q(closed_at__isnull=False, status__in=list(CLOSED_CASE_STATUSES)),
                name="case_closed_iff_closed_status",
                violation_error_message=_(
                    "A closed case needs a closing status and a closing time; an open case has neither."
                ),
            ),
        ]

    def __str__(self) -> str:
        return _("Case %(id)s · %(customer)s · %(bucket)s") % {
            "id": self.pk,
            "customer": self.customer.platform_user_id,
            "bucket": self.get_bucket_display(),
        }

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class CaseEventType(models.TextChoices):
    OPENED = "opened", _("Opened")
    AGEING = "ageing", _("Days past due updated")
    ASSIGNED = "assigned", _("Assigned")
    STATUS_CHANGED = "status_changed", _("Status changed")
    CLOSED = "closed", _("Closed")
    NOTE = "note", _("Note")
    CONTACT = "contact", _("Contact recorded")
    CONTACT_REFUSED = "contact_refused", _("Contact refused")


class CaseEvent(Event):
    """The case timeline, written by the services."""

    case = models.ForeignKey(
        CollectionCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="events"
    )
    type = models.CharField(_("event"), max_length=20, choices=CaseEventType.choices)

    class Meta(Event.Meta):
        verbose_name = _("case event")
        verbose_name_plural = _("case events")

    def __str__(self) -> str:
        return _("Case %(case)s: %(event)s") % {"case": self.case_id, "event": self.get_type_display()}


# --- Contacts under the conduct rules (issue 11) ----------------------------------------------
# The values of channel, party, direction and outcome are the ones policy.conduct reads.


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    APP = "app", _("App message")
    EMAIL = "email", _("Email")
    VISIT = "visit", _("Visit")


class ContactParty(models.TextChoices):
    DEBTOR = "debtor", _("Debtor")
    EMERGENCY_CONTACT = "emergency_contact", _("Emergency contact")


class ContactDirection(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")


class ContactOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    REFUSED = "refused", _("Refused")
    PROMISE_MADE = "promise_made", _("Promise made")
    DISPUTE_RAISED = "dispute_raised", _("Dispute raised")
    CLAIMS_PAID = "claims_paid", _("Claims paid")


class ContactAttempt(models.Model):
    """A contact an agent made or received about a case; written only by contact_record."""

    case = models.ForeignKey(
        CollectionCase, verbose_name=_("case"), on_delete=models.PROTECT, related_name="contacts"
    )
    # The case's customer, kept on the row: the conduct limits count per customer per day.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contact_attempts"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        on_delete=models.PROTECT,
        related_name="contact_attempts",
    )
    emergency_contact = models.ForeignKey(
        "accounts.EmergencyContact",
        verbose_name=_("emergency contact"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contact_attempts",
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=8, choices=ContactChannel.choices)
    party = models.CharField(_("party"), max_length=20, choices=ContactParty.choices)
    direction = models.CharField(_("direction"), max_length=8, choices=ContactDirection.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=ContactOutcome.choices)
    summary = models.TextField(_("summary"), max_length=2000, blank=True)

    history = HistoricalRecords(
        verbose_name=_("historical contact attempt"), verbose_name_plural=_("historical contact attempts")
    )

    class Meta:
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact attempts")
        ordering = ["-at", "-id"]
        indexes = [
            # The conduct rules read a customer's recent contacts (per local day, per 7 days).
            models.Index(fields=["customer", "at"], name="contact_customer_at_idx"),
            # The case page lists its recent contacts, newest first.
            models.Index(fields=["case", "-at"], name="contact_case_recent_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(party="debtor", emergency_contact__isnull=True)
                | Q(party="emergency_contact", emergency_contact__isnull=False),
                name="contact_party_matches_contact",
                violation_error_message=_("An emergency contact is named exactly when the party is one."),
            ),
        ]

    def __str__(self) -> str:
        return _("Contact %(id)s · case %(case)s · %(outcome)s") % {
            "id": self.pk,
            "case": self.case_id,
            "outcome": self.get_outcome_display(),
        }


class Team(models.Model):
    """A collections team: its members share their queues; its manager assigns them cases."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.PROTECT,
        related_name="managed_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="collection_teams", blank=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = HistoricalRecords(
        verbose_name=_("historical team"),
        verbose_name_plural=_("historical teams"),
        m2m_fields=["members"],
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
