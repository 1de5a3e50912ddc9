"""The staff roles (Django groups) and the permissions each one holds: the single source of truth.

A data migration applies this map; when it changes, add a migration that calls `roles_sync`
again so every database gets the same matrix.
"""

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    # The value is the group's name in the database; the label is what a person reads.
    RISK_ANALYST = "Risk analyst", _("Risk analyst")
    COLLECTIONS_AGENT = "Collections agent", _("Collections agent")
    FIELD_AGENT = "Field agent", _("Field agent")
    COLLECTIONS_MANAGER = "Collections manager", _("Collections manager")
    OPERATIONS_ADMIN = "Operations admin", _("Operations admin")


def _view(*models: str) -> set[str]:
    return {f"{app}.view_{model}" for app, model in (m.split(".") for m in models)}


def _crud(*models: str) -> set[str]:
    return {
        f"{app}.{action}_{model}"
        for app, model in (m.split(".") for m in models)
        for action in ("view", "add", "change", "delete")
    }


_AGENT = _view(
    "accounts.customer",
    "accounts.emergencycontact",
    "accounts.creditline",
    "orders.order",
    "orders.installment",
    "orders.payment",
    "orders.paymentallocation",
    "orders.merchant",
    "collections.collectioncase",
    "collections.caseevent",
    "collections.contactattempt",
    "collections.promise",
) | {"collections.change_collectioncase", "collections.add_contactattempt", "collections.work_collectioncase"}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    # Scores customers, sets grades and limits, reviews orders, restricts users.
    # Must not edit payments or cases: only views them.
    Role.RISK_ANALYST: _view(
        "accounts.customer",
        "accounts.creditline",
        "orders.order",
        "orders.installment",
        "orders.payment",
        "orders.merchant",
        "orders.orderevent",
        "collections.collectioncase",
        "policy.policy",
    )
    | {
        "collections.view_all_collectioncase",
        "accounts.change_customer",
        "accounts.change_creditline",
        "accounts.freeze_creditline",
        "orders.change_order",
        "orders.change_merchant",
    },
    # Works assigned cases; phone numbers masked, national ids never shown.
    Role.COLLECTIONS_AGENT: _AGENT,
    # Sees only the home visits assigned to them (row-level rules come with the workbench).
    Role.FIELD_AGENT: _view("collections.collectioncase"),
    # Assigns queues, approves visits, settlements and waivers.
    Role.COLLECTIONS_MANAGER: _AGENT
    | {
        "collections.assign_collectioncase",
        "collections.view_all_collectioncase",
        "orders.waive_fee",
        "accounts.reveal_pii",
        "policy.view_policy",
        "audit.view_auditevent",
    },
    # Data fixes in the Django admin; every change is audited.
    Role.OPERATIONS_ADMIN: _crud(
        "accounts.user",
        "accounts.customer",
        "accounts.emergencycontact",
        "accounts.creditline",
        "orders.merchant",
        "orders.order",
        "collections.collectioncase",
        "collections.team",
        "policy.policy",
    )
    | _view(
        "auth.group",
        "auth.permission",
        "orders.installment",
        "orders.payment",
        "orders.paymentallocation",
        "orders.waiver",
        "orders.orderevent",
        "collections.caseevent",
        "collections.contactattempt",
        "collections.promise",
    )
    | {
        "collections.view_all_collectioncase",
        "orders.change_installment",
        "orders.change_payment",
        "orders.post_payment",
        "orders.reverse_payment",
        "orders.waive_fee",
        # Payments typed in by hand above the policy's thresholds: approved by another
        # operations admin (orders.services refuses the requester).
        "orders.view_manualpaymentrequest",
        "orders.approve_manualpaymentrequest",
        "accounts.reveal_pii",
        "accounts.freeze_creditline",
        # The roles other than this one, for accounts that are not an operations admin's or a
        # superuser's (accounts.services.user_roles_check); role permissions live in this file.
        "accounts.change_user_roles",
        "audit.view_auditevent",
        # Lift a sign-in lockout: see django-axes' failed attempts and delete them.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        # The nightly sweep's progress and the schedules beat runs.
        "sweep.view_sweeprun",
        "sweep.view_sweepchunk",
        "sweep.view_portfoliosnapshot",
        "django_celery_beat.view_periodictask",
        # Switch a schedule on or off, nothing else (sweep.schedules.beat_change_check).
        "django_celery_beat.change_periodictask",
        "django_celery_beat.view_crontabschedule",
        "django_celery_beat.view_intervalschedule",
    },
}


