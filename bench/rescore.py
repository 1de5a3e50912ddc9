"""Nightly rescoring on the bench book: `python -m bench.rescore --scale 1.0` (docs/performance.md).

Builds the bench book (bench.book, 250,000 customers at scale 1.0) in the database of
DATABASE_URL (its name must contain "bench"; --reuse-book restores the saved one), activates
the hand-set demo scorecard (risk.fitting.hand_set_version, by two analysts) and times:

- in one process (`risk.services.customers_rescore`): the first night (every customer scored
  for the first time, so many limit changes), a rerun of the same day (nothing to do:
  idempotent) and the second night (the next business date: every customer scored again, few
  limit changes: the normal night);
- on the book restored again, the same two nights by two workers: two OS processes each
  running every other batch of the plan (`risk.services.rescore_batch`, as the task
  risk.rescore_batch does), or two Celery workers (--pool=solo) running risk.rescore and its
  batch tasks when a Redis broker is given (--workers celery --broker redis://…); then checks
  that the two workers wrote the same scores, limit changes, credit lines and decision log
  contents as one process, and verifies the decision log's chain.

Figures in var/bench/rescore.json. Exits 1 when a check fails (not on timings).
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 120.0


# --- What a night wrote -------------------------------------------------------------------------


def book_checksums() -> dict[str, str]:
    """md5 of what rescoring writes, without ids (they follow the order batches commit in): the
    scores, the limit changes, the credit lines and the decision log's contents."""
    from django.db import connection

    rows = {
        "scores": (
            "risk_customerscore",
            'customer_id, version_id, business_date, score, grade, points::text, "values"::text, '
            "reasons::text",
        ),
        "limit_changes": (
            "risk_limitchange",
            "customer_id, business_date, kind, status, old_limit, new_limit, old_grade, new_grade, reason",
        ),
        "credit_lines": ("accounts_creditline", 'customer_id, "limit", status, status_reason, score, grade'),
        "decision_log": (
            "decisionlog_decisionlogentry",
            "kind, subject, actor_id, (content - 'score_id' - 'limit_change_id')::text",
        ),
        # The trail of limit changes and credit lines, without ids and times.
        "audit": (
            "audit_auditevent WHERE content_type_id IN (SELECT id FROM django_content_type "
            "WHERE (app_label, model) IN (('risk', 'limitchange'), ('accounts', 'creditline')))",
            "action, content_type_id, object_repr, reason, "
            "(changes - 'id' - 'score' - 'proposed_at' - 'updated_at' - 'status_changed_at')::text",
        ),
    }
    # One md5 per row, then one of them all in their own order: a checksum of the set of rows.
    queries = {
        name: f"SELECT md5(string_agg(h, '' ORDER BY h)) FROM "
        f"(SELECT md5(concat_ws('|', {columns})) AS h FROM {table}) AS hashed"
        for name, (table, columns) in rows.items()
    }
    with connection.cursor() as cursor:
        sums = {}
        for name, sql in queries.items():
            cursor.execute(sql)
            sums[name] = cursor.fetchone()[0]
    return sums


def night_figures(on: datetime.date) -> dict:
    """What the night of `on` wrote, read back from the tables (the same in every mode)."""
    from django.db.models import Count

    from audit.models import AuditEvent
    from decisionlog.models import DecisionLogEntry
    from risk.models import CustomerScore, LimitChange

    changes = LimitChange.objects.filter(business_date=on)
    return {
        "scored": CustomerScore.objects.filter(business_date=on).count(),
        "limit_changes": {
            f"{kind} {status}": n
            for kind, status, n in changes.values_list("kind", "status")
            .annotate(n=Count("id"))
            .order_by("kind", "status")
        },
        "decision_log_entries_total": DecisionLogEntry.objects.count(),
        "audit_events_total": AuditEvent.objects.count(),
    }


# --- Two workers --------------------------------------------------------------------------------


def _batch_worker(on: datetime.date, version_id: int, batches: list, plan: str) -> None:
    from django.db import connections

    from risk.services import rescore_batch

    try:
        for first_id, last_id in batches:
            rescore_batch(on=on, version_id=version_id, first_id=first_id, last_id=last_id, plan=plan)
    finally:
        connections.close_all()


