"""App config for customer reminders (SMS and email) sent through an outbox, exactly once."""

from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = "Customer reminders"
