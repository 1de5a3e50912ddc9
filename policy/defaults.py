"""The first policy version, from DESIGN.md's defaults (overridable by BNPL_* settings)."""

import datetime

from django.conf import settings

FIRST_EFFECTIVE_DATE = datetime.date(2000, 1, 1)


def default_policy_ensure(apps, *args, **kwargs) -> None:
    """Create the default policy version if no policy exists (a migration and post_migrate call it)."""
    policy_model = apps.get_model("policy", "Policy")
    if policy_model.objects.exists():
        return
    policy_model.objects.create(
        effective_from=FIRST_EFFECTIVE_DATE,
        note="Defaults from DESIGN.md",
        pay_later_trial_days=settings.BNPL_PAY_LATER_TRIAL_DAYS,
        fee_rate_pay_later=settings.BNPL_FEE_RATE_PAY_LATER,
        fee_rate_3=settings.BNPL_FEE_RATE_3,
        fee_rate_6=settings.BNPL_FEE_RATE_6,
        fee_rate_12=settings.BNPL_FEE_RATE_12,
        late_fee_grace_days=settings.BNPL_LATE_FEE_GRACE_DAYS,
        late_fee_daily_rate=settings.BNPL_LATE_FEE_DAILY_RATE,
        late_fee_cap_rate=settings.BNPL_LATE_FEE_CAP_RATE,
        late_fee_cap_amount=settings.BNPL_LATE_FEE_CAP_AMOUNT,
        freeze_at_dpd=settings.BNPL_FREEZE_AT_DPD,
        write_off_proposal_dpd=settings.BNPL_WRITE_OFF_PROPOSAL_DPD,
        conduct_profile=settings.BNPL_CONDUCT_PROFILE,
    )
