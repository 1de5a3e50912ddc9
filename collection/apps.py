"""App config for collection cases and their events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionConfig(AppConfig):
    # The package cannot be called `collections`: the standard library's module of that
    # name is imported first, so the label keeps admin URLs and permissions as collections.*.
    name = "collection"
    label = "collections"
    verbose_name = _("Collections")

    def ready(self):
        from bnpl_admin.signals import sweep_done

        # --- Assignment rules by bucket, after each sweep ---
        sweep_done.connect(_publish_assignment_by_rules, dispatch_uid="collections.assign_by_rules")


def _publish_assignment_by_rules(sender, *, business_date, **kwargs) -> None:
    """Publish the rules' own task once the sweep's work is committed (never inline)."""
    from django.db import transaction

    from .tasks import cases_assign_by_rules_task

    transaction.on_commit(lambda: cases_assign_by_rules_task.delay(business_date.isoformat()), robust=True)
