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
from bnpl_admin.money import ZERO, MoneyField


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
    CONTACTED = "contacted", _("Contacted")
    PROMISED = "promised", _("Promise to pay")
    BROKEN_PROMISE = "broken_promise", _("Broken promise")
    VISIT_REQUESTED = "visit_requested", _("Home visit requested")
    VISIT_SCHEDULED = "visit_scheduled", _("Home visit scheduled")
    VISITED = "visited", _("Visited")
    SETTLEMENT_PENDING = "settlement_pending", _("Settlement pending")
    ON_HOLD = "on_hold", _("On hold")
    WRITE_OFF_PROPOSED = "write_off_proposed", _("Write-off proposed")
    RESOLVED = "resolved", _("Resolved (paid)")
    WRITTEN_OFF = "written_off", _("Written off")


CLOSED_CASE_STATUSES = (CaseStatus.RESOLVED, CaseStatus.WRITTEN_OFF)

# The case lifecycle; collection.services.case_transition is the only way along it. Every open
# state may become resolved (paid in full: the sweep and payments close it) and, except while a
# write-off waits for its checker, on hold (a return or a dispute); only a proposed write-off
# may become written off.
_WORKING = {CaseStatus.CONTACTED, CaseStatus.RESOLVED, CaseStatus.ON_HOLD}
CASE_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.OPEN: _WORKING
    | {
        CaseStatus.PROMISED,
        CaseStatus.VISIT_REQUESTED,
        CaseStatus.SETTLEMENT_PENDING,
        CaseStatus.WRITE_OFF_PROPOSED,
    },
    # Broken promise: a kept promise (which moved the case on to contacted) found broken once
    # the payment that kept it was reversed (collection.services.promises_redecide_after_reversal).
    CaseStatus.CONTACTED: (_WORKING - {CaseStatus.CONTACTED})
    | {
        CaseStatus.OPEN,
        CaseStatus.PROMISED,
        CaseStatus.BROKEN_PROMISE,
        CaseStatus.VISIT_REQUESTED,
        CaseStatus.SETTLEMENT_PENDING,
        CaseStatus.WRITE_OFF_PROPOSED,
    },
    # A promise is kept (back to contacted, or resolved when nothing is left) or broken.
    CaseStatus.PROMISED: _WORKING | {CaseStatus.BROKEN_PROMISE, CaseStatus.SETTLEMENT_PENDING},
    CaseStatus.BROKEN_PROMISE: _WORKING
    | {
        CaseStatus.PROMISED,
        CaseStatus.VISIT_REQUESTED,
        CaseStatus.SETTLEMENT_PENDING,
        CaseStatus.WRITE_OFF_PROPOSED,
    },
    # A manager approves a visit (scheduled) or rejects it (back to contacted).
    CaseStatus.VISIT_REQUESTED: _WORKING | {CaseStatus.VISIT_SCHEDULED, CaseStatus.PROMISED},
    CaseStatus.VISIT_SCHEDULED: _WORKING | {CaseStatus.VISITED, CaseStatus.PROMISED},
    CaseStatus.VISITED: _WORKING
    | {
        CaseStatus.PROMISED,
        CaseStatus.VISIT_REQUESTED,
        CaseStatus.SETTLEMENT_PENDING,
        CaseStatus.WRITE_OFF_PROPOSED,
    },
    # A manager approves a settlement or restructure (contacted, or resolved) or rejects it.
    CaseStatus.SETTLEMENT_PENDING: _WORKING | {CaseStatus.PROMISED},
    CaseStatus.ON_HOLD: {CaseStatus.OPEN, CaseStatus.CONTACTED, CaseStatus.RESOLVED},
    CaseStatus.WRITE_OFF_PROPOSED: {
        CaseStatus.OPEN,
        CaseStatus.CONTACTED,
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
            # Field agents: only the cases of the home visits they are sent on (visits.Visit,
            # related as "visits"; a lookup by name, so this app imports nothing above it).
            visit_model = self.model._meta.get_field("visits").related_model
            return self.filter(
                pk__in=visit_model.objects.filter(Q(field_agent_1=user) | Q(field_agent_2=user)).values(
                    "case_id"
                )
            )
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
    # What the customer owes on overdue instalments (orders.models.OUTSTANDING), kept by
    # collection.services.case_amounts_refresh: by the sweep for every open case, and in the
    # transaction of every orders service that changes a customer's books (orders.signals.
    # books_changed). Derived, never typed in; stored so the queue sorts and filters on it.
    amount_overdue = MoneyField(_("amount overdue"), default=ZERO, editable=False)

    objects = CollectionCaseQuerySet.as_manager()
    history = HistoricalRecords(
        verbose_name=_("historical collection case"),
        verbose_name_plural=_("historical collection cases"),
        excluded_fields=["amount_overdue"],  # a figure derived from the books, not a change to the case
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
            # A bucket's cases worst first (the queue filtered by bucket, as team leads work it).
            models.Index(fields=["bucket", "-days_past_due", "id"], name="case_bucket_worst_first_idx"),
            # The queue sorted by what is owed, largest first.
            models.Index(fields=["-amount_overdue", "id"], name="case_largest_first_idx"),
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
    PROMISE_MADE = "promise_made", _("Promise made")
    PROMISE_KEPT = "promise_kept", _("Promise kept")
    PROMISE_BROKEN = "promise_broken", _("Promise broken")
    PROMISE_CANCELLED = "promise_cancelled", _("Promise cancelled")
    # A kept promise whose payment was reversed before its date waits for it again.
    PROMISE_REOPENED = "promise_reopened", _("Promise reopened after a reversal")
    VISIT_REQUESTED = "visit_requested", _("Home visit requested")
    VISIT_APPROVED = "visit_approved", _("Home visit approved")
    VISIT_REJECTED = "visit_rejected", _("Home visit rejected")
    VISIT_CHECKED_IN = "visit_checked_in", _("Field agents checked in")
    VISIT_DONE = "visit_done", _("Home visit done")
    VISIT_CANCELLED = "visit_cancelled", _("Home visit cancelled")
    SETTLEMENT_PROPOSED = "settlement_proposed", _("Settlement proposed")
    SETTLEMENT_APPROVED = "settlement_approved", _("Settlement approved")
    SETTLEMENT_REJECTED = "settlement_rejected", _("Settlement rejected")
    WRITE_OFF_PROPOSED = "write_off_proposed", _("Write-off proposed")
    WRITE_OFF_APPROVED = "write_off_approved", _("Written off")
    WRITE_OFF_REJECTED = "write_off_rejected", _("Write-off rejected")
    PAYMENT = "payment", _("Payment received")


class CaseEvent(Event):
    """The case timeline, written by the services."""

    case = models.ForeignKey(
        CollectionCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="events"
    )
    type = models.CharField(_("event"), max_length=20, choices=CaseEventType.choices)

    class Meta(Event.Meta):
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        indexes = [
            # A case's latest event (the queue's "last event") read off the index alone, and the
            # case timeline newest first.
            models.Index(fields=["case", "-created_at"], name="caseevent_case_recent_idx"),
        ]

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
            # The case page lists its recent contacts, newest first; a case's last contact (the
            # queue's filters, my queue's days since contact) is the index's first entry.
            models.Index(fields=["case", "-at", "-id"], name="contact_case_latest_idx"),
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


# --- Promises to pay (issue 11) ----------------------------------------------------------------


class PromiseStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class Promise(models.Model):
    """A customer's promise to pay an amount by a date, made during a contact.

    Kept when the allocations of payments received after it was made cover its amount by its
    date; broken otherwise, decided for that date by the sweep (the ledger decides, not a
    person). Written only by the promise services."""

    case = models.ForeignKey(
        CollectionCase, verbose_name=_("case"), on_delete=models.PROTECT, related_name="promises"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="promises"
    )
    contact = models.OneToOneField(
        ContactAttempt,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="promise",
    )
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("made with"),
        null=True,
        on_delete=models.PROTECT,
        related_name="promises_taken",
    )
    made_at = models.DateTimeField(_("made at"), default=timezone.now)
    amount = MoneyField(_("amount"))
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=10, choices=PromiseStatus.choices, default=PromiseStatus.PENDING
    )
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    paid_amount = MoneyField(_("paid towards it"), default=ZERO)

    history = HistoricalRecords(
        verbose_name=_("historical promise"), verbose_name_plural=_("historical promises")
    )

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["-made_at", "-id"]
        indexes = [
            # The sweep decides the pending promises due by a date; the queue reads them per case.
            models.Index(fields=["status", "due_date"], name="promise_status_due_idx"),
            models.Index(fields=["case", "status"], name="promise_case_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="promise_amount_positive",
                violation_error_message=_("A promise is for an amount above zero."),
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_on__isnull=True)
                | (~Q(status="pending") & Q(decided_on__isnull=False)),
                name="promise_decided_iff_not_pending",
                violation_error_message=_("A decided promise has a decision date; a pending one has none."),
            ),
            # One promise at a time: a new one waits until the ledger has decided the last.
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status="pending"),
                name="one_pending_promise_per_case",
                violation_error_message=_("This case already has a promise to pay waiting for its date."),
            ),
        ]

    def __str__(self) -> str:
        return _("Promise %(id)s · %(amount)s by %(date)s · %(status)s") % {
            "id": self.pk,
            "amount": self.amount,
            "date": self.due_date,
            "status": self.get_status_display(),
        }


