"""The risk console's Tables: scorecard versions, scores and the limit increases waiting for approval."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from bnpl_admin.lists import ConsoleTable, LocalDateTimeColumn

from .characteristics import reason_of
from .models import CustomerScore, LimitChange, ScorecardVersion


def _person(user) -> str:
    if user is None:
        return "—"
    full_name = user.get_full_name().strip()
    return f"{full_name} ({user.username})" if full_name else user.username


class ScorecardVersionTable(ConsoleTable):
    version = tables.Column(verbose_name=_("Version"), accessor="number", orderable=False)
    scorecard = tables.Column(verbose_name=_("Scorecard"), orderable=False)
    status = tables.Column(verbose_name=_("Status"), orderable=False)
    method = tables.Column(verbose_name=_("Fitted by"), accessor="fitted", orderable=False)
    gini = tables.Column(verbose_name=_("Gini"), accessor="fitted", orderable=False)
    created_by = tables.Column(verbose_name=_("Created by"), orderable=False)
    created_at = LocalDateTimeColumn(
        verbose_name=_("Created"), format="Y-m-d H:i", order_by=("created_at", "id")
    )
    activated_by = tables.Column(verbose_name=_("Activated by"), orderable=False, default="—")
    activated_at = LocalDateTimeColumn(verbose_name=_("Activated"), format="Y-m-d H:i", orderable=False)

    class Meta(ConsoleTable.Meta):
        model = ScorecardVersion
        fields = ("scorecard", "version", "status", "method", "gini", "created_by", "created_at")
        sequence = (
            "scorecard",
            "version",
            "status",
            "method",
            "gini",
            "created_by",
            "created_at",
            "activated_by",
        )
        empty_text = _("No scorecard versions yet.")

    def render_version(self, value, record):
        return format_html('<a href="{}">v{}</a>', reverse("risk:version_detail", args=[record.pk]), value)

    def value_version(self, value) -> str:
        return str(value)

    def render_scorecard(self, value) -> str:
        return value.name

    def render_status(self, record) -> str:
        return record.get_status_display()

    def value_status(self, record) -> str:
        return record.status

    def render_method(self, value) -> str:
        return value.get("method", "—")

    def render_gini(self, value) -> str:
        gini = value.get("gini")
        return "—" if gini is None else f"{gini:.3f}"

    def render_created_by(self, value) -> str:
        return _person(value)

    def render_activated_by(self, value) -> str:
        return _person(value)


class CustomerScoreTable(ConsoleTable):
    customer = tables.Column(verbose_name=_("Customer"), orderable=False)
    business_date = tables.DateColumn(
        verbose_name=_("Date"), format="Y-m-d", order_by=("business_date", "id")
    )
    score = tables.Column(verbose_name=_("Score"), order_by=("score", "id"))
    grade = tables.Column(verbose_name=_("Grade"), orderable=False)
    reasons = tables.Column(verbose_name=_("Reasons"), orderable=False, attrs={"td": {"class": "wrap"}})
    version = tables.Column(verbose_name=_("Scorecard version"), orderable=False)

    class Meta(ConsoleTable.Meta):
        model = CustomerScore
        fields = ("customer", "business_date", "score", "grade", "reasons", "version")
        empty_text = _("No scores match these filters.")

    def render_customer(self, value):
        return format_html('<a href="{}">{}</a>', reverse("risk:customer_risk", args=[value.pk]), value.name)

    def value_customer(self, value) -> str:
        return value.platform_user_id

    def render_reasons(self, value) -> str:
        return "；".join(str(reason_of(code)) for code in value) or "—"

    def value_reasons(self, value) -> str:
        return " ".join(value)

    def render_version(self, value) -> str:
        return f"{value.scorecard.name} v{value.number}"


class PendingLimitTable(ConsoleTable):
    customer = tables.Column(verbose_name=_("Customer"), orderable=False)
    old_limit = tables.Column(
        verbose_name=_("Current limit"), orderable=False, attrs={"td": {"class": "money"}}
    )
    new_limit = tables.Column(
        verbose_name=_("Proposed limit"), orderable=False, attrs={"td": {"class": "money"}}
    )
    new_grade = tables.Column(verbose_name=_("Grade"), orderable=False)
    score = tables.Column(verbose_name=_("Score"), orderable=False, default="—")
    reason = tables.Column(verbose_name=_("Why"), orderable=False, attrs={"td": {"class": "wrap"}})
    proposed_by = tables.Column(verbose_name=_("Proposed by"), orderable=False)
    proposed_at = LocalDateTimeColumn(
        verbose_name=_("Proposed"), format="Y-m-d H:i", order_by=("proposed_at", "id")
    )
    decide = tables.TemplateColumn(
        verbose_name=_("Decision"),
        template_name="risk/_limit_decide.html",
        orderable=False,
        exclude_from_export=True,
    )

    class Meta(ConsoleTable.Meta):
        model = LimitChange
        fields = (
            "customer",
            "old_limit",
            "new_limit",
            "new_grade",
            "score",
            "reason",
            "proposed_by",
            "proposed_at",
        )
        empty_text = _("No limit increases are waiting for approval.")

    def render_customer(self, value):
        return format_html('<a href="{}">{}</a>', reverse("risk:customer_risk", args=[value.pk]), value.name)

    def value_customer(self, value) -> str:
        return value.platform_user_id

    def render_old_limit(self, value) -> str:
        return f"¥{value:,.2f}"

    def render_new_limit(self, value) -> str:
        return f"¥{value:,.2f}"

    def render_score(self, value) -> str:
        return str(value.score)

    def render_proposed_by(self, value) -> str:
        return _person(value) if value else str(_("nightly rescoring"))

    def value_proposed_by(self, value) -> str:
        return value.username if value else "rescoring"
