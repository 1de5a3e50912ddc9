"""App config for the dated business policy (fees, late fees, ageing, conduct rules)."""

from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "policy"
    verbose_name = "Policy settings"
