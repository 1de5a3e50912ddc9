"""The collections workbench benchmark (`make bench-workbench`, `python -m bench.run --workbench`):
a book with about 100,000 open cases, worked by 40 agents in 4 teams, and the p50/p95 of the
workbench pages through Django's test client. Figures in docs/performance.md.

The book is the sweep benchmark's generator (bench.book) with more customers who stopped
paying, then the workbench's own rows: teams and agents, assignment by the rules (the service
that runs after each sweep, timed), and a month of contacts, promises and visits, written in
bulk. Saved as its own template database, so --reuse-book restores it in seconds.
"""

from __future__ import annotations

import datetime
import os
import random
import time
from decimal import Decimal

# Shares of customers who stopped paying (bench.book's P_LATE, P_DEFAULT are 5 % and 3 %):
# at scale 1.0 about 100,000 of the 250,000 customers have an open case.
P_LATE = 0.36
P_DEFAULT = 0.26
WORKBENCH_BOOK_VERSION = 1
TEAMS = ("华南一组", "华东一组", "华北一组", "西部一组")
AGENTS_PER_TEAM = 10
PAGE_TARGET_P95_MS = 150.0
WARM_UP_REQUESTS = 3
# Issue 11 sets the 150 ms target for the queues, "my queue" and the case page; the manager view
# (a month of figures) is timed and reported beside them, not held to it (docs/performance.md).
REPORTED_ONLY = frozenset({"manager view, 30 days"})


