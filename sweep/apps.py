"""App config for the nightly overdue sweep: runs, chunks and the daily portfolio snapshot."""

from django.apps import AppConfig


class SweepConfig(AppConfig):
    name = "sweep"
    verbose_name = "Overdue sweep"
