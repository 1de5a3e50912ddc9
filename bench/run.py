"""`python -m bench.run` (`make bench`): build a synthetic book, time the nightly sweep over it
and against its references, print a table and write var/bench/latest.json.

What each figure means and the measured values are in docs/performance.md. The database is
dropped and re-created: its name must contain "bench". Without DATABASE_URL the benchmark
uses PostgreSQL on 127.0.0.1:5432, database bnpl_bench.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bnpl_bench"
NAIVE_SAMPLE_INSTALLMENTS = 20_000

# The targets on the 2-core reference machine with PostgreSQL.
TARGETS = {
    "sweep_seconds": ("<", 20.0, "daily sweep of the whole book, one process"),
    "sweep_vs_sql_reference": ("<=", 2.0, "sweep seconds ÷ SQL reference seconds"),
    "rerun_seconds": ("<", 2.0, "second sweep for the same date (no-op path)"),
    "sweep_speedup": (">=", 100.0, "sweep rows/s ÷ naive loop rows/s"),
    "reminders_per_s": (">=", 2_000.0, "reminders selected and written per second"),
}


# --- The database the benchmark owns ----------------------------------------------------------


class BenchDatabase:
    """The configured database, dropped and re-created at will, with a saved copy of the book
    (a PostgreSQL template database, or a copy of the SQLite file) to restore between runs."""

    def __init__(self):
        from django.conf import settings

        self.config = settings.DATABASES["default"]
        self.vendor = (
            "postgresql" if "postgresql" in self.config["ENGINE"] else self.config["ENGINE"].split(".")[-1]
        )
        self.name = str(self.config["NAME"])
        if "bench" not in Path(self.name).name:
            raise SystemExit(
                f"bench: refusing to use database {self.name!r}: the benchmark drops and re-creates "
                "its database, so its name must contain 'bench' (unset DATABASE_URL for bnpl_bench)."
            )
        self.template = f"{self.name}_book" if self.vendor == "postgresql" else f"{self.name}.book"

    def _admin(self):
        import psycopg

        return psycopg.connect(
            dbname="postgres",
            user=self.config.get("USER") or None,
            password=self.config.get("PASSWORD") or None,
            host=self.config.get("HOST") or None,
            port=self.config.get("PORT") or None,
            autocommit=True,
        )

    def _close_django(self) -> None:
        from django.db import connections

        connections.close_all()

    def _copy(self, source: str, target: str) -> None:
        self._close_django()
        if self.vendor == "postgresql":
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
                source_sql = f' TEMPLATE "{source}" STRATEGY FILE_COPY' if source else ""
                admin.execute(f'CREATE DATABASE "{target}"{source_sql}')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(target + suffix).unlink(missing_ok=True)
            if source:
                shutil.copyfile(source, target)

    def recreate_empty(self) -> None:
        from django.core.management import call_command

        self._copy("", self.name)
        call_command("migrate", verbosity=0, interactive=False)

    def save_book(self) -> float:
        started = time.monotonic()
        self._copy(self.name, self.template)
        return time.monotonic() - started

    def restore_book(self) -> float:
        started = time.monotonic()
        self._copy(self.template, self.name)
        return time.monotonic() - started

    def has_book(self) -> bool:
        if self.vendor != "postgresql":
            return Path(self.template).exists()
        with self._admin() as admin:
            return (
                admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.template]).fetchone()
                is not None
            )

    def label(self) -> str:
        from django.db import connection

        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                return f"PostgreSQL {cursor.fetchone()[0]} (database {self.name})"
        return f"{connection.vendor} {connection.Database.sqlite_version} ({self.name})"


def postgresql_settings() -> dict[str, str]:
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    names = [
        "shared_buffers",
        "work_mem",
        "maintenance_work_mem",
        "effective_cache_size",
        "max_wal_size",
        "synchronous_commit",
        "jit",
        "random_page_cost",
        "max_parallel_workers_per_gather",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", [names])
        return dict(sorted(cursor.fetchall()))


def machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    ram = None
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="utf-8") as info:
        kib = next(int(line.split()[1]) for line in info if line.startswith("MemTotal"))
        ram = round(kib / 1024 / 1024, 1)
    return {
        "nproc": os.cpu_count(),
        "ram_gib": ram,
        "cpu_model": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


# --- Measurements -----------------------------------------------------------------------------


@dataclass
class Timed:
    seconds: float
    load_before: float
    load_after: float
    result: object = None
    cpu_python: float | None = None  # this process
    cpu_postgres: float | None = None  # its PostgreSQL backend (same machine)

    @property
    def cpu(self) -> dict:
        return {"python": _round(self.cpu_python, 2), "postgres": _round(self.cpu_postgres, 2)}


def _backend_cpu() -> tuple[int, float] | None:
    """(pid, CPU seconds so far) of this process's PostgreSQL backend, read from /proc: on a
    shared machine CPU seconds show the work done when wall time also shows the waiting."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    try:
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, AttributeError, IndexError, ValueError):
        return None


