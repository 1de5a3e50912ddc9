"""A synthetic book as the nightly sweep finds it, built in bulk for the benchmark.

At scale 1.0: 250,000 customers, 1,000,000 orders and about 4,000,000 instalments, with
their payments, allocations, credit lines and collection cases. The book is the state the
sweep for the day before the business date left behind (statuses, late fees through that
day, open cases, frozen lines), so the sweep for the business date does one day's work.

Everything is generated in integer fen and day ordinals (exact and fast), written to
temporary files in COPY text format and loaded with psycopg 3 `cursor.copy` on PostgreSQL;
other databases get bulk_create (small scales only). No row is ever saved one by one.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import queue
import random
import threading
import time
import zoneinfo
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction

from accounts.models import CreditLine, Customer
from collection.models import Bucket, CollectionCase
from collection.services import case_amounts_refresh
from orders.ledger import LateFeeTerms, add_months, late_fee_accrue
from orders.models import Installment, InstallmentStatus, Merchant, Order, Payment, PaymentAllocation, Plan
from policy.selectors import policy_in_force

# Scale 1.0 of the issue; instalments follow from the plan mix (about 4 per order).
CUSTOMERS_AT_SCALE_1 = 250_000
ORDERS_AT_SCALE_1 = 1_000_000
MERCHANTS_AT_SCALE_1 = 2_000

# (plan, instalments, weight): 39/30/17/14 gives 3.99 instalments per order.
PLAN_MIX = (
    (Plan.PAY_LATER, 1, 39),
    (Plan.INSTALMENTS_3, 3, 30),
    (Plan.INSTALMENTS_6, 6, 17),
    (Plan.INSTALMENTS_12, 12, 14),
)
# Median order amount in yuan and the spread of its logarithm, per plan.
AMOUNT_SHAPE = {1: (120, 0.8), 3: (500, 0.7), 6: (1_200, 0.6), 12: (2_800, 0.6)}
MIN_AMOUNT_FEN, MAX_AMOUNT_FEN = 10_00, 20_000_00

# Behaviour (shares). A customer who stops paying leaves every instalment due from the stop
# date on unpaid; their credit line froze at 1 DPD, so they place no order after that.
P_LATE = 0.05  # stopped 1–60 days ago
P_DEFAULT = 0.03  # stopped 61–365 days ago: far past due
P_DUE_YESTERDAY_UNPAID = 0.15  # of instalments due yesterday: still "due", overdue today
P_PAID_LATE = 0.04  # of paid instalments: paid 1–30 days late, with the late fee
P_PARTIAL = 0.10  # of overdue instalments: part of the principal paid
P_HOLD_OPEN = 0.02  # of orders with overdue instalments: a dispute open now
P_HOLD_CLOSED = 0.03  # ...: a dispute that was open for some days and is closed
P_CREDIT = 0.004  # of good customers: an overpayment waiting as credit balance
P_EMAIL = 0.5
P_RESOLVED_CASE = 0.5  # of customers who once paid late: a resolved case in the history

DAYS_BACK = 390  # orders delivered in the last 13 months: dues over the last 12 and next 12

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超"]
PLACES = (
    ("广东省", "深圳市", "南山区"),
    ("广东省", "广州市", "天河区"),
    ("浙江省", "杭州市", "西湖区"),
    ("四川省", "成都市", "武侯区"),
    ("北京市", "北京市", "朝阳区"),
    ("上海市", "上海市", "浦东新区"),
    ("湖北省", "武汉市", "洪山区"),
    ("江苏省", "南京市", "鼓楼区"),
)
CATEGORIES = ("apparel", "beauty", "electronics", "home", "food", "toys", "sports")
CHANNELS = ("short_video", "livestream", "mall")
METHODS = ("alipay", "wechat", "bank_card", "wallet")
GRADE_LIMIT_FEN = {"A": 20_000_00, "B": 10_000_00, "C": 5_000_00, "D": 1_500_00, "E": 0}


# Raised whenever the generator's output changes, so that --reuse-book rebuilds.
BOOK_VERSION = 3


@dataclass
class Book:
    """What was built: the counts the benchmark reports and the mix, for docs/performance.md."""

    scale: float
    on: datetime.date  # the business date the book is ready to be swept for
    seed: int
    free_space: int = 10  # percent of each instalment and case page left free by the load (PostgreSQL)
    version: int = BOOK_VERSION  # of the generator: a saved book of another version is rebuilt
    customers: int = 0
    orders: int = 0
    installments: int = 0
    payments: int = 0
    allocations: int = 0
    merchants: int = 0
    mix: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["on"] = self.on.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Book:
        return cls(**{**data, "on": datetime.date.fromisoformat(data["on"])})


def _split(total: int, parts: int) -> list[int]:
    """DESIGN.md's split in fen: each share rounded down, the first takes what is left."""
    share = total // parts
    return [total - share * (parts - 1)] + [share] * (parts - 1)


