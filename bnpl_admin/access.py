"""The declared access matrix: for every URL of the console, who may open it.

tests/bnpl_admin/test_url_matrix.py finds every URL pattern by itself, requests each one (GET) as an
anonymous visitor, as a user of each role and as a superuser, and fails when a URL is not
declared here or answers other than declared. A new page is therefore added here, with the
roles that may open it, in the same change that adds the page.

Keys are URL names ("namespace:name") matched with fnmatch; the first matching entry wins, so
specific entries come before the wildcards that follow them. A pattern without a name (the
admin's `<object_id>/` redirect, its catch-all) is keyed by its route text. The admin's app
index is one URL per app: "admin:app_list/<app_label>".

What a GET answers:
- a principal in `allowed`: `status` (200 unless the view redirects or refuses GET by design);
  `status` may map some principals to another answer (a signed-in user on the sign-in page);
- anonymous, not allowed: 302 to the sign-in page (the admin's own for admin pages);
- signed in, not allowed: 403; on an admin page, a user who is not staff gets 302 to the
  admin's sign-in page as Django's admin does, and `denied` overrides 403 where a view answers
  404 instead (the admin's index of an app with no model the user may see).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from accounts.roles import Role

ANONYMOUS = "anonymous"
SUPERUSER = "superuser"
ROLES: tuple[str, ...] = tuple(str(role) for role in Role)
PRINCIPALS: tuple[str, ...] = (ANONYMOUS, *ROLES, SUPERUSER)

# Who has is_staff (the Django admin): operations admins and superusers (demo.seeder makes
# the demo users the same way). Other roles use the console's own pages.
STAFF_ROLES = frozenset({str(Role.OPERATIONS_ADMIN)})

EVERYONE = frozenset(PRINCIPALS)
SIGNED_IN = frozenset({*ROLES, SUPERUSER})
ADMIN_USERS = frozenset({*STAFF_ROLES, SUPERUSER})
SUPERUSER_ONLY = frozenset({SUPERUSER})
NOBODY: frozenset[str] = frozenset()


STAFF = frozenset({*STAFF_ROLES, SUPERUSER})
NOT_STAFF = frozenset(set(SIGNED_IN) - STAFF)
# Pages of the console itself (accounts.roles holds the permission each one checks).
AUDIT_READERS = frozenset({str(Role.COLLECTIONS_MANAGER), str(Role.OPERATIONS_ADMIN), SUPERUSER})
# Who records contacts on cases (collections.add_contactattempt): agents and their managers.
CASE_WORKERS = frozenset({str(Role.COLLECTIONS_AGENT), str(Role.COLLECTIONS_MANAGER), SUPERUSER})
PII_REVEALERS = frozenset({str(Role.COLLECTIONS_MANAGER), str(Role.OPERATIONS_ADMIN), SUPERUSER})
# The collections workbench: who works the queues (collections.work_collectioncase) and who
# assigns them (collections.assign_collectioncase).
QUEUE_WORKERS = frozenset({str(Role.COLLECTIONS_AGENT), str(Role.COLLECTIONS_MANAGER), SUPERUSER})
CASE_ASSIGNERS = frozenset({str(Role.COLLECTIONS_MANAGER), SUPERUSER})
# The risk console (risk.work_risk, risk.approve_limitchange): risk analysts only.
RISK_ANALYSTS = frozenset({str(Role.RISK_ANALYST), SUPERUSER})
# The assignment rules and the manager view: collections managers (and superusers).
COLLECTIONS_MANAGERS = frozenset({str(Role.COLLECTIONS_MANAGER), SUPERUSER})

# Home visits (visits): agents and managers request them (visits.add_visit), managers decide
# (visits.approve_visit), field agents make them (visits.check_in_visit); managers cancel any visit
# not yet started, an agent only their own request (visits.services.visit_cancel); the visit page
# and the photos answer 404 for a visit the reader may not see (VisitQuerySet.visible_to).
VISIT_REQUESTERS = frozenset({str(Role.COLLECTIONS_AGENT), str(Role.COLLECTIONS_MANAGER), SUPERUSER})
VISIT_APPROVERS = frozenset({str(Role.COLLECTIONS_MANAGER), SUPERUSER})
VISIT_MAKERS = frozenset({str(Role.FIELD_AGENT), SUPERUSER})
VISIT_READERS = frozenset(
    {str(Role.FIELD_AGENT), str(Role.COLLECTIONS_MANAGER), str(Role.OPERATIONS_ADMIN), SUPERUSER}
)
VISIT_PHOTO_READERS = frozenset({str(Role.FIELD_AGENT), str(Role.COLLECTIONS_MANAGER), SUPERUSER})

# The risk console (issue 12): restrictions for risk analysts only (restrictions.add_restriction);
# the decision log for whoever holds decisionlog.view_decisionlogentry.
RISK_ANALYSTS = frozenset({str(Role.RISK_ANALYST), SUPERUSER})
DECISION_LOG_READERS = frozenset({str(Role.RISK_ANALYST), str(Role.OPERATIONS_ADMIN), SUPERUSER})


@dataclass(frozen=True)
class Access:
    allowed: frozenset[str]
    status: int = 200  # what an allowed GET answers
    denied: int = 403  # what a signed-in user outside `allowed` gets (staff, on admin pages)
    # Principal → answer, for views that answer by design differently for some (a signed-in
    # user on a sign-in page is sent on); these win over the rules above.
    special: Mapping[str, int] = field(default_factory=dict)
    note: str = ""


def _each(principals, status: int) -> dict[str, int]:
    return dict.fromkeys(principals, status)


_AUTOCOMPLETE = "answers only with the admin's field parameters: 403 without them"
_NO_HAND_ENTRIES = "rows written only by the services or the sweep: never added or deleted by hand"

URL_ACCESS: dict[str, Access] = {
    # --- Public, sign-in and the console's own pages ----------------------------------------
    "healthz": Access(EVERYONE, note="load balancers ask without signing in"),
    "healthz_operations": Access(
        EVERYONE, note="monitoring asks without signing in; names no person or number"
    ),
    "set_language": Access(EVERYONE, status=405, note="POST only: a GET changes nothing"),
    "login": Access(EVERYONE, special=_each(SIGNED_IN, 302), note="a signed-in user is sent home"),
    "logout": Access(SIGNED_IN, status=405, note="signing out is a POST"),
    "otp_verify": Access(SIGNED_IN, status=302, note="a user who passed the second step is sent on"),
    "otp_setup": Access(SIGNED_IN),
    "home": Access(SIGNED_IN),
    "audit:event_list": Access(AUDIT_READERS),
    "audit:event_export": Access(AUDIT_READERS),
    "collections:case_contacts": Access(
        CASE_WORKERS, note="the user's visible cases only: another agent's case is a 404"
    ),
    "audit:reveal": Access(PII_REVEALERS, note="GET asks for the reason; the value is shown after a POST"),
    "collections:case_queue": Access(QUEUE_WORKERS),
    "collections:my_queue": Access(QUEUE_WORKERS),
    "collections:case_detail": Access(QUEUE_WORKERS, note="a case outside the reader's queues is a 404"),
    "collections:case_assign_bulk": Access(CASE_ASSIGNERS, status=405, note="POST only: the queue's form"),
    # --- The risk console ---
    "risk:scorecard_list": Access(RISK_ANALYSTS),
    "risk:version_detail": Access(RISK_ANALYSTS),
    "risk:version_copy": Access(RISK_ANALYSTS, status=405, note="POST only: the version page's button"),
    "risk:version_request": Access(RISK_ANALYSTS, status=405, note="POST only: the version page's button"),
    "risk:version_decide": Access(RISK_ANALYSTS, status=405, note="POST only: a second analyst's decision"),
    "risk:score_list": Access(RISK_ANALYSTS),
    "risk:approvals": Access(RISK_ANALYSTS),
    "risk:limit_change_decide": Access(
        RISK_ANALYSTS, status=405, note="POST only: the approvals queue's form"
    ),
    "risk:customer_risk": Access(RISK_ANALYSTS),
    # The case page's own actions (their forms load into its action panel; a 404 outside the queues).
    "collections:case_note": Access(QUEUE_WORKERS, note="a case outside the reader's queues is a 404"),
    "collections:case_reassign": Access(CASE_ASSIGNERS),
    "collections:case_hold": Access(QUEUE_WORKERS, note="a case outside the reader's queues is a 404"),
    # Managers keep the assignment rules and read the manager view (accounts.roles).
    "collections:assignment_rules": Access(COLLECTIONS_MANAGERS),
    "collections:assignment_rule_add": Access(COLLECTIONS_MANAGERS),
    "collections:assignment_rule_edit": Access(COLLECTIONS_MANAGERS),
    "collections:performance": Access(COLLECTIONS_MANAGERS),
    # --- Settlements, restructures and write-offs (settlements app) ---------------------------
    "settlements:propose": Access(
        QUEUE_WORKERS, note="a case action; a case outside the reader's queues is a 404"
    ),
    "settlements:approval_queue": Access(
        QUEUE_WORKERS, note="agents see their own requests; managers decide"
    ),
    "settlements:decide": Access(
        CASE_ASSIGNERS, note="the request's page with approve and reject; the requester's own is refused"
    ),
    # --- Home visits (visits) ---
    "visits:request": Access(VISIT_REQUESTERS, note="a case outside the reader's queues is a 404"),
    "visits:case_cancel": Access(
        VISIT_REQUESTERS,
        note="a case outside the reader's queues is a 404; a POST by who may not cancel its visit a 403",
    ),
    "visits:requested": Access(VISIT_APPROVERS),
    "visits:decide": Access(VISIT_APPROVERS),
    "visits:cancel": Access(
        VISIT_APPROVERS, status=405, note="POST only: the visit page's and the requests page's buttons"
    ),
    "visits:today": Access(VISIT_MAKERS),
    "visits:detail": Access(VISIT_READERS, note="another field agent's visit is a 404"),
    "visits:check_in": Access(VISIT_MAKERS, status=405, note="POST only, by the visit's own field agents"),
    "visits:check_out": Access(VISIT_MAKERS, status=405, note="POST only, by the visit's own field agents"),
    "visits:outcome": Access(VISIT_MAKERS, status=405, note="POST only, by the visit's own field agents"),
    "visits:photo": Access(VISIT_PHOTO_READERS, note="another field agent's visit's photo is a 404"),
    "admin:app_list/visits": Access(STAFF),
    "admin:visits_*_add": Access(NOBODY, note="visits are requested on the case page (visits.services)"),
    "admin:visits_*_delete": Access(NOBODY, note="a visit is rejected or cancelled, never deleted"),
    "admin:visits_*": Access(STAFF),
    # --- Risk console: restrictions and the decision log (issue 12) -----------------------------
    "restrictions:job_confirm": Access(RISK_ANALYSTS, status=405, note="POST only: the job page's buttons"),
    "restrictions:job_approve": Access(RISK_ANALYSTS, status=405, note="POST only: the job page's buttons"),
    "restrictions:job_cancel": Access(RISK_ANALYSTS, status=405, note="POST only: the job page's buttons"),
    "restrictions:job_resume": Access(RISK_ANALYSTS, status=405, note="POST only: the job page's buttons"),
    "restrictions:customer_find": Access(
        RISK_ANALYSTS, status=302, note="without a platform user id: back to the job list"
    ),
    "restrictions:*": Access(RISK_ANALYSTS),
    "decisionlog:verification_start": Access(DECISION_LOG_READERS, status=405, note="POST only"),
    "decisionlog:*": Access(DECISION_LOG_READERS),
    # --- The Django admin: staff only (operations admins and superusers) ----------------------
    "admin:index": Access(STAFF),
    # The admin's sign-in leads to the console's two steps (accounts.auth_views.admin_sign_in,
    # mounted before the admin's own URL of the same path).
    "admin:login": Access(
        STAFF,
        status=302,
        special=_each(NOT_STAFF, 403),
        note="anonymous: to the console's sign-in; staff: to the index; others may not use the admin",
    ),
    "admin/login/": Access(STAFF, status=302, special=_each(NOT_STAFF, 403), note="as admin:login"),
    "admin:logout": Access(
        STAFF,
        status=405,
        special=_each(NOT_STAFF, 302),
        note="signing out is a POST; a non-staff user is sent to the admin index, then to its sign-in",
    ),
    "admin:password_change": Access(STAFF),
    "admin:password_change_done": Access(STAFF),
    "admin:jsi18n": Access(STAFF),
    "admin:autocomplete": Access(NOBODY, note=_AUTOCOMPLETE),
    "admin:view_on_site": Access(STAFF, status=404, note="no model has get_absolute_url"),
    "admin/(?P<url>.*)": Access(STAFF, status=404, note="the admin's catch-all: an unknown admin page"),
    "admin/*/<path:object_id>/": Access(
        STAFF, status=302, note="the old object URL redirects to its change page"
    ),
    # The index of one app: 404 for staff who may see none of its models.
    "admin:app_list/accounts": Access(STAFF),
    "admin:app_list/audit": Access(STAFF),
    "admin:app_list/auth": Access(STAFF),
    "admin:app_list/axes": Access(STAFF),
    "admin:app_list/collections": Access(STAFF),
    "admin:app_list/django_celery_beat": Access(STAFF),
    "admin:app_list/orders": Access(STAFF),
    "admin:app_list/policy": Access(STAFF),
    "admin:app_list/sweep": Access(STAFF),
    "admin:app_list/risk": Access(STAFF),
    "admin:app_list/settlements": Access(STAFF),
    "admin:app_list/*": Access(SUPERUSER_ONLY, denied=404),
    # Staff users, customers, contacts, credit lines; roles are a permission of their own.
    "admin:accounts_*": Access(STAFF),
    "admin:auth_user_password_change": Access(STAFF),
    "admin:auth_group_add": Access(NOBODY, note="the roles are declared in accounts.roles"),
    "admin:auth_group_delete": Access(NOBODY, note="the roles are declared in accounts.roles"),
    "admin:auth_group_*": Access(STAFF, note="read only: the roles are declared in accounts.roles"),
    # Money: orders come from order_place, schedules from delivery, payments from posting.
    "admin:orders_merchant_*": Access(STAFF),
    "admin:orders_*_add": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:orders_*_delete": Access(NOBODY, note="money is reversed or cancelled, never deleted"),
    "admin:orders_*": Access(STAFF),
    "admin:collections_collectioncase_delete": Access(NOBODY, note="a case is closed, never deleted"),
    "admin:collections_caseevent_add": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:collections_caseevent_delete": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:collections_contactattempt_add": Access(
        NOBODY, note="contacts are recorded on the case's contact page, under the conduct rules"
    ),
    "admin:collections_contactattempt_delete": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:collections_promise_add": Access(NOBODY, note="promises are made with a contact, on the case"),
    "admin:collections_promise_delete": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:collections_assignmentrule_add": Access(
        NOBODY, note="managers keep the rules on their console page (collections:assignment_rules)"
    ),
    "admin:collections_assignmentrule_delete": Access(NOBODY, note="a rule is deactivated, never deleted"),
    "admin:collections_*": Access(STAFF),
    # A future policy version may be deleted; the one in force may not (tests/admin).
    "admin:policy_policy_*": Access(STAFF),
    "admin:sweep_*_add": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:sweep_*_delete": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:sweep_*": Access(STAFF),
    # The risk app: rows written by risk.services (versions come from fitting or a copy).
    "admin:risk_*_add": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:risk_*_delete": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:risk_*": Access(STAFF),
    "admin:audit_*_add": Access(NOBODY, note="the audit trail is written by audit.services only"),
    "admin:audit_*_delete": Access(NOBODY, note="the audit trail is never deleted from the console"),
    "admin:audit_*": Access(STAFF),
    # Reminders: no role holds their permissions yet.
    "admin:reminders_*_add": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:reminders_*_delete": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:reminders_*": Access(SUPERUSER_ONLY),
    # Celery beat: operations admins see the schedules and may switch a task on or off.
    "admin:django_celery_beat_periodictask_add": Access(SUPERUSER_ONLY),
    "admin:django_celery_beat_periodictask_delete": Access(SUPERUSER_ONLY),
    "admin:django_celery_beat_periodictask_*": Access(STAFF),
    "admin:django_celery_beat_crontabschedule_add": Access(SUPERUSER_ONLY),
    "admin:django_celery_beat_crontabschedule_delete": Access(SUPERUSER_ONLY),
    "admin:django_celery_beat_crontabschedule_*": Access(STAFF),
    "admin:django_celery_beat_intervalschedule_add": Access(SUPERUSER_ONLY),
    "admin:django_celery_beat_intervalschedule_delete": Access(SUPERUSER_ONLY),
    "admin:django_celery_beat_intervalschedule_*": Access(STAFF),
    "admin:django_celery_beat_*": Access(SUPERUSER_ONLY),
    "admin:django_celery_results_*": Access(SUPERUSER_ONLY),
    "admin:settlements_*_add": Access(
        NOBODY, note="proposed on the case page or by the sweep, never by hand"
    ),
    "admin:settlements_*_delete": Access(NOBODY, note="a request is decided or cancelled, never deleted"),
    "admin:settlements_*": Access(STAFF, note="read only: decided on the console's approval queue"),
    # Sign-in security: second-factor devices and lockouts, for superusers.
    "admin:otp_totp_totpdevice_config": Access(
        NOBODY, note="OTP_ADMIN_HIDE_SENSITIVE_DATA: keys are never shown"
    ),
    "admin:otp_totp_totpdevice_qrcode": Access(
        NOBODY, note="OTP_ADMIN_HIDE_SENSITIVE_DATA: keys are never shown"
    ),
    "admin:otp_*": Access(SUPERUSER_ONLY),
    "admin:axes_*_add": Access(NOBODY, note="written by django-axes only"),
    # Operations admins lift a lockout: they see the failed attempts and delete them.
    "admin:axes_accessattempt_*": Access(STAFF),
    "admin:axes_*": Access(SUPERUSER_ONLY),
}


# --- Order decisions (decisions app) -----------------------------------------------------------
# Risk analysts try orders and review referrals (decisions.try_orderdecision,
# decisions.review_orderdecision); the data admin shows the decisions read-only. Put first:
# "admin:app_list/*" above would otherwise match the app's index.
RISK_ANALYSTS = frozenset({str(Role.RISK_ANALYST), SUPERUSER})
URL_ACCESS = {
    "decisions:try_order": Access(RISK_ANALYSTS),
    "decisions:review_queue": Access(RISK_ANALYSTS),
    "decisions:decision_detail": Access(RISK_ANALYSTS),
    "admin:app_list/decisions": Access(STAFF),
    "admin:decisions_*_add": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:decisions_*_delete": Access(NOBODY, note=_NO_HAND_ENTRIES),
    "admin:decisions_*": Access(STAFF),
    **URL_ACCESS,
}


def access_for(key: str) -> Access | None:
    """The first entry whose pattern matches the URL's key, or None when it is not declared."""
    for pattern, access in URL_ACCESS.items():
        if fnmatchcase(key, pattern):
            return access
    return None


def expected_answer(access: Access, principal: str, *, admin_page: bool) -> tuple[int, str | None]:
    """What a GET by `principal` answers: (status, None), or (302, "login") / (302, "admin_login")
    when it must be a redirect to that sign-in page."""
    if principal in access.special:
        return access.special[principal], None
    if principal in access.allowed:
        return access.status, None
    if principal == ANONYMOUS:
        return 302, "login"
    if admin_page and principal not in STAFF:
        return 302, "admin_login"
    return access.denied, None
