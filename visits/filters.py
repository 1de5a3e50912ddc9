"""The FilterSet of the managers' list of visit requests."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import DateRangeWidget

from bnpl_admin.lists import BoundedDateRangeFilter
from collection.models import Bucket

from .models import Visit


def _requesters(request):
    return get_user_model().objects.filter(visits_requested__isnull=False).distinct().order_by("username")


class RequestedVisitFilterSet(django_filters.FilterSet):
    bucket = django_filters.ChoiceFilter(field_name="case__bucket", label=_("Bucket"), choices=Bucket.choices)
    requested_by = django_filters.ModelChoiceFilter(label=_("Requested by"), queryset=_requesters)
    province = django_filters.CharFilter(field_name="customer__province", label=_("Province"), max_length=50)
    city = django_filters.CharFilter(field_name="customer__city", label=_("City"), max_length=50)
    requested = BoundedDateRangeFilter(
        field_name="requested_at",
        label=_("Requested from – to"),
        widget=DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = Visit
        fields = ("bucket", "requested_by", "province", "city", "requested")
