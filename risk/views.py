"""Pages of the risk console: scorecards and their versions, scores, the approvals queue and a
customer's risk page. Every write goes through risk.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bnpl_admin.customer_sections import customer_sections_for
from bnpl_admin.dates import business_date
from bnpl_admin.lists import ObjectListView

from . import selectors, services
from .characteristics import DEFINITIONS, category_label, label_of, reason_of
from .filters import CustomerScoreFilterSet, PendingLimitFilterSet, ScorecardVersionFilterSet
from .forms import DecisionForm, LimitIncreaseForm
from .models import CustomerScore, LimitChange, ScorecardVersion, VersionStatus
from .tables import CustomerScoreTable, PendingLimitTable, ScorecardVersionTable

WORK_PERMISSION = "risk.work_risk"
APPROVE_PERMISSION = services.APPROVE_PERMISSION


class ScorecardListView(ObjectListView):
    """Every scorecard version: its status, how it was fitted, who activated it."""

    selector = staticmethod(selectors.scorecard_versions)
    filterset_class = ScorecardVersionFilterSet
    table_class = ScorecardVersionTable
    permission_required = WORK_PERMISSION
    title = gettext_lazy("Scorecards")
    description = gettext_lazy(
        "Each version of each scorecard. One version is active; a new one is activated by a second analyst."
    )
    export_name = "scorecard-versions"


class ScoreListView(ObjectListView):
    """Every score, newest first: the customer, the grade and the reasons in plain words."""

    selector = staticmethod(
        lambda *, user: CustomerScore.objects.select_related("customer", "version__scorecard")
    )
    filterset_class = CustomerScoreFilterSet
    table_class = CustomerScoreTable
    permission_required = WORK_PERMISSION
    title = gettext_lazy("Scores")
    description = gettext_lazy(
        "Customers' scores, newest first, with the three reasons that cost the most points."
    )
    export_name = "scores"


class ApprovalsView(ObjectListView):
    """What waits for a second analyst: limit increases (the table) and scorecard activations (above it)."""

    selector = staticmethod(selectors.pending_limit_changes)
    filterset_class = PendingLimitFilterSet
    table_class = PendingLimitTable
    permission_required = APPROVE_PERMISSION
    title = gettext_lazy("Pending approvals")
    description = gettext_lazy(
        "Limit increases above the policy's threshold and scorecard activations wait here for a "
        "second analyst. Nobody approves their own request."
    )
    export_name = "pending-limit-increases"
    tools_template = "risk/_pending_activations.html"

    def get_tools_context(self, filterset) -> dict:
        return {"activations": list(selectors.pending_activations()), "decision_form": DecisionForm()}


def _bin_rows(characteristic):
    definition = DEFINITIONS.get(characteristic.code)
    rows = []
    for b in characteristic.bins.all():
        if b.category:
            text = category_label(characteristic.code, b.category)
        else:
            lower = "−∞" if b.lower is None else f"{b.lower.normalize():f}"
            upper = "+∞" if b.upper is None else f"{b.upper.normalize():f}"
            text = f"[{lower}, {upper})"
        rows.append((text, b.points))
    return {
        "label": label_of(characteristic.code),
        "code": characteristic.code,
        "bins": rows,
        "known": definition,
    }


@permission_required(WORK_PERMISSION, raise_exception=True)
def version_detail(request, scorecard_version_id: int):
    try:
        version = selectors.version_detail(pk=scorecard_version_id)
    except ScorecardVersion.DoesNotExist:
        raise Http404 from None
    context = {
        "version": version,
        "characteristics": [_bin_rows(c) for c in version.characteristics.all()],
        "bands": sorted(version.grade_bands.all(), key=lambda b: b.grade),
        "grade_counts": selectors.version_grade_counts(version=version),
        "fitted": version.fitted,
        "used": version.scores.exists(),
        "can_request": version.status == VersionStatus.DRAFT,
        "can_decide": version.status == VersionStatus.PENDING_ACTIVATION
        and request.user.has_perm(APPROVE_PERMISSION)
        and version.activation_requested_by_id != request.user.pk,
        "decision_form": DecisionForm(),
    }
    return render(request, "risk/version_detail.html", context)


def _refusal(request, exc: services.RiskError) -> None:
    messages.error(request, exc.message)


@permission_required(WORK_PERMISSION, raise_exception=True)
@require_POST
def version_copy(request, scorecard_version_id: int):
    version = get_object_or_404(ScorecardVersion, pk=scorecard_version_id)
    try:
        copy = services.scorecard_version_copy(version=version, by=request.user)
    except services.RiskError as exc:
        _refusal(request, exc)
        return redirect("risk:version_detail", scorecard_version_id=version.pk)
    messages.success(
        request, _("Version %(number)s is a new draft copied from this one.") % {"number": copy.number}
    )
    return redirect("risk:version_detail", scorecard_version_id=copy.pk)


@permission_required(WORK_PERMISSION, raise_exception=True)
@require_POST
def version_request(request, scorecard_version_id: int):
    version = get_object_or_404(ScorecardVersion, pk=scorecard_version_id)
    try:
        services.scorecard_activation_request(version=version, by=request.user)
    except services.RiskError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("Activation requested: another analyst must now activate this version."))
    return redirect("risk:version_detail", scorecard_version_id=version.pk)


@permission_required(APPROVE_PERMISSION, raise_exception=True)
@require_POST
def version_decide(request, scorecard_version_id: int):
    version = get_object_or_404(ScorecardVersion, pk=scorecard_version_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("risk:version_detail", scorecard_version_id=version.pk)
    data = form.cleaned_data
    try:
        if data["decision"] == DecisionForm.APPROVE:
            services.scorecard_activate(version=version, by=request.user, reason=data["reason"])
            messages.success(request, _("The version is active; the previous one is retired."))
        else:
            services.scorecard_activation_reject(version=version, by=request.user, reason=data["reason"])
            messages.success(request, _("The activation is rejected; the version is a draft again."))
    except services.RiskError as exc:
        _refusal(request, exc)
    return redirect("risk:version_detail", scorecard_version_id=version.pk)


@permission_required(APPROVE_PERMISSION, raise_exception=True)
@require_POST
def limit_change_decide(request, limit_change_id: int):
    change = get_object_or_404(LimitChange, pk=limit_change_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("risk:approvals")
    data = form.cleaned_data
    try:
        if data["decision"] == DecisionForm.APPROVE:
            services.limit_change_approve(change=change, by=request.user, reason=data["reason"])
            messages.success(request, _("The limit increase is approved and applied."))
        else:
            services.limit_change_reject(change=change, by=request.user, reason=data["reason"])
            messages.success(request, _("The limit increase is rejected."))
    except services.RiskError as exc:
        _refusal(request, exc)
    return redirect("risk:approvals")


@permission_required(WORK_PERMISSION, raise_exception=True)
def customer_risk(request, customer_id: int):
    """A customer's risk page: the line, score history with reasons, limit history, then the
    sections registered in bnpl_admin.customer_sections (order decisions, orders, restrictions),
    each read by the app that owns it, in a fixed number of queries."""
    try:
        customer = selectors.customer_risk(customer_id=customer_id)
    except selectors.Customer.DoesNotExist:
        raise Http404 from None
    form = LimitIncreaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.limit_increase_propose(
                customer=customer,
                new_limit=form.cleaned_data["new_limit"],
                by=request.user,
                reason=form.cleaned_data["reason"],
                on=business_date(),
            )
        except services.RiskError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The limit increase waits for a second analyst."))
            return redirect("risk:customer_risk", customer_id=customer.pk)
    scores = selectors.customer_scores(customer=customer)
    score_rows = [
        {
            "score": s,
            "reasons": [reason_of(code) for code in s.reasons],
            "points": [(label_of(code), points) for code, points in s.points.items()],
        }
        for s in scores
    ]
    return render(
        request,
        "risk/customer_risk.html",
        {
            "customer": customer,
            "line": getattr(customer, "credit_line", None),
            "scores": score_rows,
            "limit_changes": selectors.customer_limit_changes(customer=customer),
            "form": form,
            "sections": customer_sections_for(user=request.user, customer=customer),
        },
    )
