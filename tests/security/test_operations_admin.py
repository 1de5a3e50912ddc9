"""An operations admin fixes data but cannot become someone else.

Each attempt from the penetration test (issue 9) is made through the admin as a request and
must be refused (403 or a form error) and change nothing; what stays allowed is in the audit
trail with who, old and new.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import otp, services
from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS, Role
from audit.models import AuditAction, AuditEvent
from bnpl_admin.errors import DomainError
from sweep import schedules
from tests.conftest import login_verified
from tests.factories import UserFactory

from .signin import password_step

pytestmark = pytest.mark.django_db

OPS, AGENT, RISK = str(Role.OPERATIONS_ADMIN), str(Role.COLLECTIONS_AGENT), str(Role.RISK_ANALYST)
NEW_PASSWORD = "a new long passphrase 42"
SWEEP = "Nightly overdue sweep"


@pytest.fixture
def ops(db):
    return UserFactory(username="ops", roles=[Role.OPERATIONS_ADMIN], is_staff=True)


@pytest.fixture
def peer(db):
    return UserFactory(username="ops2", roles=[Role.OPERATIONS_ADMIN], is_staff=True)


@pytest.fixture
def agent(db):
    user = UserFactory(username="agent1", roles=[Role.COLLECTIONS_AGENT])
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    otp.backup_codes_issue(user=user)
    return user


@pytest.fixture
def root(superuser):
    TOTPDevice.objects.create(user=superuser, name="Authenticator app", confirmed=True)
    return superuser


@pytest.fixture
def ops_client(ops):
    client = Client()
    login_verified(client, ops)
    return client


@pytest.fixture
def root_client(root):
    client = Client()
    login_verified(client, root)
    return client


def _state(user: User) -> dict:
    """Everything about an account an attempt could change, as stored."""
    user = User.objects.filter(pk=user.pk).first()
    if user is None:
        return {"exists": False}
    return {
        **model_to_dict(user, exclude=["groups", "user_permissions", "last_login"]),
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "user_permissions": sorted(user.user_permissions.values_list("pk", flat=True)),
        "devices": TOTPDevice.objects.filter(user=user).count()
        + StaticDevice.objects.filter(user=user).count(),
    }


def _change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def _form_data(user: User, **changes) -> dict:
    """What the user change form posts for `user` as it is, with `changes` on top (None: leave out)."""
    joined = timezone.localtime(user.date_joined)
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "timezone": user.timezone,
        "language": user.language,
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
    }
    if user.is_active:
        data["is_active"] = "on"
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def _group(name: str) -> Group:
    return Group.objects.get(name=name)


def _refused(response) -> bool:
    """A 403, or the form shown again with an error."""
    if response.status_code == 403:
        return True
    return response.status_code == 200 and bool(response.context["adminform"].form.errors)


# --- Flags and roles ----------------------------------------------------------------------------


def test_an_operations_admin_cannot_make_themselves_superuser(ops_client, ops):
    before = _state(ops)

    response = ops_client.post(_change_url(ops), _form_data(ops, is_superuser="on", is_staff="on"))

    assert _refused(response)
    assert _state(ops) == before


def _attempts(target: User) -> dict:
    """What an operations admin tried against a superuser: (url, data) by name."""
    return {
        "demote": (_change_url(target), _form_data(target, is_superuser=None, is_staff="on")),
        "deactivate": (_change_url(target), _form_data(target, is_active=None)),
        "rename": (_change_url(target), _form_data(target, username="taken-over")),
        "take a role away": (_change_url(target), _form_data(target, groups=[])),
        "delete": (reverse("admin:accounts_user_delete", args=[target.pk]), {"post": "yes"}),
        "delete in bulk": (
            reverse("admin:accounts_user_changelist"),
            {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"},
        ),
        "set the password": (
            reverse("admin:auth_user_password_change", args=[target.pk]),
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
        ),
        "disable password sign-in": (
            reverse("admin:auth_user_password_change", args=[target.pk]),
            {"usable_password": "false", "unset-password": "1"},
        ),
    }


@pytest.mark.parametrize("attempt", list(_attempts(User(pk=1))))
@pytest.mark.parametrize("whom", ["a superuser", "another operations admin", "themselves"])
def test_an_operations_admin_cannot_change_a_protected_account(ops_client, ops, root, peer, whom, attempt):
    target = {"a superuser": root, "another operations admin": peer, "themselves": ops}[whom]
    url, data = _attempts(target)[attempt]
    before = _state(target)

    response = ops_client.post(url, data)

    assert _refused(response), response.status_code
    assert _state(target) == before
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_SET).exists()


def test_an_operations_admin_cannot_grant_the_operations_admin_role(ops_client, agent):
    before = _state(agent)

    response = ops_client.post(
        _change_url(agent), _form_data(agent, groups=[_group(AGENT).pk, _group(OPS).pk])
    )

    assert _refused(response)
    assert _state(agent) == before


def test_an_operations_admin_changes_another_role_and_the_trail_has_who_old_and_new(ops_client, ops, agent):
    response = ops_client.post(_change_url(agent), _form_data(agent, groups=[_group(RISK).pk]))

    assert response.status_code == 302
    assert _state(agent)["groups"] == [RISK]
    event = AuditEvent.objects.get(
        action=AuditAction.CHANGED, object_id=str(agent.pk), actor=ops, changes__has_key="groups"
    )
    assert event.changes["groups"] == [[AGENT], [RISK]]


def test_a_superuser_grants_the_operations_admin_role_audited(root_client, root, agent):
    response = root_client.post(_change_url(agent), _form_data(agent, groups=[_group(OPS).pk], is_staff="on"))

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.role_names == [OPS] and agent.is_staff
    events = AuditEvent.objects.filter(action=AuditAction.CHANGED, object_id=str(agent.pk), actor=root)
    changes = {name: values for event in events for name, values in event.changes.items()}
    assert changes["groups"] == [[AGENT], [OPS]]
    assert changes["is_staff"] == [False, True]


def test_a_superuser_does_not_change_their_own_flags_either(root_client, root):
    before = _state(root)

    response = root_client.post(_change_url(root), _form_data(root, is_superuser=None, is_staff="on"))

    assert _refused(response)
    assert _state(root) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda by, user: services.user_set_flags(user=user, by=by, is_superuser=True),
        lambda by, user: services.user_set_flags(user=user, by=by, is_staff=True),
        lambda by, user: services.user_set_roles(user=user, by=by, roles=[_group(OPS)]),
        lambda by, user: services.user_set_roles(
            user=user, by=by, roles=user.groups.all(), permissions=Permission.objects.all()[:3]
        ),
        lambda by, user: services.user_set_roles(
            user=user, by=by, roles=[Group.objects.create(name="Anything")]
        ),
    ],
    ids=["superuser flag", "staff flag", "operations role", "own permissions", "undeclared group"],
)
def test_the_services_refuse_an_operations_admin_whatever_calls_them(ops, agent, call):
    before = _state(agent)

    with pytest.raises(DomainError):
        call(ops, agent)

    assert _state(agent) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda by, user: services.user_set_flags(user=user, by=by, is_active=False),
        lambda by, user: services.user_set_roles(user=user, by=by, roles=[_group(RISK)]),
        lambda by, user: services.user_set_password_by(user=user, by=by, password=NEW_PASSWORD),
        lambda by, user: services.user_delete(user=user, by=by),
        lambda by, user: otp.second_factor_reset(user=user, by=by),
    ],
    ids=["deactivate", "roles", "password", "delete", "second factor"],
)
@pytest.mark.parametrize("whom", ["a superuser", "another operations admin", "themselves"])
def test_the_services_refuse_any_change_to_a_protected_account(ops, root, peer, whom, call):
    target = {"a superuser": root, "another operations admin": peer, "themselves": ops}[whom]
    before = _state(target)

    with pytest.raises(DomainError):
        call(ops, target)

    assert _state(target) == before


# Crafted change forms: any subset of the fields that carry power, with any values.
_PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        "is_superuser": st.sampled_from(["on", "true", "1", ""]),
        "is_staff": st.sampled_from(["on", ""]),
        "is_active": st.sampled_from(["on", None]),
        "groups": st.lists(st.sampled_from(Role.values), unique=True, max_size=3),
        "user_permissions": st.lists(st.integers(min_value=0, max_value=20), unique=True, max_size=3),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=_PAYLOADS, whom=st.sampled_from(["self", "superuser", "peer", "agent"]))
def test_no_crafted_user_form_lets_an_operations_admin_widen_anyones_access(
    ops_client, ops, root, peer, agent, payload, whom
):
    target = {"self": ops, "superuser": root, "peer": peer, "agent": agent}[whom]
    # Each example starts from the same accounts (an allowed change of the agent is undone).
    User.objects.filter(pk=agent.pk).update(is_active=True)
    agent.groups.set([_group(AGENT)])
    target.refresh_from_db()
    before = _state(target)
    permission_ids = list(Permission.objects.order_by("pk").values_list("pk", flat=True))
    changes = dict(payload)
    if "groups" in changes:
        changes["groups"] = [_group(name).pk for name in changes["groups"]]
    if "user_permissions" in changes:
        changes["user_permissions"] = [permission_ids[i] for i in changes["user_permissions"]]

    response = ops_client.post(_change_url(target), _form_data(target, **changes))

    after = _state(target)
    # Never: admin access, superuser status, permissions of one's own, or the operations role.
    for key in ("is_superuser", "is_staff", "user_permissions"):
        assert after[key] == before[key]
    assert (OPS in after["groups"]) == (OPS in before["groups"])
    # An empty list is not sent at all, as a browser sends a multiple select with none chosen.
    crafted = {k for k in ("is_superuser", "is_staff", "user_permissions") if payload.get(k, []) != []}
    grants_ops = OPS in payload.get("groups", ())
    if whom != "agent" or crafted or grants_ops:
        assert _refused(response)
        assert after == before
    else:
        assert response.status_code == 302


# --- Passwords and second factors ---------------------------------------------------------------


def test_a_password_set_by_someone_else_ends_sessions_needs_a_new_factor_and_is_audited(
    ops_client, ops, agent
):
    agent_client = Client()
    login_verified(agent_client, agent)
    assert agent_client.get("/").status_code == 200

    response = ops_client.post(
        reverse("admin:auth_user_password_change", args=[agent.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action=AuditAction.PASSWORD_SET)
    assert (event.actor, event.object_id) == (ops, str(agent.pk))
    assert event.payload == {"sessions_ended": 1, "second_factor_devices_removed": 2}
    # Their session is gone on the server, not only refused at its next request...
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(agent.pk)]
    assert agent_client.get("/")["Location"].startswith(reverse("login"))
    # ...and whoever knows the new password must enrol a second factor, which is recorded too.
    assert not otp.has_second_factor(agent)
    assert password_step(Client(), "agent1", password=NEW_PASSWORD)["Location"].startswith(
        reverse("otp_setup")
    )


def test_the_own_password_is_changed_on_the_page_that_asks_for_the_old_one(ops_client, ops):
    before = _state(ops)

    response = ops_client.post(
        reverse("admin:auth_user_password_change", args=[ops.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 403
    assert _state(ops) == before


@pytest.mark.parametrize("whom", ["a superuser", "another operations admin", "themselves"])
def test_an_operations_admin_cannot_reset_a_protected_second_factor(ops_client, ops, root, peer, whom):
    target = {"a superuser": root, "another operations admin": peer, "themselves": ops}[whom]
    TOTPDevice.objects.get_or_create(user=target, confirmed=True, defaults={"name": "Authenticator app"})
    before = _state(target)

    ops_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [target.pk]},
    )

    assert _state(target) == before
    assert not AuditEvent.objects.filter(action=AuditAction.SECOND_FACTOR_RESET).exists()


def test_a_second_factor_reset_is_in_the_audit_trail(ops_client, ops, agent):
    ops_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [agent.pk]},
    )

    event = AuditEvent.objects.get(action=AuditAction.SECOND_FACTOR_RESET)
    assert (event.actor, event.object_id) == (ops, str(agent.pk))


# --- Sign-in lockouts ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["delete page", "bulk action"])
def test_lifting_a_lockout_is_in_the_audit_trail(ops_client, ops, agent, how):
    attempt = AccessAttempt.objects.create(
        username="agent1",
        ip_address="203.0.113.9",
        user_agent="test",
        get_data="",
        post_data="",
        http_accept="*/*",
        path_info="/login/",
        failures_since_start=5,
    )
    if how == "delete page":
        response = ops_client.post(
            reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
        )
    else:
        response = ops_client.post(
            reverse("admin:axes_accessattempt_changelist"),
            {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
        )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.LOCKOUT_LIFTED)
    assert event.actor == ops
    assert event.payload == {"username": "agent1", "ip_address": "203.0.113.9"}
    assert event.changes == {"failures_since_start": [5, 0]}


# --- Role permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ops", "root"])
def test_nobody_edits_a_roles_permissions_in_the_admin(ops_client, root_client, who):
    client = {"ops": ops_client, "root": root_client}[who]
    group = _group(OPS)
    everything = list(Permission.objects.values_list("pk", flat=True))

    page = client.get(reverse("admin:auth_group_change", args=[group.pk]))
    response = client.post(
        reverse("admin:auth_group_change", args=[group.pk]), {"name": OPS, "permissions": everything}
    )
    added = client.post(reverse("admin:auth_group_add"), {"name": "Power", "permissions": everything})

    assert page.status_code == 200 and "orders.waive_fee" in page.text  # shown, read only
    assert response.status_code == 403 and added.status_code == 403
    wanted = ROLE_PERMISSIONS[Role.OPERATIONS_ADMIN]
    assert {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()} == wanted
    assert not Group.objects.filter(name="Power").exists()


# --- Beat schedules -----------------------------------------------------------------------------


def _task_state(task: PeriodicTask) -> dict:
    return model_to_dict(PeriodicTask.objects.get(pk=task.pk), exclude=["date_changed", "last_run_at"])


@pytest.fixture
def sweep_task(db):
    return PeriodicTask.objects.get(name=SWEEP)


def _task_form(periodic_task: PeriodicTask, changes: dict) -> dict:
    return {**({"enabled": "on"} if periodic_task.enabled else {}), **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"args": '["2099-01-01"]'},
        {"kwargs": '{"business_date": "2099-01-01"}'},
        {"task": "sweep.chunk", "regtask": "sweep.chunk"},
        {"interval": "1"},
        {"one_off": "on"},
        {"name": "Renamed"},
    ],
    ids=lambda c: ",".join(c),
)
def test_an_operations_admin_cannot_rewrite_a_periodic_task(ops_client, sweep_task, changes):
    before = _task_state(sweep_task)

    response = ops_client.post(
        reverse("admin:django_celery_beat_periodictask_change", args=[sweep_task.pk]),
        _task_form(sweep_task, changes),
    )

    assert response.status_code == 403
    assert _task_state(sweep_task) == before
    assert not AuditEvent.objects.filter(object_id=str(sweep_task.pk)).exists()


def test_an_operations_admin_cannot_add_delete_or_run_a_periodic_task_or_change_a_schedule(
    ops_client, sweep_task
):
    crontab = sweep_task.crontab
    tasks, crontab_before = list(PeriodicTask.objects.values()), model_to_dict(crontab)

    answers = [
        ops_client.post(
            reverse("admin:django_celery_beat_periodictask_add"),
            {"name": "Every 15 minutes", "task": "sweep.start", "crontab": crontab.pk, "enabled": "on"},
        ),
        ops_client.post(
            reverse("admin:django_celery_beat_periodictask_delete", args=[sweep_task.pk]), {"post": "yes"}
        ),
        ops_client.post(
            reverse("admin:django_celery_beat_crontabschedule_change", args=[crontab.pk]),
            {"minute": "*/15", "hour": "*", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"},
        ),
    ]
    run = ops_client.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {"action": "run_tasks", "_selected_action": [sweep_task.pk]},
    )

    assert [a.status_code for a in answers] == [403, 403, 403]
    assert run.status_code in (200, 302, 403)  # no such action for them: nothing runs
    assert list(PeriodicTask.objects.values()) == tasks
    assert model_to_dict(CrontabSchedule.objects.get(pk=crontab.pk)) == crontab_before


@pytest.mark.parametrize("how", ["change form", "action"])
def test_an_operations_admin_switches_a_schedule_off_audited(ops_client, ops, sweep_task, how):
    assert sweep_task.enabled
    if how == "change form":
        response = ops_client.post(
            reverse("admin:django_celery_beat_periodictask_change", args=[sweep_task.pk]), {}
        )
    else:
        response = ops_client.post(
            reverse("admin:django_celery_beat_periodictask_changelist"),
            {"action": "disable_tasks", "_selected_action": [sweep_task.pk]},
        )

    assert response.status_code == 302
    before = _task_state(sweep_task)
    assert not before["enabled"]
    event = AuditEvent.objects.get(object_id=str(sweep_task.pk), action=AuditAction.CHANGED)
    assert event.actor == ops
    assert event.changes == {"enabled": [True, False]}


def test_a_superusers_change_to_a_task_is_audited_with_old_and_new(root, sweep_task):
    sweep_task.kwargs = '{"business_date": "2026-01-02"}'

    schedules.beat_entry_save(obj=sweep_task, by=root)

    event = AuditEvent.objects.get(object_id=str(sweep_task.pk), action=AuditAction.CHANGED)
    assert event.actor == root
    assert event.changes == {"kwargs": ["{}", '{"business_date": "2026-01-02"}']}


def test_the_services_refuse_an_operations_admins_task_edit(ops, sweep_task):
    sweep_task.args = '["2099-01-01"]'

    with pytest.raises(DomainError):
        schedules.beat_entry_save(obj=sweep_task, by=ops)

    assert PeriodicTask.objects.get(pk=sweep_task.pk).args == "[]"


def test_disabling_someone_elses_password_sign_in_is_audited_too(ops_client, ops, agent):
    response = ops_client.post(
        reverse("admin:auth_user_password_change", args=[agent.pk]),
        {"usable_password": "false", "unset-password": "1"},
    )

    assert response.status_code == 302
    agent.refresh_from_db()
    assert not agent.has_usable_password()
    event = AuditEvent.objects.get(action=AuditAction.PASSWORD_SET)
    assert (event.actor, event.reason) == (ops, "password sign-in disabled")


def test_a_superuser_adding_a_task_in_the_admin_is_audited(root_client, root, sweep_task):
    response = root_client.post(
        reverse("admin:django_celery_beat_periodictask_add"),
        {
            "name": "Extra snapshot",
            "regtask": "sweep.snapshot",
            "enabled": "on",
            "crontab": sweep_task.crontab_id,
            "args": "[]",
            "kwargs": "{}",
            "priority": "",
            "headers": "{}",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    task = PeriodicTask.objects.get(name="Extra snapshot")
    event = AuditEvent.objects.get(object_id=str(task.pk), action=AuditAction.CREATED)
    assert event.actor == root
    assert event.changes["task"] == [None, "sweep.snapshot"]


@pytest.mark.parametrize("headers", ["", "   "])
def test_a_superusers_task_saved_with_empty_headers_keeps_no_headers(root_client, sweep_task, headers):
    # django-celery-beat's save() turns "" into NULL, which its own column refuses: a 500 before.
    data = {
        "name": sweep_task.name,
        "task": sweep_task.task,
        "crontab": sweep_task.crontab_id,
        "args": "[]",
        "kwargs": "{}",
        "headers": headers,
        "enabled": "on",
    }

    response = root_client.post(
        reverse("admin:django_celery_beat_periodictask_change", args=[sweep_task.pk]), data
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    sweep_task.refresh_from_db()
    assert sweep_task.headers == "{}"
