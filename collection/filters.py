"""The case queue's one FilterSet, shared by the queue and the agent's own queue."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import DateRangeWidget

from accounts.roles import Role
from bnpl_admin.lists import BoundedDateRangeFilter
from bnpl_admin.money import MONEY_MAX

from .models import CLOSED_CASE_STATUSES, AssignmentRule, Bucket, CaseStatus, CollectionCase, Team

# Days past due fit in a PositiveIntegerField; more is a form error, not an overflow.
MAX_DPD = 100_000
OPEN_STATUSES = [(value, label) for value, label in CaseStatus.choices if value not in CLOSED_CASE_STATUSES]


class _DpdRangeField(django_filters.fields.RangeField):
    """A from–to range of days past due the column can compare: whole, not negative, bounded."""

    def __init__(self, **kwargs):
        bounds = {"min_value": 0, "max_value": MAX_DPD, "required": False}
        super().__init__(fields=(forms.IntegerField(**bounds), forms.IntegerField(**bounds)), **kwargs)


class _MoneyRangeField(django_filters.fields.RangeField):
    """A from–to range of amounts: finite, two places, within what the column holds."""

    def __init__(self, **kwargs):
        bounds = {
            "min_value": 0,
            "max_value": MONEY_MAX,
            "max_digits": 14,
            "decimal_places": 2,
            "required": False,
        }
        super().__init__(fields=(forms.DecimalField(**bounds), forms.DecimalField(**bounds)), **kwargs)


class _DpdRangeFilter(django_filters.RangeFilter):
    field_class = _DpdRangeField


class _MoneyRangeFilter(django_filters.RangeFilter):
    field_class = _MoneyRangeField


def _agents(request):
    """Who may hold cases: the collections agents and the members of a team."""
    members = Team.members.through.objects.values("user")
    return (
        get_user_model()
        .objects.filter(Q(groups__name=Role.COLLECTIONS_AGENT) | Q(pk__in=members), is_active=True)
        .distinct()
        .order_by("username")
    )


def _teams(request):
    return Team.objects.order_by("name")


class CaseQueueFilterSet(django_filters.FilterSet):
    bucket = django_filters.ChoiceFilter(label=_("Bucket"), choices=Bucket.choices)
    dpd = _DpdRangeFilter(field_name="days_past_due", label=_("Days past due from – to"))
    amount_overdue = _MoneyRangeFilter(label=_("Amount overdue from – to"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=OPEN_STATUSES)
    agent = django_filters.ModelChoiceFilter(
        field_name="assigned_agent", label=_("Assigned agent"), queryset=_agents
    )
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=_teams, method="filter_team")
    province = django_filters.CharFilter(field_name="customer__province", label=_("Province"), max_length=50)
    city = django_filters.CharFilter(field_name="customer__city", label=_("City"), max_length=50)
    on_hold = django_filters.BooleanFilter(
        label=_("On hold"),
        widget=forms.Select(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))]),
    )
    opened = BoundedDateRangeFilter(
        field_name="opened_at", label=_("Opened from – to"), widget=DateRangeWidget(attrs={"type": "date"})
    )

    class Meta:
        model = CollectionCase
        fields = (
            "bucket",
            "dpd",
            "amount_overdue",
            "status",
            "agent",
            "team",
            "province",
            "city",
            "on_hold",
            "opened",
        )

    def filter_team(self, queryset, name, team):
        if not team:
            return queryset
        return queryset.filter(assigned_agent__in=team.members.values("pk"))


# --- Assignment rules by bucket ------------------------------------------------------------------


class AssignmentRuleFilterSet(django_filters.FilterSet):
    bucket = django_filters.ChoiceFilter(label=_("Bucket"), choices=Bucket.choices)
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=_teams)
    active = django_filters.BooleanFilter(
        label=_("In force"),
        widget=forms.Select(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))]),
    )

    class Meta:
        model = AssignmentRule
        fields = ("bucket", "team", "active")
