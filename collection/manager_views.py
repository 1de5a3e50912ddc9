"""The collections managers' pages: the assignment rules by bucket (list, add, edit, deactivate)
and the manager view of agents' and teams' performance, with its chart and CSV export."""

from __future__ import annotations

import csv
import io

import django_filters
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.widgets import DateRangeWidget

from audit import services as audit_services
from audit.models import AuditAction
from bnpl_admin.errors import DomainError
from bnpl_admin.lists import BoundedDateRangeFilter, ObjectListView, spreadsheet_safe

from .assignment import (
    RULE_ADD_PERMISSION,
    RULE_CHANGE_PERMISSION,
    assignment_rule_create,
    assignment_rule_update,
    assignment_rules_list,
)
from .filters import AssignmentRuleFilterSet
from .forms import AssignmentRuleForm
from .models import AssignmentRule, CollectionCase
from .performance import MAX_DAYS, PERFORMANCE_PERMISSION, collections_performance, default_period
from .tables import AssignmentRuleTable

# --- Assignment rules by bucket ------------------------------------------------------------------


class AssignmentRuleListView(ObjectListView):
    """Every assignment rule, by bucket then order; managers add and edit them here."""

    selector = staticmethod(assignment_rules_list)
    filterset_class = AssignmentRuleFilterSet
    table_class = AssignmentRuleTable
    permission_required = (
        RULE_CHANGE_PERMISSION  # the keepers of the rules (operations admins read them in the data admin)
    )
    title = gettext_lazy("Assignment rules")
    description = gettext_lazy(
        "After each nightly sweep, the first active rule of a bucket whose team has members assigns "
        "that bucket's unassigned cases, and the cases that moved into the bucket since they were "
        "last assigned, to the team's members."
    )
    export_name = "assignment-rules"
    tools_template = "collection/_assignment_rule_tools.html"

    def get_tools_context(self, filterset) -> dict:
        if not self.request.user.has_perm(RULE_ADD_PERMISSION):
            return {}
        return {"add_rule_url": reverse("collections:assignment_rule_add")}


def _rule_form_page(
    request: HttpRequest, form: AssignmentRuleForm, rule: AssignmentRule | None
) -> HttpResponse:
    return render(request, "collection/assignment_rule_form.html", {"form": form, "rule": rule})


def _save_rule(request: HttpRequest, form: AssignmentRuleForm, rule: AssignmentRule | None) -> HttpResponse:
    data = form.cleaned_data
    fields = {
        "bucket": data["bucket"],
        "team": data["team"],
        "method": data["method"],
        "ordering": data["ordering"],
        "active": data["active"],
    }
    try:
        if rule is None:
            assignment_rule_create(by=request.user, **fields)
        else:
            assignment_rule_update(rule=rule, by=request.user, **fields)
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _rule_form_page(request, form, rule)
    messages.success(request, _("The assignment rule is saved."))
    return redirect("collections:assignment_rules")


@permission_required(RULE_ADD_PERMISSION, raise_exception=True)
def assignment_rule_add(request: HttpRequest) -> HttpResponse:
    form = AssignmentRuleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        return _save_rule(request, form, None)
    return _rule_form_page(request, form, None)


@permission_required(RULE_CHANGE_PERMISSION, raise_exception=True)
def assignment_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule.objects.select_related("team"), pk=pk)
    initial = {
        "bucket": rule.bucket,
        "team": rule.team,
        "method": rule.method,
        "ordering": rule.ordering,
        "active": rule.active,
    }
    form = AssignmentRuleForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        return _save_rule(request, form, rule)
    return _rule_form_page(request, form, rule)


# --- The manager view ------------------------------------------------------------------------------


class PerformancePeriodFilterSet(django_filters.FilterSet):
    """Only the period: the figures are computed by collection.performance, not filtered rows."""

    period = BoundedDateRangeFilter(
        label=gettext_lazy("From – to"), method="keep", widget=DateRangeWidget(attrs={"type": "date"})
    )

    class Meta:
        model = CollectionCase
        fields = ("period",)

    def keep(self, queryset, name, value):
        return queryset