def timed(fn, *args, **kwargs) -> Timed:
    load = os.getloadavg()[0]
    backend = _backend_cpu()
    cpu = time.process_time()
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    after = _backend_cpu()
    same_backend = backend is not None and after is not None and after[0] == backend[0]
    return Timed(
        seconds=seconds,
        load_before=load,
        load_after=os.getloadavg()[0],
        result=result,
        cpu_python=cpu,
        cpu_postgres=after[1] - backend[1] if same_backend else None,
    )


@contextlib.contextmanager
def rolled_back():
    """Run a measurement in a transaction that is rolled back: the book is left as it was."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def sample_range(*, target: int = NAIVE_SAMPLE_INSTALLMENTS) -> tuple[int, int, int]:
    """The first customers holding about `target` instalments: (from id, to id, instalments)."""
    from django.db.models import Max, Min

    from accounts.models import Customer
    from orders.models import Installment

    bounds = Customer.objects.aggregate(lo=Min("id"), hi=Max("id"))
    lo, hi = bounds["lo"], bounds["hi"] + 1
    total = Installment.objects.count()
    per_customer = max(total / (hi - lo), 1e-9)
    to = min(hi, lo + max(1, round(target / per_customer)))
    rows = Installment.objects.filter(customer_id__gte=lo, customer_id__lt=to).count()
    return lo, to, rows


def measure_naive(*, on: datetime.date, sample: tuple[int, int, int], changed_only: bool = False) -> dict:
    """The per-instalment loop over the sample, rolled back; its result as a checksum."""
    from bench.naive import naive_sweep
    from bench.reference import installments_checksum

    lo, hi, rows = sample
    with rolled_back():
        run = timed(naive_sweep, on=on, customer_from=lo, customer_to=hi, changed_only=changed_only)
        checksum = installments_checksum(customers=(lo, hi), without_credit_customers=True)
    return {
        "seconds": run.seconds,
        "installments": rows,
        "saved": run.result,
        "rows_per_s": rows / run.seconds,
        "checksum": checksum,
        "load": [run.load_before, run.load_after],
        "cpu_seconds": run.cpu,
    }


def measure_sql_reference(*, on: datetime.date) -> dict | None:
    """The hand-written UPDATE, rolled back; its result as a checksum."""
    from django.db import connection

    from bench.reference import installments_checksum, reference_update

    if connection.vendor != "postgresql":
        return None
    with rolled_back():
        run = timed(reference_update, on=on)
        checksum = installments_checksum(without_credit_customers=True)
    return {
        "seconds": run.seconds,
        "rows": run.result,
        "checksum": checksum,
        "load": [run.load_before, run.load_after],
        "cpu_seconds": run.cpu,
    }


def measure_sweep(*, on: datetime.date, chunk_size: int, again: bool = False) -> tuple[Timed, object]:
    from sweep.services import sweep_run

    # The snapshot is timed on its own (measure_snapshot): it is a task of its own after the run.
    run = timed(sweep_run, on=on, chunk_size=chunk_size, triggered_by="bench", again=again, snapshot=False)
    if run.result.status != "done":
        errors = list(run.result.chunks.exclude(error="").values_list("error", flat=True)[:3])
        raise RuntimeError(f"bench: the sweep for {on} ended {run.result.status}: {errors}")
    return run, run.result


def measure_catch_up(*, db, on: datetime.date, days: int, chunk_size: int, say) -> dict:
    """The first sweep after `days` missed nights, on a fresh copy of the book (swept through
    the day before `on`): every accruing row is owed days + 1 fee days, and the orders whose
    fees reach the cap inside the gap are charged day by day (sweep.services). Measured only
    when that date is not in the future (the sweep refuses one): build the book with
    --date that many days back."""
    from bench.reference import installments_checksum
    from bnpl_admin.dates import business_date

    target = on + datetime.timedelta(days=days)
    if days < 1 or target > business_date():
        why = f"{target} is in the future: build the book with --date {days} or more days back"
        say(f"catch-up: not measured ({why})")
        return {"days": days, "seconds": None, "why": why}
    db.restore_book()
    say(f"catch-up: the sweep for {target} after {days} missed nights ...")
    sweep, run = measure_sweep(on=target, chunk_size=chunk_size)
    after = installments_checksum()
    measure_sweep(on=target, chunk_size=chunk_size, again=True)
    totals = run.totals
    say(
        f"catch-up: {sweep.seconds:.2f} s, {totals.get('late_fees_accrued', 0):,} late fees, "
        f"{totals.get('orders_charged_day_by_day', 0):,} orders charged day by day"
    )
    return {
        "days": days,
        "business_date": target.isoformat(),
        "seconds": round(sweep.seconds, 3),
        "cpu_seconds": sweep.cpu,
        "late_fees_accrued": totals.get("late_fees_accrued", 0),
        "orders_charged_day_by_day": totals.get("orders_charged_day_by_day", 0),
        "rerun_same": installments_checksum() == after,
    }


def measure_snapshot(*, on: datetime.date) -> Timed:
    from sweep.services import portfolio_snapshot

    return timed(portfolio_snapshot, on=on)


class Incomplete(Exception):
    """Two workers finished, or stopped making progress, with chunks of the run still pending."""

    def __init__(self, pending: int, chunks: int):
        super().__init__(f"{pending} of {chunks} chunks left pending")
        self.pending, self.chunks = pending, chunks


def _pending(on: datetime.date) -> tuple[int, int]:
    from sweep.models import ChunkStatus, SweepChunk

    chunks = SweepChunk.objects.filter(run__business_date=on)
    return chunks.filter(status=ChunkStatus.PENDING).count(), chunks.count()


def _chunk_worker(chunk_ids: list[int]) -> None:
    from django.db import connections

    from sweep.services import sweep_chunk_run

    try:
        for chunk_id in chunk_ids:
            sweep_chunk_run(chunk_id=chunk_id)
    finally:
        connections.close_all()


def sweep_in_processes(*, on: datetime.date, chunk_size: int, workers: int = 2) -> None:
    """The run for `on` by `workers` OS processes, each running every workers-th chunk once
    with sweep.services.sweep_chunk_run; the parent plans and finishes the run."""
    from django.db import connections

    from sweep.models import ChunkStatus
    from sweep.services import sweep_finish, sweep_plan

    run = sweep_plan(on=on, chunk_size=chunk_size, triggered_by="bench")
    ids = list(run.chunks.exclude(status=ChunkStatus.DONE).order_by("number").values_list("id", flat=True))
    connections.close_all()  # each child opens its own connection
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_chunk_worker, args=(ids[k::workers],)) for k in range(workers)]
    for child in children:
        child.start()
    for child in children:
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"bench: a sweep worker process exited with {child.exitcode}")
    if not sweep_finish(run_id=run.pk):
        raise Incomplete(*_pending(on))


class CeleryWorkers:
    """Celery worker processes (--pool=solo) on the benchmark's Redis broker."""

    def __init__(self, *, broker: str, log_dir: Path, count: int = 2, app_module: str = "bnpl_admin"):
        self.broker = broker
        self.count = count
        self.log_dir = log_dir
        self.app_module = app_module
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.names = [f"bench{k + 1}-{os.getpid()}@{socket.gethostname()}" for k in range(count)]

    def __enter__(self) -> CeleryWorkers:
        from bnpl_admin.celery import app

        app.conf.broker_url = self.broker
        app.conf.result_backend = self.broker
        app.control.purge()  # the benchmark's own broker: stale messages of an aborted run
        env = {
            **os.environ,
            "CELERY_BROKER_URL": self.broker,
            "CELERY_RESULT_BACKEND": self.broker,
            "DEBUG": "0",
        }
        for k in range(self.count):
            log = self.log_dir / f"worker-{k + 1}.log"
            self.logs.append(log)
            with log.open("w") as out:
                self.processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "celery",
                            "-A",
                            self.app_module,
                            "worker",
                            "--pool=solo",
                            f"--hostname={self.names[k]}",
                            "--without-mingle",
                            "--without-gossip",
                            "--loglevel=WARNING",
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + 90
        while not all("BNPL worker ready" in log.read_text() for log in self.logs):
            self._check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("bench: the Celery workers did not start within 90 s")
            time.sleep(0.2)
        return self

    def _check_alive(self) -> None:
        for process, log in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"bench: a Celery worker exited:\n{log.read_text()[-2000:]}")

    def __exit__(self, *exc) -> None:
        from bnpl_admin.celery import app

        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # sweep_finish retries itself for half an hour when chunks are pending: drop it.
        app.control.purge()

    def sweep(self, *, on: datetime.date, chunk_size: int) -> None:
        """sweep.tasks.sweep_start on the workers; returns when the run is done, raises Incomplete
        when pending chunks stop making progress."""
        from sweep.models import ChunkStatus, RunStatus, SweepChunk, SweepRun
        from sweep.tasks import sweep_start

        sweep_start.delay(on.isoformat(), chunk_size)
        idle_polls = 0
        while True:
            run = SweepRun.objects.filter(business_date=on).first()
            if run is not None and run.status == RunStatus.FAILED:
                raise RuntimeError(f"bench: the Celery sweep for {on} failed")
            # Done when the run is: the portfolio snapshot is a task of its own that the run
            # publishes as it finishes (timed on its own, as snapshot_seconds).
            if run is not None and run.status == RunStatus.DONE:
                return
            self._check_alive()
            # Stuck: chunks pending, nothing queued and no worker busy, three polls in a row
            # (sweep_finish then only retries itself every 15 s; nobody runs the chunks).
            pending = SweepChunk.objects.filter(run__business_date=on, status=ChunkStatus.PENDING).exists()
            idle_polls = idle_polls + 1 if run is not None and pending and self._idle() else 0
            if idle_polls >= 3:
                raise Incomplete(*_pending(on))
            time.sleep(0.05 if idle_polls == 0 else 1.0)

    def _idle(self) -> bool:
        import redis

        from bnpl_admin.celery import app

        with redis.Redis.from_url(self.broker) as client:
            if client.llen("celery"):
                return False
        active = app.control.inspect(destination=self.names, timeout=1.0).active() or {}
        return len(active) == self.count and not any(active.values())


