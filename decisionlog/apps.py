"""App config for the tamper-evident decision log."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DecisionLogConfig(AppConfig):
    name = "decisionlog"
    verbose_name = _("Decision log")
    default_auto_field = "django.db.models.BigAutoField"
