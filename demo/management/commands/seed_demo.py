"""`manage.py seed_demo`: a deterministic synthetic portfolio and a login for every staff role."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Customer, User
from accounts.otp import demo_backup_code
from bnpl_admin.dates import business_date
from collection.models import Bucket
from demo.seeder import DemoError, demo_data_exists, demo_prefix, seed_portfolio
from orders.models import Order
from policy.models import Policy
from policy.selectors import policy_in_force

EMPTY_MESSAGE = "database already has data; not seeding"


class Command(BaseCommand):
    help = (
        "Builds a synthetic buy-now-pay-later book: customers with credit lines and emergency "
        "contacts, twelve months of orders up to today's business date, repayment schedules, "
        "payments and their allocations, late fees, frozen lines and collection cases, and one "
        "demo staff user per role with a random password printed once. The same --seed on the "
        "same business date gives the same book. Rows are bulk-inserted, each with its baseline "
        "history row, so later changes show old and new values. Refuses to touch a database that already has "
        "customers or orders unless --force or --if-empty is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--customers", type=int, default=2000, help="How many customers to create (default 2000)."
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--force",
            action="store_true",
            help="Add to a database that already has data (ids carry the seed, so use a new --seed).",
        )
        mode.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only an empty database; otherwise say so and exit 0 (what `make run` calls).",
        )

    def handle(self, *args, seed: int, customers: int, force: bool, if_empty: bool, **options):
        if customers < 1:
            raise CommandError("--customers must be at least 1.")
        if seed < 0:
            raise CommandError("--seed must not be negative.")
        n_customers, n_orders = Customer.objects.count(), Order.objects.count()
        if n_customers or n_orders:
            if if_empty:
                self.stdout.write(EMPTY_MESSAGE)
                return
            if not force:
                raise CommandError(
                    f"The database already holds {n_customers} customers and {n_orders} orders; "
                    "seed_demo only fills an empty database. Use --force to add a demo book to it, "
                    "or --if-empty to skip quietly. Nothing was written."
                )
            if demo_data_exists(seed):
                raise CommandError(
                    f"Demo data of seed {seed} (ids starting {demo_prefix(seed)!r}) is already in this "
                    "database; pass another --seed to add more. Nothing was written."
                )
        try:
            policy_in_force(on=business_date())
        except Policy.DoesNotExist as exc:
            raise CommandError(f"{exc}; run `manage.py migrate` first.") from exc

        try:
            with transaction.atomic():
                summary = seed_portfolio(seed=seed, customers=customers)
                # The second sign-in step, made easy for the demo only (refused in production).
                codes = {
                    login.username: demo_backup_code(User.objects.get(username=login.username))
                    for login in summary.logins
                }
        except (DemoError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from exc
        self._report(summary, codes)

    def _report(self, s, codes: dict[str, str]) -> None:
        out = self.stdout.write
        statuses = ", ".join(f"{status} {n}" for status, n in sorted(s.orders_by_status.items()))
        buckets = " · ".join(
            f"{b.value} {s.open_cases_by_bucket.get(b.value, 0)}" for b in Bucket if b.value != "current"
        )
        personas = ", ".join(f"{name} {n}" for name, n in sorted(s.personas.items()))
        out(self.style.SUCCESS(f"Seeded the demo book for seed {s.seed}, business date {s.today:%Y-%m-%d}."))
        out(f"  customers            {s.customers:>7}   ({personas})")
        out(f"  orders               {s.orders:>7}   ({statuses})")
        out(f"  instalments          {s.installments:>7}")
        out(f"  payments             {s.payments:>7}   ({s.allocations} allocations)")
        out(f"  overdue instalments  {s.overdue_installments:>7}")
        out(f"  frozen credit lines  {s.frozen_lines:>7}")
        out(f"  open cases           {sum(s.open_cases_by_bucket.values()):>7}   ({buckets})")
        out(f"  resolved cases       {s.resolved_cases:>7}")
        visits = ", ".join(f"{kind} {n}" for kind, n in sorted(s.visits.items())) or "none"
        out(f"  home visits          {sum(s.visits.values()):>7}   ({visits}; today's: field1, field2)")
        decisions = ", ".join(f"{outcome} {n}" for outcome, n in sorted(s.decisions_by_outcome.items()))
        out(f"  order decisions      {sum(s.decisions_by_outcome.values()):>7}   ({decisions})")
        out(f"  elapsed              {s.seconds:>7.1f} s")
        out("  (each row has its baseline history row: later changes show old and new values)")
        out("")
        out("Second sign-in step: one backup code per login, good once; then set up an authenticator app:")
        for login in s.logins:
            out(f"  {login.username:<10} {codes[login.username]}")
        out("")
        out("Staff logins (passwords are shown this once and stored only as hashes):")
        width = max(len(login.role) for login in s.logins)
        out(f"  {'username':<10} {'role':<{width}}  password")
        for login in s.logins:
            password = login.password or "(existing user; password unchanged)"
            out(f"  {login.username:<10} {login.role:<{width}}  {password}")
