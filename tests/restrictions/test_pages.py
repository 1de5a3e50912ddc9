"""The restriction pages in the browser's place: filters → preview → confirm → progress, the
customer page, who may open them, and their query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import CreditLine, CreditLineStatus, Grade
from accounts.roles import Role
from decisionlog.models import DecisionLogEntry
from restrictions.models import Restriction, RestrictionJob, RestrictionJobStatus
from tests.conftest import login_verified
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst_client(client, analyst):
    login_verified(client, analyst)
    return client


def _grade_e(n: int) -> list[CreditLine]:
    lines = [CustomerFactory().credit_line for _ in range(n)]
    CreditLine.objects.filter(pk__in=[line.pk for line in lines]).update(grade=Grade.E)
    return lines


def test_bulk_freeze_from_the_form_to_done(analyst_client, run_tasks, django_capture_on_commit_callbacks):
    lines = _grade_e(3)
    response = analyst_client.post(
        reverse("restrictions:bulk"),
        {"grade": "E", "action": "freeze", "reason_code": "poor_grade", "text": "grade E sweep"},
    )
    job = RestrictionJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "restrictions:job_detail", args=[job.pk]
    )
    page = analyst_client.get(response["Location"]).content.decode()
    assert 'id="preview-lines">3<' in page
    assert "confirm-job" in page
    assert not CreditLine.objects.filter(status=CreditLineStatus.FROZEN).exists()
    with django_capture_on_commit_callbacks(execute=True):
        analyst_client.post(reverse("restrictions:job_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == RestrictionJobStatus.DONE
    assert (
        CreditLine.objects.filter(pk__in=[line.pk for line in lines], status=CreditLineStatus.FROZEN).count()
        == 3
    )
    fragment = analyst_client.get(
        reverse("restrictions:job_detail", args=[job.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="job-progress",
    ).content.decode()
    assert fragment.lstrip().startswith('<div id="job-progress"')
    assert "every 2s" not in fragment  # done: polling stops


def test_a_running_job_page_polls_every_two_seconds(analyst_client, analyst):
    job = RestrictionJob.objects.create(
        filter_spec={"grade": "E"},
        action="freeze",
        reason_code="poor_grade",
        reason_text="",
        requested_by=analyst,
        status=RestrictionJobStatus.RUNNING,
        total=10,
        done=4,
    )
    page = analyst_client.get(reverse("restrictions:job_detail", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert 'value="40"' in page


def test_bad_bulk_input_is_a_form_error(analyst_client):
    response = analyst_client.post(
        reverse("restrictions:bulk"), {"action": "freeze", "reason_code": "poor_grade"}
    )
    assert response.status_code == 200
    assert "Choose at least one filter" in response.content.decode()
    response = analyst_client.post(
        reverse("restrictions:bulk"), {"grade": "Z", "merchant": "abc", "action": "melt", "reason_code": "?"}
    )
    assert response.status_code == 200
    assert not RestrictionJob.objects.exists()


def test_the_second_analyst_approves_on_the_job_page(
    client, analyst, checker, run_tasks, django_capture_on_commit_callbacks
):
    from policy.models import Policy
    from restrictions.services import restriction_job_confirm, restriction_job_preview

    Policy.objects.update(restriction_approval_lines=1)
    _grade_e(2)
    job = restriction_job_preview(
        spec={"grade": "E"}, action="freeze", reason_code="poor_grade", text="", by=analyst
    )
    restriction_job_confirm(job=job, by=analyst)
    login_verified(client, analyst)
    assert "approve-job" not in client.get(reverse("restrictions:job_detail", args=[job.pk])).content.decode()
    client.post(reverse("restrictions:job_approve", args=[job.pk]))  # refused: own job
    job.refresh_from_db()
    assert job.status == RestrictionJobStatus.AWAITING_APPROVAL
    client.logout()
    login_verified(client, checker)
    assert "approve-job" in client.get(reverse("restrictions:job_detail", args=[job.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("restrictions:job_approve", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.approved_by) == (RestrictionJobStatus.DONE, checker)


def test_customer_page_freezes_with_a_reason_then_closes(analyst_client):
    customer = CustomerFactory(phone="13812345678")
    url = reverse("restrictions:customer", args=[customer.pk])
    page = analyst_client.get(url).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    response = analyst_client.post(
        url, {"action": "freeze", "reason_code": "fraud_suspected", "text": "device farm"}
    )
    assert response.status_code == 302
    customer.credit_line.refresh_from_db()
    assert customer.credit_line.status == CreditLineStatus.FROZEN
    analyst_client.post(url, {"action": "close", "reason_code": "fraud_suspected", "text": "confirmed"})
    customer.credit_line.refresh_from_db()
    assert customer.credit_line.status == CreditLineStatus.CLOSED
    page = analyst_client.get(url).content.decode()
    assert 'name="action"' not in page  # closed is final: no form
    response = analyst_client.post(url, {"action": "unfreeze", "reason_code": "review_cleared", "text": ""})
    assert response.status_code == 200
    customer.credit_line.refresh_from_db()
    assert customer.credit_line.status == CreditLineStatus.CLOSED
    assert Restriction.objects.filter(customer=customer).count() == 2
    assert DecisionLogEntry.objects.count() == 2


def test_customer_find_by_platform_id(analyst_client):
    customer = CustomerFactory(platform_user_id="dy-find-me")
    response = analyst_client.get(reverse("restrictions:customer_find"), {"q": "dy-find-me"})
    assert response["Location"] == reverse("restrictions:customer", args=[customer.pk])
    response = analyst_client.get(reverse("restrictions:customer_find"), {"q": "nobody"})
    assert response["Location"] == reverse("restrictions:job_list")


@pytest.mark.parametrize("role", [Role.COLLECTIONS_AGENT, Role.COLLECTIONS_MANAGER, Role.OPERATIONS_ADMIN])
def test_other_roles_cannot_post(client, role, analyst):
    from restrictions.services import restriction_job_preview

    _grade_e(1)
    job = restriction_job_preview(
        spec={"grade": "E"}, action="freeze", reason_code="poor_grade", text="", by=analyst
    )
    customer = CustomerFactory()
    login_verified(client, UserFactory(roles=[role]))
    assert client.post(reverse("restrictions:job_approve", args=[job.pk])).status_code == 403
    assert client.post(reverse("restrictions:job_confirm", args=[job.pk])).status_code == 403
    assert (
        client.post(
            reverse("restrictions:customer", args=[customer.pk]),
            {"action": "freeze", "reason_code": "arrears", "text": ""},
        ).status_code
        == 403
    )
    customer.credit_line.refresh_from_db()
    assert customer.credit_line.status == CreditLineStatus.ACTIVE


def _many_restrictions(analyst, n: int):
    """A customer restricted n times by hand, and a job that changed n other customers' lines."""
    from restrictions.services import restriction_apply, restriction_job_preview

    customer = CustomerFactory()
    for i in range(n):
        line = customer.credit_line
        line.refresh_from_db()
        restriction_apply(
            credit_line=line,
            action="freeze" if line.status == "active" else "unfreeze",
            reason_code="arrears",
            text=f"{i}",
            by=analyst,
        )
    job = restriction_job_preview(
        spec={"grade": "E"}, action="freeze", reason_code="poor_grade", text="", by=analyst
    )
    for _ in range(n):
        other = CustomerFactory()
        restriction = restriction_apply(
            credit_line=other.credit_line, action="freeze", reason_code="arrears", text="", by=analyst
        )
        Restriction.objects.filter(pk=restriction.pk).update(job=job)
    return customer, job


@pytest.mark.parametrize("n", [1, 12])
def test_page_query_counts_do_not_grow_with_rows(analyst_client, analyst, django_assert_max_num_queries, n):
    customer, job = _many_restrictions(analyst, n)
    pages = [
        reverse("restrictions:customer", args=[customer.pk]),
        reverse("restrictions:job_detail", args=[job.pk]),
        reverse("restrictions:bulk"),
        reverse("restrictions:job_list"),
    ]
    for url in pages:
        with django_assert_max_num_queries(16):
            assert analyst_client.get(url).status_code == 200