def _units(value: Decimal, places: int) -> int:
    return int((value * 10**places).to_integral_value())


# --- Where rows go -----------------------------------------------------------------------------


def _field_kind(f: models.Field) -> str:
    if isinstance(f, models.DecimalField):
        return f"decimal{f.decimal_places}"
    if isinstance(f, models.DateTimeField):
        return "noon"  # given as a day ordinal: midday of that day, local time
    if isinstance(f, models.DateField):
        return "date"  # given as a day ordinal
    if isinstance(f, models.JSONField):
        return "json"
    if isinstance(f, models.BooleanField):
        return "bool"
    return "plain"


class _Table:
    """One model's rows: the columns the generator gives, in order, and defaults for the rest."""

    def __init__(self, model: type[models.Model], attnames: tuple[str, ...]):
        self.model = model
        self.attnames = attnames
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(attnames) - set(by_attname)
        if unknown:
            raise RuntimeError(f"bench book: {model.__name__} has no fields {sorted(unknown)}")
        self.fields = [by_attname[a] for a in attnames]
        # Fields added to a model later get their default, so the book keeps loading; a
        # required field without one is reported instead of loading rows that break it.
        self.extra: list[tuple[models.Field, object]] = []
        for name, f in by_attname.items():
            if name in attnames:
                continue
            if not f.null and not f.has_default() and not isinstance(f, models.AutoField):
                raise RuntimeError(f"bench book: {model.__name__}.{name} needs a value")
            self.extra.append((f, f.get_default()))
        self.kinds = [_field_kind(f) for f in self.fields]
        self.rows = 0
        self.db_table = model._meta.db_table


class _Noon:
    """Day ordinal → midday in the console's time zone, as COPY text and as a datetime."""

    def __init__(self):
        self.zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        self._text: dict[int, str] = {}
        self._dt: dict[int, datetime.datetime] = {}
        self._date_text: dict[int, str] = {}
        self._date: dict[int, datetime.date] = {}

    def dt(self, day: int) -> datetime.datetime:
        value = self._dt.get(day)
        if value is None:
            value = datetime.datetime.combine(datetime.date.fromordinal(day), datetime.time(12), self.zone)
            self._dt[day] = value
        return value

    def text(self, day: int) -> str:
        value = self._text.get(day)
        if value is None:
            value = self._text[day] = self.dt(day).isoformat()
        return value

    def date(self, day: int) -> datetime.date:
        value = self._date.get(day)
        if value is None:
            value = self._date[day] = datetime.date.fromordinal(day)
        return value

    def date_text(self, day: int) -> str:
        value = self._date_text.get(day)
        if value is None:
            value = self._date_text[day] = self.date(day).isoformat()
        return value


def _copy_literal(value: object) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


