"""App config for scorecards, scores, grades and limits."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = _("Risk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The customer's risk page lists its sections through bnpl_admin.customer_sections; the
        # decisions and restrictions apps register theirs, risk the orders' (orders has no pages).
        from bnpl_admin.customer_sections import CustomerSection, register_customer_section

        from .sections import orders_section

        register_customer_section(
            CustomerSection(
                key="orders",
                title=_("Orders"),
                template="risk/_orders_section.html",
                context=orders_section,
                permission="orders.view_order",
                order=20,
            )
        )
        # Nightly rescoring follows the sweep: the receiver only publishes risk.rescore.
        from bnpl_admin.signals import sweep_done

        from . import receivers

        sweep_done.connect(receivers.rescore_after_sweep, dispatch_uid="risk.rescore_after_sweep")
