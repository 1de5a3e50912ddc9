"""Staff pages of home visits: the case actions that request one and cancel it, the managers'
requests and decision page, the field agent's day and visit page (with the managers' cancel
button), and the one door to a visit's photos."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from bnpl_admin.dates import business_date
from bnpl_admin.errors import DomainError
from bnpl_admin.htmx import redirect_after_action
from bnpl_admin.lists import ObjectListView
from collection.models import CollectionCase

from .filters import RequestedVisitFilterSet
from .forms import (
    PositionForm,
    VisitApproveForm,
    VisitCancelForm,
    VisitOutcomeForm,
    VisitRejectForm,
    VisitRequestForm,
)
from .models import (
    APPROVE_PERMISSION,
    CHECK_IN_PERMISSION,
    OUTCOME_PERMISSION,
    REQUEST_PERMISSION,
    Visit,
    VisitPhoto,
    VisitStatus,
)
from .selectors import (
    case_cancellable_visit,
    case_is_eligible,
    visit_for,
    visit_zone,
    visits_of_the_day,
    visits_requested,
)
from .services import (
    Position,
    visit_approve,
    visit_cancel,
    visit_cancel_refusal,
    visit_check_in,
    visit_check_out,
    visit_may_cancel,
    visit_record_outcome,
    visit_reject,
    visit_request,
)
from .tables import RequestedVisitTable, masked_area

# --- The case action: request a visit ------------------------------------------------------------


@permission_required(REQUEST_PERMISSION, raise_exception=True)
def visit_request_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case page's "Request a home visit": a fragment for htmx, a whole page otherwise."""
    case = get_object_or_404(
        CollectionCase.objects.visible_to(request.user).select_related("customer"), pk=case_id
    )
    may_decide = request.user.has_perm(APPROVE_PERMISSION)
    form = VisitRequestForm(request.POST if request.method == "POST" else None, may_decide=may_decide)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                visit_request(
                    case=case,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    proposed_date=form.cleaned_data["proposed_date"],
                    manager_decision=form.cleaned_data.get("manager_decision", False),
                )
            except DomainError as refusal:
                form.add_error(None, refusal.message)
            else:
                messages.success(request, _("The home visit is requested; a manager decides on it."))
                return redirect_after_action(request, reverse("collections:case_detail", args=[case.pk]))
        status = 422 if request.htmx else 200
    context = {
        "case": case,
        "form": form,
        "eligible": case_is_eligible(case),
        "may_decide": may_decide,
        "area": masked_area(case.customer),
    }
    template = "visits/_request_form.html" if request.htmx else "visits/request.html"
    return render(request, template, context, status=status)


# --- The case action: cancel the case's visit ------------------------------------------------------------


