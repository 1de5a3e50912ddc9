"""App config for credit-line restrictions: one at a time and in bulk by filter."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RestrictionsConfig(AppConfig):
    name = "restrictions"
    label = "restrictions"
    verbose_name = _("Restrictions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bnpl_admin.customer_sections import CustomerSection, register_customer_section

        from .sections import customer_section

        # The customer's risk page (risk, a sibling app) shows the line's restrictions and the
        # one-line form through the registry.
        register_customer_section(
            CustomerSection(
                key="restrictions",
                title=_("Restrictions"),
                template="restrictions/_customer_section.html",
                context=customer_section,
                # The form inside it asks for restrictions.add_restriction as well.
                permission="restrictions.view_restriction",
                order=30,
            )
        )
