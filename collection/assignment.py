"""Assignment rules by bucket: the managers' rules (kept on a console page) and the run after each
sweep that gives cases to teams by them, through cases_assign_bulk (every change a case event).

Which cases a rule takes (documented in docs/architecture.md, "Assignment rules"):
- the open cases of its bucket with no agent, or with an agent who is no longer active;
- the open cases of its bucket whose bucket moved (an ageing event of the sweep) after their
  last assignment and whose agent is not a member of the rule's team: M1 → M2 hands a case
  from the early-stage team to the late-stage one. A case a manager assigned by hand after its
  last bucket change stays where the manager put it, so a rule never undoes a person's choice
  made since the case last aged.
Running it again for the same date finds nothing to do (each case it moves gets an assignment
event newer than its last ageing event, and an agent in the rule's team).
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import User

from .models import AssignmentMethod, AssignmentRule, Bucket, CaseEvent, CaseEventType, CollectionCase, Team
from .services import MAX_BULK_ASSIGN, CaseError, cases_assign_bulk

RULE_ADD_PERMISSION = "collections.add_assignmentrule"
RULE_CHANGE_PERMISSION = "collections.change_assignmentrule"


# --- The rules, kept by managers ----------------------------------------------------------------


def _rule_input_check(*, bucket: str, team: Team, method: str, ordering: int) -> None:
    if bucket not in Bucket.values or bucket == Bucket.CURRENT:
        raise CaseError(_("Choose a bucket of overdue cases (M1 to M4+)."), code="bad_bucket")
    if method not in AssignmentMethod.values:
        raise CaseError(_("Choose round robin or by load."), code="bad_method")
    if not 0 <= ordering <= 32767:
        raise CaseError(_("The order is a whole number from 0 to 32767."), code="bad_ordering")
    if team is None:
        raise CaseError(_("Choose a team."), code="no_team")


@transaction.atomic
def assignment_rule_create(
    *, by: User, bucket: str, team: Team, method: str, ordering: int = 100, active: bool = True
) -> AssignmentRule:
    if not by.has_perm(RULE_ADD_PERMISSION):
        raise CaseError(_("Only a collections manager may keep the assignment rules."), code="not_allowed")
    _rule_input_check(bucket=bucket, team=team, method=method, ordering=ordering)
    rule = AssignmentRule(
        bucket=bucket, team=team, method=method, ordering=ordering, active=active, created_by=by
    )
    rule._history_user = by
    rule.save()
    return rule


@transaction.atomic
def assignment_rule_update(
    *, rule: AssignmentRule, by: User, bucket: str, team: Team, method: str, ordering: int, active: bool
) -> AssignmentRule:
    """Change a rule (deactivating is `active=False`: a rule is kept for its history, never deleted)."""
    if not by.has_perm(RULE_CHANGE_PERMISSION):
        raise CaseError(_("Only a collections manager may keep the assignment rules."), code="not_allowed")
    _rule_input_check(bucket=bucket, team=team, method=method, ordering=ordering)
    rule = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    rule.bucket, rule.team, rule.method, rule.ordering, rule.active = bucket, team, method, ordering, active
    rule._history_user = by
    rule.save()
    return rule


# --- The run after each sweep ----------------------------------------------------------------------


def rules_in_force() -> dict[str, AssignmentRule]:
    """Per bucket, the first active rule (by ordering) whose team has an active member."""
    staffed = Team.members.through.objects.filter(team=OuterRef("team_id"), user__is_active=True)
    chosen: dict[str, AssignmentRule] = {}
    for rule in (
        AssignmentRule.objects.filter(active=True)
        .filter(Exists(staffed))
        .select_related("team")
        .order_by("bucket", "ordering", "id")
    ):
        chosen.setdefault(rule.bucket, rule)
    return chosen


def cases_for_rule(rule: AssignmentRule) -> QuerySet[CollectionCase]:
    """The open cases of the rule's bucket it should (re)assign: see the module's docstring."""
    members = Team.members.through.objects.filter(team=rule.team_id, user__is_active=True).values("user")
    last_assigned = (
        CaseEvent.objects.filter(case=OuterRef("pk"), type=CaseEventType.ASSIGNED)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    moved_since = CaseEvent.objects.filter(
        case=OuterRef("pk"), type=CaseEventType.AGEING, created_at__gt=OuterRef("assigned_at")
    )
    return (
        CollectionCase.objects.open()
        .filter(bucket=rule.bucket)
        .annotate(assigned_at=Coalesce(Subquery(last_assigned), F("opened_at")))
        .filter(
            Q(assigned_agent__isnull=True)
            | Q(assigned_agent__is_active=False)
            | (~Q(assigned_agent__in=members) & Exists(moved_since))
        )
    )


def cases_assign_by_rules(*, on: datetime.date) -> dict[str, int]:
    """Assign the cases each bucket's rule takes, in batches of MAX_BULK_ASSIGN (one transaction
    each, so a long night's work never holds thousands of row locks at once). Idempotent."""
    assigned: dict[str, int] = {}
    for bucket, rule in rules_in_force().items():
        ids = list(cases_for_rule(rule).order_by("id").values_list("id", flat=True))
        total = 0
        for start in range(0, len(ids), MAX_BULK_ASSIGN):
            batch = CollectionCase.objects.filter(pk__in=ids[start : start + MAX_BULK_ASSIGN])
            total += cases_assign_bulk(cases=batch, team=rule.team, method=rule.method, by=None, rule=rule)
        assigned[bucket] = total
    return {"date": on.isoformat(), "assigned": sum(assigned.values()), **assigned}


def assignment_rules_list(*, user) -> QuerySet[AssignmentRule]:
    """The rules a reader of the rules page sees: all of them (there is no row-level rule), by bucket."""
    if not user.has_perm("collections.view_assignmentrule"):
        return AssignmentRule.objects.none()
    return AssignmentRule.objects.select_related("team", "created_by").order_by("bucket", "ordering", "id")
