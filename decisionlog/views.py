"""Console pages of the decision log: the list, one entry, the verification status and the daily
anchors (risk analysts and operations admins: decisionlog.view_decisionlogentry)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bnpl_admin.lists import ObjectListView

from .filters import DecisionLogFilterSet
from .models import VerificationStatus
from .selectors import (
    VIEW_PERMISSION,
    chain_head,
    daily_anchors,
    decision_log_entries,
    verification_latest,
)
from .services import chain_digest, chain_verification_start, content_digest
from .tables import DecisionLogTable, content_text


class DecisionLogListView(ObjectListView):
    selector = staticmethod(decision_log_entries)
    filterset_class = DecisionLogFilterSet
    table_class = DecisionLogTable
    permission_required = VIEW_PERMISSION
    title = gettext_lazy("Decision log")
    description = gettext_lazy(
        "Every credit decision, score, limit change, restriction and scorecard activation, newest "
        "first. Each entry carries the SHA-256 of its content and of the entry before it."
    )
    export_name = "decision-log"
    # Links to the verification status and the daily anchors, above the table.
    tools_template = "decisionlog/_nav.html"


@permission_required(VIEW_PERMISSION, raise_exception=True)
def entry_detail(request, sequence: int):
    entry = get_object_or_404(decision_log_entries(user=request.user), sequence=sequence)
    # Recomputed here too, so the page itself says whether this entry still matches its hashes.
    intact = (
        content_digest(
            sequence=entry.sequence,
            recorded_at=entry.recorded_at,
            kind=entry.kind,
            subject=entry.subject,
            actor_id=entry.actor_id,
            content=entry.content,
        )
        == entry.content_hash
        and chain_digest(previous_hash=entry.previous_hash, content_hash=entry.content_hash)
        == entry.entry_hash
    )
    return render(
        request,
        "decisionlog/entry_detail.html",
        {"entry": entry, "content": content_text(entry.content), "intact": intact},
    )


def _verification_context():
    latest = verification_latest()
    return {
        "verification": latest,
        "running": latest is not None and latest.status == VerificationStatus.RUNNING,
        "head": chain_head(),
    }


@permission_required(VIEW_PERMISSION, raise_exception=True)
def verification(request):
    """The last verification's result and a button to run one now (a Celery task)."""
    context = _verification_context()
    if request.htmx:
        return render(request, "decisionlog/_verification_status.html", context)
    return render(request, "decisionlog/verification.html", context)


@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_POST
def verification_start(request):
    latest = verification_latest()
    if latest is not None and latest.status == VerificationStatus.RUNNING:
        messages.info(request, _("A verification is already running."))
    else:
        chain_verification_start(by=request.user)
        messages.success(request, _("Verification started."))
    return redirect("decisionlog:verification")


@permission_required(VIEW_PERMISSION, raise_exception=True)
def anchors(request):
    return render(request, "decisionlog/anchors.html", {"anchors": daily_anchors(), "head": chain_head()})
