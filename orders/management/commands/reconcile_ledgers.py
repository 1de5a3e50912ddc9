"""`manage.py reconcile_ledgers`: check stored money totals against their entries (recorded in the
audit trail); exit 1 on any gap."""

from django.core.management.base import BaseCommand, CommandError

from orders.reconciliation import ledgers_reconcile


class Command(BaseCommand):
    help = (
        "Checks every instalment's paid and waived totals against its allocations and waivers, "
        "and every payment's allocations against its amount. Exits non-zero on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="Report at most this many per check.")

    def handle(self, *args, limit: int, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        # Recorded in the audit trail: a re-run after a fix clears the operations warning.
        mismatches = ledgers_reconcile(limit=limit)
        for mismatch in mismatches:
            self.stderr.write(str(mismatch))
        if mismatches:
            raise CommandError(f"{len(mismatches)} ledger mismatch(es) found.")
        self.stdout.write(self.style.SUCCESS("Ledgers reconcile: every stored total matches its entries."))
