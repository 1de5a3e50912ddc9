"""The console's home page: headline counts from each app, shortcuts and operations warnings.

It reads from several apps (orders, collections, the operations checks), so it lives in the
project package, above the apps, rather than in any one of them (see "Dependencies" in
docs/architecture.md)."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.navigation import shortcuts_for
from bnpl_admin.dates import business_date
from bnpl_admin.operations import operations_problems
from collection.models import CollectionCase
from orders.models import OPEN_ORDER_STATUSES, Installment, InstallmentStatus, Order


def home(request):
    """The staff home page: navigation for the user's roles and a few headline counts."""
    user = request.user
    counts = []
    if user.has_perm("orders.view_order"):
        counts.append(("open_orders", _("Open orders"), Order.objects.filter(status__in=OPEN_ORDER_STATUSES)))
    if user.has_perm("orders.view_installment"):
        counts.append(
            (
                "overdue_installments",
                _("Overdue instalments"),
                Installment.objects.filter(status=InstallmentStatus.OVERDUE),
            )
        )
    if user.has_perm("collections.view_collectioncase"):
        counts.append(("open_cases", _("Open cases"), CollectionCase.objects.visible_to(user).open()))
    headline = [{"key": key, "label": label, "value": qs.count()} for key, label, qs in counts]
    return render(
        request,
        "console/home.html",
        # The business date is the date in the business's zone (settings.TIME_ZONE), whatever
        # zone the staff member's pages are shown in.
        {
            "headline": headline,
            "shortcuts": shortcuts_for(user),
            "business_date": business_date(),
            "operations_problems": _operations_problems_for(user),
        },
    )


def _operations_problems_for(user) -> list:
    # The operations warnings (as /healthz/operations/) are for operations admins and managers:
    # the readers of the audit trail (accounts.roles), where the reconciliation's findings are.
    if user.has_perm("audit.view_auditevent"):
        return operations_problems()
    return []