def rescore_in_processes(*, on: datetime.date, batch_size: int, workers: int = 2) -> dict:
    """The night of `on` by `workers` OS processes, each running every workers-th batch of the
    plan with risk.services.rescore_batch (what the task risk.rescore_batch runs)."""
    from django.db import connections

    from risk.services import rescore_plan

    plan = rescore_plan(on=on, batch_size=batch_size)
    connections.close_all()  # each child opens its own connection
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(
            target=_batch_worker, args=(on, plan.version_id, plan.batches[k::workers], plan.planned_at)
        )
        for k in range(workers)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"bench: a rescoring worker process exited with {child.exitcode}")
    return plan.as_dict()


def rescore_with_celery(workers, *, on: datetime.date, batch_size: int) -> dict:
    """risk.rescore on running Celery workers: returns when every customer due a score has one,
    raises when the workers fall idle before."""
    from django.utils import timezone

    from accounts.models import Customer
    from risk.characteristics import _end_of
    from risk.models import CustomerScore
    from risk.tasks import rescore

    expected = Customer.objects.filter(created_at__lt=_end_of(on)).count()
    rescore.delay(on.isoformat(), batch_size)
    idle_polls = 0
    while True:
        scored = CustomerScore.objects.filter(business_date=on).count()
        if scored >= expected:
            return {"business_date": on.isoformat(), "scored": scored, "finished": timezone.now().isoformat()}
        workers._check_alive()
        idle_polls = idle_polls + 1 if workers._idle() else 0
        if idle_polls >= 3:
            raise RuntimeError(f"bench: the Celery workers stopped with {scored:,} of {expected:,} scored")
        time.sleep(0.2 if idle_polls == 0 else 1.0)


# --- The run ------------------------------------------------------------------------------------


def _activate_version(say) -> int:
    from django.db import connection

    from accounts.roles import Role
    from risk import services
    from risk.fitting import hand_set_version
    from tests.factories import UserFactory

    maker = UserFactory(username="bench-risk-1", roles=[Role.RISK_ANALYST])
    checker = UserFactory(username="bench-risk-2", roles=[Role.RISK_ANALYST])
    version = hand_set_version(by=maker)
    services.scorecard_activation_request(version=version, by=maker)
    services.scorecard_activate(version=version, by=checker)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the planner's estimates, as autovacuum keeps them
    return version.pk


