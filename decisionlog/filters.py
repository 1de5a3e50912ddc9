"""The decision log's FilterSet: kind, subject, date range."""

import django_filters
from django.utils.translation import gettext_lazy as _

from bnpl_admin.lists import BoundedDateRangeFilter

from .models import DecisionKind, DecisionLogEntry


class DecisionLogFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=DecisionKind.choices)
    # A subject exactly ("accounts.creditline:42") or its type ("accounts.creditline:"), by prefix,
    # which the subject's index serves.
    subject = django_filters.CharFilter(label=_("Subject"), lookup_expr="startswith", max_length=80)
    recorded = BoundedDateRangeFilter(label=_("Recorded between"), field_name="recorded_at")

    class Meta:
        model = DecisionLogEntry
        fields = ["kind", "subject", "recorded"]