def measure_two_workers(
    *, db: BenchDatabase, on: datetime.date, chunk_size: int, mode: str, broker: str | None, expected, say
) -> dict:
    """The sweep by two workers on a fresh copy of the book. A run that leaves chunks pending
    (before commit 73f823b the chunk claim locked the run row, and a second worker skipped
    every chunk while the first ran one) is reported as not finished, then finished here."""
    from bench.reference import installments_checksum
    from sweep.services import sweep_run

    db.restore_book()
    try:
        if mode == "celery":
            with CeleryWorkers(broker=broker, log_dir=ROOT / "var" / "bench") as workers:
                run = timed(workers.sweep, on=on, chunk_size=chunk_size)
        else:
            run = timed(sweep_in_processes, on=on, chunk_size=chunk_size)
    except Incomplete as exc:
        say(f"sweep: two workers left {exc.pending} of {exc.chunks} chunks pending")
        sweep_run(on=on, chunk_size=chunk_size)  # as `run_sweep` would
        return {
            "seconds": None,
            "completed": False,
            "pending_chunks": exc.pending,
            "chunks": exc.chunks,
            "same_result_after_resume": installments_checksum() == expected,
        }
    from sweep.models import SweepRun

    # The run's own span, from planning to the last chunk and the finish (the row's clocks):
    # without the time a worker takes to pick up sweep.start once it is published.
    span = SweepRun.objects.filter(business_date=on).values_list("started_at", "finished_at").get()
    run_seconds = (span[1] - span[0]).total_seconds()
    say(f"sweep: {run.seconds:.2f} s with two workers ({run_seconds:.2f} s from plan to finish)")
    return {
        "seconds": run.seconds,
        "run_seconds": round(run_seconds, 3),
        "completed": True,
        "same_result": installments_checksum() == expected,
        "load": [run.load_before, run.load_after],
    }


