"""Every write about reminders: selecting them for a date, queueing receipts, delivering, resending.

Once per key, at least once to the gateway (STYLE.md, Healthchecks): a reminder is first a
row with a unique key, written in the transaction that decides to send it; a delivery claims
it with a conditional UPDATE (queued → sending), counts the send just before handing it over
and records the outcome only if its claim still holds. A crash after the claim leaves the row
in "sending"; the dispatcher queues it again once the lease has run out, and the backend,
which receives the key, must drop the second copy (docs/architecture.md, "Reminders").
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections import Counter
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from bnpl_admin.dates import business_date
from bnpl_admin.errors import DomainError
from orders.models import UNPAID_INSTALLMENT_STATUSES, Payment, PaymentStatus
from policy.conduct import (
    contact_allowed,
    customer_zone,
    first_contact_on,
    local_day,
    next_contact_time,
    profile_for,
    window_opening,
)
from policy.selectors import policy_in_force

from . import conf, selectors
from .backends import DeliveryError, Message, backend_for
from .content import installment_content, receipt_content
from .models import (
    ACTIVE_STATUSES,
    INSTALLMENT_KEY_PREFIX,
    RECEIPT,
    TRANSITIONS,
    CancelReason,
    Channel,
    Reminder,
    Status,
    kind_for_offset,
    payment_key,
)

logger = logging.getLogger(__name__)

# The key of the PostgreSQL advisory lock that serialises selection runs (any number no other
# code locks): two runs at once would each count the other's rows out of the daily cap.
SELECTION_LOCK_ID = 0x52454D49  # "REMI"
BULK_BATCH_SIZE = 2000


class ReminderError(DomainError):
    pass


def _address(customer: Customer, channel: str) -> str:
    return customer.phone if channel == Channel.SMS else customer.email


def _move(pk: int, *, from_: Status, to: Status, token: str | None = None, **fields) -> bool:
    """The one way status changes: a conditional UPDATE along TRANSITIONS; False if the row moved on."""
    if to not in TRANSITIONS[from_]:
        raise ReminderError(
            _("A reminder that is %(status)s cannot become %(to)s.") % {"status": from_.label, "to": to.label}
        )
    rows = Reminder.objects.filter(pk=pk, status=from_)
    if token is not None:
        rows = rows.filter(claim_token=token)
    return rows.update(status=to, **fields) == 1


def _publish(ids: list[int], *, eta: datetime.datetime | None = None) -> None:
    """Publish one delivery task per reminder once the rows it needs are committed."""
    if not ids:
        return
    from .tasks import reminder_deliver_task

    queue = conf.get("REMINDERS_QUEUE")
    options = {"queue": queue} if queue else {}

    def publish() -> None:
        for pk in ids:
            reminder_deliver_task.apply_async(args=[pk], eta=eta, **options)

    # robust: a broker outage must not fail the caller's committed work; the dispatcher
    # publishes the rows again after REMINDERS_REPUBLISH_AFTER_SECONDS.
    transaction.on_commit(publish, robust=True)


def _publish_recovered(ids: list[int]) -> None:
    """As _publish, for the dispatcher's recoveries: the broker may have lost its queues'
    bindings with the messages (bnpl_admin.celery.task_queues_declare)."""
    if not ids:
        return
    from bnpl_admin.celery import task_queues_declare

    transaction.on_commit(task_queues_declare, robust=True)
    _publish(ids)


def _prepare_selection() -> None:
    """Serialise selection runs and plan the selection for whole days of rows (PostgreSQL)."""
    # On SQLite every write transaction already holds the database's write lock
    # (transaction_mode IMMEDIATE in settings), and its plans need no help.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SELECTION_LOCK_ID])
            # Right after a large selection, before autovacuum has analysed the table, the
            # planner believes it nearly empty and picks nested loops over it: quadratic in
            # the rows of the day. Hash and merge joins suit this statement whatever the
            # statistics say. The penalty that steers the planner away from nested loops
            # (needed for the small cross join of channels) would also switch JIT compilation
            # on, which costs seconds and gains nothing here. SET LOCAL ends with the transaction.
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute("SET LOCAL jit = off")


# --- Selection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    on: datetime.date
    queued: int
    capped: int  # written as cancelled: over the customer's daily cap


@transaction.atomic
def reminders_select(*, on: datetime.date, now: datetime.datetime | None = None) -> Selection:
    """Write the reminders due on business date `on`: one row per (instalment, kind, channel).

    Set-based: a query for the customers' time zones among the candidates, then one
    INSERT … SELECT that computes every row in the database (its key, its kind, when it may
    go out, whether it is within the customer's daily cap) and skips keys already written,
    so running it twice (or alongside receipts) adds nothing. A reminder goes out no
    earlier than the contact window opens on the customer's own calendar day `on`; those
    beyond the customer's daily cap for that day are written as cancelled, so staff can
    see what was held back. The cap counts reminders by `send_on`, the day each goes (or
    went) out; delivery checks the cap again (`_daily_cap_take`), since a reminder can go out
    later than planned, next to the ones selected for that later day.
    """
    now = now or timezone.now()
    policy = policy_in_force(on=on)
    profile = profile_for(policy.conduct_profile)
    channels = policy.reminder_channels()
    offsets = policy.reminder_offsets()
    candidates = selectors.reminder_candidates(
        due_dates=[on - datetime.timedelta(days=k) for k in offsets], on=on
    )
    zone_names = selectors.candidate_time_zones(candidates=candidates)
    if not channels or not offsets or not zone_names:
        return Selection(on=on, queued=0, capped=0)
    _prepare_selection()

    ops = connection.ops
    # The window opening is the same for every customer in a zone: computed here once per zone.
    zones = []
    for name in zone_names:
        zone = customer_zone(name)
        opens = first_contact_on(profile, on, zone, now=now)
        zones.append(
            (name, ops.adapt_datetimefield_value(opens), ops.adapt_datefield_value(local_day(opens, zone)))
        )
    days = [
        (ops.adapt_datefield_value(on - datetime.timedelta(days=k)), kind_for_offset(k), k) for k in offsets
    ]
    candidate_sql, candidate_params = candidates.query.sql_with_params()
    sql = SELECTION_SQL.format(
        reminder=connection.ops.quote_name(Reminder._meta.db_table),
        candidates=candidate_sql,
        days=_values(days),
        channels=_values(channels, width=2),
        zones=_values(zones),
        active=", ".join(["%s"] * len(ACTIVE_STATUSES)),
    )
    cap = policy.reminder_daily_cap
    params = [
        *candidate_params,
        *(value for row in days for value in row),
        *(value for rank, channel in enumerate(channels) for value in (channel, rank)),
        *(value for row in zones for value in row),
        INSTALLMENT_KEY_PREFIX,
        Channel.SMS,
        *ACTIVE_STATUSES,
        RECEIPT,
        ops.adapt_datefield_value(on),
        cap,
        Status.QUEUED,
        Status.CANCELLED,
        cap,
        CancelReason.DAILY_CAP,
        ops.adapt_datetimefield_value(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = Counter(status for (status,) in cursor.fetchall())
    return Selection(on=on, queued=written[Status.QUEUED], capped=written[Status.CANCELLED])


def _values(rows: list, *, width: int | None = None) -> str:
    """Placeholders for a VALUES list of len(rows) rows."""
    width = width or len(rows[0])
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * len(rows))


# Written for both PostgreSQL and SQLite (3.35+): CTEs, VALUES lists whose columns are named
# column1, column2 … by both, a window function, and ON CONFLICT DO NOTHING on the unique key
# (SQLite needs a WHERE clause in an INSERT … SELECT with an ON CONFLICT clause).
SELECTION_SQL = """
WITH candidate AS ({candidates}),
due_day AS (SELECT column1 AS due_date, column2 AS kind, column3 AS offset_days FROM (VALUES {days}) AS v),
channel_list AS (SELECT column1 AS channel, column2 AS channel_rank FROM (VALUES {channels}) AS v),
zone_timing AS (
    SELECT column1 AS zone_name, column2 AS not_before, column3 AS send_on FROM (VALUES {zones}) AS v
),
fresh AS (
    SELECT %s || c.inst_id || ':' || d.kind || ':' || ch.channel AS reminder_key,
           d.kind, d.offset_days, ch.channel, ch.channel_rank, c.cust_id, c.inst_id, z.not_before, z.send_on
    FROM candidate AS c
    JOIN due_day AS d ON d.due_date = c.due_on
    CROSS JOIN channel_list AS ch
    JOIN zone_timing AS z ON z.zone_name = c.zone_name
    WHERE (CASE WHEN ch.channel = %s THEN c.phone_no ELSE c.email_addr END) <> ''
),
used AS (
    SELECT customer_id, send_on, COUNT(*) AS n FROM {reminder}
    WHERE status IN ({active}) AND kind <> %s AND send_on IN (SELECT send_on FROM zone_timing)
    GROUP BY customer_id, send_on
),
ranked AS (
    -- Within a customer's day: the most overdue first, then by channel (SMS before email).
    SELECT f.*, COALESCE(u.n, 0) + ROW_NUMBER() OVER (
        PARTITION BY f.cust_id, f.send_on ORDER BY f.offset_days DESC, f.channel_rank, f.inst_id
    ) AS nth
    FROM fresh AS f
    LEFT JOIN used AS u ON u.customer_id = f.cust_id AND u.send_on = f.send_on
    WHERE NOT EXISTS (
        SELECT 1 FROM {reminder} AS r
        WHERE r.installment_id = f.inst_id AND r.kind = f.kind AND r.channel = f.channel
    )
)
INSERT INTO {reminder} (
    "key", "kind", "offset_days", "channel", "customer_id", "installment_id", "business_date",
    "send_on", "not_before", "next_attempt_at", "status", "cancel_reason", "attempts", "sends",
    "claim_token", "last_error", "recipient", "subject", "body", "provider_message_id", "created_at"
)
SELECT reminder_key, kind, offset_days, channel, cust_id, inst_id, %s,
       send_on, not_before, not_before, CASE WHEN nth <= %s THEN %s ELSE %s END,
       CASE WHEN nth <= %s THEN '' ELSE %s END, 0, 0,
       '', '', '', '', '', '', %s
FROM ranked
WHERE 1 = 1
ON CONFLICT DO NOTHING
RETURNING status
"""


def receipt_queue(*, payment: Payment, now: datetime.datetime | None = None) -> list[Reminder]:
    """Queue the "payment received" receipt per channel, once per payment (safe to call again).

    Sent at once when the customer's contact window is open, otherwise when it opens. The
    daily cap is for reminders; a receipt answers the customer's own action and is not counted.
    """
    now = now or timezone.now()
    if payment.status != PaymentStatus.POSTED:
        return []
    if now - payment.received_at > datetime.timedelta(hours=conf.get("REMINDERS_RECEIPT_MAX_AGE_HOURS")):
        return []
    customer = payment.customer
    policy = policy_in_force(on=business_date(now))
    zone = customer_zone(customer.timezone)
    not_before = next_contact_time(profile_for(policy.conduct_profile), now, zone)
    rows = [
        Reminder(
            key=payment_key(payment.pk, RECEIPT, channel),
            kind=RECEIPT,
            channel=channel,
            customer=customer,
            payment=payment,
            business_date=business_date(now),
            send_on=local_day(not_before, zone),
            not_before=not_before,
            next_attempt_at=not_before,
            created_at=now,
        )
        for channel in policy.reminder_channels()
        if _address(customer, channel)
    ]
    with transaction.atomic():
        Reminder.objects.bulk_create(rows, ignore_conflicts=True)
        reminders = list(Reminder.objects.filter(key__in=[row.key for row in rows]).order_by("id"))
        due = [
            r.pk
            for r in reminders
            if r.status == Status.QUEUED and r.next_attempt_at <= now and r.published_at is None
        ]
        Reminder.objects.filter(pk__in=due, published_at__isnull=True).update(published_at=now)
        _publish(due)
    return reminders


# --- Dispatch --------------------------------------------------------------------------------


def reminders_recover_stale(*, now: datetime.datetime | None = None) -> int:
    """Queue again what a dead worker left in "sending" past its lease; the lost try counts."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=conf.get("REMINDERS_SENDING_LEASE_SECONDS"))
    stale = Reminder.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff)
    error = "Delivery was interrupted (the worker stopped before recording the outcome)."
    failed = stale.filter(attempts__gte=conf.get("REMINDERS_MAX_ATTEMPTS") - 1).update(
        status=Status.FAILED, attempts=F("attempts") + 1, last_error=error, claim_token=""
    )
    queued = stale.update(
        status=Status.QUEUED,
        attempts=F("attempts") + 1,
        last_error=error,
        claim_token="",
        next_attempt_at=now,
        published_at=None,
    )
    if failed or queued:
        logger.warning("reminders: %s interrupted deliveries queued again, %s failed", queued, failed)
    return queued + failed


