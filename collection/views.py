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
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts.masking import can_reveal_pii, mask_national_id, mask_phone, mask_recipient
from accounts.names import person_name
from bnpl_admin.errors import DomainError
from bnpl_admin.lists import CONTROL_PARAMS, ObjectListView

from .case_actions import case_actions_for
from .filters import CaseQueueFilterSet

# --- Contacts under the conduct rules ---------------------------------------------------------
from .forms import BulkAssignForm, CaseHoldForm, CaseNoteForm, CaseReassignForm, ContactForm
from .models import (
    CASE_TRANSITIONS,
    QUEUE_PERMISSION,
    CaseStatus,
    CollectionCase,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactParty,
)
from .selectors import (
    TimelineCursor,
    case_360,
    case_assignable_agents,
    case_promise_summary,
    case_recent_contacts,
    case_team_name,
    case_timeline,
    cases_queue,
    contact_context,
    my_queue,
    promise_dates_allowed,
)
from .services import (
    ASSIGN_PERMISSION,
    CaseError,
    case_assign,
    case_hold,
    case_note_add,
    case_release,
    cases_assign_bulk,
    contact_record,
)
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
            done = (
                _("The contact and the promise to pay are recorded.")
                if data["outcome"] == ContactOutcome.PROMISE_MADE
                else _("The contact is recorded.")
            )
            if _in_action_panel(
                request
            ):  # the case page's panel: a fresh form, and the page reloads its parts
                return _action_answer(
                    request,
                    case,
                    "collection/_contact_panel.html",
                    _contact_panel_context(case, contacts),
                    done=done,
                )
            messages.success(request, done)
            if request.htmx:  # a whole page, so the message shows and the form starts afresh
                # Back to the page the form was on: this one, or the case page it was opened from.
                here = reverse("collections:case_contacts", args=[case.pk])
                return HttpResponseClientRedirect(request.htmx.current_url_abs_path or here)
            return redirect("collections:case_contacts", case_id=case.pk)
    if _in_action_panel(request):
        return _action_answer(
            request, case, "collection/_contact_panel.html", _contact_panel_context(case, contacts, form=form)
        )
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


def _in_action_panel(request: HttpRequest) -> bool:
    """The contact form asked for by the case page (its action panel), not the contact page."""
    return bool(request.htmx) and request.htmx.target == ACTION_PANEL


def _contact_panel_context(case: CollectionCase, contacts, form: ContactForm | None = None) -> dict:
    """The contact form in the case page's panel, under the answer to "may the debtor be called now?"."""
    context = contact_context(customer=case.customer, now=timezone.now())
    decision = context.decide(
        party=ContactParty.DEBTOR, channel=ContactChannel.PHONE, direction=ContactDirection.OUTBOUND
    )
    return {
        "form": form or ContactForm(contacts=contacts),
        "debtor_call": decision,
        "profile": context.profile,
        "customer_zone": context.zone.key,
    }


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
        "days since the last contact attempt, each weighted by the policy in force."
    )
    export_name = "my-queue"


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


# --- Case page (customer 360, issue 11) -------------------------------------------------------
# One page per case: the reads are collection.selectors.case_360 and case_timeline; the actions
# (a contact, a note, a reassignment, a hold, and those other apps register in
# collection.case_actions) load their form into the page's action panel with htmx and, once
# done, send the "case-changed" event, on which the case's header and timeline reload.

CASE_CHANGED = "case-changed"
ACTION_PANEL = "case-action-panel"


def _visible_case(request: HttpRequest, case_id: int) -> CollectionCase:
    """The case if the reader may see it, open or closed; another team's case is a 404."""
    return get_object_or_404(
        CollectionCase.objects.visible_to(request.user).select_related(
            "customer__credit_line", "assigned_agent"
        ),
        pk=case_id,
    )


def _header_context(request: HttpRequest, case: CollectionCase) -> dict:
    user = request.user
    return {
        "case": case,
        "team_name": case_team_name(case=case),
        "actions": case_actions_for(user=user, case=case),
        "can_contact": case.is_open and user.has_perm("collections.add_contactattempt"),
        "can_assign": user.has_perm(ASSIGN_PERMISSION),
        "can_hold": case.is_open and case.status in HOLD_STATUSES,
        "on_hold": case.status == CaseStatus.ON_HOLD,
    }