@permission_required(REQUEST_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def visit_case_cancel_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case page's "Cancel the home visit": the case's visit not yet started, for who may cancel
    it (visits.services.visit_may_cancel); a fragment for htmx, a whole page otherwise. Another
    team's case is a 404; a POST by anyone who may not cancel its visit is a 403."""
    case = get_object_or_404(
        CollectionCase.objects.visible_to(request.user).select_related("customer"), pk=case_id
    )
    visit = case_cancellable_visit(case_id=case.pk)
    if visit is not None and not visit_may_cancel(visit=visit, user=request.user):
        visit = None
    form = VisitCancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if visit is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                visit_cancel(visit=visit, by=request.user, reason=form.cleaned_data["reason"])
            except DomainError as refusal:
                form.add_error(None, refusal.message)
            else:
                messages.success(request, _("The home visit is cancelled."))
                return redirect_after_action(request, reverse("collections:case_detail", args=[case.pk]))
    context = {"case": case, "visit": visit, "form": form}
    if visit is not None and visit.scheduled_for is not None:
        context["scheduled_local"] = _local(visit.scheduled_for, visit_zone(case.customer), "%Y-%m-%d %H:%M")
    template = "visits/_cancel_form.html" if request.htmx else "visits/cancel.html"
    return render(request, template, context)


# --- Managers: the requests and the decision ----------------------------------------------------------


class RequestedVisitsView(ObjectListView):
    """Home visits waiting for a manager's decision, oldest request first."""

    selector = staticmethod(visits_requested)
    filterset_class = RequestedVisitFilterSet
    table_class = RequestedVisitTable
    permission_required = APPROVE_PERMISSION
    title = gettext_lazy("Home visits requested")
    description = gettext_lazy(
        "Requests for a home visit waiting for a decision. Approve with two field agents and a time "
        "between 09:00 and 20:00 in the customer's time zone, or reject with a reason."
    )
    export_name = "visit-requests"


@permission_required(APPROVE_PERMISSION, raise_exception=True)
def visit_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """One request: approve it (two field agents, a date and a local time) or reject it with a reason."""
    try:
        visit = visit_for(user=request.user, pk=pk)
    except Visit.DoesNotExist as exc:
        raise Http404 from exc
    zone = visit_zone(visit.customer)
    action = request.POST.get("action") if request.method == "POST" else None
    approve_form = VisitApproveForm(
        request.POST if action == "approve" else None,
        zone=zone,
        initial={"date": visit.proposed_date, "time": "10:00"},
    )
    reject_form = VisitRejectForm(request.POST if action == "reject" else None)
    if action == "approve" and approve_form.is_valid():
        data = approve_form.cleaned_data
        try:
            visit_approve(
                visit=visit,
                by=request.user,
                field_agents=[data["field_agent_1"], data["field_agent_2"]],
                scheduled_for=data["scheduled_for"],
                reason=data["note"],
            )
        except DomainError as refusal:
            approve_form.add_error(None, refusal.message)
        else:
            messages.success(request, _("The home visit is approved and scheduled."))
            return redirect("visits:requested")
    elif action == "reject" and reject_form.is_valid():
        try:
            visit_reject(visit=visit, by=request.user, reason=reject_form.cleaned_data["reason"])
        except DomainError as refusal:
            reject_form.add_error(None, refusal.message)
        else:
            messages.success(request, _("The home visit is rejected."))
            return redirect("visits:requested")
    return render(
        request,
        "visits/decide.html",
        {
            "visit": visit,
            "zone": zone.key,
            "area": masked_area(visit.customer),
            "approve_form": approve_form,
            "reject_form": reject_form,
            "own_request": visit.requested_by_id == request.user.pk,
            "open": visit.status == VisitStatus.REQUESTED,
        },
    )


# --- Field agents: the day and the visit ----------------------------------------------------------------


@permission_required(CHECK_IN_PERMISSION, raise_exception=True)
def visits_today(request: HttpRequest) -> HttpResponse:
    """The field agent's visits of today, in a suggested route order, with their addresses."""
    today = business_date()
    visits = visits_of_the_day(user=request.user, day=today, zone=timezone.get_default_timezone())
    rows = []
    for n, visit in enumerate(visits, start=1):
        zone = visit_zone(visit.customer)
        # The time at the customer's door, in the customer's own zone (the visiting hours are theirs).
        rows.append(
            {
                "visit": visit,
                "number": n,
                "zone": zone.key,
                "local": _local(visit.scheduled_for, zone, "%H:%M"),
            }
        )
    return render(request, "visits/today.html", {"rows": rows, "today": today})


def _local(moment, zone, pattern: str) -> str:
    """A moment as the customer's clock shows it: formatted here, because the template filters would
    turn an aware moment back into the reader's zone."""
    return moment.astimezone(zone).strftime(pattern) if moment is not None else ""


def _visit_or_404(request: HttpRequest, pk: int) -> Visit:
    try:
        return visit_for(user=request.user, pk=pk)
    except Visit.DoesNotExist as exc:
        raise Http404 from exc


@permission_required("visits.view_visit", raise_exception=True)
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One visit: the address for its own field agents only, the steps at the door, the evidence."""
    visit = _visit_or_404(request, pk)
    return _detail(request, visit)


def _detail(request, visit: Visit, *, outcome_form=None, cancel_form=None, status: int = 200) -> HttpResponse:
    assigned = visit.is_assigned_to(request.user)
    zone = visit_zone(visit.customer)
    customer = visit.customer
    context = {
        "visit": visit,
        "assigned": assigned,
        "zone": zone.key,
        "scheduled_local": _local(visit.scheduled_for, zone, "%Y-%m-%d %H:%M"),
        "address": customer.address if assigned else masked_area(customer),
        "photos": list(visit.photos.all()),
        "may_check_in": assigned
        and request.user.has_perm(CHECK_IN_PERMISSION)
        and visit.status == VisitStatus.SCHEDULED,
        "may_check_out": assigned
        and request.user.has_perm(CHECK_IN_PERMISSION)
        and visit.check_in_at is not None
        and visit.check_out_at is None,
        "may_record": assigned
        and request.user.has_perm(OUTCOME_PERMISSION)
        and visit.status == VisitStatus.CHECKED_IN,
        "outcome_form": outcome_form or VisitOutcomeForm(),
        "may_see_photos": request.user.has_perm("visits.view_visitphoto"),
        "may_cancel": visit_may_cancel(visit=visit, user=request.user),
        "cancel_form": cancel_form or VisitCancelForm(),
    }
    return render(request, "visits/detail.html", context, status=status)


def _position(request) -> Position | None:
    form = PositionForm(request.POST)
    if not form.is_valid():
        raise DomainError(
            " ".join(str(e) for errors in form.errors.values() for e in errors), code="bad_position"
        )
    data = form.cleaned_data
    if data["latitude"] is None or data["longitude"] is None:
        return None  # the browser refused (or could not give) the position: recorded as refused
    return Position(latitude=data["latitude"], longitude=data["longitude"], accuracy=data["accuracy"])


def _at_the_door(request: HttpRequest, pk: int, service, done_message: str) -> HttpResponse:
    visit = _visit_or_404(request, pk)
    try:
        service(visit=visit, by=request.user, at=timezone.now(), position=_position(request))
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, done_message)
    return redirect("visits:detail", pk=visit.pk)


@permission_required(CHECK_IN_PERMISSION, raise_exception=True)
@require_POST
def visit_check_in_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _at_the_door(request, pk, visit_check_in, _("Checked in."))


@permission_required(CHECK_IN_PERMISSION, raise_exception=True)
@require_POST
def visit_check_out_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _at_the_door(request, pk, visit_check_out, _("Checked out."))


@permission_required(OUTCOME_PERMISSION, raise_exception=True)
@require_POST
def visit_outcome_view(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit_or_404(request, pk)
    form = VisitOutcomeForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            visit_record_outcome(
                visit=visit,
                by=request.user,
                outcome=data["outcome"],
                notes=data["notes"],
                photos=data["photos"],
            )
        except DomainError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, _("The outcome is recorded."))
            return redirect("visits:detail", pk=visit.pk)
    return _detail(request, visit, outcome_form=form, status=422)


# --- Managers: cancel a visit from its page or from the requests ---------------------------------------


@permission_required(APPROVE_PERMISSION, raise_exception=True)
@require_POST
def visit_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a visit not yet started, with a reason (visits.services.visit_cancel): the visit page's
    and the requests page's button. Back to the requests when asked from there; a blank reason
    shows the visit page with the form and its message; a refusal comes back as a message."""
    visit = _visit_or_404(request, pk)
    form = VisitCancelForm(request.POST)
    refusal = visit_cancel_refusal(visit=visit, user=request.user)
    if refusal is not None:
        messages.error(request, refusal.message)
    elif not form.is_valid():
        return _detail(request, visit, cancel_form=form)
    else:
        try:
            visit_cancel(visit=visit, by=request.user, reason=form.cleaned_data["reason"])
        except DomainError as refused:  # the visit moved on meanwhile
            messages.error(request, refused.message)
        else:
            messages.success(request, _("The home visit is cancelled."))
    if request.POST.get("back") == "requested":
        return redirect("visits:requested")
    return redirect("visits:detail", pk=visit.pk)


# --- The one door to a photo ----------------------------------------------------------------------


@never_cache
@permission_required("visits.view_visitphoto", raise_exception=True)
def visit_photo(request: HttpRequest, photo_id: int) -> FileResponse:
    """A visit's photo, to those who may see that visit (its field agents, the managers); 404 for
    anyone else. Never cached, never sniffed into another type, shown inline."""
    photo = get_object_or_404(
        VisitPhoto.objects.filter(visit__in=Visit.objects.visible_to(request.user)), pk=photo_id
    )
    try:
        handle = photo.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    extension = photo.file.name.rsplit(".", 1)[-1]
    response = FileResponse(handle, content_type=photo.content_type)
    response["Content-Disposition"] = (
        f'inline; filename="visit-{photo.visit_id}-photo-{photo.pk}.{extension}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store, max-age=0"
    return response
