"""Reads of the policy in force."""

import datetime

from .models import Policy


def policy_in_force(*, on: datetime.date) -> Policy:
    """The policy version that applies on `on`: the latest with effective_from <= on."""
    policy = Policy.objects.filter(effective_from__lte=on).order_by("-effective_from").first()
    if policy is None:
        raise Policy.DoesNotExist(f"no policy is in force on {on:%Y-%m-%d}")
    return policy