def _period(request: HttpRequest) -> tuple[PerformancePeriodFilterSet, tuple | None]:
    """The filter form and the chosen (start, end): the last 30 days when none is given; None
    (with a form error) when the dates are wrong."""
    filterset = PerformancePeriodFilterSet(request.GET or None, queryset=CollectionCase.objects.none())
    start, end = default_period()
    if not filterset.is_bound:
        filterset = PerformancePeriodFilterSet(
            {"period_after": start.isoformat(), "period_before": end.isoformat()},
            queryset=CollectionCase.objects.none(),
        )
        filterset.is_valid()
        return filterset, (start, end)
    if not filterset.is_valid():
        return filterset, None
    period = filterset.form.cleaned_data.get("period")
    start = (period.start if period else None) or start
    end = (period.stop if period else None) or end
    if end < start:
        filterset.form.add_error("period", _("The end of the period is before its start."))
        return filterset, None
    if (end - start).days + 1 > MAX_DAYS:
        filterset.form.add_error("period", _("Choose at most %(days)s days.") % {"days": MAX_DAYS})
        return filterset, None
    return filterset, (start, end)


def _rate(value) -> str:
    return "" if value is None else f"{value}"


CSV_COLUMNS = (
    ("level", "level"),
    ("name", "name"),
    ("username", "username"),
    ("cases_worked", "cases_worked"),
    ("contacts", "contact_attempts"),
    ("right_party_contacts", "right_party_contacts"),
    ("promises_made", "promises_made"),
    ("promises_kept", "promises_kept"),
    ("promises_broken", "promises_broken"),
    ("kept_rate", "kept_rate_percent"),
    ("recovered", "amount_recovered"),
    ("visits_done", "visits_done"),
)


def _export(request: HttpRequest, performance) -> HttpResponse:
    """The table as CSV (agents, then teams, then the total), recorded in the audit trail."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for _attr, header in CSV_COLUMNS])
    rows = [("agent", row) for row in performance.agents] + [("team", row) for row in performance.teams]
    rows.append(("total", performance.totals))
    for level, row in rows:
        values = {"level": level, "kept_rate": _rate(row.kept_rate)}
        writer.writerow(
            [
                spreadsheet_safe(str(values[attr] if attr in values else getattr(row, attr)))
                for attr, _header in CSV_COLUMNS
            ]
        )
    audit_services.audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        payload={
            "list": "collections-performance",
            "rows": len(rows),
            "truncated": False,
            "filters": {"from": performance.start.isoformat(), "to": performance.end.isoformat()},
        },
        request=request,
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="collections-performance-{stamp}.csv"'
    response.write("\ufeff")  # so spreadsheet programs read Chinese text as UTF-8
    response.write(out.getvalue())
    return response


@permission_required(PERFORMANCE_PERMISSION, raise_exception=True)
def performance(request: HttpRequest) -> HttpResponse:
    """Per agent and per team over a period (default the last 30 days): the figures of
    collection.performance, a chart of recoveries per day, the table, the CSV export."""
    filterset, period = _period(request)
    if period is None:
        if request.GET.get("_export"):
            return HttpResponse(_("The period is not valid."), status=400, content_type="text/plain")
        return render(request, "collection/performance.html", {"filter": filterset, "performance": None})
    result = collections_performance(start=period[0], end=period[1])
    if request.GET.get("_export") == "csv":
        return _export(request, result)
    query = request.GET.copy()
    query["_export"] = "csv"
    chart = {
        "days": [day.isoformat() for day, _amount in result.daily],
        # Amounts as decimal strings (no float holds money); the chart script draws them.
        "amounts": [str(amount) for _day, amount in result.daily],
        "label": _("Recovered (¥)"),
    }
    return render(
        request,
        "collection/performance.html",
        {
            "filter": filterset,
            "performance": result,
            "chart": chart,
            "export_query": query.urlencode(),
        },
    )
