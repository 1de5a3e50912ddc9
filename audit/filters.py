"""The audit trail's one FilterSet: person, object type and id, action, date range."""

from __future__ import annotations

import django_filters
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import DateRangeWidget

from bnpl_admin.lists import BoundedDateRangeFilter

from .models import AuditAction, AuditEvent


def audited_models() -> list[type]:
    """The models whose changes reach the trail: those with a django-simple-history table."""
    return [m for m in apps.get_models() if hasattr(m._meta, "simple_history_manager_attribute")]


def _object_types(request):
    types = ContentType.objects.get_for_models(*audited_models(), for_concrete_models=False)
    return ContentType.objects.filter(pk__in=[t.pk for t in types.values()]).order_by("app_label", "model")


class AuditEventFilterSet(django_filters.FilterSet):
    person = django_filters.CharFilter(
        field_name="actor_username",
        label=_("Person"),
        max_length=150,
        help_text=_("Exact username; for a failed sign-in, the name that was tried."),
    )
    object_type = django_filters.ModelChoiceFilter(
        field_name="content_type",
        label=_("Object type"),
        queryset=_object_types,
    )
    object_id = django_filters.CharFilter(label=_("Object id"), max_length=64)
    action = django_filters.ChoiceFilter(label=_("Action"), choices=AuditAction.choices)
    date = BoundedDateRangeFilter(
        field_name="created_at",
        label=_("Date from – to"),
        widget=DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEvent
        fields = ("person", "object_type", "object_id", "action", "date")