def reminders_publish_due(*, now: datetime.datetime | None = None, limit: int | None = None) -> int:
    """Publish a delivery task for each reminder that may go out now and has no task in flight."""
    now = now or timezone.now()
    republish = now - datetime.timedelta(seconds=conf.get("REMINDERS_REPUBLISH_AFTER_SECONDS"))
    with transaction.atomic():
        ids = selectors.due_reminder_ids(now=now, published_before=republish, limit=limit)
        for start in range(0, len(ids), BULK_BATCH_SIZE):
            Reminder.objects.filter(pk__in=ids[start : start + BULK_BATCH_SIZE]).update(published_at=now)
        _publish_recovered(ids)
    return len(ids)


@dataclass(frozen=True)
class Dispatch:
    selection: Selection
    recovered: int
    published: int


def reminders_dispatch(*, now: datetime.datetime | None = None) -> Dispatch:
    """The 15-minute beat: select today's reminders, recover lost deliveries, publish what is due."""
    now = now or timezone.now()
    selection = reminders_select(on=business_date(now), now=now)
    recovered = reminders_recover_stale(now=now)
    published = reminders_publish_due(now=now)
    return Dispatch(selection=selection, recovered=recovered, published=published)


def reminders_deliver_due(*, now: datetime.datetime | None = None) -> Counter:
    """Deliver in this process every reminder due at `now` (the management command; no worker)."""
    now = now or timezone.now()
    reminders_recover_stale(now=now)
    outcomes = Counter()
    for pk in selectors.due_reminder_ids(now=now):
        outcomes[reminder_deliver(reminder_id=pk, now=now).status] += 1
    return outcomes