def cpu_reference_ms() -> float:
    """The best of three runs of a fixed pure-Python loop, in ms: how fast this machine's CPU
    was during a run (on a shared host it varies by half), so that runs can be compared."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(2_000_000):
            total += number
        best = min(best, (time.perf_counter() - started) * 1000)
    return round(best, 1)


def workbench_rows(*, on: datetime.date, seed: int = 11, say=print) -> dict:
    """Teams, agents, rules and a month of work on the book's open cases; returns counts and seconds."""
    from django.contrib.auth.models import Group
    from django.db import connection

    from accounts.models import User
    from accounts.roles import Role
    from collection.assignment import assignment_rule_create, cases_assign_by_rules
    from collection.models import (
        Bucket,
        CaseEvent,
        CaseEventType,
        CollectionCase,
        ContactAttempt,
        Promise,
        PromiseStatus,
        Team,
    )

    rng = random.Random(seed)
    seconds: dict[str, float] = {}
    manager = User.objects.create_user(username="bench_manager", password=None, first_name="主管")
    manager.groups.add(Group.objects.get(name=Role.COLLECTIONS_MANAGER))
    agent_group = Group.objects.get(name=Role.COLLECTIONS_AGENT)
    teams = []
    for t, name in enumerate(TEAMS):
        team = Team.objects.create(name=name, manager=manager)
        members = []
        for a in range(AGENTS_PER_TEAM):
            agent = User.objects.create_user(username=f"bench_agent_{t}_{a}", password=None)
            agent.groups.add(agent_group)
            members.append(agent)
        team.members.add(*members)
        teams.append(team)
    buckets = [Bucket.M1, Bucket.M2, Bucket.M3, Bucket.M4]
    for bucket, team in zip(buckets, teams, strict=True):
        assignment_rule_create(by=manager, bucket=bucket, team=team, method="by load")

    started = time.monotonic()
    assigned = cases_assign_by_rules(on=on)
    seconds["assign_by_rules"] = round(time.monotonic() - started, 1)
    say(f"workbench: {assigned['assigned']:,} cases assigned by the rules in {seconds['assign_by_rules']} s")

    started = time.monotonic()
    cases = list(
        CollectionCase.objects.open().values_list("id", "customer_id", "assigned_agent_id").order_by("id")
    )
    zone = datetime.timezone(datetime.timedelta(hours=8))
    contacts, events, promises = [], [], []
    pending: set[int] = set()
    for case_id, customer_id, agent_id in cases:
        for _ in range(rng.choice((0, 1, 1, 2))):
            day = on - datetime.timedelta(days=rng.randint(0, 29))
            at = datetime.datetime.combine(day, datetime.time(rng.randint(9, 20), rng.randint(0, 59)), zone)
            outcome = rng.choice(("reached", "no_answer", "no_answer", "promise_made", "refused"))
            contacts.append(
                ContactAttempt(
                    case_id=case_id,
                    customer_id=customer_id,
                    agent_id=agent_id,
                    at=at,
                    channel="phone",
                    party="debtor",
                    direction="outbound",
                    outcome=outcome,
                    summary="",
                )
            )
            events.append(
                CaseEvent(
                    case_id=case_id, type=CaseEventType.CONTACT, actor_id=agent_id, created_at=at, payload={}
                )
            )
            if outcome == "promise_made":
                due = day + datetime.timedelta(days=7)
                status = (
                    PromiseStatus.PENDING
                    if due >= on
                    else rng.choice((PromiseStatus.KEPT, PromiseStatus.BROKEN))
                )
                if status == PromiseStatus.PENDING:
                    if case_id in pending:
                        continue  # one pending promise per case (a database constraint)
                    pending.add(case_id)
                promises.append(
                    Promise(
                        case_id=case_id,
                        customer_id=customer_id,
                        made_by_id=agent_id,
                        made_at=at,
                        amount=Decimal("100.00"),
                        due_date=due,
                        status=status,
                        decided_on=None if status == PromiseStatus.PENDING else due,
                    )
                )
        if rng.random() < 0.02:
            day = on - datetime.timedelta(days=rng.randint(0, 29))
            at = datetime.datetime.combine(day, datetime.time(15), zone)
            events.append(
                CaseEvent(case_id=case_id, type=CaseEventType.VISIT_DONE, created_at=at, payload={})
            )
    ContactAttempt.objects.bulk_create(contacts, batch_size=5000)
    CaseEvent.objects.bulk_create(events, batch_size=5000)
    Promise.objects.bulk_create(promises, batch_size=5000)
    seconds["work"] = round(time.monotonic() - started, 1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    say(
        f"workbench: {len(contacts):,} contacts, {len(events):,} events, {len(promises):,} promises "
        f"in {seconds['work']} s"
    )
    return {
        "open_cases": len(cases),
        "assigned_by_rules": assigned["assigned"],
        "contacts": len(contacts),
        "events": len(events),
        "promises": len(promises),
        "seconds": seconds,
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _client_for(user):
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def workbench_pages(*, requests: int = 20, say=print) -> dict:
    """p50/p95 of each workbench page (test client: middleware, queries and template, no network)."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    from accounts.models import User
    from collection.models import CollectionCase

    manager = User.objects.get(username="bench_manager")
    agent = User.objects.filter(username__startswith="bench_agent_0_").order_by("username").first()
    manager_client, agent_client = _client_for(manager), _client_for(agent)
    case = CollectionCase.objects.open().filter(assigned_agent=agent).order_by("-days_past_due").first()
    queue = reverse("collections:case_queue")
    pages = {
        "queue, first page": (manager_client, queue),
        "queue, page 200": (manager_client, f"{queue}?page=200"),
        "queue, M1 in 广东省": (manager_client, f"{queue}?bucket=M1&province=广东省"),
        "queue, by amount overdue": (manager_client, f"{queue}?sort=-amount_overdue"),
        "my queue (agent)": (agent_client, reverse("collections:my_queue")),
        "case page": (agent_client, reverse("collections:case_detail", args=[case.pk])),
        "manager view, 30 days": (manager_client, reverse("collections:performance")),
    }
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    measured = {}
    if connection.vendor == "postgresql":
        # A restored or just-built book leaves gigabytes of dirty pages: write them out now,
        # rather than have the checkpointer do it while the pages are timed.
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    cpu_before = cpu_reference_ms()
    say(f"cpu reference (2M additions, best of 3): {cpu_before} ms; load average {os.getloadavg()[0]:.2f}")
    with override_settings(ALLOWED_HOSTS=["testserver"], DEBUG=False, STORAGES=storages):
        for name, (client, path) in pages.items():
            for _ in range(WARM_UP_REQUESTS):  # caches, the database's buffers, the plans
                response = client.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"bench: {path} answered {response.status_code}")
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - started) * 1000)
            with CaptureQueriesContext(connection) as queries:  # once more, counted, not timed
                client.get(path)
            measured[name] = {
                "path": path,
                "queries": len(queries),
                "p50_ms": round(_percentile(times, 0.5), 1),
                "p95_ms": round(_percentile(times, 0.95), 1),
                "max_ms": round(max(times), 1),
            }
            say(
                f"page {name}: p50 {measured[name]['p50_ms']} ms, p95 {measured[name]['p95_ms']} ms, "
                f"{measured[name]['queries']} queries"
            )
    worst = max(page["p95_ms"] for name, page in measured.items() if name not in REPORTED_ONLY)
    return {
        "requests_per_page": requests,
        "pages": measured,
        "reported_only": sorted(REPORTED_ONLY),
        "cpu_reference_ms": {"before": cpu_before, "after": cpu_reference_ms()},
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "worst_p95_ms": worst,
        "target_p95_ms": PAGE_TARGET_P95_MS,
        "met": worst < PAGE_TARGET_P95_MS,
    }


def workbench_main(options, *, database_class, book_build, machine, say=print) -> dict:
    """Build or restore the workbench book, time the pages, return the result (bench.run)."""
    import json

    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from bnpl_admin.dates import business_date

    db = database_class()
    meta_path = options.output.parent / "workbench_book.json"
    key = {
        "database": db.name,
        "version": WORKBENCH_BOOK_VERSION,
        "scale": options.scale,
        "seed": options.seed,
        "p_late": P_LATE,
        "p_default": P_DEFAULT,
    }
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    book_info = None
    if options.reuse_book and db.has_book() and meta.get("key") == key:
        seconds = db.restore_book()
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            # Newer migrations run on the restored book, as they would on production's data, and
            # the migrated book is saved: rebuilding 100,000 cases costs a quarter of an hour.
            started = time.monotonic()
            call_command("migrate", verbosity=0)
            db.save_book()
            say(f"workbench: migrated the saved book in {time.monotonic() - started:.0f} s")
        say(f"workbench: reused the saved book ({meta['book']['on']}), restored in {seconds:.0f} s")
        book_info = {**meta, "reused": True}
    if book_info is None:
        on = options.on or business_date()
        say(f"workbench: building scale {options.scale}, {P_LATE:.0%} + {P_DEFAULT:.0%} stopped payers ...")
        db.recreate_empty()
        book = book_build(scale=options.scale, on=on, seed=options.seed, p_late=P_LATE, p_default=P_DEFAULT)
        say(
            f"workbench: {book.customers:,} customers, {book.installments:,} instalments, "
            f"{book.mix.get('cases_open', 0):,} open cases in {book.seconds['total']:.0f} s"
        )
        rows = workbench_rows(on=on, say=say)
        db.save_book()
        book_info = {"key": key, "book": book.as_dict(), "rows": rows, "reused": False}
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        meta_path.write_text(json.dumps(book_info, indent=2, default=str))
    pages = workbench_pages(say=say)
    return {
        "database": db.label(),
        "machine": machine(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "book": {
            "scale": book_info["book"]["scale"],
            "on": book_info["book"]["on"],
            "customers": book_info["book"]["customers"],
            "installments": book_info["book"]["installments"],
            "open_cases": book_info["rows"]["open_cases"],
        },
        "rows": book_info["rows"],
        "reused": book_info["reused"],
        "pages": pages,
    }
