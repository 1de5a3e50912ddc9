"""`manage.py dispatch_reminders [--date YYYY-MM-DD]`: select a date's reminders, deliver what is due."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reminders.services import business_date, reminders_deliver_due, reminders_select


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--date must be a calendar date written YYYY-MM-DD, e.g. 2026-03-10; got {value!r}."
        ) from None


class Command(BaseCommand):
    help = (
        "Writes the reminders due on a business date (default today) and delivers, in this "
        "process and without a Celery worker, every reminder that may go out now."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The business date to select for, YYYY-MM-DD (default: today).")

    def handle(self, *args, date: str | None = None, **options):
        now = timezone.now()
        on = _date(date) if date is not None else business_date(now)
        selection = reminders_select(on=on, now=now)
        self.stdout.write(
            f"{on:%Y-%m-%d}: {selection.queued} reminder(s) queued, "
            f"{selection.capped} held back by the daily cap."
        )
        outcomes = reminders_deliver_due(now=now)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(outcomes.items())) or "nothing due"
        self.stdout.write(self.style.SUCCESS(f"Delivered now: {summary}."))
