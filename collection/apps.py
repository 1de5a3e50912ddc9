"""App config for collection cases and their events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionConfig(AppConfig):
    # The package cannot be called `collections`: the standard library's module of that
    # name is imported first, so the label keeps admin URLs and permissions as collections.*.
    name = "collection"
    label = "collections"
    verbose_name = _("Collections")

    def ready(self) -> None:
        # --- Promises to pay ---
        from reminders.selectors import after_due_pause_add

        from . import receivers
        from .case_actions import CaseAction, register_case_action
        from .selectors import promises_pending_through

        # Promises are decided after each night's sweep (bnpl_admin.signals.sweep_done), and
        # decided again when a payment they counted is reversed (orders.signals.payment_reversed).
        receivers.connect()
        # A pending promise pauses the customer's after-due reminders until its date.
        after_due_pause_add(promises_pending_through)
        register_case_action(
            CaseAction(
                key="contact_record",
                label=_("Record a contact or a promise"),
                url_name="collections:case_contacts",
                permission="collections.add_contactattempt",
                order=10,
            )
        )
        # --- Assignment rules by bucket, after each sweep ---
        from bnpl_admin.signals import sweep_done

        sweep_done.connect(_publish_assignment_by_rules, dispatch_uid="collections.assign_by_rules")


def _publish_assignment_by_rules(sender, *, business_date, **kwargs) -> None:
    """Publish the rules' own task once the sweep's work is committed (never inline)."""
    from django.db import transaction

    from .tasks import cases_assign_by_rules_task

    transaction.on_commit(lambda: cases_assign_by_rules_task.delay(business_date.isoformat()), robust=True)
