"""Staff pages of the audit trail: the list, its CSV export, and the audited reveal of personal data."""

from __future__ import annotations

import csv

from django.apps import apps
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.paginators import LazyPaginator

from accounts.masking import FIELD_MASKERS, scrub_text
from bnpl_admin.errors import DomainError

from . import services
from .filters import AuditEventFilterSet
from .forms import RevealForm
from .models import AuditAction
from .selectors import audit_events_visible_to
from .tables import AuditEventTable, changes_text

VIEW_PERMISSION = "audit.view_auditevent"
EXPORT_MAX_ROWS = 20_000


class AuditPaginator(LazyPaginator):
    """Pages without a COUNT(*) over the whole trail; page size and depth bounded, so a
    hand-made ?per_page=0 or ?page=10**20 is page 1 rather than a database error."""

    MAX_PER_PAGE = 200
    MAX_PAGE = 10_000

    def __init__(self, object_list, per_page, **kwargs):
        super().__init__(object_list, min(max(int(per_page), 1), self.MAX_PER_PAGE), **kwargs)

    def validate_number(self, number):
        number = super().validate_number(number)
        if number > self.MAX_PAGE:
            raise EmptyPage(_("That page number is too large"))
        return number


class AuditEventListView(PermissionRequiredMixin, SingleTableMixin, FilterView):
    permission_required = VIEW_PERMISSION
    raise_exception = True
    filterset_class = AuditEventFilterSet
    table_class = AuditEventTable
    table_pagination = {"paginator_class": AuditPaginator}
    template_name = "audit/event_list.html"

    def get_queryset(self):
        return audit_events_visible_to(user=self.request.user)


@require_safe
@permission_required(VIEW_PERMISSION, raise_exception=True)
def audit_event_export(request):
    """The filtered list as CSV (newest first, at most EXPORT_MAX_ROWS rows); the export is audited."""
    filterset = AuditEventFilterSet(
        request.GET or None, queryset=audit_events_visible_to(user=request.user), request=request
    )
    if filterset.is_bound and not filterset.is_valid():
        errors = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    events = list(filterset.qs[: EXPORT_MAX_ROWS + 1])
    truncated = len(events) > EXPORT_MAX_ROWS
    events = events[:EXPORT_MAX_ROWS]
    services.audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        payload={
            "list": "audit events",
            "rows": len(events),
            "truncated": truncated,
            "filters": {name: value[:200] for name, value in request.GET.items() if value},
        },
        request=request,
    )

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
    response.write("\ufeff")  # so spreadsheet programs read the Chinese text as UTF-8
    writer = csv.writer(response)
    writer.writerow(
        [
            _("When"),
            _("Person"),
            _("Action"),
            _("Object type"),
            _("Object id"),
            _("Object"),
            _("Changes"),
            _("Reason"),
            _("IP address"),
            _("Browser"),
        ]
    )
    for event in events:
        writer.writerow(
            _csv_cell(value)
            for value in (
                timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                event.actor_username,
                event.get_action_display(),
                # The object type and the changed fields by their stored names, not the
                # page's labels: they are what an analysis of the file filters and joins
                # on, and they do not vary with the exporter's language or a reworded label.
                event.content_type.model if event.content_type else "",
                event.object_id,
                event.object_repr,
                "; ".join(changes_text(event)),
                event.reason,
                event.ip_address or "",
                event.user_agent,
            )
        )
    return response


def _csv_cell(value) -> str:
    """Masked again on the way out (the trail stores masked data), and never a spreadsheet formula."""
    text = scrub_text(str(value))
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


# --- Revealing personal data ---------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required(services.REVEAL_PERMISSION, raise_exception=True)
def pii_reveal(request, app_label: str, model: str, pk: int, field: str):
    """Asks for a reason; on a valid POST records the reveal and shows the full value once."""
    label = f"{app_label}.{model}".lower()
    if field not in services.REVEALABLE_FIELDS.get(label, ()):
        raise Http404
    model_class = apps.get_model(label)
    if not request.user.has_perm(f"{model_class._meta.app_label}.view_{model_class._meta.model_name}"):
        raise PermissionDenied
    obj = get_object_or_404(model_class, pk=pk)

    form = RevealForm(request.POST if request.method == "POST" else None)
    value = None
    if request.method == "POST" and form.is_valid():
        try:
            value = services.pii_reveal(
                user=request.user,
                obj=obj,
                field=field,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
    return render(
        request,
        "audit/reveal.html",
        {
            "object": obj,
            "field_label": model_class._meta.get_field(field).verbose_name,
            "masked_value": FIELD_MASKERS[field](getattr(obj, field)),
            "value": value,
            "form": form,
        },
    )
