"""The demo book shows restrictions: a flagged merchant's customers frozen by a job left done, and
a decision log that verifies."""

import io

import pytest
from django.core.management import call_command

from decisionlog.models import ChainVerification, DecisionKind, DecisionLogEntry, VerificationStatus
from decisionlog.services import decision_log_verify
from orders.models import Merchant
from restrictions.models import Restriction, RestrictionJob, RestrictionJobStatus

pytestmark = pytest.mark.django_db


def test_seed_demo_restricts_a_flagged_merchants_customers_through_a_done_job():
    call_command("seed_demo", "--customers", "80", "--seed", "11", stdout=io.StringIO())
    job = RestrictionJob.objects.get()
    assert job.status == RestrictionJobStatus.DONE
    assert job.changed == job.preview_lines > 0
    merchant = Merchant.objects.get(pk=job.filter_spec["merchant"])
    assert merchant.is_risky
    restricted = Restriction.objects.filter(job=job)
    assert restricted.count() == job.changed
    assert all(r.customer.orders.filter(merchant=merchant).exists() for r in restricted)
    assert DecisionLogEntry.objects.filter(kind=DecisionKind.RESTRICTION).count() == job.changed
    assert decision_log_verify().ok
    assert ChainVerification.objects.get().status == VerificationStatus.OK
