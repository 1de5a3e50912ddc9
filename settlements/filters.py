"""The approval queue's one FilterSet: status, kind, requester and the date of the request."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from bnpl_admin.lists import BoundedDateRangeFilter

from .models import ArrangementKind, ArrangementRequest, ArrangementStatus


class ArrangementFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ArrangementStatus.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=ArrangementKind.choices)
    case = django_filters.NumberFilter(
        label=_("Case"), field_name="case_id", min_value=1, max_value=2**31 - 1
    )
    requested = BoundedDateRangeFilter(label=_("Requested between"), field_name="requested_at__date")

    class Meta:
        model = ArrangementRequest
        fields = ("status", "kind", "case", "requested")
