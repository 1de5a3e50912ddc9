"""Scorecards as data: versions, characteristics, bins and points, grade bands; customers' scores
and the limit changes rescoring proposes.

A version is edited only while it has scored nobody (risk.services refuses otherwise: copy it);
one version is active at a time (a partial unique constraint); activating one is a maker–checker
action. Every score, limit change and activation is also appended to the decision log.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Customer, Grade
from bnpl_admin.money import MoneyField


class Scorecard(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = HistoricalRecords(
        verbose_name=_("historical scorecard"), verbose_name_plural=_("historical scorecards")
    )

    class Meta:
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        ordering = ["name"]
        permissions = [("work_risk", "Can use the risk console")]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_ACTIVATION = "pending_activation", _("Waiting for activation")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class ScorecardVersion(models.Model):
    """One version of a scorecard: base points, characteristics with bins, grade bands.

    `fitted` records how the points were obtained (risk.fitting): method, sample size, target,
    Gini and AUC, the scaling (PDO, base score and odds) and the date; a hand-set version says so.
    """

    scorecard = models.ForeignKey(
        Scorecard, verbose_name=_("scorecard"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=20, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    base_points = models.IntegerField(
        _("base points"), default=0, help_text=_("Points every customer starts with (the scaled intercept).")
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    fitted = models.JSONField(_("how it was fitted"), default=dict, blank=True)
    copied_from = models.ForeignKey(
        "self",
        verbose_name=_("copied from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    activation_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("activation requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    activation_requested_at = models.DateTimeField(_("activation requested at"), null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("activated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    history = HistoricalRecords(
        verbose_name=_("historical scorecard version"), verbose_name_plural=_("historical scorecard versions")
    )

    class Meta:
        verbose_name = _("scorecard version")
        verbose_name_plural = _("scorecard versions")
        ordering = ["scorecard__name", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "number"],
                name="risk_version_number_unique",
                violation_error_message=_("This scorecard already has a version with this number."),
            ),
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status=VersionStatus.ACTIVE),
                name="risk_one_active_version",
                violation_error_message=_("Only one scorecard version can be active."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scorecard.name} v{self.number}"

    @property
    def has_scored(self) -> bool:
        return self.scores.exists()


class Characteristic(models.Model):
    """One characteristic of a version (its code names the computation in risk.characteristics)."""

    version = models.ForeignKey(
        ScorecardVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="characteristics"
    )
    code = models.CharField(_("characteristic"), max_length=40)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("characteristic")
        verbose_name_plural = _("characteristics")
        ordering = ["version", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "code"],
                name="risk_characteristic_once_per_version",
                violation_error_message=_("A characteristic appears once in a version."),
            )
        ]

    def __str__(self) -> str:
        from .characteristics import label_of

        return str(label_of(self.code))


class Bin(models.Model):
    """A range [lower, upper) of a numeric characteristic, or a category (also "missing"), and its points."""

    characteristic = models.ForeignKey(
        Characteristic, verbose_name=_("characteristic"), on_delete=models.CASCADE, related_name="bins"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    lower = models.DecimalField(_("from (inclusive)"), max_digits=12, decimal_places=4, null=True, blank=True)
    upper = models.DecimalField(_("to (exclusive)"), max_digits=12, decimal_places=4, null=True, blank=True)
    category = models.CharField(_("category"), max_length=40, blank=True)
    points = models.IntegerField(_("points"))

    class Meta:
        verbose_name = _("bin")
        verbose_name_plural = _("bins")
        ordering = ["characteristic", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lower__isnull=True) | Q(upper__isnull=True) | Q(lower__lt=models.F("upper")),
                name="risk_bin_lower_below_upper",
                violation_error_message=_("A bin's lower bound is below its upper bound."),
            )
        ]

    def __str__(self) -> str:
        if self.category:
            return self.category
        lower = "-∞" if self.lower is None else self.lower
        upper = "∞" if self.upper is None else self.upper
        return f"[{lower}, {upper})"


class GradeBand(models.Model):
    """The score→grade and grade→limit tables of a version, one row per grade: a score of at
    least `min_score` gets this grade (the highest band it reaches), and the grade its limit."""

    version = models.ForeignKey(
        ScorecardVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="grade_bands"
    )
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    min_score = models.IntegerField(_("lowest score"))
    limit = MoneyField(_("credit limit"))

    class Meta:
        verbose_name = _("grade band")
        verbose_name_plural = _("grade bands")
        ordering = ["version", "grade"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "grade"],
                name="risk_grade_once_per_version",
                violation_error_message=_("A grade appears once in a version."),
            ),
            models.CheckConstraint(
                condition=Q(limit__gte=0),
                name="risk_grade_limit_not_negative",
                violation_error_message=_("A limit cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grade} ≥ {self.min_score}: ¥{self.limit}"


class CustomerScore(models.Model):
    """A customer scored by a version on a business date: the score, grade, points per
    characteristic, the values they came from and the top three reason codes."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="scores"
    )
    version = models.ForeignKey(
        ScorecardVersion, verbose_name=_("scorecard version"), on_delete=models.PROTECT, related_name="scores"
    )
    business_date = models.DateField(_("business date"))
    scored_at = models.DateTimeField(_("scored at"), default=timezone.now)
    score = models.IntegerField(_("score"))
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    points = models.JSONField(_("points per characteristic"), default=dict)
    values = models.JSONField(_("characteristic values"), default=dict)
    reasons = models.JSONField(_("reason codes"), default=list)

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        ordering = ["-business_date", "-id"]
        constraints = [
            # Rescoring a day twice writes nothing new (risk.services.customers_rescore).
            models.UniqueConstraint(
                fields=["customer", "version", "business_date"],
                name="risk_score_once_per_day_and_version",
                violation_error_message=_("This customer is already scored by this version on this date."),
            )
        ]
        indexes = [
            models.Index(fields=["business_date", "grade"], name="risk_score_date_grade_idx"),
            models.Index(fields=["version", "business_date"], name="risk_score_version_date_idx"),
            models.Index(fields=["customer", "-business_date"], name="risk_score_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.business_date}: {self.score} {self.grade}"


class LimitChangeKind(models.TextChoices):
    INCREASE = "increase", _("Increase")
    DECREASE = "decrease", _("Decrease")
    FREEZE = "freeze", _("Freeze")


class LimitChangeStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    PENDING = "pending_approval", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class LimitChange(models.Model):
    """A change of a customer's limit proposed by rescoring (or an analyst): applied at once, or
    waiting for a second analyst when it is an increase above the policy's threshold."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="limit_changes"
    )
    score = models.ForeignKey(
        CustomerScore,
        verbose_name=_("score"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="limit_changes",
    )
    business_date = models.DateField(_("business date"))
    kind = models.CharField(_("kind"), max_length=10, choices=LimitChangeKind.choices)
    status = models.CharField(_("status"), max_length=20, choices=LimitChangeStatus.choices)
    old_limit = MoneyField(_("old limit"))
    new_limit = MoneyField(_("new limit"))
    old_grade = models.CharField(_("old grade"), max_length=1, choices=Grade.choices, blank=True)
    new_grade = models.CharField(_("new grade"), max_length=1, choices=Grade.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("decision reason"), max_length=200, blank=True)

    history = HistoricalRecords(
        verbose_name=_("historical limit change"), verbose_name_plural=_("historical limit changes")
    )

    class Meta:
        verbose_name = _("limit change")
        verbose_name_plural = _("limit changes")
        ordering = ["-proposed_at", "-id"]
        permissions = [("approve_limitchange", "Can approve limit increases and scorecard activations")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status=LimitChangeStatus.PENDING),
                name="risk_one_pending_limit_change",
                violation_error_message=_("This customer already has a limit change waiting for approval."),
            ),
            models.CheckConstraint(
                condition=Q(old_limit__gte=0) & Q(new_limit__gte=0),
                name="risk_limit_change_not_negative",
                violation_error_message=_("A limit cannot be negative."),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "proposed_at"], name="risk_limitchange_status_idx"),
            models.Index(fields=["customer", "-proposed_at"], name="risk_limitchange_customer_idx"),
        ]

    def __str__(self) -> str:
        # get_status_display() hashes the field's choices on every call: the audit trail names
        # each of a rescoring night's hundred thousand limit changes.
        status = _STATUS_LABELS.get(self.status, self.status)
        return f"{self.customer_id}: ¥{self.old_limit} → ¥{self.new_limit} ({status})"


_STATUS_LABELS = dict(LimitChangeStatus.choices)
