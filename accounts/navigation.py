"""The console's navigation: each entry names the permission that makes it visible.

Later pages (collections workbench, risk console) add their entry here and it appears for
exactly the roles that hold its permission.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | None = None
    staff_only: bool = False

    def visible_to(self, user) -> bool:
        if self.staff_only and not user.is_staff:
            return False
        return self.permission is None or user.has_perm(self.permission)


# The collections managers' pages (collection.manager_views).
PERFORMANCE = "collections.view_collections_performance"
RULES = "collections.change_assignmentrule"

NAV_ITEMS = (
    NavItem(_("Home"), "home"),
    NavItem(_("Data admin"), "admin:index", staff_only=True),
    NavItem(_("My queue"), "collections:my_queue", permission="collections.work_collectioncase"),
    NavItem(_("Case queue"), "collections:case_queue", permission="collections.work_collectioncase"),
    NavItem(
        _("Team performance"),
        "collections:performance",
        permission="collections.view_collections_performance",
    ),
    NavItem(
        _("Assignment rules"), "collections:assignment_rules", permission="collections.change_assignmentrule"
    ),
    NavItem(_("Audit trail"), "audit:event_list", permission="audit.view_auditevent"),
    # --- The risk console (risk app) ---
    NavItem(_("Scorecards"), "risk:scorecard_list", permission="risk.work_risk"),
    NavItem(_("Scores"), "risk:score_list", permission="risk.work_risk"),
    NavItem(_("Risk approvals"), "risk:approvals", permission="risk.approve_limitchange"),
    # Settlements, restructures and write-offs: who proposes them follows them; managers decide.
    NavItem(_("Settlements"), "settlements:approval_queue", permission="settlements.add_arrangementrequest"),
    # Home visits (visits): the field agent's day, the managers' requests to decide.
    NavItem(_("My visits today"), "visits:today", permission="visits.check_in_visit"),
    NavItem(_("Visits to approve"), "visits:requested", permission="visits.approve_visit"),
    # Order decisions (decisions app): risk analysts.
    NavItem(_("Try an order"), "decisions:try_order", permission="decisions.try_orderdecision"),
    NavItem(_("Review queue"), "decisions:review_queue", permission="decisions.review_orderdecision"),
    # Risk console (issue 12).
    NavItem(_("Restrictions"), "restrictions:job_list", permission="restrictions.view_restrictionjob"),
    NavItem(_("Decision log"), "decisionlog:entry_list", permission="decisionlog.view_decisionlogentry"),
)


# Role names are group names (data, in English); their labels are how a page shows them.
ROLE_LABELS = dict(Role.choices)


def role_label(name: str) -> str:
    """A group's name in the active language; a group that is not a role shows as named."""
    return str(ROLE_LABELS.get(name, name))


def navigation_for(user) -> list[dict]:
    return [
        {"label": item.label, "url": reverse(item.url_name), "url_name": item.url_name}
        for item in NAV_ITEMS
        if item.visible_to(user)
    ]


def shortcuts_for(user) -> list[dict]:
    """The home page's shortcuts: every page the navigation opens to this user but home itself."""
    return [item for item in navigation_for(user) if item["url_name"] != "home"]
