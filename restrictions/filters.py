"""The restriction jobs' FilterSet."""

import django_filters
from django.utils.translation import gettext_lazy as _

from bnpl_admin.lists import BoundedDateRangeFilter

from .models import RestrictionAction, RestrictionJob, RestrictionJobStatus


class RestrictionJobFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=RestrictionJobStatus.choices)
    action = django_filters.ChoiceFilter(label=_("Action"), choices=RestrictionAction.choices)
    requested = BoundedDateRangeFilter(label=_("Requested between"), field_name="requested_at")

    class Meta:
        model = RestrictionJob
        fields = ["status", "action", "requested"]
