"""Nightly rescoring on the bench book: `python -m bench.rescore --scale 1.0` (docs/performance.md).

Builds the bench book (bench.book, 250,000 customers at scale 1.0) in the database of
DATABASE_URL (its name must contain "bench"; --reuse-book restores the saved one), activates
the hand-set demo scorecard (risk.fitting.hand_set_version, by two analysts) and times
`risk.services.customers_rescore` over every customer: the characteristics, the scores, their
decision log entries, the lines' scores and grades, and the limit changes. Then times a second
run of the same day (nothing to do: idempotent).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reuse-book", action="store_true")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--output", type=Path, default=ROOT / "var" / "bench" / "rescore.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bnpl_admin.settings.local")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bnpl_risk_bench")
    os.environ["DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count

    from accounts.models import Customer
    from accounts.roles import Role
    from bench.run import BenchDatabase, Options, _book
    from decisionlog.models import DecisionLogEntry
    from risk import services
    from risk.fitting import hand_set_version
    from risk.models import CustomerScore, LimitChange
    from tests.factories import UserFactory

    say = lambda text: print(text, flush=True)  # noqa: E731
    book_meta = args.output.parent / "rescore-book.json"
    options = Options(scale=args.scale, reuse_book=args.reuse_book, output=book_meta)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    book, _book_info = _book(BenchDatabase(), options, say)
    maker = UserFactory(username="bench-risk-1", roles=[Role.RISK_ANALYST])
    checker = UserFactory(username="bench-risk-2", roles=[Role.RISK_ANALYST])
    version = hand_set_version(by=maker)
    services.scorecard_activation_request(version=version, by=maker)
    services.scorecard_activate(version=version, by=checker)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    customers = Customer.objects.count()
    say(f"rescoring {customers:,} customers as of {book.on} ...")
    started = time.monotonic()
    summary = services.customers_rescore(on=book.on, batch_size=args.batch_size)
    seconds = time.monotonic() - started
    started = time.monotonic()
    again = services.customers_rescore(on=book.on, batch_size=args.batch_size)
    again_seconds = time.monotonic() - started
    result = {
        "scale": args.scale,
        "customers": customers,
        "batch_size": args.batch_size,
        "rescore_seconds": round(seconds, 1),
        "customers_per_s": round(customers / seconds),
        "rerun_seconds": round(again_seconds, 1),
        "summary": summary.as_dict(),
        "rerun": again.as_dict(),
        "scores": CustomerScore.objects.count(),
        "grades": dict(CustomerScore.objects.values_list("grade").annotate(n=Count("id")).order_by("grade")),
        "limit_changes": LimitChange.objects.count(),
        "decision_log_entries": DecisionLogEntry.objects.count(),
        "under_120_s": seconds < 120,
    }
    text = json.dumps(result, indent=2, default=str)
    say(text)
    args.output.write_text(text + "\n")
    return 0 if result["under_120_s"] else 1


if __name__ == "__main__":
    sys.exit(main())
