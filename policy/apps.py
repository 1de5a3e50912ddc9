"""App config for the dated business policy (fees, late fees, ageing, conduct rules)."""

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PolicyConfig(AppConfig):
    name = "policy"
    verbose_name = _("Policy settings")

    def ready(self) -> None:
        from .defaults import default_policy_ensure

        # The data migration creates the first policy; this puts it back after a flush
        # (as transactional tests do), since nothing can run without a policy in force.
        post_migrate.connect(
            lambda sender, apps=None, **kwargs: default_policy_ensure(apps or global_apps),
            sender=self,
            weak=False,
            dispatch_uid="policy_default_ensure",
        )
