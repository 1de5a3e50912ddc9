"""App config for scorecards, scores, grades and limits."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = _("Risk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Nightly rescoring follows the sweep: the receiver only publishes risk.rescore.
        from bnpl_admin.signals import sweep_done

        from . import receivers

        sweep_done.connect(receivers.rescore_after_sweep, dispatch_uid="risk.rescore_after_sweep")
