"""`manage.py run_sweep [--date YYYY-MM-DD]`: the nightly sweep in this process, chunk by chunk."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from bnpl_admin.dates import business_date
from bnpl_admin.errors import DomainError
from policy.models import Policy
from sweep.services import DEFAULT_CHUNK_SIZE, SweepBusy, busy_message, sweep_run


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be a date like 2026-03-20, not {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Runs the overdue sweep for a business date (default: today) without a worker: "
        "statuses, credit balances, late fees, ageing, cases and freezes. A date already "
        "swept is left alone unless --again is given; a failed or interrupted run resumes. "
        "A date after today, or before a date that has already been swept, is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=_date, help="Business date, YYYY-MM-DD (default: today).")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
        parser.add_argument(
            "--again",
            action="store_true",
            help="Run every chunk again (changes nothing; refused once a later date has been swept).",
        )
        parser.add_argument(
            "--max-wait",
            type=int,
            default=3600,
            help="Seconds to wait for chunks another worker is running before giving up (default 3600).",
        )

    def handle(self, *args, date=None, chunk_size: int, again: bool, max_wait: int, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        on = date or business_date()
        reported = []

        def waiting(held: int) -> None:
            # Another run_sweep or a worker holds these chunks: not a failure, so say so once
            # per change rather than every poll.
            if not reported or reported[-1] != held:
                self.stdout.write(busy_message(held))
                reported.append(held)

        try:
            run = sweep_run(
                on=on,
                chunk_size=chunk_size,
                triggered_by="command",
                again=again,
                on_wait=waiting,
                max_wait_seconds=max_wait,
            )
        except SweepBusy as exc:
            raise CommandError(exc.message, returncode=3) from exc
        except DomainError as exc:
            # A date after today, or one a later date's sweep has already caught up.
            raise CommandError(exc.message) from exc
        except Policy.DoesNotExist as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Sweep {on:%Y-%m-%d}: {run.get_status_display()}, {run.chunk_count} chunks")
        for key, value in sorted(run.totals.items()):
            self.stdout.write(f"  {key:24} {value}")
        if run.status != "done":
            raise CommandError("Some chunks failed; see the admin (Sweep runs) and run again.")
