"""App config for order decisions: the decision service, the try-an-order form and the review queue."""

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DecisionsConfig(AppConfig):
    name = "decisions"
    verbose_name = _("Order decisions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bnpl_admin.customer_sections import CustomerSection, register_customer_section

        from .schedules import schedules_ensure
        from .sections import customer_section

        # The customer's risk page (risk, a sibling app) shows their decisions through the registry.
        register_customer_section(
            CustomerSection(
                key="decisions",
                title=_("Order decisions"),
                template="decisions/_customer_section.html",
                context=customer_section,
                permission="decisions.view_orderdecision",
                order=10,
            )
        )

        # Put the review-expiry schedule back after a flush (transactional tests); never
        # overwrite an edited one.
        post_migrate.connect(
            lambda sender, apps=None, **kwargs: schedules_ensure(apps or global_apps),
            sender=self,
            weak=False,
            dispatch_uid="decisions_schedules_ensure",
        )
