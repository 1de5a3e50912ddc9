"""Business policy values with an effective date: a change applies from a date, never to the past."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
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

    effective_from = models.DateField(unique=True)
    note = models.CharField(max_length=200, blank=True)

    pay_later_trial_days = models.PositiveSmallIntegerField(default=14)
    fee_rate_pay_later = RateField(default=0)
    fee_rate_3 = RateField()
    fee_rate_6 = RateField()
    fee_rate_12 = RateField()

    late_fee_grace_days = models.PositiveSmallIntegerField(default=3)
    late_fee_daily_rate = RateField()
    late_fee_cap_rate = RateField()
    late_fee_cap_amount = MoneyField()

    freeze_at_dpd = models.PositiveSmallIntegerField(default=1)
    write_off_proposal_dpd = models.PositiveSmallIntegerField(default=180)
    conduct_profile = models.CharField(
        max_length=2, choices=ConductProfile.choices, default=ConductProfile.CN
    )

    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-effective_from"]
        verbose_name_plural = "policies"
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

    def clean(self) -> None:
        rate_fields = ("fee_rate_pay_later", "fee_rate_3", "fee_rate_6", "fee_rate_12")
        for name in (*rate_fields, "late_fee_daily_rate"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise ValidationError({name: _("A rate is a fraction between 0 and 1.")})
