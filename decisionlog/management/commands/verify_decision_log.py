"""`manage.py verify_decision_log`: recompute the decision log's hash chain; non-zero when broken."""

from django.core.management.base import BaseCommand, CommandError

from decisionlog.services import decision_log_verify


class Command(BaseCommand):
    help = "Recompute the decision log's hash chain and name the first entry edited, removed or reordered."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000, help="entries read per query")

    def handle(self, *args, batch_size: int, **options):
        report = decision_log_verify(batch_size=batch_size)
        if report.ok:
            self.stdout.write(f"OK {report.entries} entries, head {report.head_hash}")
            return
        row = f" (row id {report.broken_id})" if report.broken_id else ""
        raise CommandError(
            f"BROKEN at entry #{report.broken_sequence}{row}: {report.reason}: {report.detail} "
            f"({report.entries} entries verified before it)"
        )
