"""The decision log's console pages: an entry, the verification status, the daily anchors; who may
open them and their query counts."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from decisionlog.models import ChainHead, DecisionLogEntry, VerificationStatus
from decisionlog.selectors import daily_anchors
from decisionlog.services import decision_log_append
from tests.conftest import login_verified
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client):
    login_verified(client, UserFactory(roles=[Role.RISK_ANALYST], language="en"))
    return client


def _entries(n: int):
    for i in range(n):
        decision_log_append(
            kind="restriction", subject=f"accounts.creditline:{i}", content={"phone": "13812345678", "i": i}
        )


def test_entry_page_masks_and_says_the_hashes_match(reader):
    _entries(2)
    page = reader.get(reverse("decisionlog:entry_detail", args=[2])).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    assert DecisionLogEntry.objects.get(sequence=2).entry_hash in page
    assert "match its content" in page and "do NOT" not in page
    DecisionLogEntry.objects.filter(sequence=2).update(content={"phone": "x"})
    assert "do NOT match" in reader.get(reverse("decisionlog:entry_detail", args=[2])).content.decode()


def test_verification_runs_on_demand_and_shows_its_result(
    reader, monkeypatch, django_capture_on_commit_callbacks
):
    from decisionlog.tasks import chain_verification_run_task

    monkeypatch.setattr(chain_verification_run_task, "delay", lambda pk: chain_verification_run_task(pk))
    _entries(3)
    assert "Never run" in reader.get(reverse("decisionlog:verification")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        reader.post(reverse("decisionlog:verification_start"))
    page = reader.get(reverse("decisionlog:verification")).content.decode()
    assert "Chain intact" in page
    assert ChainHead.objects.get().head_hash in page


def test_a_running_verification_polls(reader):
    from decisionlog.models import ChainVerification

    ChainVerification.objects.create(status=VerificationStatus.RUNNING)
    assert 'hx-trigger="every 2s"' in reader.get(reverse("decisionlog:verification")).content.decode()


def test_daily_anchor_is_the_hash_of_each_days_last_entry():
    zone = timezone.get_default_timezone()
    day_one = datetime.datetime(2026, 3, 9, 23, 30, tzinfo=zone)  # late evening in Shanghai
    with time_machine.travel(day_one, tick=False):
        _entries(2)
    with time_machine.travel(day_one + datetime.timedelta(hours=1), tick=False):  # 00:30 next day
        _entries(3)
    anchors = daily_anchors()
    assert [(a.day, a.entries, a.last_sequence) for a in anchors] == [
        (datetime.date(2026, 3, 10), 3, 5),
        (datetime.date(2026, 3, 9), 2, 2),
    ]
    assert anchors[1].head_hash == DecisionLogEntry.objects.get(sequence=2).entry_hash


@pytest.mark.parametrize("n", [1, 15])
def test_query_counts(reader, django_assert_max_num_queries, n):
    _entries(n)
    for url in (
        reverse("decisionlog:entry_list"),
        reverse("decisionlog:entry_detail", args=[1]),
        reverse("decisionlog:verification"),
        reverse("decisionlog:anchors"),
    ):
        with django_assert_max_num_queries(12):
            assert reader.get(url).status_code == 200


@pytest.mark.parametrize("role", [Role.COLLECTIONS_AGENT, Role.COLLECTIONS_MANAGER, Role.FIELD_AGENT])
def test_other_roles_are_refused(client, role):
    login_verified(client, UserFactory(roles=[role]))
    assert client.get(reverse("decisionlog:entry_list")).status_code == 403
    assert client.post(reverse("decisionlog:verification_start")).status_code == 403