# --- Delivery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # sent, retry, failed, cancelled, deferred, skipped
    retry_at: datetime.datetime | None = None


def retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff after the n-th failed attempt: base, 2×base, 4×base …, capped."""
    seconds = conf.get("REMINDERS_RETRY_BASE_SECONDS") * 2 ** (attempts - 1)
    return datetime.timedelta(seconds=min(seconds, conf.get("REMINDERS_RETRY_MAX_SECONDS")))


def _cancel_reason(reminder: Reminder, *, now: datetime.datetime) -> str:
    """Why a claimed reminder must not go out any more (checked again at delivery time)."""
    if reminder.installment_id is not None:
        installment = reminder.installment
        if installment.status not in UNPAID_INSTALLMENT_STATUSES or installment.total_outstanding <= 0:
            return CancelReason.PAID
        if installment.order.hold:
            return CancelReason.ON_HOLD
        # Selected before the pause began (a promise made after this morning's selection).
        if (reminder.offset_days or 0) > 0 and selectors.after_due_paused(
            customer_id=reminder.customer_id, on=business_date(now)
        ):
            return CancelReason.PAUSED
    elif reminder.payment.status != PaymentStatus.POSTED:
        return CancelReason.REVERSED
    if not _address(reminder.customer, reminder.channel):
        return CancelReason.NO_ADDRESS
    return ""


def reminder_deliver(
    *, reminder_id: int, now: datetime.datetime | None = None, retry_by_task: bool = False
) -> Outcome:
    """Deliver one reminder if it is still queued and due: claim, check, render, send, record.

    With `retry_by_task` a transient failure also publishes the retry for its time (the
    Celery task); otherwise the dispatcher picks it up then.
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    claimed = Reminder.objects.filter(
        pk=reminder_id, status=Status.QUEUED, not_before__lte=now, next_attempt_at__lte=now
    ).update(status=Status.SENDING, claim_token=token, claimed_at=now)
    if not claimed:
        return Outcome("skipped")  # another worker has it, or it is not due (any more)

    reminder = Reminder.objects.select_related("customer", "installment__order", "payment").get(
        pk=reminder_id
    )
    reason = _cancel_reason(reminder, now=now)
    if reason:
        _move(reminder_id, from_=Status.SENDING, to=Status.CANCELLED, token=token, cancel_reason=reason)
        return Outcome("cancelled")

    policy = policy_in_force(on=business_date(now))
    profile = profile_for(policy.conduct_profile)
    zone = customer_zone(reminder.customer.timezone)
    if not contact_allowed(profile, now, zone):
        # Not a failed attempt: it waits for the window (a retry may land at night).
        _defer(reminder_id, token, next_contact_time(profile, now, zone), zone)
        return Outcome("deferred")
    # Rendered before the place is taken: from taking the place (and counting the send) to
    # handing the message over, nothing may fail or wait but the hand-over itself.
    if reminder.installment_id is not None:
        content = installment_content(reminder=reminder, installment=reminder.installment)
    else:
        content = receipt_content(reminder=reminder, payment=reminder.payment)
    recipient = _address(reminder.customer, reminder.channel)
    message = Message(
        key=reminder.key,
        channel=reminder.channel,
        recipient=recipient,
        subject=content.subject,
        body=content.body,
    )
    # Written with the outcome (one commit less per delivery): the attempt and what it sent.
    attempt = {
        "attempts": reminder.attempts + 1,
        "recipient": recipient,
        "subject": content.subject,
        "body": content.body,
        "claim_token": "",
    }
    if reminder.installment_id is not None:
        taken = _daily_cap_take(reminder, token=token, on=local_day(now, zone), cap=policy.reminder_daily_cap)
        if taken is None:
            return Outcome("skipped")  # the lease ran out and another delivery has it
        if not taken:
            # Over the cap for the customer's day: it waits for the next day's window.
            tomorrow = local_day(now, zone) + datetime.timedelta(days=1)
            _defer(reminder_id, token, window_opening(profile, tomorrow, zone), zone)
            return Outcome("deferred")
    elif not _send_count(reminder_id, token):
        return Outcome("skipped")
    # At least once from here: a worker that dies between the hand-over and the record below
    # leaves the reminder "sending"; the dispatcher queues it again after the lease and the
    # backend gets the same key a second time (`sends` shows it).
    try:
        provider_id = backend_for(reminder.channel).send(message)
    except DeliveryError as exc:
        return _record_failure(reminder_id, token, attempt, str(exc), exc.retryable, now, retry_by_task)
    except Exception as exc:  # a bug or an unexpected library error: keep it, retry later
        logger.exception("reminders: unexpected error delivering %s", reminder.key)
        error = f"{type(exc).__name__}: {exc}"
        return _record_failure(reminder_id, token, attempt, error, True, now, retry_by_task)

    recorded = _move(
        reminder_id,
        from_=Status.SENDING,
        to=Status.SENT,
        token=token,
        **attempt,
        sent_at=now,
        provider_message_id=provider_id or "",
        last_error="",
    )
    if not recorded:
        # Our lease ran out and another delivery took over; the backend saw the same key.
        logger.warning("reminders: %s was sent but its claim had been taken over", reminder.key)
    return Outcome("sent")


