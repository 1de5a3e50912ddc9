"""The case queue's Table, shared by the queue, the agent's own queue and their CSV exports.

The page names people; the file keeps what an analysis joins on: the customer's platform id,
usernames, stored bucket and status names, ISO times with their offset. No phone number or
identity number is a column.
"""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from bnpl_admin.lists import ConsoleTable, LocalDateTimeColumn

from .models import AssignmentRule, CollectionCase


def staff_name(user) -> str:
    """A member of staff as colleagues know them: "王芳 (wangfang)", or the username alone."""
    full_name = user.get_full_name().strip()  # accounts.names.person_name: the name's own order
    return f"{full_name} ({user.username})" if full_name else user.username


class CaseQueueTable(ConsoleTable):
    id = tables.Column(verbose_name=_("Case"), orderable=False)
    customer = tables.Column(verbose_name=_("Customer"), orderable=False)
    bucket = tables.Column(verbose_name=_("Bucket"), orderable=False)
    days_past_due = tables.Column(verbose_name=_("DPD"), order_by=("days_past_due", "id"))
    amount_overdue = tables.Column(verbose_name=_("Amount overdue"), order_by=("amount_overdue", "id"))
    status = tables.Column(verbose_name=_("Status"), orderable=False)
    on_hold = tables.BooleanColumn(verbose_name=_("On hold"), orderable=False)
    assigned_agent = tables.Column(verbose_name=_("Assigned agent"), orderable=False)
    team_name = tables.Column(verbose_name=_("Team"), orderable=False)
    opened_at = LocalDateTimeColumn(
        verbose_name=_("Opened"), format="Y-m-d H:i", order_by=("opened_at", "id")
    )
    last_event_at = LocalDateTimeColumn(verbose_name=_("Last event"), format="Y-m-d H:i", orderable=False)

    class Meta(ConsoleTable.Meta):
        model = CollectionCase
        fields = (
            "id",
            "customer",
            "bucket",
            "days_past_due",
            "amount_overdue",
            "status",
            "on_hold",
            "assigned_agent",
            "team_name",
            "opened_at",
            "last_event_at",
        )
        attrs = {"class": "table case-queue"}
        empty_text = _("No cases match these filters.")

    # --- The page -------------------------------------------------------------------------------

    def render_id(self, value):
        return format_html('<a href="{}">{}</a>', reverse("collections:case_detail", args=[value]), value)

    def value_id(self, value) -> str:
        return str(value)

    def render_customer(self, value) -> str:
        return value.name  # the customer's name as they gave it; never a number

    def render_amount_overdue(self, value) -> str:
        return f"¥{value:,.2f}"

    def render_assigned_agent(self, value) -> str:
        return staff_name(value)

    # --- The export: machine names ---------------------------------------------------------------

    def value_customer(self, value) -> str:
        return value.platform_user_id

    def value_bucket(self, record) -> str:
        return record.bucket

    def value_status(self, record) -> str:
        return record.status

    def value_amount_overdue(self, value) -> str:
        return str(value)

    def value_assigned_agent(self, value) -> str:
        return value.username if value else ""

    def value_on_hold(self, value) -> str:
        return "true" if value else "false"


class MyQueueTable(CaseQueueTable):
    priority = tables.Column(verbose_name=_("Priority"), order_by=("priority", "id"))

    class Meta(CaseQueueTable.Meta):
        sequence = ("priority", "...")

    def render_priority(self, value) -> str:
        return f"{value:.1f}"

    def value_priority(self, value) -> str:
        return f"{value:.2f}"


# --- Assignment rules by bucket ------------------------------------------------------------------


class AssignmentRuleTable(ConsoleTable):
    bucket = tables.Column(verbose_name=_("Bucket"), order_by=("bucket", "ordering", "id"))
    ordering = tables.Column(verbose_name=_("Rule order"), order_by=("ordering", "id"))
    team = tables.Column(verbose_name=_("Team"), orderable=False)
    method = tables.Column(verbose_name=_("Spread"), orderable=False)
    active = tables.BooleanColumn(verbose_name=_("In force"), orderable=False)
    created_by = tables.Column(verbose_name=_("Created by"), orderable=False)
    created_at = LocalDateTimeColumn(verbose_name=_("Created"), format="Y-m-d H:i", orderable=False)
    edit = tables.Column(verbose_name="", accessor="pk", orderable=False, exclude_from_export=True)

    class Meta(ConsoleTable.Meta):
        model = AssignmentRule
        fields = ("bucket", "ordering", "team", "method", "active", "created_by", "created_at", "edit")
        attrs = {"class": "table assignment-rules"}
        empty_text = _("No assignment rules yet.")

    def render_team(self, value) -> str:
        return value.name

    def render_created_by(self, value) -> str:
        return staff_name(value)

    def render_edit(self, value):
        return format_html(
            '<a href="{}">{}</a>', reverse("collections:assignment_rule_edit", args=[value]), _("Edit")
        )

    def value_bucket(self, record) -> str:
        return record.bucket

    def value_method(self, record) -> str:
        return record.method

    def value_created_by(self, value) -> str:
        return value.username if value else ""

    def value_active(self, value) -> str:
        return "true" if value else "false"
