"""The audit trail's one FilterSet: person, object type and id, action, date range."""

from __future__ import annotations

import django_filters
from django import forms
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _
from django_filters.fields import DateRangeField
from django_filters.widgets import DateRangeWidget

from .models import AuditAction, AuditEvent


class _BoundedDateRangeField(DateRangeField):
    """A date range the database can hold: 0001-01-01 in Shanghai is before year 1 in UTC."""

    FIRST_YEAR, LAST_YEAR = 1970, 2999

    def compress(self, data_list):
        for day in data_list or ():
            if day and not self.FIRST_YEAR <= day.year <= self.LAST_YEAR:
                raise forms.ValidationError(
                    _("Give a date between %(first)s and %(last)s."),
                    code="out_of_range",
                    params={"first": self.FIRST_YEAR, "last": self.LAST_YEAR},
                )
        return super().compress(data_list)


class _DateRangeFilter(django_filters.DateFromToRangeFilter):
    field_class = _BoundedDateRangeField


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
    date = _DateRangeFilter(
        field_name="created_at",
        label=_("Date from – to"),
        widget=DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEvent
        fields = ("person", "object_type", "object_id", "action", "date")