class CopySink:
    """Rows streamed to PostgreSQL with COPY FROM STDIN, one connection and thread per table.

    The generator (Python, one core) formats rows while PostgreSQL (the other core) parses
    and stores them. Each table gets a formatter compiled once from its column kinds (one
    f-string per row): with per-value converters the formatting was the slow part. Each
    table is truncated and loaded in one transaction with COPY FREEZE, so its rows are
    written frozen and the VACUUM after the load has almost nothing to do.
    """

    BLOCK_ROWS = 20_000

    def __init__(self, noon: _Noon, *, free_space: dict[str, int] | None = None):
        self.noon = noon
        self.streams: list[_Stream] = []
        self.free_space = free_space or {}

    def _formatter(self, table: _Table):
        namespace = {"NOON": self.noon.text, "DAY": self.noon.date_text, "JSON": json.dumps, "NULL": r"\N"}
        parts = []
        for i, (kind, f) in enumerate(zip(table.kinds, table.fields, strict=True)):
            v = f"r[{i}]"
            if kind.startswith("decimal"):
                places = int(kind[len("decimal") :])
                expr = f"f'{{{v} // {10**places}}}.{{{v} % {10**places}:0{places}d}}'"
            elif kind == "noon":
                expr = f"NOON({v})"
            elif kind == "date":
                expr = f"DAY({v})"
            elif kind == "json":
                expr = f"JSON({v})"
            elif kind == "bool":
                expr = f"('t' if {v} else 'f')"
            else:
                expr = v
            if f.null:
                expr = f"(NULL if {v} is None else {expr})"
            parts.append("{" + expr + "}")
        suffix = "".join("\t" + _copy_literal(v) for _, v in table.extra)
        source = 'lambda r: f"' + "\t".join(parts) + '"' + f" + {suffix + chr(10)!r}"
        # Compiled from our own column list, never from data.
        return eval(source, namespace)

    def writer(self, table: _Table):
        """A function that writes one row of `table` (bound once: this runs millions of times)."""
        formatter = self._formatter(table)
        stream = _Stream(table)
        self.streams.append(stream)
        lines: list[str] = []
        append, limit = lines.append, self.BLOCK_ROWS

        def write(row: tuple) -> None:
            append(formatter(row))
            if len(lines) >= limit:
                table.rows += len(lines)
                stream.put("".join(lines))
                lines.clear()

        def flush() -> None:
            table.rows += len(lines)
            stream.put("".join(lines))
            lines.clear()

        stream.flush = flush
        return write

    @contextlib.contextmanager
    def session(self, tables: list[_Table], seconds: dict[str, float]):
        started = time.monotonic()
        with (
            connection.cursor() as cursor,
            _leaving_free_space(cursor, self.free_space),
            _without_secondary_indexes_and_foreign_keys(cursor, [t.db_table for t in tables], seconds),
        ):
            try:
                yield
            except BaseException:
                # Roll every COPY back; the database is left without its secondary indexes
                # and foreign keys, and the benchmark recreates it before the next build.
                for stream in self.streams:
                    stream.abort()
                for stream in self.streams:
                    stream.thread.join()
                raise
            for stream in self.streams:
                stream.close()
            for stream in self.streams:
                stream.join()
            seconds["generate_and_copy"] = round(time.monotonic() - started, 2)


@contextlib.contextmanager
def _leaving_free_space(cursor, percent_by_table: dict[str, int]):
    """Load these tables with pages `percent` free, then reset the table option.

    COPY packs pages full; a table whose rows are updated every night has free space on the
    pages of those rows (yesterday's versions, pruned). With full pages no update can stay
    on its page (a HOT update): each one also writes a new entry into every index. Leaving
    free space makes the first sweep of the book cost what a nightly sweep costs; the table
    options are back to the migrations' afterwards (docs/performance.md shows both).
    """
    cursor.execute(
        "SELECT relname, option_value FROM pg_class, pg_options_to_table(reloptions) "
        "WHERE relname = ANY(%s) AND option_name = 'fillfactor'",
        [list(percent_by_table)],
    )
    migrated = dict(cursor.fetchall())
    for table, percent in percent_by_table.items():
        cursor.execute(f"ALTER TABLE {table} SET (fillfactor = {100 - int(percent)})")
    try:
        yield
    finally:
        for table in percent_by_table:
            if table in migrated:
                cursor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(migrated[table])})")
            else:
                cursor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


_ABORT = object()


class _Stream:
    """One table's COPY in its own thread and connection, fed blocks of lines through a queue."""

    def __init__(self, table: _Table):
        self.table = table
        self.blocks: queue.Queue = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.flush = lambda: None
        self.thread = threading.Thread(target=self._run, name=f"copy-{table.db_table}", daemon=True)
        self.thread.start()

    def put(self, block: str) -> None:
        if self.error is not None:
            raise RuntimeError(f"COPY into {self.table.db_table} failed") from self.error
        if block:
            self.blocks.put(block)

    def close(self) -> None:
        if self.error is None:
            self.flush()
        self.blocks.put(None)

    def abort(self) -> None:
        self.blocks.put(_ABORT)

    def join(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise RuntimeError(f"COPY into {self.table.db_table} failed") from self.error

    def _run(self) -> None:
        table = self.table
        columns = [f.column for f in table.fields] + [f.column for f, _ in table.extra]
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # Truncating in the loading transaction is what allows COPY FREEZE.
                cursor.execute(f"TRUNCATE {table.db_table}")
                with cursor.copy(f"COPY {table.db_table} ({quoted}) FROM STDIN (FREEZE)") as copy:
                    while (block := self.blocks.get()) is not None:
                        if block is _ABORT:
                            raise RuntimeError("the book generator failed")
                        copy.write(block)
        except BaseException as exc:  # reported by put() and join() in the generator's thread
            self.error = exc
            while self.blocks.get() not in (None, _ABORT):  # keep the producer from blocking
                pass
        finally:
            connection.close()


def _in_threads(jobs: list, threads: int = 2) -> None:
    """Run database jobs on `threads` threads (one per core), each with its own connection
    (Django's connections are per thread); re-raise the first error."""

    def run(job):
        try:
            return job()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(run, job) for job in jobs]:
            future.result()


