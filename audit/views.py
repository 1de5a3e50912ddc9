"""Staff pages of the audit trail: the list (with its CSV export), and the audited reveal of personal data."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.masking import FIELD_MASKERS, scrub_text
from bnpl_admin.errors import DomainError
from bnpl_admin.lists import ObjectListView

from . import services
from .filters import AuditEventFilterSet
from .forms import RevealForm
from .selectors import audit_events_visible_to
from .tables import AuditEventTable

VIEW_PERMISSION = "audit.view_auditevent"


class AuditEventListView(ObjectListView):
    """The trail: the worked example of bnpl_admin.lists (docs/architecture.md)."""

    selector = staticmethod(audit_events_visible_to)
    filterset_class = AuditEventFilterSet
    table_class = AuditEventTable
    permission_required = VIEW_PERMISSION
    title = _("Audit trail")
    description = _(
        "Sign-ins, changes, reveals of personal data and exports, newest first. "
        "Phone numbers and identity numbers are masked."
    )
    export_name = "audit-events"

    def clean_export_cell(self, text: str) -> str:
        # The trail stores personal data masked; masked again on the way out all the same.
        return super().clean_export_cell(scrub_text(text))


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