def _defer(reminder_id: int, token: str, opens: datetime.datetime, zone) -> None:
    """Back to the queue until `opens`; the day it will go out is the day the cap counts it on."""
    _move(
        reminder_id,
        from_=Status.SENDING,
        to=Status.QUEUED,
        token=token,
        not_before=opens,
        next_attempt_at=opens,
        send_on=local_day(opens, zone),
        claim_token="",
        published_at=None,
    )


def _daily_cap_take(reminder: Reminder, *, token: str, on: datetime.date, cap: int) -> bool | None:
    """Take one of the customer's places for local day `on`, if one is left: True, False when the
    cap is reached, None when the claim was lost.

    The selection counts the cap by the day a reminder is planned for, but a reminder can go out
    later than planned (worker down, retries, a night in between) next to the ones planned for
    that later day; only here, at delivery, is the day it reaches the customer known. Reminders
    sent or being sent on `on` count (`send_on` is set to the day when the place is taken).
    The customer's row is locked while counting, so two deliveries for one customer cannot both
    take the last place (SQLite: the write transaction already serialises them).
    """
    with transaction.atomic():
        list(Customer.objects.select_for_update().filter(pk=reminder.customer_id).values_list("pk"))
        taken = (
            Reminder.objects.filter(
                customer_id=reminder.customer_id, send_on=on, status__in=(Status.SENDING, Status.SENT)
            )
            .exclude(kind=RECEIPT)
            .exclude(pk=reminder.pk)
            .count()
        )
        if taken >= cap:
            return False
        claimed = Reminder.objects.filter(pk=reminder.pk, status=Status.SENDING, claim_token=token)
        # The place and the send are counted in one commit, right before the hand-over.
        return True if claimed.update(send_on=on, sends=F("sends") + 1) else None