def measure_reminders(*, on: datetime.date) -> dict:
    """Reminder selection and outbox writing for one due day: reminders_select(on=...), rolled
    back; counts the Reminder rows it wrote (the outbox)."""
    from reminders.models import Reminder
    from reminders.services import reminders_select

    with rolled_back():
        before = Reminder.objects.count()
        run = timed(reminders_select, on=on)
        written = Reminder.objects.count() - before
    return {
        "measured": True,
        "seconds": run.seconds,
        "reminders": written,
        "per_s": (written / run.seconds) if written else None,
        "result": repr(run.result),
        "load": [run.load_before, run.load_after],
    }


# --- Admin list pages on the book -------------------------------------------------------------

# The admin lists staff open most, on the bench book; the target is p95 under 300 ms
# on PostgreSQL at scale 1.0 (4M instalments).
ADMIN_PAGES = (
    ("orders", "orders", "order"),
    ("instalments", "orders", "installment"),
    ("payments", "orders", "payment"),
    ("allocations", "orders", "paymentallocation"),
    ("customers", "accounts", "customer"),
    ("cases", "collections", "collectioncase"),
    ("reminders", "reminders", "reminder"),
    ("audit", "audit", "auditevent"),
)
ADMIN_PAGE_TARGET_P95_MS = 300.0


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_admin_pages(*, on: datetime.date, requests: int = 20, say=print) -> dict:
    """p50/p95 of each main admin list's first page, unfiltered, as a superuser
    with Django's test client: the whole request (middleware, queries, template) without a
    network. Reminders for the business date are written first, so that list is not empty."""
    from django.apps import apps
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from reminders.services import reminders_select

    reminders_select(on=on)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # the planner's estimates, as autovacuum keeps them
    user, _ = User.objects.get_or_create(
        username="bench_admin", defaults={"is_staff": True, "is_superuser": True}
    )
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    pages = {}
    from django.conf import settings

    # Plain static storage: the pages, not a collectstatic manifest, are what is measured.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(ALLOWED_HOSTS=["testserver"], DEBUG=False, STORAGES=storages):
        for name, app_label, model_name in ADMIN_PAGES:
            model = apps.get_model(app_label, model_name)
            path = reverse(f"admin:{app_label}_{model_name}_changelist")
            response = client.get(path)  # warm: templates, content types, permissions
            if response.status_code != 200:
                raise SystemExit(f"bench: {path} answered {response.status_code}")
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"bench: {path} answered {response.status_code}")
            pages[name] = {
                "path": path,
                "rows": model._default_manager.count(),
                "p50_ms": round(_percentile(times, 0.5), 1),
                "p95_ms": round(_percentile(times, 0.95), 1),
                "max_ms": round(max(times), 1),
            }
            say(
                f"admin {name}: {pages[name]['rows']:,} rows, p50 {pages[name]['p50_ms']} ms, "
                f"p95 {pages[name]['p95_ms']} ms"
            )
    worst = max(page["p95_ms"] for page in pages.values())
    return {
        "requests_per_page": requests,
        "pages": pages,
        "worst_p95_ms": worst,
        "target_p95_ms": ADMIN_PAGE_TARGET_P95_MS,
        "met": worst < ADMIN_PAGE_TARGET_P95_MS,
    }


# --- The whole run ----------------------------------------------------------------------------


@dataclass
class Options:
    scale: float = 1.0
    on: datetime.date | None = None
    seed: int = 20_260_320
    chunk_size: int | None = None
    more_chunk_sizes: list[int] = field(default_factory=list)
    repeat: int = 1
    workers: str = "auto"  # celery, processes, none
    broker: str | None = None
    naive: bool = True
    reuse_book: bool = False
    book_only: bool = False
    admin_pages: bool = False
    workbench: bool = False
    free_space: int = 10
    catch_up_days: int = 7
    output: Path = ROOT / "var" / "bench" / "latest.json"


