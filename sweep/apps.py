"""App config for the nightly overdue sweep: runs, chunks and the daily portfolio snapshot."""

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class SweepConfig(AppConfig):
    name = "sweep"
    verbose_name = _("Overdue sweep")

    def ready(self) -> None:
        from orders.selectors import books_source_add

        from .schedules import schedules_ensure
        from .selectors import customer_swept_through

        # A money event catches its customer up from where the sweep left their books.
        books_source_add(customer_swept_through)

        # Put the schedules back after a flush (transactional tests); never overwrite edits.
        post_migrate.connect(
            lambda sender, apps=None, **kwargs: schedules_ensure(apps or global_apps),
            sender=self,
            weak=False,
            dispatch_uid="sweep_schedules_ensure",
        )
