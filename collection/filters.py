"""The case queue's one FilterSet, shared by the queue and the agent's own queue."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import DateRangeWidget

from accounts.roles import Role
from bnpl_admin.lists import BoundedDateRangeFilter
from bnpl_admin.money import MONEY_MAX
from orders.models import Channel as OrderChannel
from orders.models import Installment, InstallmentStatus, Merchant

from .models import (
    CLOSED_CASE_STATUSES,
    AssignmentRule,
    Bucket,
    CaseStatus,
    CollectionCase,
    ContactOutcome,
    Promise,
    PromiseStatus,
    Team,
)
from .selectors import broken_promises, last_contact

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


# A count of promises fits well under this; more is a form error, not an overflow.
MAX_PROMISE_COUNT = 1000


class _CountField(forms.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_PROMISE_COUNT)
        super().__init__(**kwargs)


class _CountFilter(django_filters.NumberFilter):
    field_class = _CountField


def _merchant_categories():
    """The merchants' categories (a short list: merchants are few), in order."""
    categories = Merchant.objects.order_by("category").values_list("category", flat=True).distinct()
    return [(category, category) for category in categories]


def _day_bounds(value) -> tuple:
    """A from–to range of the BoundedDateRangeFilter (aware start and end of days) as dates."""
    start = timezone.localtime(value.start).date() if value.start else None
    stop = timezone.localtime(value.stop).date() if value.stop else None
    return start, stop


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
    # --- Promises to pay, last contact, where the debt comes from ---
    promise_due = BoundedDateRangeFilter(
        label=_("Promise due from – to"),
        method="filter_promise_due",
        widget=DateRangeWidget(attrs={"type": "date"}),
    )
    broken_promises = _CountFilter(label=_("Broken promises, at least"), method="filter_broken_promises")
    last_contact = BoundedDateRangeFilter(
        label=_("Last contact from – to"),
        method="filter_last_contact",
        widget=DateRangeWidget(attrs={"type": "date"}),
    )
    last_contact_outcome = django_filters.ChoiceFilter(
        label=_("Last contact outcome"), choices=ContactOutcome.choices, method="filter_last_contact_outcome"
    )
    channel = django_filters.ChoiceFilter(
        label=_("Order channel"), choices=OrderChannel.choices, method="filter_overdue_orders"
    )
    merchant_category = django_filters.ChoiceFilter(
        label=_("Merchant category"), choices=_merchant_categories, method="filter_overdue_orders"
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
            "promise_due",
            "broken_promises",
            "last_contact",
            "last_contact_outcome",
            "channel",
            "merchant_category",
        )

    def filter_team(self, queryset, name, team):
        if not team:
            return queryset
        return queryset.filter(assigned_agent__in=team.members.values("pk"))

    # --- Promises to pay, last contact, where the debt comes from ---

    def filter_promise_due(self, queryset, name, value):
        """Cases with a pending promise falling due in the range."""
        if not value:
            return queryset
        start, stop = _day_bounds(value)
        promises = Promise.objects.filter(case=OuterRef("pk"), status=PromiseStatus.PENDING)
        if start:
            promises = promises.filter(due_date__gte=start)
        if stop:
            promises = promises.filter(due_date__lte=stop)
        return queryset.filter(Exists(promises))

    def filter_broken_promises(self, queryset, name, value):
        if not value:  # at least none: every case
            return queryset
        queryset = queryset.annotate(broken_promise_count=broken_promises())
        return queryset.filter(broken_promise_count__gte=value)

    def filter_last_contact(self, queryset, name, value):
        """Cases whose latest contact (of any outcome) was in the range, on the contacts' (case, at) index."""
        if not value:
            return queryset
        queryset = queryset.annotate(last_contact_at=last_contact("at"))
        if value.start:
            queryset = queryset.filter(last_contact_at__gte=value.start)
        if value.stop:
            queryset = queryset.filter(last_contact_at__lte=value.stop)
        return queryset

    def filter_last_contact_outcome(self, queryset, name, value):
        if not value:
            return queryset
        queryset = queryset.annotate(last_contact_outcome=last_contact("outcome"))
        return queryset.filter(last_contact_outcome=value)

    def filter_overdue_orders(self, queryset, name, value):
        """Cases of customers with money overdue on an order of that channel, or from a merchant of
        that category: the orders the case collects."""
        if not value:
            return queryset
        field = {"channel": "order__channel", "merchant_category": "order__merchant__category"}[name]
        overdue = Installment.objects.filter(
            customer=OuterRef("customer_id"), status=InstallmentStatus.OVERDUE, **{field: value}
        )
        return queryset.filter(Exists(overdue))


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