def _book(db: BenchDatabase, options: Options, say) -> tuple[object, dict]:
    from django.db.migrations.executor import MigrationExecutor

    from bench.book import BOOK_VERSION, Book, book_build
    from bnpl_admin.dates import business_date

    meta_path = options.output.parent / "book.json"
    if options.reuse_book and meta_path.exists() and db.has_book():
        meta = json.loads(meta_path.read_text())
        book = Book.from_dict({"version": 0, **meta["book"]})
        same = (meta.get("database"), book.version, book.scale, book.seed, book.on, book.free_space) == (
            db.name,
            BOOK_VERSION,
            options.scale,
            options.seed,
            options.on or book.on,
            options.free_space,
        )
        if same:
            seconds = db.restore_book()
            from django.db import connection

            executor = MigrationExecutor(connection)
            if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
                say(f"book: reused the saved book (scale {book.scale}, {book.on}), restored: {seconds:.0f} s")
                return book, {"reused": True, "restore_seconds": round(seconds, 1)}
            say("book: the saved book predates a migration; building a new one")
    on = options.on or business_date()
    say(f"book: building scale {options.scale} for business date {on} into {db.name} ...")
    db.recreate_empty()
    book = book_build(scale=options.scale, on=on, seed=options.seed, free_space=options.free_space)
    say(
        f"book: {book.customers:,} customers, {book.orders:,} orders, {book.installments:,} instalments, "
        f"{book.payments:,} payments in {book.seconds['total']:.0f} s"
    )
    save_seconds = db.save_book()
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps({"database": db.name, "book": book.as_dict()}, indent=2))
    return book, {"reused": False, "save_seconds": round(save_seconds, 1)}


def _worker_mode(options: Options) -> tuple[str, str | None]:
    broker = options.broker or os.environ.get("CELERY_BROKER_URL") or ""
    if options.workers == "auto":
        return ("celery", broker) if broker.startswith("redis://") else ("processes", None)
    if options.workers == "celery" and not broker.startswith("redis://"):
        raise SystemExit("bench: --workers celery needs a Redis broker (--broker redis://...)")
    return options.workers, (broker or None)


