"""The risk console's FilterSets, one per list."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from accounts.models import Grade
from bnpl_admin.lists import BoundedDateRangeFilter

from .models import CustomerScore, LimitChange, ScorecardVersion, VersionStatus


class ScorecardVersionFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=VersionStatus.choices)
    created = BoundedDateRangeFilter(label=_("Created"), field_name="created_at__date")

    class Meta:
        model = ScorecardVersion
        fields = ["status"]


class CustomerScoreFilterSet(django_filters.FilterSet):
    grade = django_filters.ChoiceFilter(label=_("Grade"), choices=Grade.choices)
    business_date = BoundedDateRangeFilter(label=_("Date"))
    customer = django_filters.CharFilter(
        label=_("Platform user id"),
        field_name="customer__platform_user_id",
        lookup_expr="exact",
        max_length=64,
    )

    class Meta:
        model = CustomerScore
        fields = ["grade"]


class PendingLimitFilterSet(django_filters.FilterSet):
    proposed = BoundedDateRangeFilter(label=_("Proposed"), field_name="proposed_at__date")
    new_grade = django_filters.ChoiceFilter(label=_("Grade"), choices=Grade.choices)

    class Meta:
        model = LimitChange
        fields = ["new_grade"]