@contextlib.contextmanager
def _without_secondary_indexes_and_foreign_keys(cursor, db_tables: list[str], seconds: dict[str, float]):
    """What pg_restore does: load without the foreign keys and the secondary indexes, then
    build each index once and check each foreign key with one join. Primary keys and unique
    constraints stay, and every dropped definition is put back exactly as it was. Foreign
    keys that point at the loaded tables go too: TRUNCATE refuses a referenced table."""
    cursor.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
          FROM pg_constraint
         WHERE contype = 'f' AND (conrelid = ANY(%s::regclass[]) OR confrelid = ANY(%s::regclass[]))
        """,
        [db_tables, db_tables],
    )
    foreign_keys = cursor.fetchall()
    cursor.execute(
        """
        SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indrelid::regclass::text
          FROM pg_index
         WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = pg_index.indexrelid)
        """,
        [db_tables],
    )
    indexes = cursor.fetchall()
    for table, name, _ in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    yield
    started = time.monotonic()

    def build(definition: str) -> None:
        with connection.cursor() as own:
            own.execute("SET maintenance_work_mem = '256MB'")
            own.execute(definition)

    # Largest tables first, so that the two threads finish together.
    cursor.execute(
        "SELECT relname, pg_relation_size(oid) FROM pg_class WHERE oid = ANY(%s::regclass[])", [db_tables]
    )
    size = dict(cursor.fetchall())
    indexes.sort(key=lambda index: -size.get(index[2], 0))
    _in_threads([lambda d=definition: build(d) for _, definition, _ in indexes])
    seconds["create_indexes"] = round(time.monotonic() - started, 2)
    started = time.monotonic()
    # NOT VALID is instant; VALIDATE takes locks that let checks on different tables run
    # side by side (ADD with a check would queue them all behind the referenced table).
    for table, name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID')

    def validate(table: str, name: str) -> None:
        with connection.cursor() as own:
            own.execute(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"')

    _in_threads([lambda t=table, n=name: validate(t, n) for table, name, _ in foreign_keys])
    seconds["check_foreign_keys"] = round(time.monotonic() - started, 2)


class OrmSink:
    """Rows to model instances, bulk_created table by table (SQLite and the smoke test)."""

    def __init__(self, noon: _Noon):
        self.noon = noon
        self.rows: dict[str, list] = {}

    def writer(self, table: _Table):
        return lambda row: self._write(table, row)

    def _write(self, table: _Table, row: tuple) -> None:
        values = {}
        for kind, f, v in zip(table.kinds, table.fields, row, strict=True):
            if v is None:
                pass
            elif kind.startswith("decimal"):
                v = Decimal(v).scaleb(-f.decimal_places)
            elif kind == "noon":
                v = self.noon.dt(v)
            elif kind == "date":
                v = self.noon.date(v)
            values[f.attname] = v
        for f, v in table.extra:
            values[f.attname] = v
        self.rows.setdefault(table.db_table, []).append(table.model(**values))
        table.rows += 1

    @contextlib.contextmanager
    def session(self, tables: list[_Table], seconds: dict[str, float]):
        started = time.monotonic()
        yield
        with transaction.atomic():
            for table in tables:
                table.model.objects.bulk_create(self.rows.get(table.db_table, []), batch_size=500)
        seconds["generate_and_insert"] = round(time.monotonic() - started, 2)


# --- The generator ---------------------------------------------------------------------------


def _tables() -> dict[str, _Table]:
    return {
        "merchant": _Table(Merchant, ("id", "name", "category", "is_risky", "created_at")),
        "customer": _Table(
            Customer,
            (
                "id",
                "platform_user_id",
                "name",
                "phone",
                "email",
                "national_id",
                "province",
                "city",
                "district",
                "street",
                "timezone",
                "language",
                "status",
                "created_at",
            ),
        ),
        "creditline": _Table(
            CreditLine,
            (
                "id",
                "customer_id",
                "limit",
                "status",
                "status_reason",
                "status_changed_at",
                "score",
                "grade",
                "updated_at",
            ),
        ),
        "order": _Table(
            Order,
            (
                "id",
                "customer_id",
                "merchant_id",
                "external_reference",
                "channel",
                "item_summary",
                "amount",
                "plan",
                "fee_rate",
                "fee_amount",
                "status",
                "decline_reasons",
                "hold",
                "hold_since",
                "placed_at",
                "shipped_at",
                "delivered_at",
                "closed_at",
            ),
        ),
        "installment": _Table(
            Installment,
            (
                "id",
                "order_id",
                "customer_id",
                "sequence",
                "due_date",
                "principal_due",
                "fee_due",
                "late_fee_due",
                "principal_paid",
                "fee_paid",
                "late_fee_paid",
                "fee_waived",
                "late_fee_waived",
                "hold_days",
                "late_fee_through",
                "status",
                "paid_at",
            ),
        ),
        "payment": _Table(
            Payment,
            (
                "id",
                "customer_id",
                "amount",
                "received_at",
                "method",
                "external_reference",
                "status",
                "credit_created",
                "created_at",
                "reversal_reason",
            ),
        ),
        "allocation": _Table(
            PaymentAllocation,
            (
                "id",
                "payment_id",
                "installment_id",
                "component",
                "amount",
                "kind",
                "business_date",
                "created_at",
            ),
        ),
        "case": _Table(
            CollectionCase,
            (
                "id",
                "customer_id",
                "status",
                "days_past_due",
                "bucket",
                "opened_at",
                "closed_at",
                "amount_overdue",
            ),
        ),
    }


# Parents before children: the foreign keys are checked as rows arrive.
LOAD_ORDER = ("merchant", "customer", "creditline", "order", "installment", "payment", "allocation", "case")


class _Generator:
    def __init__(
        self,
        *,
        scale: float,
        on: datetime.date,
        seed: int,
        sink,
        tables: dict[str, _Table],
        p_late: float = P_LATE,
        p_default: float = P_DEFAULT,
    ):
        self.rng = random.Random(seed)
        self.p_late, self.p_default = p_late, p_default
        self.w = {key: sink.writer(table) for key, table in tables.items()}
        self.today = on.toordinal()
        self.y = self.today - 1  # the last business date swept
        policy = policy_in_force(on=on)
        # The late-fee rule is orders.ledger's; the generator works in fen and asks it for one
        # day's fee per unpaid principal (remembered: principals repeat) and for an order's cap.
        self.terms = LateFeeTerms.from_policy(policy)
        self.grace = self.terms.grace_days
        self._daily: dict[int, int] = {}
        self.freeze_at = policy.freeze_at_dpd
        self.trial_days = policy.pay_later_trial_days
        self.fee_ppm = {n: _units(policy.fee_rate_for(n), 6) for _, n, _ in PLAN_MIX}
        self.n_customers = max(1, round(CUSTOMERS_AT_SCALE_1 * scale))
        self.n_orders = max(1, round(ORDERS_AT_SCALE_1 * scale))
        self.n_merchants = max(5, round(MERCHANTS_AT_SCALE_1 * scale))
        self.mix: Counter[str] = Counter()
        self._dues: dict[tuple[int, int], list[int]] = {}
        self.payment_id = 0
        self.allocation_id = 0

    # Customers' behaviour is drawn first: it shapes their orders and what they paid.
    def _behaviour(self) -> None:
        rng, y, n = self.rng, self.y, self.n_customers
        self.stop = [0] * (n + 1)
        for c in range(1, n + 1):
            r = rng.random()
            if r < self.p_late:
                self.stop[c] = y - rng.randint(1, 60)
            elif r < self.p_late + self.p_default:
                # Fewer the further back: most defaulters are months, not a year, behind.
                self.stop[c] = y - 61 - min(304, int(rng.expovariate(1 / 100)))
        self.dpd = [0] * (n + 1)  # as of y, over overdue instalments not on hold
        self.held = [False] * (n + 1)
        self.paid_late = [False] * (n + 1)

    def _orders(self) -> list[tuple[int, int, int, int]]:
        rng, y = self.rng, self.y
        plans = [n for _, n, _ in PLAN_MIX]
        cum = []
        total = 0
        for _, _, weight in PLAN_MIX:
            total += weight
            cum.append(total)
        shapes = {n: (math.log(median * 100), sigma) for n, (median, sigma) in AMOUNT_SHAPE.items()}
        first = self.today - DAYS_BACK
        orders = []
        for _ in range(self.n_orders):
            c = rng.randint(1, self.n_customers)
            n = rng.choices(plans, cum_weights=cum)[0]
            last = min(y, self.stop[c]) if self.stop[c] else y
            delivered = rng.randint(min(first, last), last)
            mu, sigma = shapes[n]
            amount = int(rng.lognormvariate(mu, sigma))
            amount = min(MAX_AMOUNT_FEN, max(MIN_AMOUNT_FEN, amount))
            orders.append((delivered, c, n, amount))
        # Ids in delivery order, as in production: one customer's rows are spread over the table.
        orders.sort(key=lambda o: o[0])
        return orders

    def _due_dates(self, delivered: int, n: int) -> list[int]:
        key = (delivered, n)
        dues = self._dues.get(key)
        if dues is None:
            if n == 1:
                dues = [delivered + self.trial_days]
            else:
                day = datetime.date.fromordinal(delivered)
                dues = [add_months(day, k).toordinal() for k in range(1, n + 1)]
            self._dues[key] = dues
        return dues

    def _pay(self, customer: int, day: int, parts: list[tuple[int, str, int]], credit: int = 0) -> None:
        self.payment_id += 1
        pid = self.payment_id
        amount = sum(p[2] for p in parts) + credit
        self.w["payment"](
            (pid, customer, amount, day, METHODS[pid % 4], f"BENCH-P{pid:09d}", "posted", credit, day, ""),
        )
        for installment_id, component, value in parts:
            if value:
                self.allocation_id += 1
                self.w["allocation"](
                    (self.allocation_id, pid, installment_id, component, value, "payment", day, day),
                )

    def _daily_fee(self, unpaid: int) -> int:
        fee = self._daily.get(unpaid)
        if fee is None:
            fee = self._daily[unpaid] = _units(self.terms.daily_fee(Decimal(unpaid) / 100), 2)
        return fee

    def _cap_fen(self, amount: int) -> int:
        return _units(self.terms.cap(Decimal(amount) / 100), 2)

    def _share_the_cap_day_by_day(
        self, rows: list[list], accruing: list[int], *, amount: int, paid_late_fees: int, through: int
    ) -> None:
        """Several unpaid instalments of one order accruing together reach the cap: charging each
        its days in one lump would give the room to the oldest; the sweep shares it out day by
        day (orders.ledger), so the book does too."""
        # The order's other instalments, as one paid line: their principal counts toward the
        # cap, and the late fees they were charged toward what the cap leaves.
        others = Decimal(amount - sum(rows[k][5] for k in accruing)) / 100
        installments = [
            Installment(
                sequence=0,
                due_date=datetime.date.min,
                principal_due=others,
                principal_paid=others,
                late_fee_due=Decimal(paid_late_fees) / 100,
                status=InstallmentStatus.PAID,
            )
        ]
        for k in accruing:
            row = rows[k]
            installments.append(
                Installment(
                    sequence=row[3],
                    due_date=datetime.date.fromordinal(row[4]),
                    principal_due=Decimal(row[5]) / 100,
                    principal_paid=Decimal(row[8]) / 100,
                    hold_days=row[13],
                    status=InstallmentStatus.OVERDUE,
                )
            )
        late_fee_accrue(
            installments=installments,
            through=datetime.date.fromordinal(through),
            terms_on=lambda day: self.terms,
        )
        for k, installment in zip(accruing, installments[1:], strict=True):
            rows[k][7] = _units(installment.late_fee_due, 2)
            rows[k][14] = installment.late_fee_through and installment.late_fee_through.toordinal()

    def run(self) -> None:
        rng, y, grace, mix = self.rng, self.y, self.grace, self.mix
        self._behaviour()
        for m in range(1, self.n_merchants + 1):
            self.w["merchant"](
                (m, f"Bench merchant {m:05d}", CATEGORIES[m % len(CATEGORIES)], m % 50 == 0, y - 800),
            )
        iid = 0
        write_installment = self.w["installment"]
        for oid, (delivered, c, n, amount) in enumerate(self._orders(), start=1):
            fee_total = (amount * self.fee_ppm[n] + 500_000) // 1_000_000
            principals = _split(amount, n)
            fees = _split(fee_total, n)
            dues = self._due_dates(delivered, n)
            room = self._cap_fen(amount)
            rows: list[list] = []
            accruing: list[int] = []  # rows of unpaid instalments accruing late fees now
            paid_late_fees, clipped = 0, False
            stop = self.stop[c]
            hold, hold_since, closed_hold_days = "", None, 0
            if stop and any(stop <= due < y for due in dues):
                r = rng.random()
                first_overdue = min(due for due in dues if stop <= due < y)
                if r < P_HOLD_OPEN:
                    hold, hold_since = "dispute", y - rng.randint(0, min(30, y - first_overdue - 1))
                    mix["orders_on_hold"] += 1
                elif r < P_HOLD_OPEN + P_HOLD_CLOSED:
                    closed_hold_days = rng.randint(1, 10)
                    mix["orders_hold_closed"] += 1
            paid_all, last_paid = True, 0
            for k in range(n):
                iid += 1
                due, principal, fee = dues[k], principals[k], fees[k]
                late_fee = principal_paid = fee_paid = 0
                through = paid_at = None
                hold_days = 0
                owes = bool(stop) and due >= stop
                if due < y and not owes:
                    # Paid: on or a few days before the due date, or late with the late fee.
                    if due < y - 1 and rng.random() < P_PAID_LATE:
                        days_late = rng.randint(1, min(30, y - 1 - due))
                        fee_days = max(0, days_late - grace)
                        if fee_days:
                            late_fee = max(0, min(fee_days * self._daily_fee(principal), room))
                            room -= late_fee
                            paid_late_fees += late_fee
                            if late_fee:
                                through = due + days_late
                        paid_day = due + days_late
                        self.paid_late[c] = True
                        mix["installments_paid_late"] += 1
                    else:
                        paid_day = max(delivered, due - rng.randint(0, 5))
                    status = "paid"
                elif due == y and (owes or rng.random() < P_DUE_YESTERDAY_UNPAID):
                    status = "due"
                    mix["installments_due_yesterday_unpaid"] += 1
                elif due == y:
                    paid_day, status = y, "paid"
                elif due > y:
                    status = "scheduled"
                    mix["installments_scheduled"] += 1
                else:
                    status = "overdue"
                    mix["installments_overdue"] += 1
                    if principal > 1 and rng.random() < P_PARTIAL:
                        principal_paid, fee_paid = rng.randint(1, principal - 1), fee
                        self._pay(c, due, [(iid, "fee", fee), (iid, "principal", principal_paid)])
                        mix["installments_overdue_part_paid"] += 1
                    if closed_hold_days and y - due > closed_hold_days + 1:
                        hold_days = closed_hold_days
                    # Late fees through the last day the sweep accrued: yesterday, or the day
                    # before the dispute opened.
                    through_day = hold_since - 1 if hold else y
                    fee_days = max(0, through_day - due - hold_days - grace)
                    if fee_days:
                        lump = fee_days * self._daily_fee(principal - principal_paid)
                        late_fee = max(0, min(lump, room))
                        clipped = clipped or late_fee < lump
                        room -= late_fee
                        accruing.append(k)
                        if late_fee:
                            through = through_day
                            mix["installments_overdue_with_late_fee"] += 1
                    if hold:
                        self.held[c] = True
                    else:
                        self.dpd[c] = max(self.dpd[c], y - due - hold_days)
                if status == "paid":
                    paid_at = paid_day
                    last_paid = max(last_paid, paid_day)
                    principal_paid, fee_paid = principal, fee
                    self._pay(
                        c,
                        paid_day,
                        [(iid, "late_fee", late_fee), (iid, "fee", fee), (iid, "principal", principal)],
                    )
                    mix["installments_paid"] += 1
                else:
                    paid_all = False
                rows.append(
                    [
                        iid,
                        oid,
                        c,
                        k + 1,
                        due,
                        principal,
                        fee,
                        late_fee,
                        principal_paid,
                        fee_paid,
                        late_fee if status == "paid" else 0,
                        0,
                        0,
                        hold_days,
                        through,
                        status,
                        paid_at,
                    ]
                )
            if clipped and len(accruing) > 1:
                self._share_the_cap_day_by_day(
                    rows, accruing, amount=amount, paid_late_fees=paid_late_fees, through=through_day
                )
                mix["orders_cap_shared_day_by_day"] += 1
            for row in rows:
                write_installment(tuple(row))
            self.w["order"](
                (
                    oid,
                    c,
                    1 + oid % self.n_merchants,
                    f"BENCH-O{oid:09d}",
                    CHANNELS[oid % 3],
                    "短视频好物 item",
                    amount,
                    next(p for p, count, _ in PLAN_MIX if count == n).value,
                    self.fee_ppm[n],
                    fee_total,
                    "completed" if paid_all else "delivered",
                    [],
                    hold,
                    hold_since,
                    delivered - 3,
                    delivered - 1,
                    delivered,
                    last_paid if paid_all else None,
                ),
            )
        self._customers()

    def _customers(self) -> None:
        rng, y, mix = self.rng, self.y, self.mix
        case_id = 0
        for c in range(1, self.n_customers + 1):
            name = SURNAMES[c % len(SURNAMES)] + GIVEN[(c * 7) % len(GIVEN)] + GIVEN[(c * 13) % len(GIVEN)]
            province, city, district = PLACES[c % len(PLACES)]
            self.w["customer"](
                (
                    c,
                    f"bench{c:08d}",
                    name,
                    f"13{c:09d}",
                    f"u{c}@example.com" if rng.random() < P_EMAIL else "",
                    f"1101011990{(c % 12) + 1:02d}{(c % 28) + 1:02d}{c % 1000:03d}{c % 10}",
                    province,
                    city,
                    district,
                    f"科技园路 {c % 300 + 1} 号",
                    "Asia/Urumqi" if c % 100 == 0 else "Asia/Shanghai",
                    "en" if c % 20 == 0 else "zh-hans",
                    "active",
                    y - 400 - c % 700,
                ),
            )
            dpd = self.dpd[c]
            # Grades follow behaviour: D and E for those who stopped paying.
            grade = ("D" if self.stop[c] >= y - 60 else "E") if self.stop[c] else "ABC"[c % 3]
            frozen = dpd >= self.freeze_at
            frozen_on = y - dpd + self.freeze_at
            self.w["creditline"](
                (
                    c,
                    c,
                    GRADE_LIMIT_FEN[grade],
                    "frozen" if frozen else "active",
                    (
                        f"Overdue: {self.freeze_at} days past due "
                        f"(sweep {datetime.date.fromordinal(frozen_on):%Y-%m-%d})"
                        if frozen
                        else ""
                    ),
                    frozen_on if frozen else None,
                    300 + c % 550,
                    grade,
                    y,
                ),
            )
            if frozen:
                mix["credit_lines_frozen"] += 1
            if dpd >= 1:
                mix["customers_overdue"] += 1
                mix[f"customers_{Bucket.for_dpd(dpd).value}"] += 1
                case_id += 1
                status = "promised" if rng.random() < 0.1 else "open"
                self.w["case"](
                    (case_id, c, status, dpd, Bucket.for_dpd(dpd).value, y - dpd + 1, None, 0),
                )
                mix["cases_open"] += 1
            elif self.held[c]:
                mix["customers_overdue_on_hold_only"] += 1
            if self.paid_late[c] and rng.random() < P_RESOLVED_CASE:
                case_id += 1
                opened = y - rng.randint(40, 300)
                self.w["case"](
                    (case_id, c, "resolved", rng.randint(1, 30), Bucket.M1.value, opened, opened + 20, 0),
                )
                mix["cases_resolved"] += 1
            if not self.stop[c] and rng.random() < P_CREDIT:
                # An overpayment with nothing to pay yet: the credit balance the sweep applies
                # when the customer's next instalment falls due.
                self._pay(c, y, [], credit=rng.randint(1_00, 200_00))
                mix["customers_with_credit"] += 1


def book_build(
    *,
    scale: float,
    on: datetime.date,
    seed: int = 20_260_320,
    free_space: int = 10,
    p_late: float = P_LATE,
    p_default: float = P_DEFAULT,
) -> Book:
    """Build the book into the (empty, migrated) configured database; returns what was built.

    `p_late` and `p_default` are the shares of customers who stopped paying 1–60 and 61–365
    days ago (the workbench benchmark raises them for a book with 100,000 open cases).

    On PostgreSQL the rows are loaded with COPY, the pages of the instalment and case tables
    `free_space` percent free (see _leaving_free_space), and the tables vacuumed and analysed,
    so the sweep is timed on a database in its steady state, not on a fresh load.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    if Customer.objects.exists():
        raise RuntimeError("bench book: the database already holds customers; build into an empty one")
    tables = _tables()
    book = Book(scale=scale, on=on, seed=seed, free_space=free_space)
    noon = _Noon()
    started = time.monotonic()
    if connection.vendor == "postgresql":
        # The tables whose rows the sweep updates every night (late fees, days past due).
        nightly = (Installment._meta.db_table, CollectionCase._meta.db_table)
        sink = CopySink(noon, free_space=dict.fromkeys(nightly, free_space) if free_space else None)
    else:
        sink = OrmSink(noon)
    with sink.session([tables[key] for key in LOAD_ORDER], book.seconds):
        generator = _Generator(
            scale=scale, on=on, seed=seed, sink=sink, tables=tables, p_late=p_late, p_default=p_default
        )
        generator.run()
    models_loaded = [tables[key].model for key in LOAD_ORDER]
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models_loaded):
            cursor.execute(statement)
    # The open cases' amount overdue, as the sweep leaves it (set from the loaded instalments).
    case_amounts_refresh()
    finishing = time.monotonic()
    analyse()
    book.seconds["vacuum_analyze"] = round(time.monotonic() - finishing, 2)
    book.seconds["total"] = round(time.monotonic() - started, 2)
    book.customers = tables["customer"].rows
    book.orders = tables["order"].rows
    book.installments = tables["installment"].rows
    book.payments = tables["payment"].rows
    book.allocations = tables["allocation"].rows
    book.merchants = tables["merchant"].rows
    book.mix = dict(sorted(generator.mix.items()))
    return book


def analyse() -> None:
    """Fresh statistics (and, on PostgreSQL, the visibility map) for the whole database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # VACUUM cannot run inside a transaction block; Django is in autocommit here.
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")
