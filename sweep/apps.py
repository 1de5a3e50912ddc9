"""App config for the nightly overdue sweep: runs, chunks and the daily portfolio snapshot."""

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class SweepConfig(AppConfig):
    name = "sweep"
    verbose_name = _("Overdue sweep")

    def ready(self) -> None:
        from .schedules import schedules_ensure

        # Put the schedules back after a flush (transactional tests); never overwrite edits.
        post_migrate.connect(
            lambda sender, apps=None, **kwargs: schedules_ensure(apps or global_apps),
            sender=self,
            weak=False,
            dispatch_uid="sweep_schedules_ensure",
        )