# --- The risk console (risk app): scorecards, scores, grades and limits ------------------------
# Analysts build and activate scorecards (a second analyst activates: risk.services) and decide
# on limit increases above the policy's threshold; operations admins only read the rows in the
# data admin.
_RISK_MODELS = (
    "risk.scorecard",
    "risk.scorecardversion",
    "risk.characteristic",
    "risk.bin",
    "risk.gradeband",
    "risk.customerscore",
    "risk.limitchange",
)
ROLE_PERMISSIONS[Role.RISK_ANALYST] |= _view(*_RISK_MODELS) | {
    "risk.work_risk",
    "risk.change_scorecardversion",
    "risk.change_bin",
    "risk.approve_limitchange",
}
ROLE_PERMISSIONS[Role.OPERATIONS_ADMIN] |= _view(*_RISK_MODELS)
# --- Settlements, restructures and write-offs (settlements app, maker–checker) --------------------
# Agents propose settlements and restructures; managers propose and decide them (never their
# own: settlements.services); operations admins read them in the data admin.
ROLE_PERMISSIONS[Role.COLLECTIONS_AGENT] |= {
    "settlements.view_arrangementrequest",
    "settlements.add_arrangementrequest",
}
ROLE_PERMISSIONS[Role.COLLECTIONS_MANAGER] |= {
    "settlements.view_arrangementrequest",
    "settlements.add_arrangementrequest",
    "settlements.approve_arrangementrequest",
}
ROLE_PERMISSIONS[Role.OPERATIONS_ADMIN] |= {"settlements.view_arrangementrequest"}
# --- Home visits (visits app, issue 11) -------------------------------------------------------------
# Agents request visits; managers see every visit, approve or reject, and see the photos; field
# agents see only their own visits (visits.models.VisitQuerySet.visible_to), check in and out,
# record the outcome and upload the photos; operations admins read visits in the data admin.
_VISIT_PERMISSIONS: dict[str, set[str]] = {
    Role.COLLECTIONS_AGENT: {"visits.add_visit"},
    Role.FIELD_AGENT: {
        "visits.view_visit",
        "visits.check_in_visit",
        "visits.record_outcome_visit",
        "visits.view_visitphoto",
        "visits.add_visitphoto",
    },
    Role.COLLECTIONS_MANAGER: {
        "visits.add_visit",
        "visits.view_visit",
        "visits.view_all_visit",
        "visits.approve_visit",
        "visits.view_visitphoto",
    },
    Role.OPERATIONS_ADMIN: {"visits.view_visit", "visits.view_all_visit"},
}
for _role, _permissions in _VISIT_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _permissions
# Order decisions (decisions app): risk analysts try orders against the rules and review the
# referred ones; operations admins read the decisions in the data admin.
ROLE_PERMISSIONS[Role.RISK_ANALYST] |= {
    "decisions.view_orderdecision",
    "decisions.try_orderdecision",
    "decisions.review_orderdecision",
}
ROLE_PERMISSIONS[Role.OPERATIONS_ADMIN] |= {"decisions.view_orderdecision"}


def roles_sync(apps, schema_editor=None) -> None:
    """Create every role group and give it exactly the permissions of ROLE_PERMISSIONS.

    Works with the historical app registry of a migration as well as the live one.
    """
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after the last migration; make sure they exist now.
    # create_permissions skips an app whose models_module is unset, as it is in a migration's
    # historical registry; set it for the call and put back what was there.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        try:
            create_permissions(app_config, verbosity=0, apps=apps)
        finally:
            app_config.models_module = models_module

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    # An app added after accounts' 0002_roles (audit) has no models yet in that migration's
    # registry; its permissions are given once its own migrations have run (its roles
    # migration, and the post_migrate sync after every migrate).
    migrated = {app_config.label for app_config in apps.get_app_configs()}
    # Likewise a model added to an app later (orders' manual payment requests) is not yet in an
    # earlier migration's registry: its permissions wait for the migration that syncs again.
    declared = {
        (model._meta.app_label, codename)
        for model in apps.get_models()
        for codename in (
            *(f"{action}_{model._meta.model_name}" for action in model._meta.default_permissions),
            *(name for name, _label in model._meta.permissions),
        )
    }
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=str(role))
        wanted = []
        for dotted in sorted(codenames):
            app_label, codename = dotted.split(".")
            if app_label not in migrated or (app_label, codename) not in declared:
                continue
            try:
                wanted.append(
                    permission_model.objects.get(content_type__app_label=app_label, codename=codename)
                )
            except permission_model.DoesNotExist as exc:
                raise LookupError(f"role {role!r} names unknown permission {dotted}") from exc
        group.permissions.set(wanted)


# --- Collections: assignment rules by bucket and the manager view (issue 11) -------------------
# Managers keep the rules on their console page (never deleted: deactivated) and read the
# performance of agents and teams; operations admins see the rules in the data admin.
ROLE_PERMISSIONS[Role.COLLECTIONS_MANAGER] |= {
    "collections.view_assignmentrule",
    "collections.add_assignmentrule",
    "collections.change_assignmentrule",
    "collections.view_collections_performance",
}
ROLE_PERMISSIONS[Role.OPERATIONS_ADMIN] |= {"collections.view_assignmentrule"}
# --- Risk console: restrictions and the decision log (issue 12) --------------------------------
# Risk analysts restrict credit lines one at a time and in bulk, approve another analyst's big
# bulk job (maker–checker, restrictions.services), and read the decision log; operations admins
# read the decision log too. restrictions/migrations/0002_roles.py applies this.
ROLE_PERMISSIONS[Role.RISK_ANALYST] |= {
    "restrictions.add_restriction",
    "restrictions.view_restriction",
    "restrictions.add_restrictionjob",
    "restrictions.view_restrictionjob",
    "restrictions.approve_restrictionjob",
    "decisionlog.view_decisionlogentry",
}
ROLE_PERMISSIONS[Role.OPERATIONS_ADMIN] |= {"decisionlog.view_decisionlogentry"}