@permission_required(QUEUE_PERMISSION, raise_exception=True)
def case_detail(request, pk: int):
    """The customer 360 of one case; a case the reader may not see is not found (404), not
    forbidden, so an id says nothing about another team's queue.

    With htmx, `?part=header` or `?part=timeline` (with `before`, a timeline cursor) answer only
    that part of the page: the action panel's "case-changed" event and "load more" ask for them.
    """
    case = _visible_case(request, pk)
    before = TimelineCursor.decode(request.GET.get("before"))
    part = request.GET.get("part") if request.htmx else None
    if part == "header":
        return render(request, "collection/_case_header.html", _header_context(request, case))
    timeline = case_timeline(customer=case.customer, before=before)
    timeline_context = {"case": case, "timeline": timeline, "timeline_more": before is not None}
    if part == "timeline":
        template = "collection/_timeline_entries.html" if before else "collection/_timeline.html"
        return render(request, template, timeline_context)
    data = case_360(case=case, user=request.user, show_all=request.GET.get("all") == "1")
    customer = case.customer
    return render(
        request,
        "collection/case_detail.html",
        {
            **_header_context(request, case),
            **timeline_context,
            "data": data,
            "customer_name": person_name(family=customer.name, given=""),
            "masked_phone": mask_phone(customer.phone),
            "masked_national_id": mask_national_id(customer.national_id),
            "emergency_contacts": [
                (contact, mask_phone(contact.phone)) for contact in data.emergency_contacts
            ],
            "can_reveal": can_reveal_pii(request.user),
            "reminders": [(reminder, mask_recipient(reminder.recipient)) for reminder in data.reminders],
            "action_panel": ACTION_PANEL,
        },
    )


def _action_answer(request, case, template: str, context: dict, *, done: str | None = None) -> HttpResponse:
    """An action's form: in the case page's panel with htmx (after success with the "case-changed"
    event), else as a whole page; a finished action without htmx goes back to the case page."""
    if done and not request.htmx:
        messages.success(request, done)
        return redirect("collections:case_detail", pk=case.pk)
    context = {"case": case, "done": done, "action_panel": ACTION_PANEL, **context}
    if request.htmx:
        response = render(request, template, context)
        if done:
            trigger_client_event(response, CASE_CHANGED, after="swap")
        return response
    return render(request, "collection/case_action_page.html", {**context, "fragment": template})


@permission_required(QUEUE_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_note(request, case_id: int):
    """Add a note to the case's timeline (collection.services.case_note_add)."""
    case = _visible_case(request, case_id)
    form = CaseNoteForm(request.POST if request.method == "POST" else None)
    done = None
    if request.method == "POST" and form.is_valid():
        try:
            case_note_add(case=case, by=request.user, text=form.cleaned_data["text"])
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            done, form = _("The note is added."), CaseNoteForm()
    return _action_answer(request, case, "collection/_case_note_form.html", {"form": form}, done=done)


@permission_required(ASSIGN_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_reassign(request, case_id: int):
    """Give the case to another agent (collection.services.case_assign): managers only."""
    case = _visible_case(request, case_id)
    agents = case_assignable_agents()
    form = CaseReassignForm(
        request.POST if request.method == "POST" else None,
        agents=agents,
        initial={"agent": case.assigned_agent_id},
    )
    done = None
    if request.method == "POST" and form.is_valid():
        agent = form.cleaned_data["agent"]
        try:
            case_assign(case=case, agent=agent, by=request.user, reason=form.cleaned_data["reason"])
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            done = (
                _("The case is assigned to %(agent)s.") % {"agent": agent.get_full_name() or agent.username}
                if agent is not None
                else _("The case is back in the pool.")
            )
    return _action_answer(request, case, "collection/_case_reassign_form.html", {"form": form}, done=done)


# Statuses a person may put on hold from the case page (CASE_TRANSITIONS allows on hold), and off it.
HOLD_STATUSES = {status for status, targets in CASE_TRANSITIONS.items() if CaseStatus.ON_HOLD in targets} | {
    CaseStatus.ON_HOLD
}


@permission_required(QUEUE_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_hold_toggle(request, case_id: int):
    """Put the case on hold, or release it, with a reason (case_hold / case_release)."""
    case = _visible_case(request, case_id)
    releasing = case.status == CaseStatus.ON_HOLD
    form = CaseHoldForm(request.POST if request.method == "POST" else None)
    done = None
    if request.method == "POST" and form.is_valid():
        service = case_release if releasing else case_hold
        try:
            case = service(case=case, by=request.user, reason=form.cleaned_data["reason"])
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            done = _("The case is released from hold.") if releasing else _("The case is on hold.")
            form = CaseHoldForm()
    return _action_answer(
        request,
        case,
        "collection/_case_hold_form.html",
        {
            "form": form,
            "releasing": releasing,
            "refused": not case.is_open or case.status not in HOLD_STATUSES,
        },
        done=done,
    )
