"""The reminders app's settings, each with its default; read at call time so tests can override them."""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Dotted paths of the backend class per channel, like Django's EMAIL_BACKEND.
    "REMINDERS_SMS_BACKEND": "reminders.backends.OutboxBackend",
    "REMINDERS_EMAIL_BACKEND": "reminders.backends.OutboxBackend",
    # The HTTP SMS gateway (reminders.backends.HttpSmsGatewayBackend).
    "REMINDERS_SMS_GATEWAY_URL": "",
    "REMINDERS_SMS_GATEWAY_USERNAME": "",
    "REMINDERS_SMS_GATEWAY_PASSWORD": "",
    "REMINDERS_SMS_GATEWAY_TIMEOUT": 10,
    "REMINDERS_SMS_SENDER": "BNPL",
    # The sender of reminder emails; empty means DEFAULT_FROM_EMAIL.
    "REMINDERS_EMAIL_FROM": "",
    # Delivery attempts per reminder, and the backoff between them: base × 2^(n-1), capped.
    "REMINDERS_MAX_ATTEMPTS": 5,
    "REMINDERS_RETRY_BASE_SECONDS": 60,
    "REMINDERS_RETRY_MAX_SECONDS": 60 * 60,
    # A reminder left in "sending" this long was lost with its worker and is queued again by
    # the next dispatch. A delivery is one gateway call (REMINDERS_SMS_GATEWAY_TIMEOUT, 10 s):
    # five minutes is thirty times that, and keeps a stranded reminder under 20 minutes.
    "REMINDERS_SENDING_LEASE_SECONDS": 5 * 60,
    # A queued reminder whose delivery task was published this long ago and that is still
    # queued is published again (the task was lost: broker restart, filesystem transport).
    # Shorter than the dispatch interval (15 minutes), so what one dispatch published and the
    # broker lost is published again by the next; a task that was only waiting in a queue
    # gets a copy that finds the reminder claimed and does nothing.
    "REMINDERS_REPUBLISH_AFTER_SECONDS": 5 * 60,
    # A payment posted longer than this after it was received (a backfill, an import of
    # the provider's statement) gets no "payment received" receipt: it would arrive as news
    # of something the customer did days ago.
    "REMINDERS_RECEIPT_MAX_AGE_HOURS": 72,
    # The Celery queue for delivery tasks; None is Celery's default queue.
    "REMINDERS_QUEUE": None,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
