"""Staff pages of order decisions: the try-an-order form, the review queue and a decision's page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import CreditLineStatus, CustomerStatus
from bnpl_admin.errors import DomainError
from bnpl_admin.lists import ObjectListView

from . import selectors
from .filters import ReviewQueueFilterSet
from .forms import ReviewForm, TryOrderForm
from .models import REVIEW_PERMISSION, TRY_PERMISSION, OrderDecision, Outcome
from .rules import reason_label
from .services import order_decide, order_review
from .tables import ReviewQueueTable

# What the rules read, in the order a reader follows them, with the threshold each is held to.
INPUT_ROWS = (
    ("customer_status", gettext_lazy("Customer status"), None),
    ("line_status", gettext_lazy("Credit line status"), None),
    ("grade", gettext_lazy("Grade"), None),
    ("score", gettext_lazy("Score"), None),
    ("limit", gettext_lazy("Credit limit (¥)"), None),
    ("outstanding_principal", gettext_lazy("Principal outstanding (¥)"), None),
    ("available_credit", gettext_lazy("Available credit (¥)"), None),
    ("orders_24h", gettext_lazy("Orders in the last 24 hours"), "velocity_24h_orders"),
    ("amount_24h", gettext_lazy("Spent in the last 24 hours (¥)"), "velocity_24h_amount"),
    ("orders_7d", gettext_lazy("Orders in the last 7 days"), "velocity_7d_orders"),
    ("amount_7d", gettext_lazy("Spent in the last 7 days (¥)"), "velocity_7d_amount"),
    ("prior_orders", gettext_lazy("Earlier orders"), None),
    ("open_plans", gettext_lazy("Open plans"), "max_open_plans"),
    ("limit_share_used", gettext_lazy("Share of the limit used"), "max_limit_share"),
    ("burden_30d", gettext_lazy("Due in the next 30 days (¥)"), "max_burden_30d"),
    ("merchant_risky", gettext_lazy("Merchant flagged as risky"), None),
)


def _shown(value) -> str:
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if value in (None, ""):
        return "—"
    value = str(value)
    # Amounts keep their two places; a share (0.800000, 0.0050) loses the trailing zeros.
    whole, dot, places = value.partition(".")
    if dot and len(places) > 2 and whole.lstrip("-").isdigit() and places.isdigit():
        return value.rstrip("0").rstrip(".")
    return value


# Inputs stored as machine names, shown by their labels.
_CHOICES = {"customer_status": dict(CustomerStatus.choices), "line_status": dict(CreditLineStatus.choices)}


def decision_context(decision: OrderDecision) -> dict:
    """What a page shows of a decision: its reasons in words, and each input beside its threshold."""
    inputs = {
        key: _CHOICES[key].get(value, value) if key in _CHOICES else value
        for key, value in (decision.inputs or {}).items()
    }
    thresholds = inputs.get("thresholds", {})
    return {
        "decision": decision,
        "reasons": [(code, reason_label(code)) for code in decision.reason_codes],
        "input_rows": [
            (label, _shown(inputs.get(key)), _shown(thresholds.get(threshold)) if threshold else "")
            for key, label, threshold in INPUT_ROWS
        ],
        "first_order_cap": thresholds.get("first_order_cap"),
        "outcome_class": {Outcome.APPROVE: "approved", Outcome.DECLINE: "declined"}.get(
            decision.outcome, "referred"
        ),
    }


@permission_required(TRY_PERMISSION, raise_exception=True)
def try_order(request: HttpRequest) -> HttpResponse:
    """A what-if order through the real rules; the decision is recorded as a trial."""
    form = TryOrderForm(request.POST if request.method == "POST" else None)
    context: dict = {"form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            decision = order_decide(
                customer=form.customer,
                amount=data["amount"],
                merchant=data["merchant"],
                channel=data["channel"],
                by=request.user,
                trial=True,
            )
        except DomainError as refusal:
            form.add_error(None, refusal.message)
        else:
            context.update(decision_context(selectors.decision_detail(pk=decision.pk)))
    return render(request, "decisions/try_order.html", context, status=200)


class ReviewQueueView(ObjectListView):
    """Referred orders waiting for an analyst, oldest first."""

    selector = staticmethod(selectors.review_queue)
    filterset_class = ReviewQueueFilterSet
    table_class = ReviewQueueTable
    permission_required = REVIEW_PERMISSION
    title = gettext_lazy("Review queue")
    description = gettext_lazy(
        "Referred orders waiting for a risk analyst, oldest first. Exposure is the principal of the "
        "customer's open orders not yet repaid; score and grade are the latest. An order not "
        "reviewed in time is declined automatically."
    )
    export_name = "review-queue"


@permission_required(REVIEW_PERMISSION, raise_exception=True)
def decision_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A decision: outcome, reasons, the inputs beside their thresholds, and, while a referral
    waits, the analyst's approve-or-decline form."""
    try:
        decision = selectors.decision_detail(pk=pk)
    except OrderDecision.DoesNotExist:
        raise Http404(_("No such decision.")) from None
    waiting = decision.outcome == Outcome.REFER and not decision.review_outcome
    form = ReviewForm(request.POST if request.method == "POST" and waiting else None)
    if request.method == "POST" and waiting and form.is_valid():
        try:
            order_review(
                decision=decision,
                by=request.user,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
            )
        except DomainError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, _("Decision #%(id)s is reviewed.") % {"id": decision.pk})
            return redirect("decisions:review_queue")
    return render(
        request,
        "decisions/decision_detail.html",
        {**decision_context(decision), "form": form if waiting else None},
    )
