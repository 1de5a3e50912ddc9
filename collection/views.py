"""Staff pages of the collections workbench: the case queue (with bulk assignment), the own queue,
the case page and its contact page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.masking import mask_phone
from accounts.names import person_name
from bnpl_admin.errors import DomainError
from bnpl_admin.lists import CONTROL_PARAMS, ObjectListView

from .filters import CaseQueueFilterSet

# --- Contacts under the conduct rules ---------------------------------------------------------
from .forms import BulkAssignForm, ContactForm
from .models import (
    QUEUE_PERMISSION,
    CollectionCase,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactParty,
)
from .selectors import (
    case_promise_summary,
    case_recent_contacts,
    cases_queue,
    contact_context,
    my_queue,
    promise_dates_allowed,
)
from .sentences import case_event_sentence
from .services import ASSIGN_PERMISSION, CaseError, cases_assign_bulk, contact_record
from .tables import CaseQueueTable, MyQueueTable


@permission_required("collections.add_contactattempt", raise_exception=True)
def case_contacts(request: HttpRequest, case_id: int) -> HttpResponse:
    """A case's contact page: may the customer be called now, the contact form, recent contacts.

    The case comes from the cases the user may see: another agent's case is a 404.
    """
    case = get_object_or_404(
        CollectionCase.objects.visible_to(request.user).select_related("customer", "assigned_agent"),
        pk=case_id,
    )
    customer = case.customer
    contacts = customer.emergency_contacts.order_by("id")
    form = ContactForm(
        request.POST if request.method == "POST" else None,
        contacts=contacts,
        promise_dates=promise_dates_allowed(),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact_record(
                case=case,
                agent=request.user,
                channel=data["channel"],
                party=data["party"],
                direction=data["direction"],
                outcome=data["outcome"],
                emergency_contact=data["emergency_contact"],
                summary=data["summary"],
                promise_amount=data["promise_amount"],
                promise_due=data["promise_due"],
            )
        except CaseError as refusal:
            form.add_error(getattr(refusal, "field", None), refusal.message)
        else:
            if data["outcome"] == ContactOutcome.PROMISE_MADE:
                messages.success(request, _("The contact and the promise to pay are recorded."))
            else:
                messages.success(request, _("The contact is recorded."))
            if request.htmx:  # a whole page, so the message shows and the form starts afresh
                # Back to the page the form was on: this one, or the case page it was opened from.
                here = reverse("collections:case_contacts", args=[case.pk])
                return HttpResponseClientRedirect(request.htmx.current_url_abs_path or here)
            return redirect("collections:case_contacts", case_id=case.pk)
    context = contact_context(customer=customer, now=timezone.now())
    outbound_call = {"channel": ContactChannel.PHONE, "direction": ContactDirection.OUTBOUND}
    emergency_contacts = list(contacts)
    banners = [
        (_("Call the debtor"), context.decide(party=ContactParty.DEBTOR, **outbound_call)),
        *(
            (
                _("Call %(name)s (emergency contact)") % {"name": contact.name},
                context.decide(party=ContactParty.EMERGENCY_CONTACT, contact_id=contact.pk, **outbound_call),
            )
            for contact in emergency_contacts
        ),
    ]
    # From htmx (the case page's actions, or this page's own form) the part that changes, alone;
    # a history restore (the back button) asks for the whole page.
    fragment = request.htmx and not request.htmx.history_restore_request
    return render(
        request,
        "collection/_case_contacts.html" if fragment else "collection/case_contacts.html",
        {
            "case": case,
            "customer_name": person_name(family=customer.name, given=""),
            "masked_phone": mask_phone(customer.phone),
            "can_reveal": request.user.has_perm("accounts.reveal_pii"),
            "profile": context.profile,
            "customer_zone": context.zone.key,
            "banners": banners,
            "form": form,
            "recent": case_recent_contacts(case=case),
            "promises": case_promise_summary(case),
        },
    )


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
    return render(
        request,
        "collection/case_detail.html",
        {"case": case, "events": events, "promises": case_promise_summary(case)},
    )


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
