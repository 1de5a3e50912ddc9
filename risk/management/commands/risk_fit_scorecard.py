"""Fit a new DRAFT scorecard version on the book (risk.fitting: WoE bins, logistic regression)."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError

from bnpl_admin.dates import business_date
from risk.fitting import DEMO_SCORECARD, FitError, fit_scorecard


class Command(BaseCommand):
    help = (
        "Fits weight-of-evidence bins and a logistic regression on the book (target: an instalment "
        "30+ days past due in the six months after the observation date) and writes a new DRAFT "
        "version with points scaled by PDO and odds; prints how it was fitted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--on", help="Business date of the book (default today's).")
        parser.add_argument("--scorecard", default=DEMO_SCORECARD)
        parser.add_argument("--window-months", type=int, default=6)
        parser.add_argument("--target-dpd", type=int, default=30)
        parser.add_argument("--pdo", type=int, default=20)
        parser.add_argument("--base-score", type=int, default=600)
        parser.add_argument("--base-odds", type=int, default=50)

    def handle(self, *args, **options):
        try:
            on = datetime.date.fromisoformat(options["on"]) if options["on"] else business_date()
        except ValueError as exc:
            raise CommandError(f"--on: {exc}") from None
        try:
            version = fit_scorecard(
                on=on,
                window_months=options["window_months"],
                target_dpd=options["target_dpd"],
                pdo=options["pdo"],
                base_score=options["base_score"],
                base_odds=options["base_odds"],
                scorecard_name=options["scorecard"],
            )
        except FitError as exc:
            raise CommandError(str(exc)) from None
        fitted = version.fitted
        self.stdout.write(
            f"Draft {version} written: {fitted['sample_size']} customers, {fitted['bads']} bads, "
            f"AUC {fitted['auc']}, Gini {fitted['gini']}, base points {version.base_points}."
        )
