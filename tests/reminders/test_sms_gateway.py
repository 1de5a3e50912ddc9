"""The HTTP SMS gateway backend against a stub gateway on 127.0.0.1: idempotency, retries, failures."""

import base64
import datetime
import socket

import pytest

from reminders.models import Reminder, Status
from reminders.services import reminder_deliver, reminders_select
from reminders.tasks import reminder_deliver_task

from .builders import D, at, instalment_due

pytestmark = pytest.mark.django_db

NOW = at(D, 10)


@pytest.fixture
def reminder():
    instalment_due(D)  # SMS only: the factory's customers have no email
    reminders_select(on=D, now=NOW)
    return Reminder.objects.get()


def _deliver(reminder, now):
    return reminder_deliver(reminder_id=reminder.pk, now=now)


def test_gateway_gets_the_key_as_idempotency_key_and_credentials(gateway, reminder):
    assert _deliver(reminder, NOW).status == "sent"
    [request] = gateway.requests
    assert request["path"] == "/v1/sms"
    assert request["headers"]["Idempotency-Key"] == reminder.key
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"bnpl:s3cret").decode()
    assert request["json"]["to"] == reminder.customer.phone
    assert request["json"]["reference"] == reminder.key
    assert "应还¥1,000.00" in request["json"]["text"]
    reminder.refresh_from_db()
    assert (reminder.status, reminder.provider_message_id) == (Status.SENT, "gw-1")


def test_transient_failure_is_retried_with_backoff_then_succeeds(gateway, reminder):
    gateway.script = [503, 200]
    outcome = _deliver(reminder, NOW)
    assert (outcome.status, outcome.retry_at) == ("retry", NOW + datetime.timedelta(seconds=60))
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (Status.QUEUED, 1)
    assert reminder.next_attempt_at == NOW + datetime.timedelta(seconds=60)
    assert "HTTP 503" in reminder.last_error

    assert _deliver(reminder, NOW + datetime.timedelta(seconds=59)).status == "skipped"  # not yet
    assert _deliver(reminder, NOW + datetime.timedelta(seconds=60)).status == "sent"
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.last_error) == (Status.SENT, 2, "")
    # Both tries carried the same key, so the gateway could fold them into one message.
    assert [r["headers"]["Idempotency-Key"] for r in gateway.requests] == [reminder.key] * 2


def test_permanent_server_error_fails_after_the_attempt_limit(gateway, reminder, settings):
    settings.REMINDERS_MAX_ATTEMPTS = 4
    gateway.script = [500]
    now, waits = NOW, []
    for _ in range(10):
        outcome = _deliver(reminder, now)
        if outcome.status != "retry":
            break
        waits.append(outcome.retry_at - now)
        now = outcome.retry_at
    assert outcome.status == "failed"
    assert waits == [datetime.timedelta(seconds=s) for s in (60, 120, 240)]
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (Status.FAILED, 4)
    assert reminder.last_error == 'gateway answered HTTP 500: {"error": "stub says 500"}'
    assert len(gateway.requests) == 4
    assert _deliver(reminder, now + datetime.timedelta(days=1)).status == "skipped"


def test_backoff_is_capped(gateway, reminder, settings):
    settings.REMINDERS_MAX_ATTEMPTS = 20
    settings.REMINDERS_RETRY_MAX_SECONDS = 300
    gateway.script = [500]
    now, waits = NOW, []
    for _ in range(6):
        outcome = _deliver(reminder, now)
        waits.append((outcome.retry_at - now).total_seconds())
        now = outcome.retry_at
    assert waits == [60, 120, 240, 300, 300, 300]


def test_a_rejected_request_fails_at_once(gateway, reminder):
    """A 4xx other than 408/425/429 says the message itself is wrong: retrying cannot help."""
    gateway.script = [400]
    assert _deliver(reminder, NOW).status == "failed"
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (Status.FAILED, 1)
    assert reminder.last_error.startswith("gateway answered HTTP 400")


def test_rate_limited_is_retried(gateway, reminder):
    gateway.script = [429, 200]
    assert _deliver(reminder, NOW).status == "retry"


def test_unreachable_gateway_is_retried(settings, reminder):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.REMINDERS_SMS_BACKEND = "reminders.backends.HttpSmsGatewayBackend"
    settings.REMINDERS_SMS_GATEWAY_URL = f"http://127.0.0.1:{port}/sms"
    assert _deliver(reminder, NOW).status == "retry"
    reminder.refresh_from_db()
    assert reminder.last_error.startswith("gateway unreachable")


def test_the_task_publishes_the_retry_for_its_time(
    gateway, reminder, monkeypatch, django_capture_on_commit_callbacks
):
    gateway.script = [503]
    published = []
    monkeypatch.setattr(
        reminder_deliver_task, "apply_async", lambda args, eta=None, **options: published.append((args, eta))
    )
    with django_capture_on_commit_callbacks(execute=True):
        reminder_deliver(reminder_id=reminder.pk, now=NOW, retry_by_task=True)
    assert published == [([reminder.pk], NOW + datetime.timedelta(seconds=60))]
