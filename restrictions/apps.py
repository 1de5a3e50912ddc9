"""App config for credit-line restrictions: one at a time and in bulk by filter."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RestrictionsConfig(AppConfig):
    name = "restrictions"
    label = "restrictions"
    verbose_name = _("Restrictions")
    default_auto_field = "django.db.models.BigAutoField"
