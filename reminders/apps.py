"""App config for customer reminders (SMS and email) sent through an outbox, exactly once."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = _("Customer reminders")

    def ready(self) -> None:
        from . import receivers

        # The payment receipt: orders publishes payment_posted and never imports reminders.
        receivers.connect()