def run_benchmark(options: Options, say=print) -> dict:
    from django.conf import settings

    from bench.reference import candidates_snapshot, installments_checksum, rows_changed
    from sweep.services import DEFAULT_CHUNK_SIZE

    settings.DEBUG = False  # no query log, whatever the environment says
    chunk_size = options.chunk_size or DEFAULT_CHUNK_SIZE
    db = BenchDatabase()
    started_at = datetime.datetime.now().astimezone()
    load_at_start = os.getloadavg()
    book, book_info = _book(db, options, say)
    on = book.on
    result: dict = {
        "scale": book.scale,
        "customers": book.customers,
        "orders": book.orders,
        "installments": book.installments,
        "database": db.label(),
        "machine": {**machine(), "load_average_at_start": [round(x, 2) for x in load_at_start]},
        "date": started_at.isoformat(timespec="seconds"),
        "business_date": on.isoformat(),
        "chunk_size": chunk_size,
        "postgresql_settings": postgresql_settings(),
        "book": {
            "payments": book.payments,
            "allocations": book.allocations,
            "free_space_percent": book.free_space,
            "mix": book.mix,
            **book_info,
        },
        "build_seconds": book.seconds,
    }
    checks: dict[str, bool] = {}

    # Read-only (rolled back) measurements first, on the book as built.
    if options.naive:
        sample = sample_range()
        lo, hi, rows = sample
        say(f"naive: per-instalment loop over customers {lo}–{hi - 1} ({rows:,} instalments) ...")
        naive = measure_naive(on=on, sample=sample)
        say(f"naive: {naive['seconds']:.1f} s, {naive['rows_per_s']:,.0f} instalments/s")
        kinder = measure_naive(on=on, sample=sample, changed_only=True)
        say(
            f"naive, unpaid rows only and saving changes only: {kinder['seconds']:.1f} s, "
            f"{kinder['rows_per_s']:,.0f} instalments/s"
        )
    else:
        naive = kinder = None
    say("sql reference: one UPDATE, rolled back ...")
    reference = measure_sql_reference(on=on)
    if reference:
        say(f"sql reference: {reference['seconds']:.2f} s, {reference['rows']:,} rows changed")

    # The sweep, on a fresh copy of the book (the rolled-back work left dead rows behind).
    restore_seconds = [round(db.restore_book(), 1)]
    before = installments_checksum()
    snapshot = candidates_snapshot(on=on)
    say(f"sweep: one process, chunks of {chunk_size} customers ...")
    sweep, run = measure_sweep(on=on, chunk_size=chunk_size)
    after = installments_checksum()
    changed = rows_changed(snapshot)
    say(f"sweep: {sweep.seconds:.2f} s, {changed:,} instalments changed, {run.chunk_count} chunks")
    checks["sweep_changed_the_book"] = before != after
    if reference:
        checks["sweep_matches_sql_reference"] = (
            installments_checksum(without_credit_customers=True) == reference["checksum"]
        )
    if naive:
        checks["sweep_matches_naive_loop"] = (
            installments_checksum(customers=(sample[0], sample[1]), without_credit_customers=True)
            == naive["checksum"]
            == kinder["checksum"]
        )

    snapshot_run = measure_snapshot(on=on)
    say(f"portfolio snapshot (its own task after the sweep): {snapshot_run.seconds:.2f} s")

    rerun, _ = measure_sweep(on=on, chunk_size=chunk_size)
    checks["rerun_changes_nothing"] = installments_checksum() == after
    forced, _ = measure_sweep(on=on, chunk_size=chunk_size, again=True)
    checks["forced_rerun_changes_nothing"] = installments_checksum() == after
    say(f"second sweep: {rerun.seconds:.2f} s (run already done), {forced.seconds:.2f} s (again=True)")

    sweep_runs = [sweep]
    for _ in range(options.repeat - 1):
        restore_seconds.append(round(db.restore_book(), 1))
        again, _ = measure_sweep(on=on, chunk_size=chunk_size)
        checks["repeated_sweep_same_result"] = checks.get("repeated_sweep_same_result", True) and (
            installments_checksum() == after
        )
        sweep_runs.append(again)
        say(f"sweep (repeat): {again.seconds:.2f} s")
    chunk_sizes = {}
    for size in options.more_chunk_sizes:
        restore_seconds.append(round(db.restore_book(), 1))
        other, other_run = measure_sweep(on=on, chunk_size=size)
        checks[f"chunk_size_{size}_same_result"] = installments_checksum() == after
        chunk_sizes[size] = {
            "seconds": round(other.seconds, 2),
            "chunks": other_run.chunk_count,
            "cpu_seconds": other.cpu,
        }
        say(f"sweep with chunks of {size}: {other.seconds:.2f} s")

    mode, broker = _worker_mode(options)
    two = None
    if mode != "none":
        say(f"sweep: two workers ({mode}) ...")
        two = measure_two_workers(
            db=db, on=on, chunk_size=chunk_size, mode=mode, broker=broker, expected=after, say=say
        )
        checks["two_workers_same_result"] = two.get("same_result", two.get("same_result_after_resume"))
        checks["two_workers_finished"] = two["completed"]

    catch_up = measure_catch_up(db=db, on=on, days=options.catch_up_days, chunk_size=chunk_size, say=say)
    if catch_up.get("seconds") is not None:
        checks["catch_up_rerun_changes_nothing"] = catch_up.pop("rerun_same")

    reminders = measure_reminders(on=on)
    say(f"reminders: {reminders['reminders']} written in {reminders['seconds']:.2f} s")

    best_run = min(sweep_runs, key=lambda r: r.seconds)
    best = best_run.seconds
    naive_rate = naive["rows_per_s"] if naive else None
    result.update(
        {
            "sweep_seconds": round(best, 3),
            "sweep_rows_per_s": round(book.installments / best),
            "sweep_seconds_all": [round(r.seconds, 3) for r in sweep_runs],
            "sweep_seconds_2_workers": _round(two["seconds"]) if two else None,
            "sweep_run_seconds_2_workers": two.get("run_seconds") if two else None,
            "two_workers": two,
            "two_workers_mode": (
                "2 Celery workers (--pool=solo) on Redis running sweep.tasks.sweep_start"
                if mode == "celery"
                else "2 OS processes (fork), each running every other chunk with sweep_chunk_run"
                if mode == "processes"
                else None
            ),
            "sql_reference_seconds": round(reference["seconds"], 3) if reference else None,
            "sql_reference_rows": reference["rows"] if reference else None,
            "naive_rows_per_s": round(naive_rate, 1) if naive_rate else None,
            "naive": _figures(naive),
            "sweep_speedup": round(book.installments / best / naive_rate, 1) if naive_rate else None,
            "naive_changed_only_rows_per_s": round(kinder["rows_per_s"], 1) if kinder else None,
            "naive_changed_only": _figures(kinder),
            "sweep_speedup_over_changed_only": (
                round(book.installments / best / kinder["rows_per_s"], 1) if kinder else None
            ),
            "snapshot_seconds": round(snapshot_run.seconds, 3),
            "rerun_seconds": round(rerun.seconds, 3),
            "rerun_forced_seconds": round(forced.seconds, 3),
            "reminders_per_s": round(reminders["per_s"], 1) if reminders.get("per_s") else None,
            "reminders": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in reminders.items()},
            "rows_changed": changed,
            "sweep_totals": run.totals,
            "catch_up": catch_up,
            "chunk_size_seconds": {
                chunk_size: {
                    "seconds": round(best, 2),
                    "chunks": run.chunk_count,
                    "cpu_seconds": best_run.cpu,
                },
                **chunk_sizes,
            },
            "restore_seconds": restore_seconds,
            "load_average": {
                "sweep": [round(best_run.load_before, 2), round(best_run.load_after, 2)],
            },
            "cpu_seconds": {
                "sweep": best_run.cpu,
                "rerun_forced": forced.cpu,
                "sql_reference": reference["cpu_seconds"] if reference else None,
                "naive": naive["cpu_seconds"] if naive else None,
            },
            "checks": checks,
        }
    )
    if reference:
        result["sweep_vs_sql_reference"] = round(best / reference["seconds"], 2)
        if two and two.get("run_seconds"):
            result["sweep_2_workers_vs_sql_reference"] = round(two["run_seconds"] / reference["seconds"], 2)
    # The order decision on the same book (bench/decisions.py), rolled back.
    from bench.decisions import measure_decisions

    result["decisions"] = measure_decisions(say=say)
    result["targets"] = _targets(result)
    return result


