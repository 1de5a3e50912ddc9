"""The reminder admin: a read-only record with filters and search, and "resend" for failed ones."""

import pytest
import time_machine
from django.urls import reverse

from reminders.models import OutboxMessage, Reminder, Status
from reminders.services import reminder_deliver, reminders_select
from reminders.tasks import reminder_deliver_task
from tests.factories import CustomerFactory

from .builders import D, at, days, instalment_due

pytestmark = pytest.mark.django_db

NOW = at(D, 10)
CHANGELIST = reverse("admin:reminders_reminder_changelist")


@pytest.fixture(autouse=True)
def english(admin_user):
    """The admin speaks the signed-in user's language; these tests read its messages in English."""
    admin_user.language = "en"
    admin_user.save(update_fields=["language"])


@pytest.fixture
def book():
    """Ten customers with a sent, a failed and a queued reminder among them."""
    for n in range(10):
        instalment_due(D + days(n % 4), email=f"c{n}@example.com", name=f"客户{n}")
    reminders_select(on=D, now=NOW)
    first, second = Reminder.objects.order_by("id")[:2]
    reminder_deliver(reminder_id=first.pk, now=NOW)
    Reminder.objects.filter(pk=second.pk).update(status=Status.FAILED, attempts=5, last_error="HTTP 500")
    return Reminder.objects.all()


def test_changelist_filters_and_search(admin_client, book, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert response.context["cl"].result_count == book.count()
    for params, expected in [
        ({"status": "failed"}, book.filter(status=Status.FAILED)),
        ({"channel": "email"}, book.filter(channel="email")),
        ({"kind": "T-1"}, book.filter(kind="T-1")),
        ({"stage": "due_today"}, book.filter(offset_days=0)),
        ({"business_date": D.isoformat()}, book.filter(business_date=D)),
    ]:
        response = admin_client.get(CHANGELIST, params)
        assert response.status_code == 200, params
        assert {r.pk for r in response.context["cl"].result_list} == set(
            expected.values_list("pk", flat=True)
        )
    customer = CustomerFactory._meta.model.objects.get(name="客户3")
    response = admin_client.get(CHANGELIST, {"q": customer.platform_user_id})
    assert {r.customer_id for r in response.context["cl"].result_list} == {customer.pk}
    response = admin_client.get(CHANGELIST, {"q": "客户3"})
    assert {r.customer_id for r in response.context["cl"].result_list} == {customer.pk}


def test_a_reminder_is_read_only(admin_client, book):
    sent = book.get(status=Status.SENT)
    response = admin_client.get(reverse("admin:reminders_reminder_change", args=[sent.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert sent.body in page
    assert 'name="body"' not in page and 'name="status"' not in page
    # The recipient is masked on the page.
    assert sent.recipient not in page
    response = admin_client.post(
        reverse("admin:reminders_reminder_change", args=[sent.pk]), {"status": "queued", "body": "x"}
    )
    assert response.status_code == 403
    assert admin_client.get(reverse("admin:reminders_reminder_add")).status_code == 403
    assert admin_client.get(reverse("admin:reminders_reminder_delete", args=[sent.pk])).status_code == 403
    assert admin_client.get(reverse("admin:reminders_outboxmessage_changelist")).status_code == 200
    outbox = OutboxMessage.objects.get()
    assert (
        admin_client.get(reverse("admin:reminders_outboxmessage_change", args=[outbox.pk])).status_code == 200
    )


def test_resend_failed_reminders(
    admin_client, admin_user, book, monkeypatch, django_capture_on_commit_callbacks
):
    published = []
    monkeypatch.setattr(
        reminder_deliver_task, "apply_async", lambda args, **options: published.append(args[0])
    )
    failed = book.get(status=Status.FAILED)
    sent = book.get(status=Status.SENT)
    # At the book's clock: the resend queues it for "now", and the delivery below runs at NOW
    # (inside the contact window, whatever the wall clock says).
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CHANGELIST, {"action": "resend", "_selected_action": [failed.pk, sent.pk]}, follow=True
        )
    assert response.status_code == 200
    notes = [str(m) for m in response.context["messages"]]
    assert "1 reminder queued again." in notes
    assert "1 reminder was not failed and was left as it is." in notes

    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == (Status.QUEUED, 5, "HTTP 500")
    assert published == [failed.pk]
    assert Reminder.objects.get(pk=sent.pk).status == Status.SENT
    record = failed.history.latest()
    assert (record.status, record.history_user, record.history_change_reason) == (
        "queued",
        admin_user,
        "resend",
    )
    # It goes out again once (attempts kept: one more try) …
    assert reminder_deliver(reminder_id=failed.pk, now=NOW).status == "sent"
    assert Reminder.objects.get(pk=failed.pk).attempts == 6


def test_resend_is_only_for_failed(admin_client, book):
    queued = book.filter(status=Status.QUEUED).first()
    response = admin_client.post(
        CHANGELIST, {"action": "resend", "_selected_action": [queued.pk]}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "1 reminder was not failed and was left as it is."
    ]
    assert Reminder.objects.get(pk=queued.pk).status == Status.QUEUED
    assert not Reminder.history.filter(id=queued.pk).exists()
