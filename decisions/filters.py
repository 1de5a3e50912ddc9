"""The review queue's FilterSet."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from bnpl_admin.lists import BoundedDateRangeFilter
from orders.models import Channel, Merchant

from .models import OrderDecision
from .rules import REASON_LABELS, REFER_CODES


def _merchants(request):
    return Merchant.objects.order_by("name")


class ReviewQueueFilterSet(django_filters.FilterSet):
    requested = BoundedDateRangeFilter(field_name="requested_at", label=_("Requested from – to"))
    reason = django_filters.ChoiceFilter(
        label=_("Reason"),
        choices=[(code, REASON_LABELS[code]) for code in REFER_CODES],
        method="filter_reason",
    )
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Channel.choices)
    merchant = django_filters.ModelChoiceFilter(label=_("Merchant"), queryset=_merchants)
    is_trial = django_filters.BooleanFilter(
        label=_("Trial"),
        widget=forms.Select(choices=[("", "---------"), ("true", _("yes")), ("false", _("no"))]),
    )
    platform_user_id = django_filters.CharFilter(
        field_name="customer__platform_user_id", label=_("Platform user id"), max_length=64
    )

    class Meta:
        model = OrderDecision
        fields = ()

    def filter_reason(self, queryset, name, value):
        # The codes are stored as a JSON list; its text holds each code in quotes on every
        # database (JSON containment is PostgreSQL's alone).
        return queryset.filter(reason_codes__icontains=f'"{value}"') if value else queryset