def _figures(measured: dict | None) -> dict | None:
    """A measurement for latest.json: floats rounded, the checksum left out."""
    if measured is None:
        return None
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in measured.items() if k != "checksum"}


def _round(value: float | None, places: int = 3) -> float | None:
    return None if value is None else round(value, places)


def _targets(result: dict) -> dict:
    verdicts = {}
    for key, (op, target, what) in TARGETS.items():
        value = result.get(key)
        met = (
            None
            if value is None
            else (value < target if op == "<" else value <= target if op == "<=" else value >= target)
        )
        verdicts[key] = {"target": f"{op} {target:g}", "value": value, "met": met, "what": what}
    return verdicts


def _catch_up_text(catch_up: dict | None) -> str:
    if not catch_up or catch_up.get("seconds") is None:
        return f"not measured ({catch_up['why']})" if catch_up else "not measured"
    return (
        f"{catch_up['seconds']:.2f} s after {catch_up['days']} missed nights, "
        f"{catch_up['orders_charged_day_by_day']:,} orders day by day"
    )


def _two_workers_text(result: dict) -> str:
    two = result.get("two_workers")
    if not two:
        return "not measured"
    if two["completed"]:
        span = f", {two['run_seconds']:.2f} from plan to finish" if two.get("run_seconds") else ""
        return f"{two['seconds']:.2f}{span} ({result['two_workers_mode']})"
    return f"did not finish: {two['pending_chunks']} of {two['chunks']} chunks left pending"


def report(result: dict) -> str:
    def fmt(value) -> str:
        if value is None:
            return "not measured"
        if isinstance(value, float):
            return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    rows = [
        ("book", f"{result['customers']:,} customers, {result['orders']:,} orders"),
        ("instalments", fmt(result["installments"])),
        ("database", result["database"]),
        ("machine", "{nproc} CPUs, {ram_gib} GiB, {cpu_model}".format(**result["machine"])),
        ("business date / chunk size", f"{result['business_date']} / {result['chunk_size']} customers"),
        ("sweep_seconds", fmt(result["sweep_seconds"])),
        ("sweep_rows_per_s", fmt(result["sweep_rows_per_s"])),
        (
            "sweep CPU seconds",
            "python {python}, postgres {postgres}".format(**result["cpu_seconds"]["sweep"]),
        ),
        ("sweep_seconds_2_workers", _two_workers_text(result)),
        ("sql_reference_seconds", fmt(result["sql_reference_seconds"])),
        ("sweep_vs_sql_reference", fmt(result.get("sweep_vs_sql_reference"))),
        ("sweep_2_workers_vs_sql_reference", fmt(result.get("sweep_2_workers_vs_sql_reference"))),
        ("naive_rows_per_s", fmt(result["naive_rows_per_s"])),
        ("sweep_speedup", fmt(result["sweep_speedup"])),
        ("naive_changed_only_rows_per_s", fmt(result["naive_changed_only_rows_per_s"])),
        ("sweep_speedup_over_changed_only", fmt(result["sweep_speedup_over_changed_only"])),
        ("snapshot_seconds", fmt(result["snapshot_seconds"])),
        ("rerun_seconds", fmt(result["rerun_seconds"])),
        ("rerun_forced_seconds", fmt(result["rerun_forced_seconds"])),
        ("reminders_per_s", fmt(result["reminders_per_s"])),
        ("rows_changed", fmt(result["rows_changed"])),
        ("catch_up", _catch_up_text(result.get("catch_up"))),
    ]
    for size, figures in result["chunk_size_seconds"].items():
        cpu = figures.get("cpu_seconds") or {"python": None, "postgres": None}
        rows.append(
            (
                f"sweep with chunks of {size}",
                f"{fmt(figures['seconds'])} s, {figures['chunks']} chunks, "
                f"CPU python {cpu['python']} + postgres {cpu['postgres']}",
            )
        )
    if result.get("decisions", {}).get("count"):
        d = result["decisions"]
        rows.append(
            (
                "order_decisions",
                f"{d['decisions_per_s']}/s, p50 {d['p50_ms']} ms, p95 {d['p95_ms']} ms, "
                f"{d['queries_per_decision']} queries each",
            )
        )
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    lines.append("")
    lines.append("targets:")
    for key, verdict in result["targets"].items():
        mark = {True: "met", False: "MISSED", None: "not measured"}[verdict["met"]]
        lines.append(
            f"  {key.ljust(width - 2)}  {fmt(verdict['value'])} (target {verdict['target']}): {mark}"
        )
    lines.append("checks:")
    for key, ok in result["checks"].items():
        lines.append(f"  {key.ljust(width - 2)}  {'ok' if ok else 'FAILED'}")
    return "\n".join(lines)


