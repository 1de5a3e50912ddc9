"""Staff pages of the collections workbench: the case queue (with bulk assignment) and the own queue."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from bnpl_admin.errors import DomainError
from bnpl_admin.lists import CONTROL_PARAMS, ObjectListView

from .filters import CaseQueueFilterSet
from .forms import BulkAssignForm
from .models import QUEUE_PERMISSION
from .selectors import cases_queue, my_queue
from .sentences import case_event_sentence
from .services import ASSIGN_PERMISSION, cases_assign_bulk
from .tables import CaseQueueTable, MyQueueTable

# The newest events a case page shows (the data admin has the whole timeline).
EVENTS_SHOWN = 100


def _filter_query(data: QueryDict) -> str:
    query = data.copy()
    for name in CONTROL_PARAMS:
        query.pop(name, None)
    return query.urlencode()


class CaseQueueView(ObjectListView):
    """Every open case its reader may see, worst first; managers assign the filtered cases."""

    selector = staticmethod(cases_queue)
    filterset_class = CaseQueueFilterSet
    table_class = CaseQueueTable
    permission_required = QUEUE_PERMISSION
    title = gettext_lazy("Case queue")
    description = gettext_lazy(
        "Open collection cases, worst first. Amounts overdue are what is left to pay on overdue instalments."
    )
    export_name = "case-queue"
    tools_template = "collection/_bulk_assign.html"

    def get_tools_context(self, filterset) -> dict:
        if not self.request.user.has_perm(ASSIGN_PERMISSION):
            return {}
        return {
            "assign_form": BulkAssignForm(initial={"query": _filter_query(self.request.GET)}),
            "assign_url": reverse("collections:case_assign_bulk"),
        }


class MyQueueView(ObjectListView):
    """The reader's own open cases, most urgent first by the dated priority weights."""

    selector = staticmethod(my_queue)
    filterset_class = CaseQueueFilterSet
    table_class = MyQueueTable
    permission_required = QUEUE_PERMISSION
    title = gettext_lazy("My queue")
    description = gettext_lazy(
        "Your open cases, most urgent first: amount overdue, days past due, broken promises and "
        "days since the last event, each weighted by the policy in force."
    )
    export_name = "my-queue"


@permission_required(QUEUE_PERMISSION, raise_exception=True)
def case_detail(request, pk: int):
    """One case and its timeline; a case the reader may not see is not found (404), not forbidden,
    so an id says nothing about another team's queue."""
    case = get_object_or_404(cases_queue(user=request.user), pk=pk)
    events = [
        (event, case_event_sentence(event.type, event.payload))
        for event in case.events.select_related("actor").order_by("-created_at", "-id")[:EVENTS_SHOWN]
    ]
    return render(request, "collection/case_detail.html", {"case": case, "events": events})


@permission_required(ASSIGN_PERMISSION, raise_exception=True)
@require_POST
def case_assign_bulk(request):
    """Assign every open case matching the queue's filters to a team (collection.services)."""
    form = BulkAssignForm(request.POST)
    # Back to the queue as it was filtered; the query re-encoded, so nothing typed reaches the header.
    query = QueryDict(request.POST.get("query", "")[:4000]).urlencode()
    back = f"{reverse('collections:case_queue')}?{query}" if query else reverse("collections:case_queue")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    filterset = CaseQueueFilterSet(
        QueryDict(form.cleaned_data["query"]) or None,
        queryset=cases_queue(user=request.user),
        request=request,
    )
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, _("The filters are not valid; nothing was assigned."))
        return redirect(back)
    team = form.cleaned_data["team"]
    try:
        count = cases_assign_bulk(
            cases=filterset.qs, team=team, method=form.cleaned_data["method"], by=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        ngettext(
            "%(count)s case assigned to the team %(team)s.",
            "%(count)s cases assigned to the team %(team)s.",
            count,
        )
        % {"count": count, "team": team.name},
    )
    return redirect(back)
