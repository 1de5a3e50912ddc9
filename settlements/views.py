"""Staff pages of settlements: the proposal on a case (a case action), the approval queue and the
request's page where a manager decides."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bnpl_admin.dates import business_date
from bnpl_admin.errors import DomainError
from bnpl_admin.htmx import redirect_after_action
from bnpl_admin.lists import ObjectListView
from bnpl_admin.money import ZERO
from collection.models import CollectionCase

from .filters import ArrangementFilterSet
from .forms import DecisionForm, ProposalForm
from .models import APPROVE_PERMISSION, PROPOSE_PERMISSION, ArrangementKind
from .selectors import approval_queue, arrangements_visible_to, restructure_preview, settlement_preview
from .services import arrangement_approve, arrangement_propose, arrangement_reject
from .tables import ArrangementTable, terms_text


def _previews(case: CollectionCase, data: dict | None) -> dict:
    """What the proposal would leave to pay (a settlement) or the new schedules (a restructure)."""
    on = business_date()
    data = data or {}
    settlement = settlement_preview(
        customer=case.customer,
        on=on,
        late_fee_discount=data.get("late_fee_discount") or ZERO,
        fee_discount=data.get("fee_discount") or ZERO,
        principal_discount=data.get("principal_discount") or ZERO,
    )
    restructure = None
    if data.get("kind") == ArrangementKind.RESTRUCTURE and data.get("months"):
        restructure = restructure_preview(customer=case.customer, months=data["months"], on=on)
    return {"settlement": settlement, "restructure": restructure}


@permission_required(PROPOSE_PERMISSION, raise_exception=True)
def propose(request: HttpRequest, case_id: int) -> HttpResponse:
    """Propose a settlement or a restructure on a case, with a preview of what it leaves to pay.

    The case comes from the cases the user may see: another team's case is a 404. "Preview"
    shows the result without writing; "Propose" calls the service."""
    case = get_object_or_404(
        CollectionCase.objects.visible_to(request.user).select_related("customer"), pk=case_id
    )
    form = ProposalForm(request.POST if request.method == "POST" else None)
    data = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("action") != "preview":
            try:
                arrangement_propose(
                    case=case,
                    by=request.user,
                    kind=data["kind"],
                    late_fee_discount=data["late_fee_discount"],
                    fee_discount=data["fee_discount"],
                    principal_discount=data["principal_discount"],
                    months=data["months"],
                    reason=data["reason"],
                )
            except DomainError as refusal:
                form.add_error(None, refusal.message)
            else:
                messages.success(request, _("The proposal waits for a manager's decision."))
                return redirect_after_action(request, reverse("collections:case_detail", args=[case.pk]))
    context = {"case": case, "form": form, **_previews(case, data)}
    template = "settlements/_propose.html" if request.htmx else "settlements/propose.html"
    return render(request, template, context)


class ApprovalQueueView(ObjectListView):
    """Settlements, restructures and write-offs: pending first, oldest first."""

    selector = staticmethod(approval_queue)
    filterset_class = ArrangementFilterSet
    table_class = ArrangementTable
    permission_required = PROPOSE_PERMISSION
    title = gettext_lazy("Settlements, restructures and write-offs")
    description = gettext_lazy(
        "Requests waiting for a manager's decision come first. Nobody decides a request they made."
    )
    export_name = "arrangements"


@permission_required(APPROVE_PERMISSION, raise_exception=True)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """One request, what approving it would do, and the approve/reject form (a reason required)."""
    arrangement = get_object_or_404(
        arrangements_visible_to(user=request.user).select_related(
            "case", "customer", "requested_by", "decided_by"
        ),
        pk=pk,
    )
    own = arrangement.requested_by_id == request.user.pk
    form = DecisionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        decision = form.cleaned_data["decision"]
        service = arrangement_approve if decision == "approve" else arrangement_reject
        try:
            service(request=arrangement, by=request.user, reason=form.cleaned_data["reason"])
        except DomainError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(
                request,
                _("The request is approved.") if decision == "approve" else _("The request is rejected."),
            )
            return redirect("settlements:approval_queue")
    preview = None
    if arrangement.is_pending and arrangement.kind == ArrangementKind.RESTRUCTURE:
        preview = restructure_preview(
            customer=arrangement.customer, months=arrangement.months, on=business_date()
        )
    return render(
        request,
        "settlements/decide.html",
        {
            "arrangement": arrangement,
            "terms": terms_text(arrangement),
            "own": own,
            "form": form,
            "restructure": preview,
        },
    )