def _send_count(reminder_id: int, token: str) -> bool:
    """Count the hand-over about to happen (committed), if our claim still holds."""
    return bool(
        Reminder.objects.filter(pk=reminder_id, status=Status.SENDING, claim_token=token).update(
            sends=F("sends") + 1
        )
    )


def _record_failure(
    reminder_id: int,
    token: str,
    attempt: dict,
    error: str,
    retryable: bool,
    now: datetime.datetime,
    retry_by_task: bool,
) -> Outcome:
    attempts = attempt["attempts"]
    if retryable and attempts < conf.get("REMINDERS_MAX_ATTEMPTS"):
        retry_at = now + retry_delay(attempts)
        moved = _move(
            reminder_id,
            from_=Status.SENDING,
            to=Status.QUEUED,
            token=token,
            **attempt,
            last_error=error,
            next_attempt_at=retry_at,
            published_at=now if retry_by_task else None,
        )
        if moved and retry_by_task:
            _publish([reminder_id], eta=retry_at)
        return Outcome("retry", retry_at=retry_at)
    _move(reminder_id, from_=Status.SENDING, to=Status.FAILED, token=token, **attempt, last_error=error)
    logger.warning("reminders: reminder %s failed after %s attempt(s): %s", reminder_id, attempts, error)
    return Outcome("failed")


# --- Staff actions ---------------------------------------------------------------------------


def reminder_resend(*, reminder: Reminder, by, now: datetime.datetime | None = None) -> Reminder:
    """Queue a failed reminder again (its attempts are kept, so it gets one more try); audited."""
    now = now or timezone.now()
    with transaction.atomic():
        reminder = Reminder.objects.select_for_update().get(pk=reminder.pk)
        if reminder.status != Status.FAILED:
            raise ReminderError(
                _("Only a failed reminder can be sent again; %(key)s is %(status)s.")
                % {"key": reminder.key, "status": reminder.get_status_display()},
                code="not_failed",
            )
        reminder.status = Status.QUEUED
        reminder.next_attempt_at = now
        reminder.claim_token = ""
        reminder.published_at = now
        # save(), not update(): django-simple-history records who resent it and when.
        reminder._change_reason = "resend"
        reminder._history_user = by
        reminder.save(update_fields=["status", "next_attempt_at", "claim_token", "published_at"])
        _publish([reminder.pk])
    return reminder
