"""Business policy values with an effective date: a change applies from a date, never to the past."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_comma_separated_integer_list
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from bnpl_admin.money import MoneyField, RateField


class ConductProfile(models.TextChoices):
    CN = "CN", _("CN (default)")
    US = "US", _("US (Regulation F style)")


class Policy(models.Model):
    """One version of every policy value; the version in force on D has the latest effective_from <= D."""

    effective_from = models.DateField(_("effective from"), unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    pay_later_trial_days = models.PositiveSmallIntegerField(_("pay-later trial days"), default=14)
    fee_rate_pay_later = RateField(_("fee rate, pay later"), default=0)
    fee_rate_3 = RateField(_("fee rate, 3 instalments"))
    fee_rate_6 = RateField(_("fee rate, 6 instalments"))
    fee_rate_12 = RateField(_("fee rate, 12 instalments"))

    late_fee_grace_days = models.PositiveSmallIntegerField(_("late fee grace days"), default=3)
    late_fee_daily_rate = RateField(_("late fee daily rate"))
    late_fee_cap_rate = RateField(_("late fee cap (share of principal)"))
    late_fee_cap_amount = MoneyField(_("late fee cap amount"))

    freeze_at_dpd = models.PositiveSmallIntegerField(_("freeze credit line at days past due"), default=1)
    write_off_proposal_dpd = models.PositiveSmallIntegerField(
        _("propose write-off at days past due"), default=180
    )
    conduct_profile = models.CharField(
        _("conduct profile"), max_length=2, choices=ConductProfile.choices, default=ConductProfile.CN
    )

    # Reminders to customers (the reminders app). Offsets are whole days from the due date.
    reminder_days_before = models.CharField(
        _("reminder days before due date"),
        max_length=40,
        blank=True,
        default="3,1",
        validators=[validate_comma_separated_integer_list],
        help_text=_("Days before the due date to remind, e.g. 3,1; empty for none."),
    )
    reminder_on_due_date = models.BooleanField(
        _("remind on due date"), default=True, help_text=_("Remind on the due date itself.")
    )
    reminder_days_after = models.CharField(
        _("reminder days past due"),
        max_length=40,
        blank=True,
        default="1,3,7",
        validators=[validate_comma_separated_integer_list],
        help_text=_("Days past due to remind, e.g. 1,3,7; empty for none."),
    )
    reminder_weekly_after = models.BooleanField(
        _("weekly reminders"),
        default=True,
        help_text=_("Then remind every 7 days after the last of those days."),
    )
    reminder_weekly_until_dpd = models.PositiveSmallIntegerField(
        _("weekly reminders until days past due"),
        default=180,
        help_text=_("No weekly reminder later than this many days past due."),
    )
    reminder_by_sms = models.BooleanField(_("remind by SMS"), default=True)
    reminder_by_email = models.BooleanField(_("remind by email"), default=True)
    reminder_daily_cap = models.PositiveSmallIntegerField(
        _("daily reminder cap"),
        default=3,
        help_text=_("At most this many reminders (all channels) per customer per day in their time zone."),
    )

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords(
        verbose_name=_("historical policy"), verbose_name_plural=_("historical policies")
    )

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(late_fee_cap_rate__gte=0) & Q(late_fee_cap_rate__lte=1),
                name="policy_cap_rate_is_a_fraction",
            ),
        ]

    def __str__(self) -> str:
        return f"Policy from {self.effective_from:%Y-%m-%d}"

    def fee_rate_for(self, installments: int) -> Decimal:
        rates = {
            1: self.fee_rate_pay_later,
            3: self.fee_rate_3,
            6: self.fee_rate_6,
            12: self.fee_rate_12,
        }
        try:
            return rates[installments]
        except KeyError:
            raise ValueError(f"no plan with {installments} instalments") from None

    def reminder_offsets(self) -> list[int]:
        """Days from the due date on which an unpaid instalment gets a reminder: -3 is T-3, 7 is T+7."""
        offsets = {-days for days in _day_list(self.reminder_days_before)}
        if self.reminder_on_due_date:
            offsets.add(0)
        after = _day_list(self.reminder_days_after)
        offsets.update(after)
        if self.reminder_weekly_after:
            offsets.update(range(max(after, default=0) + 7, self.reminder_weekly_until_dpd + 1, 7))
        return sorted(offsets)

    def reminder_channels(self) -> list[str]:
        return [
            channel
            for channel, on in (("sms", self.reminder_by_sms), ("email", self.reminder_by_email))
            if on
        ]

    def clean(self) -> None:
        for name in ("reminder_days_before", "reminder_days_after"):
            try:
                days = _day_list(getattr(self, name))
            except ValueError:
                raise ValidationError({name: _("Give whole days separated by commas, e.g. 3,1.")}) from None
            if any(day < 1 for day in days):
                raise ValidationError({name: _("Each day must be 1 or more.")})
        rate_fields = ("fee_rate_pay_later", "fee_rate_3", "fee_rate_6", "fee_rate_12")
        for name in (*rate_fields, "late_fee_daily_rate"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise ValidationError({name: _("A rate is a fraction between 0 and 1.")})


def _day_list(text: str) -> list[int]:
    """'3, 1' -> [3, 1]; empty text is no days."""
    return [int(part) for part in (text or "").split(",") if part.strip()]