def _arguments(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="1.0 = 250k customers, 1M orders, 4M instalments"
    )
    parser.add_argument(
        "--date", type=datetime.date.fromisoformat, help="business date to sweep (default today)"
    )
    parser.add_argument("--seed", type=int, default=Options.seed)
    parser.add_argument("--chunk-size", type=int, help="customers per chunk (default: the sweep's default)")
    parser.add_argument(
        "--more-chunk-sizes",
        default="",
        help="comma-separated chunk sizes to time as well, each on a fresh copy of the book",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="time the one-process sweep this many times (best kept)"
    )
    parser.add_argument("--workers", choices=["auto", "celery", "processes", "none"], default="auto")
    parser.add_argument("--broker", help="Redis URL for the Celery workers, e.g. redis://127.0.0.1:6379/13")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive per-instalment loop")
    parser.add_argument("--reuse-book", action="store_true", help="restore the saved book if it matches")
    parser.add_argument(
        "--book-only", action="store_true", help="build (or with --reuse-book restore) the book, then stop"
    )
    parser.add_argument(
        "--admin-pages",
        action="store_true",
        help="time the main admin lists on the book (p50/p95 of 20 requests each), then stop",
    )
    parser.add_argument(
        "--free-space",
        type=int,
        default=Options.free_space,
        help="percent of instalment and case pages left free by the load, as after nightly updates",
    )
    parser.add_argument(
        "--catch-up-days",
        type=int,
        default=Options.catch_up_days,
        help="also time the sweep after this many missed nights (needs --date that many days back)",
    )
    parser.add_argument(
        "--workbench",
        action="store_true",
        help="time the collections workbench pages on a book with about 100,000 open cases "
        "(database bnpl_bench_workbench unless DATABASE_URL names another), then stop",
    )
    parser.add_argument("--output", type=Path, default=Options.output)
    args = parser.parse_args(argv)
    return Options(
        scale=args.scale,
        on=args.date,
        seed=args.seed,
        chunk_size=args.chunk_size,
        more_chunk_sizes=[int(s) for s in args.more_chunk_sizes.split(",") if s.strip()],
        repeat=max(1, args.repeat),
        workers=args.workers,
        broker=args.broker,
        naive=not args.no_naive,
        reuse_book=args.reuse_book,
        book_only=args.book_only,
        admin_pages=args.admin_pages,
        workbench=args.workbench,
        free_space=args.free_space,
        catch_up_days=args.catch_up_days,
        output=args.output,
    )


def _admin_pages_main(options: Options) -> int:
    say = lambda text: print(text, flush=True)  # noqa: E731
    db = BenchDatabase()
    started_at = datetime.datetime.now().astimezone()
    book, _info = _book(db, options, say)
    measured = measure_admin_pages(on=book.on, say=say)
    result = {
        "scale": book.scale,
        "installments": book.installments,
        "database": db.label(),
        "machine": machine(),
        "date": started_at.isoformat(timespec="seconds"),
        "admin_pages": measured,
    }
    output = options.output.with_name("admin_pages.json")
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    mark = "met" if measured["met"] else "MISSED"
    say(f"\nworst p95 {measured['worst_p95_ms']} ms (target < {ADMIN_PAGE_TARGET_P95_MS:.0f} ms): {mark}")
    say(f"written to {output}")
    return 0


def _workbench(options: Options) -> int:
    from bench.book import book_build
    from bench.workbench import PAGE_TARGET_P95_MS, workbench_main

    say = lambda text: print(text, flush=True)  # noqa: E731
    result = workbench_main(
        options, database_class=BenchDatabase, book_build=book_build, machine=machine, say=say
    )
    output = options.output.with_name("workbench.json")
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    pages = result["pages"]
    mark = "met" if pages["met"] else "MISSED"
    say(
        f"\nworst p95 {pages['worst_p95_ms']} ms (target < {PAGE_TARGET_P95_MS:.0f} ms, "
        f"not counting {', '.join(pages['reported_only'])}): {mark}"
    )
    cpu = pages["cpu_reference_ms"]
    say(f"cpu reference before / after: {cpu['before']} / {cpu['after']} ms")
    say(f"written to {output}")
    return 0 if pages["met"] else 1


def main(argv: list[str] | None = None) -> int:
    options = _arguments(argv)
    if options.workbench:
        os.environ.setdefault(
            "DATABASE_URL", DEFAULT_DATABASE_URL.replace("bnpl_bench", "bnpl_bench_workbench")
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bnpl_admin.settings.local")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DEBUG"] = "0"
    if options.broker:
        os.environ["CELERY_BROKER_URL"] = options.broker
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    options.output.parent.mkdir(parents=True, exist_ok=True)
    if options.book_only:
        _book(BenchDatabase(), options, say=lambda text: print(text, flush=True))
        return 0
    if options.admin_pages:
        return _admin_pages_main(options)
    if options.workbench:
        return _workbench(options)
    result = run_benchmark(options, say=lambda text: print(text, flush=True))
    text = report(result)
    print()
    print(text)
    options.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwritten to {options.output}")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