def _measured(run, on: datetime.date, say, label: str) -> dict:
    figures = night_figures(on)
    say(
        f"{label}: {run.seconds:.1f} s (load {run.load_before:.1f} → {run.load_after:.1f}), "
        f"{figures['scored']:,} scored, limit changes {figures['limit_changes']}"
    )
    return {
        "business_date": on.isoformat(),
        "seconds": round(run.seconds, 1),
        "under_120_s": run.seconds < TARGET_SECONDS,
        "load": [round(run.load_before, 2), round(run.load_after, 2)],
        "cpu_seconds_this_process": round(run.cpu_python, 1),
        **figures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reuse-book", action="store_true")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument(
        "--workers",
        choices=["auto", "processes", "celery", "none"],
        default="auto",
        help="how two workers run: OS processes, Celery workers (needs --broker), or not at all "
        "(auto: Celery when --broker or CELERY_BROKER_URL names Redis, else processes)",
    )
    parser.add_argument("--broker", default=None, help="a Redis URL of the benchmark's own (it is purged)")
    parser.add_argument("--output", type=Path, default=ROOT / "var" / "bench" / "rescore.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bnpl_admin.settings.local")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bnpl_risk_bench")
    os.environ["DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    from accounts.models import Customer
    from bench.run import BenchDatabase, CeleryWorkers, Options, _book, _worker_mode, machine, timed
    from decisionlog.services import decision_log_verify
    from risk import services

    settings.DEBUG = False  # no query log, whatever the environment says
    say = lambda text: print(text, flush=True)  # noqa: E731
    started_at = datetime.datetime.now().astimezone()
    load_at_start = os.getloadavg()
    book_meta = args.output.parent / "rescore-book.json"
    options = Options(scale=args.scale, reuse_book=args.reuse_book, output=book_meta)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    db = BenchDatabase()
    book, book_info = _book(db, options, say)
    first, second = book.on, book.on + datetime.timedelta(days=1)
    mode, broker = _worker_mode(Options(workers=args.workers, broker=args.broker))
    _activate_version(say)
    customers = Customer.objects.count()
    result: dict = {
        "date": started_at.isoformat(timespec="seconds"),
        "machine": {**machine(), "load_average_at_start": [round(x, 2) for x in load_at_start]},
        "database": db.label(),
        "scale": args.scale,
        "customers": customers,
        "batch_size": args.batch_size,
        "batches": -(-customers // args.batch_size),
        "book": book_info,
        "target_seconds": TARGET_SECONDS,
    }

    # --- One process ---
    say(f"one process: the first night, {customers:,} customers as of {first} ...")
    one: dict = {}
    run = timed(services.customers_rescore, on=first, batch_size=args.batch_size)
    one["first_night"] = _measured(run, first, say, "one process, first night")
    after_first = book_checksums()
    run = timed(services.customers_rescore, on=first, batch_size=args.batch_size)
    one["rerun_same_day"] = {"seconds": round(run.seconds, 1), "skipped": run.result.skipped}
    one["rerun_same_day"]["wrote_nothing"] = book_checksums() == after_first
    say(f"one process, the same day again: {run.seconds:.1f} s")
    say(f"one process: the second night, as of {second} ...")
    run = timed(services.customers_rescore, on=second, batch_size=args.batch_size)
    one["second_night"] = _measured(run, second, say, "one process, second night")
    after_second = book_checksums()
    result["one_process"] = one

    # --- Two workers, on the book restored ---
    checks = {"rerun_wrote_nothing": one["rerun_same_day"]["wrote_nothing"]}
    if mode != "none":
        db.restore_book()
        _activate_version(say)
        two: dict = {
            "mode": (
                "2 Celery workers (--pool=solo) on Redis running risk.rescore and its batch tasks"
                if mode == "celery"
                else "2 OS processes (fork), each running every other batch with risk.services.rescore_batch"
            )
        }
        nights = [(first, "first_night", after_first), (second, "second_night", after_second)]
        if mode == "celery":
            with CeleryWorkers(broker=broker, log_dir=ROOT / "var" / "bench") as workers:
                for on, name, expected in nights:
                    say(f"two workers: the {name.replace('_', ' ')} as of {on} ...")
                    run = timed(rescore_with_celery, workers, on=on, batch_size=args.batch_size)
                    two[name] = _measured(run, on, say, f"two workers, {name.replace('_', ' ')}")
                    two[name]["same_as_one_process"] = book_checksums() == expected
        else:
            for on, name, expected in nights:
                say(f"two workers: the {name.replace('_', ' ')} as of {on} ...")
                run = timed(rescore_in_processes, on=on, batch_size=args.batch_size)
                two[name] = _measured(run, on, say, f"two workers, {name.replace('_', ' ')}")
                two[name]["same_as_one_process"] = book_checksums() == expected
        run = timed(decision_log_verify)
        two["chain"] = {
            "verifies": run.result.ok,
            "entries": run.result.entries,
            "seconds": round(run.seconds, 1),
        }
        say(f"two workers: the decision log verifies: {run.result.ok} ({run.result.entries:,} entries)")
        result["two_workers"] = two
        checks.update(
            two_workers_first_night_same=two["first_night"]["same_as_one_process"],
            two_workers_second_night_same=two["second_night"]["same_as_one_process"],
            chain_verifies=two["chain"]["verifies"],
        )
    result["checks"] = checks
    result["meets_120_s"] = {
        f"{group} {night}": figures["under_120_s"]
        for group in ("one_process", "two_workers")
        for night, figures in result.get(group, {}).items()
        if isinstance(figures, dict) and "under_120_s" in figures
    }
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(result, indent=2, default=str)
    say(text)
    args.output.write_text(text + "\n")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
