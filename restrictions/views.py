"""Pages of restrictions (risk analysts): the bulk page (filters → preview → confirm), the job list,
a job's page with its progress, and a customer's restriction page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.masking import mask_phone
from accounts.models import Customer
from bnpl_admin.errors import DomainError
from bnpl_admin.lists import ObjectListView
from orders.selectors import credit_available

from .filters import RestrictionJobFilterSet
from .forms import BulkRestrictionForm, CustomerFindForm, RestrictForm
from .models import (
    PERMISSION_APPROVE,
    PERMISSION_BULK,
    PERMISSION_RESTRICT,
    PERMISSION_VIEW_JOBS,
    RestrictionJobStatus,
)
from .selectors import customer_restrictions, job_restrictions, line_actions, restriction_jobs
from .sentences import filter_sentence
from .services import (
    approval_threshold,
    restriction_apply,
    restriction_job_approve,
    restriction_job_cancel,
    restriction_job_confirm,
    restriction_job_preview,
    restriction_job_resume,
)
from .tables import RestrictionJobTable


class RestrictionJobListView(ObjectListView):
    selector = staticmethod(restriction_jobs)
    filterset_class = RestrictionJobFilterSet
    table_class = RestrictionJobTable
    permission_required = PERMISSION_VIEW_JOBS
    title = gettext_lazy("Restriction jobs")
    description = gettext_lazy(
        "Bulk freezes, unfreezes and closures of credit lines, newest first. Start one from the "
        "bulk restriction page; a job above the policy's threshold waits for a second analyst."
    )
    export_name = "restriction-jobs"
    tools_template = "restrictions/_job_list_tools.html"

    def get_tools_context(self, filterset) -> dict:
        return {"find_form": CustomerFindForm()}


@permission_required(PERMISSION_BULK, raise_exception=True)
def bulk(request):
    """The filter form; a valid POST counts what the action would change and shows it on the
    new job's page, where the analyst confirms it (nothing changes before that)."""
    form = BulkRestrictionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = restriction_job_preview(
                spec=form.spec(),
                action=data["action"],
                reason_code=data["reason_code"],
                text=data["text"],
                by=request.user,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("restrictions:job_detail", job_id=job.pk)
    return render(request, "restrictions/bulk.html", {"form": form, "threshold": approval_threshold()})


def _job_context(request, job) -> dict:
    user = request.user
    return {
        "job": job,
        "filter_text": filter_sentence(job.filter_spec),
        "threshold": approval_threshold(),
        "is_requester": job.requested_by_id == user.pk,
        "can_approve": user.has_perm(PERMISSION_APPROVE) and job.requested_by_id != user.pk,
        "recent": job_restrictions(job=job),
        "Status": RestrictionJobStatus,
    }


@permission_required(PERMISSION_VIEW_JOBS, raise_exception=True)
def job_detail(request, job_id: int):
    """A job: its preview, what it waits for, and its progress (htmx polls the progress part
    every 2 s while the job is queued or running)."""
    job = get_object_or_404(restriction_jobs(user=request.user), pk=job_id)
    context = _job_context(request, job)
    if request.htmx and request.htmx.target == "job-progress":
        return render(request, "restrictions/_job_progress.html", context)
    return render(request, "restrictions/job_detail.html", context)


def _job_action(request, job_id: int, service, done_message: str):
    job = get_object_or_404(restriction_jobs(user=request.user), pk=job_id)
    try:
        service(job=job, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done_message)
    return redirect("restrictions:job_detail", job_id=job.pk)


@permission_required(PERMISSION_BULK, raise_exception=True)
@require_POST
def job_confirm(request, job_id: int):
    return _job_action(request, job_id, restriction_job_confirm, _("The job is confirmed."))


@permission_required(PERMISSION_APPROVE, raise_exception=True)
@require_POST
def job_approve(request, job_id: int):
    return _job_action(request, job_id, restriction_job_approve, _("The job is approved and queued."))


@permission_required(PERMISSION_BULK, raise_exception=True)
@require_POST
def job_cancel(request, job_id: int):
    return _job_action(request, job_id, restriction_job_cancel, _("The job is cancelled."))


@permission_required(PERMISSION_BULK, raise_exception=True)
@require_POST
def job_resume(request, job_id: int):
    return _job_action(request, job_id, restriction_job_resume, _("The job is queued again."))


@permission_required(PERMISSION_RESTRICT, raise_exception=True)
def customer_find(request):
    """Find a customer by platform user id and open their restriction page."""
    form = CustomerFindForm(request.GET or None)
    if form.is_valid():
        customer = Customer.objects.filter(platform_user_id=form.cleaned_data["q"].strip()).first()
        if customer is not None:
            return redirect("restrictions:customer", customer_id=customer.pk)
        messages.error(request, _("No customer has that platform user id."))
    return redirect("restrictions:job_list")


def _next_url(request) -> str | None:
    """Where to go once the line is changed: a page of this site that sent the form (the
    customer's risk page offers the same form, in its restrictions section), else None."""
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


@permission_required(PERMISSION_RESTRICT, raise_exception=True)
def customer_restrictions_page(request, customer_id: int):
    """One customer's credit line: freeze, unfreeze or close it with a reason; its restrictions."""
    customer = get_object_or_404(Customer.objects.select_related("credit_line"), pk=customer_id)
    line = getattr(customer, "credit_line", None)
    actions = line_actions(line=line)
    next_url = _next_url(request)
    form = RestrictForm(request.POST or None, actions=actions)
    if request.method == "POST" and line is not None and form.is_valid():
        data = form.cleaned_data
        try:
            restriction_apply(
                credit_line=line,
                action=data["action"],
                reason_code=data["reason_code"],
                text=data["text"],
                by=request.user,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The credit line is changed."))
            return redirect(next_url or reverse("restrictions:customer", args=[customer.pk]))
    return render(
        request,
        "restrictions/customer.html",
        {
            "customer": customer,
            "masked_phone": mask_phone(customer.phone),
            "line": line,
            "available": credit_available(customer=customer) if line is not None else None,
            "form": form if actions else None,
            "restrictions": customer_restrictions(customer=customer),
            "next": next_url,
        },
    )
