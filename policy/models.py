"""Business policy values with an effective date: a change applies from a date, never to the past."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_comma_separated_integer_list
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from bnpl_admin.money import MoneyField, RateField

# Sane bounds of the policy values (DESIGN.md's defaults sit well inside them): a plan fee is
# at most half the principal, a daily late fee at most 1 % of the unpaid principal, a share
# is a fraction, and a count of days fits in a year. Each is a validator on its field (so the
# admin and full_clean refuse a value with the field named) and a check constraint (so no
# other path stores one).
MAX_FEE_RATE = Decimal("0.5")
MAX_DAILY_RATE = Decimal("0.01")
MAX_DAYS = 365


def _rate(maximum: Decimal) -> list:
    return [MinValueValidator(Decimal(0)), MaxValueValidator(maximum)]


_DAYS = [MaxValueValidator(MAX_DAYS)]
_NOT_NEGATIVE = [MinValueValidator(Decimal(0))]
# A payment typed in by hand for more than ¥10,000 (half the highest grade's limit), or received
# more than a week ago, needs a second person (orders.services.manual_payment_request).
DEFAULT_MANUAL_PAYMENT_APPROVAL_ABOVE = Decimal("10000.00")
DEFAULT_MANUAL_PAYMENT_APPROVAL_DAYS_BACK = 7
# A settlement forgives at most a fifth of the unpaid principal unless a later policy says otherwise.
DEFAULT_SETTLEMENT_PRINCIPAL_DISCOUNT_MAX_RATE = Decimal("0.200000")


# The case queue's priority score (collection.selectors.my_queue): points per unit of each
# factor. A weight is a fraction of at most MAX_QUEUE_WEIGHT points per unit, never negative.
MAX_QUEUE_WEIGHT = Decimal("100")
_WEIGHT = [MinValueValidator(Decimal(0)), MaxValueValidator(MAX_QUEUE_WEIGHT)]


def _weight_field(verbose_name, default: str, help_text):
    return models.DecimalField(
        verbose_name,
        max_digits=6,
        decimal_places=2,
        default=Decimal(default),
        validators=_WEIGHT,
        help_text=help_text,
    )


# A promise to pay (collection.services.promise_make) falls due from the day it is made up to
# Policy.promise_max_days later: at least a day ahead may be allowed, never more than a quarter.
DEFAULT_PROMISE_MAX_DAYS = 30
MAX_PROMISE_DAYS = 90
# Limit increases by rescoring (risk.services.customers_rescore): at most ¥2,000 at once without
# a second analyst, only after 6 months without arrears; bounded by the highest grade's limit and
# two years.
DEFAULT_LIMIT_INCREASE_AUTO_MAX = Decimal("2000.00")
MAX_LIMIT_INCREASE_AUTO = Decimal("20000.00")
DEFAULT_LIMIT_INCREASE_CLEAN_MONTHS = 6
MAX_CLEAN_MONTHS = 24
# The order decision's thresholds (decisions app). A count of orders or plans fits in a
# thousand; a referral waits at most 30 days for its review.
MAX_DECISION_COUNT = 1000
MAX_REVIEW_HOURS = 720
_COUNT = [MaxValueValidator(MAX_DECISION_COUNT)]
DEFAULT_DECISION_VELOCITY_24H_ORDERS = 3
DEFAULT_DECISION_VELOCITY_24H_AMOUNT = Decimal("5000.00")
DEFAULT_DECISION_VELOCITY_7D_ORDERS = 8
DEFAULT_DECISION_VELOCITY_7D_AMOUNT = Decimal("15000.00")
DEFAULT_DECISION_FIRST_ORDER_CAP = Decimal("1000.00")
DEFAULT_DECISION_MAX_OPEN_PLANS = 5
DEFAULT_DECISION_MAX_LIMIT_SHARE = Decimal("0.800000")
DEFAULT_DECISION_MAX_BURDEN_30D = Decimal("3000.00")
DEFAULT_DECISION_REVIEW_HOURS = 24


class ConductProfile(models.TextChoices):
    CN = "CN", _("CN (default)")
    US = "US", _("US (Regulation F style)")


class Policy(models.Model):
    """One version of every policy value; the version in force on D has the latest effective_from <= D."""

    effective_from = models.DateField(_("effective from"), unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    pay_later_trial_days = models.PositiveSmallIntegerField(
        _("pay-later trial days"), default=14, validators=_DAYS
    )
    fee_rate_pay_later = RateField(_("fee rate, pay later"), default=0, validators=_rate(MAX_FEE_RATE))
    fee_rate_3 = RateField(_("fee rate, 3 instalments"), validators=_rate(MAX_FEE_RATE))
    fee_rate_6 = RateField(_("fee rate, 6 instalments"), validators=_rate(MAX_FEE_RATE))
    fee_rate_12 = RateField(_("fee rate, 12 instalments"), validators=_rate(MAX_FEE_RATE))

    late_fee_grace_days = models.PositiveSmallIntegerField(
        _("late fee grace days"), default=3, validators=_DAYS
    )
    late_fee_daily_rate = RateField(_("late fee daily rate"), validators=_rate(MAX_DAILY_RATE))
    late_fee_cap_rate = RateField(_("late fee cap (share of principal)"), validators=_rate(Decimal(1)))
    late_fee_cap_amount = MoneyField(_("late fee cap amount"), validators=_NOT_NEGATIVE)

    freeze_at_dpd = models.PositiveSmallIntegerField(
        _("freeze credit line at days past due"), default=1, validators=_DAYS
    )
    write_off_proposal_dpd = models.PositiveSmallIntegerField(
        _("propose write-off at days past due"), default=180
    )
    manual_payment_approval_above = MoneyField(
        _("manual payments above this need a second person"),
        default=DEFAULT_MANUAL_PAYMENT_APPROVAL_ABOVE,
        validators=_NOT_NEGATIVE,
        help_text=_("A payment posted by hand for more than this waits for another person's approval."),
    )
    manual_payment_approval_days_back = models.PositiveSmallIntegerField(
        _("manual payments received longer ago than this many days need a second person"),
        default=DEFAULT_MANUAL_PAYMENT_APPROVAL_DAYS_BACK,
        validators=_DAYS,
    )
    conduct_profile = models.CharField(
        _("conduct profile"), max_length=2, choices=ConductProfile.choices, default=ConductProfile.CN
    )
    # The most of a customer's unpaid principal a settlement may forgive (settlements app): a
    # manager's limit, dated like every value; fees and late fees may be forgiven in full.
    settlement_principal_discount_max_rate = RateField(
        _("settlement: most principal forgiven (share)"),
        default=DEFAULT_SETTLEMENT_PRINCIPAL_DISCOUNT_MAX_RATE,
        validators=_rate(Decimal(1)),
        help_text=_(
            "A settlement may forgive at most this share of the customer's unpaid principal, "
            "e.g. 0.2 for 20%."
        ),
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

    # The agent's queue, most urgent first: score = the sum of each factor times its weight.
    queue_weight_amount = _weight_field(
        _("queue weight: amount overdue"), "10.00", _("Points per ¥1,000 overdue.")
    )
    queue_weight_dpd = _weight_field(_("queue weight: days past due"), "1.00", _("Points per day past due."))
    queue_weight_broken_promise = _weight_field(
        _("queue weight: broken promises"), "20.00", _("Points per broken promise to pay.")
    )
    queue_weight_days_since_contact = _weight_field(
        _("queue weight: days since last contact"),
        "2.00",
        _("Points per day since the case's last contact attempt (since it opened, if none)."),
    )

    # --- Promises to pay (issue 11) ---
    queue_weight_promise_due_today = _weight_field(
        _("queue weight: promise due today"),
        "25.00",
        _("Points for a case whose promise to pay falls due today."),
    )
    promise_max_days = models.PositiveSmallIntegerField(
        _("promise to pay: latest date, in days ahead"),
        default=DEFAULT_PROMISE_MAX_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PROMISE_DAYS)],
        help_text=_("A promise to pay falls due at the latest this many days after the day it is made."),
    )

    # Limits set by nightly rescoring (the risk app): an increase up to this amount applies at
    # once, a larger one waits for a second analyst; limits grow only for customers without
    # arrears in the last so many months.
    limit_increase_auto_max = MoneyField(
        _("limit increases above this need a second analyst"),
        default=DEFAULT_LIMIT_INCREASE_AUTO_MAX,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_LIMIT_INCREASE_AUTO)],
        help_text=_("A limit increase by rescoring of at most this amount applies at once."),
    )
    limit_increase_clean_months = models.PositiveSmallIntegerField(
        _("months without arrears before a limit grows"),
        default=DEFAULT_LIMIT_INCREASE_CLEAN_MONTHS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CLEAN_MONTHS)],
    )

    # The order decision (decisions.services.order_decide): over any of these an order is
    # referred to a risk analyst rather than approved ("guide rational consumption").
    decision_velocity_24h_orders = models.PositiveSmallIntegerField(
        _("orders in 24 hours before referral"),
        default=DEFAULT_DECISION_VELOCITY_24H_ORDERS,
        validators=_COUNT,
        help_text=_("An order that would be more than this many in 24 hours is referred."),
    )
    decision_velocity_24h_amount = MoneyField(
        _("amount in 24 hours before referral"),
        default=DEFAULT_DECISION_VELOCITY_24H_AMOUNT,
        validators=_NOT_NEGATIVE,
        help_text=_("Orders adding up to more than this in 24 hours are referred."),
    )
    decision_velocity_7d_orders = models.PositiveSmallIntegerField(
        _("orders in 7 days before referral"),
        default=DEFAULT_DECISION_VELOCITY_7D_ORDERS,
        validators=_COUNT,
        help_text=_("An order that would be more than this many in 7 days is referred."),
    )
    decision_velocity_7d_amount = MoneyField(
        _("amount in 7 days before referral"),
        default=DEFAULT_DECISION_VELOCITY_7D_AMOUNT,
        validators=_NOT_NEGATIVE,
        help_text=_("Orders adding up to more than this in 7 days are referred."),
    )
    decision_first_order_cap = MoneyField(
        _("first order amount cap"),
        default=DEFAULT_DECISION_FIRST_ORDER_CAP,
        validators=_NOT_NEGATIVE,
        help_text=_("A new customer's first order above this is referred."),
    )
    decision_max_open_plans = models.PositiveSmallIntegerField(
        _("open plans before referral"),
        default=DEFAULT_DECISION_MAX_OPEN_PLANS,
        validators=_COUNT,
        help_text=_("A customer with this many open plans or more is referred."),
    )
    decision_max_limit_share = RateField(
        _("share of the limit used before referral"),
        default=DEFAULT_DECISION_MAX_LIMIT_SHARE,
        validators=_rate(Decimal(1)),
        help_text=_("A customer using more than this share of the limit (e.g. 0.8) is referred."),
    )
    decision_max_burden_30d = MoneyField(
        _("instalments due in 30 days before referral"),
        default=DEFAULT_DECISION_MAX_BURDEN_30D,
        validators=_NOT_NEGATIVE,
        help_text=_("A customer owing more than this within the next 30 days is referred."),
    )
    decision_review_hours = models.PositiveSmallIntegerField(
        _("hours to review a referred order"),
        default=DEFAULT_DECISION_REVIEW_HOURS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REVIEW_HOURS)],
        help_text=_("A referred order not reviewed within this many hours is declined."),
    )

    # Restrictions (issue 12): a bulk restriction of more lines than this waits for a second
    # analyst's approval (restrictions.services, maker–checker).
    restriction_approval_lines = models.PositiveIntegerField(
        _("bulk restriction: lines needing approval"),
        default=1000,
        help_text=_("A bulk restriction of more credit lines than this needs a second analyst's approval."),
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
                violation_error_message=_("The late fee cap rate is between 0 and 1."),
            ),
            models.CheckConstraint(
                condition=Q(fee_rate_pay_later__gte=0, fee_rate_pay_later__lte=MAX_FEE_RATE)
                & Q(fee_rate_3__gte=0, fee_rate_3__lte=MAX_FEE_RATE)
                & Q(fee_rate_6__gte=0, fee_rate_6__lte=MAX_FEE_RATE)
                & Q(fee_rate_12__gte=0, fee_rate_12__lte=MAX_FEE_RATE),
                name="policy_fee_rates_in_bounds",
                violation_error_message=_("A plan fee rate is between 0 and 0.5."),
            ),
            models.CheckConstraint(
                condition=Q(late_fee_daily_rate__gte=0, late_fee_daily_rate__lte=MAX_DAILY_RATE),
                name="policy_daily_rate_in_bounds",
                violation_error_message=_("The daily late fee rate is between 0 and 0.01."),
            ),
            models.CheckConstraint(
                condition=Q(late_fee_cap_amount__gte=0) & Q(manual_payment_approval_above__gte=0),
                name="policy_amounts_not_negative",
                violation_error_message=_("A cap or threshold amount cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(pay_later_trial_days__lte=MAX_DAYS)
                & Q(late_fee_grace_days__lte=MAX_DAYS)
                & Q(freeze_at_dpd__lte=MAX_DAYS)
                & Q(manual_payment_approval_days_back__lte=MAX_DAYS),
                name="policy_days_within_a_year",
                violation_error_message=_("A number of days is at most 365."),
            ),
            models.CheckConstraint(
                condition=Q(queue_weight_amount__gte=0, queue_weight_amount__lte=MAX_QUEUE_WEIGHT)
                & Q(queue_weight_dpd__gte=0, queue_weight_dpd__lte=MAX_QUEUE_WEIGHT)
                & Q(queue_weight_broken_promise__gte=0, queue_weight_broken_promise__lte=MAX_QUEUE_WEIGHT)
                & Q(
                    queue_weight_days_since_contact__gte=0,
                    queue_weight_days_since_contact__lte=MAX_QUEUE_WEIGHT,
                ),
                name="policy_queue_weights_in_bounds",
                violation_error_message=_("A queue weight is between 0 and 100."),
            ),
            # Promises to pay (issue 11): their own constraints, so the ones above stay as they are.
            models.CheckConstraint(
                condition=Q(
                    queue_weight_promise_due_today__gte=0,
                    queue_weight_promise_due_today__lte=MAX_QUEUE_WEIGHT,
                ),
                name="policy_promise_weight_in_bounds",
                violation_error_message=_("A queue weight is between 0 and 100."),
            ),
            models.CheckConstraint(
                condition=Q(promise_max_days__gte=1, promise_max_days__lte=MAX_PROMISE_DAYS),
                name="policy_promise_days_in_bounds",
                violation_error_message=_("A promise to pay falls due between 1 and 90 days ahead."),
            ),
            models.CheckConstraint(
                condition=Q(
                    limit_increase_auto_max__gte=0, limit_increase_auto_max__lte=MAX_LIMIT_INCREASE_AUTO
                )
                & Q(limit_increase_clean_months__gte=1, limit_increase_clean_months__lte=MAX_CLEAN_MONTHS),
                name="policy_limit_increase_in_bounds",
                violation_error_message=_(
                    "The automatic limit increase is between ¥0 and ¥20,000, "
                    "the months without arrears between 1 and 24."
                ),
            ),
            models.CheckConstraint(
                condition=Q(
                    settlement_principal_discount_max_rate__gte=0,
                    settlement_principal_discount_max_rate__lte=1,
                ),
                name="policy_settlement_discount_is_a_fraction",
                violation_error_message=_(
                    "The most principal a settlement forgives is a share between 0 and 1."
                ),
            ),
            models.CheckConstraint(
                condition=Q(decision_velocity_24h_orders__lte=MAX_DECISION_COUNT)
                & Q(decision_velocity_7d_orders__lte=MAX_DECISION_COUNT)
                & Q(decision_max_open_plans__lte=MAX_DECISION_COUNT)
                & Q(decision_velocity_24h_amount__gte=0)
                & Q(decision_velocity_7d_amount__gte=0)
                & Q(decision_first_order_cap__gte=0)
                & Q(decision_max_burden_30d__gte=0)
                & Q(decision_max_limit_share__gte=0, decision_max_limit_share__lte=1)
                & Q(decision_review_hours__gte=1, decision_review_hours__lte=MAX_REVIEW_HOURS),
                name="policy_decision_thresholds_in_bounds",
                violation_error_message=_(
                    "An order decision threshold is out of bounds: counts at most 1000, amounts not "
                    "negative, the limit share between 0 and 1, review hours between 1 and 720."
                ),
            ),
        ]

    def __str__(self) -> str:
        return _("Policy from %(date)s") % {"date": f"{self.effective_from:%Y-%m-%d}"}

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


def _day_list(text: str) -> list[int]:
    """'3, 1' -> [3, 1]; empty text is no days."""
    return [int(part) for part in (text or "").split(",") if part.strip()]