# --- Assignment rules by bucket, run after each sweep (issue 11) --------------------------------


class AssignmentMethod(models.TextChoices):
    # The values are collection.services.ROUND_ROBIN and BY_LOAD, which cases_assign_bulk reads.
    ROUND_ROBIN = "round robin", _("Round robin")
    BY_LOAD = "by load", _("By load")


class AssignmentRule(models.Model):
    """Which team takes the cases of a bucket, and how they are spread over its members.

    After each sweep (collection.assignment.cases_assign_by_rules) the first active rule of a
    bucket, by `ordering`, whose team has active members assigns that bucket's unassigned cases
    and the cases that moved into the bucket since their last assignment; a later rule of the
    same bucket is the fallback when the first one's team has nobody. Managers keep the rules."""

    bucket = models.CharField(_("bucket"), max_length=8, choices=Bucket.choices)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="assignment_rules"
    )
    method = models.CharField(
        _("method"), max_length=12, choices=AssignmentMethod.choices, default=AssignmentMethod.BY_LOAD
    )
    active = models.BooleanField(_("active"), default=True)
    ordering = models.PositiveSmallIntegerField(
        _("order"), default=100, help_text=_("The lower number is tried first within a bucket.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = HistoricalRecords(
        verbose_name=_("historical assignment rule"), verbose_name_plural=_("historical assignment rules")
    )

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["bucket", "ordering", "id"]
        permissions = [
            # The manager view (collection.performance): figures of every agent and team.
            ("view_collections_performance", "Can see the performance of collections agents and teams"),
        ]

    def __str__(self) -> str:
        return _("%(bucket)s → %(team)s (%(method)s)") % {
            "bucket": self.get_bucket_display(),
            "team": self.team.name,
            "method": self.get_method_display(),
        }
