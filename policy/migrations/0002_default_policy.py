"""The first policy version: DESIGN.md's defaults (overridable by BNPL_* settings), in force from 2000-01-01."""

import datetime

from django.conf import settings
from django.db import migrations


def create_default_policy(apps, schema_editor):
    policy_model = apps.get_model("policy", "Policy")
    policy_model.objects.get_or_create(
        effective_from=datetime.date(2000, 1, 1),
        defaults={
            "note": "Defaults from DESIGN.md",
            "pay_later_trial_days": settings.BNPL_PAY_LATER_TRIAL_DAYS,
            "fee_rate_pay_later": settings.BNPL_FEE_RATE_PAY_LATER,
            "fee_rate_3": settings.BNPL_FEE_RATE_3,
            "fee_rate_6": settings.BNPL_FEE_RATE_6,
            "fee_rate_12": settings.BNPL_FEE_RATE_12,
            "late_fee_grace_days": settings.BNPL_LATE_FEE_GRACE_DAYS,
            "late_fee_daily_rate": settings.BNPL_LATE_FEE_DAILY_RATE,
            "late_fee_cap_rate": settings.BNPL_LATE_FEE_CAP_RATE,
            "late_fee_cap_amount": settings.BNPL_LATE_FEE_CAP_AMOUNT,
            "freeze_at_dpd": settings.BNPL_FREEZE_AT_DPD,
            "write_off_proposal_dpd": settings.BNPL_WRITE_OFF_PROPOSAL_DPD,
            "conduct_profile": settings.BNPL_CONDUCT_PROFILE,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("policy", "0001_initial")]

    operations = [migrations.RunPython(create_default_policy, migrations.RunPython.noop)]
