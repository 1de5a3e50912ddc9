"""Every URL of the project, found by walking the URL resolver, with a concrete path for each.

Shared by the access-matrix test and the bad-input test, so a new URL is checked by both
without being listed anywhere but in the matrix (bnpl_admin/access.py).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.roles import Role
from bnpl_admin.access import PRINCIPALS, STAFF_ROLES, SUPERUSER

# A named group whose regex is a list of literals (the admin's app index) becomes one URL
# per literal, so each app's index is declared on its own.
_ALTERNATION = re.compile(r"^[\w-]+(\|[\w-]+)+$")
_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*(?:\([^()]*\)[^()]*)*)\)")
# An unnamed group (django-simple-history's "([^/]+)/history/([^/]+)/"): arg1, arg2, ...
_POSITIONAL_GROUP = re.compile(r"\((?!\?)[^()]*\)")


@dataclass(frozen=True)
class Route:
    key: str  # the name the matrix declares: "namespace:name", or the route text when unnamed
    route: str  # e.g. "admin/orders/order/<path:object_id>/change/"
    pattern: URLPattern
    namespace: str
    params: tuple[str, ...]
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.namespace == "admin"

    @property
    def admin_model(self):
        """The model of an admin URL under <app_label>/<model_name>/, if any."""
        if not self.is_admin:
            return None
        parts = self.route.split("/")
        if len(parts) < 3:
            return None
        for model in admin.site._registry:
            if (model._meta.app_label, model._meta.model_name) == (parts[1], parts[2]):
                return model
        return None


def discover() -> list[Route]:
    """Every URL pattern of the project, admin's per-model URLs included."""
    routes: list[Route] = []
    _walk(get_resolver().url_patterns, "", [], routes)
    return routes


def _walk(patterns, prefix: str, namespaces: list[str], routes: list[Route]) -> None:
    for entry in patterns:
        text = _pattern_text(entry.pattern)
        if isinstance(entry, URLResolver):
            spaces = [*namespaces, entry.namespace] if entry.namespace else namespaces
            _walk(entry.url_patterns, prefix + text, spaces, routes)
            continue
        route = prefix + text
        namespace = ":".join(namespaces)
        key = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or route)
        params = tuple(m.group("name") for m in _REGEX_GROUP.finditer(route))
        unnamed = _REGEX_GROUP.sub("", route)
        params += tuple(f"arg{n}" for n, _m in enumerate(_POSITIONAL_GROUP.finditer(unnamed), 1))
        params += tuple(m.group("name") for m in _ROUTE_PARAM.finditer(_POSITIONAL_GROUP.sub("", unnamed)))
        choices = {
            m.group("name"): tuple(m.group("body").split("|"))
            for m in _REGEX_GROUP.finditer(route)
            if _ALTERNATION.match(m.group("body"))
        }
        routes.append(Route(key, route, entry, namespace, params, choices))


def _pattern_text(pattern) -> str:
    text = str(pattern)
    # A regex pattern: drop its anchors so the parts join into one route text.
    return text.removeprefix("^").removesuffix("$") if text.startswith("^") or text.endswith("$") else text


@dataclass
class Target:
    """One concrete URL to request for a route."""

    key: str
    path: str
    route: Route


class MissingSample(LookupError):
    pass


def targets(routes: list[Route], sample) -> list[Target]:
    """Concrete paths: parameters filled by `sample(route, name)`, alternations expanded."""
    out = []
    for route in routes:
        variants: list[tuple[str, dict[str, str]]] = [(route.key, {})]
        for name, options in route.choices.items():
            variants = [
                (f"{key}/{option}", {**values, name: option})
                for key, values in variants
                for option in options
            ]
        for key, values in variants:
            filled = {name: values.get(name) or sample(route, name) for name in route.params}
            out.append(Target(key, "/" + fill(route.route, filled), route))
    return out


def fill(route: str, values: dict[str, str]) -> str:
    route = _REGEX_GROUP.sub(lambda m: str(values[m.group("name")]), route)
    positional = iter(range(1, 100))
    route = _POSITIONAL_GROUP.sub(lambda m: str(values[f"arg{next(positional)}"]), route)
    return _ROUTE_PARAM.sub(lambda m: str(values[m.group("name")]), route)


# --- Data: one row of every model the admin shows -----------------------------------------------


@dataclass
class SiteData:
    objects: dict[type, object]
    users: dict[str, object]  # principal → user (no entry for anonymous)


def build_site_data() -> SiteData:
    """A small book with a row of every admin model, and one user per principal."""
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from django_celery_results.models import GroupResult, TaskResult

    from collection.models import CaseEvent, CaseEventType, Team
    from orders.models import Component
    from orders.services import fee_waive
    from policy.models import Policy
    from reminders.models import OutboxMessage, Reminder
    from sweep.models import PortfolioSnapshot, SweepRun
    from sweep.services import sweep_run
    from tests.factories import (
        CollectionCaseFactory,
        EmergencyContactFactory,
        UserFactory,
        delivered_order,
        posted_payment,
        waiver_requester,
    )

    users = {}
    for principal in PRINCIPALS:
        if principal == "anonymous":
            continue
        slug = re.sub(r"\W+", "_", principal.lower())
        if principal == SUPERUSER:
            users[principal] = UserFactory(username="matrix_root", is_staff=True, is_superuser=True)
        else:
            user = UserFactory(username=f"matrix_{slug}", is_staff=principal in STAFF_ROLES)
            user.groups.set([Group.objects.get(name=principal)])
            users[principal] = user

    today = timezone.localdate()
    order = delivered_order(delivered_on=today - datetime.timedelta(days=60))
    customer = order.customer
    EmergencyContactFactory(customer=customer)
    posted_payment(customer=customer, amount=Decimal("50.00"))
    fee_waive(
        installment=order.installments.order_by("sequence").last(),
        component=Component.FEE,
        amount=Decimal("1.00"),
        reason="goodwill",
        approved_by=users[SUPERUSER],
        requested_by=waiver_requester(),
    )
    from orders.services import manual_payment_request

    manual_payment_request(
        customer=customer,
        amount=Decimal("20000.00"),
        reference="MATRIX-MANUAL-1",
        received_at=timezone.now() - datetime.timedelta(hours=1),
        method="alipay",
        requested_by=users[str(Role.OPERATIONS_ADMIN)],
        reason="bank transfer",
    )
    sweep_run(on=today)
    if not SweepRun.objects.exists() or not PortfolioSnapshot.objects.exists():
        raise AssertionError("the sweep made no run or snapshot")
    # The sweep opens its cases set-based, without history rows: add one made by a person.
    case = CollectionCaseFactory(assigned_agent=users[str(Role.COLLECTIONS_AGENT)])
    CaseEvent.objects.create(case=case, type=CaseEventType.OPENED)
    from collection.services import contact_record

    # An inbound call: allowed whatever the hour, so the matrix builds at any time of day.
    contact_record(
        case=case,
        agent=users[str(Role.COLLECTIONS_AGENT)],
        channel="phone",
        party="debtor",
        direction="inbound",
        outcome="reached",
        summary="matrix",
    )
    from collection.models import CollectionCase
    from collection.services import promise_make

    # A promise to pay, through its service, on the case of the customer who owes (the sweep above
    # opened it), so its admin pages are walked.
    owing_case = CollectionCase.objects.filter(customer=customer, closed_at__isnull=True).first()
    promise_make(
        case=owing_case or CollectionCaseFactory(customer=customer),
        by=users[str(Role.COLLECTIONS_AGENT)],
        amount=Decimal("10.00"),
        due_date=today,
    )
    from collection.models import CollectionCase
    from settlements.services import arrangement_propose

    # A settlement the matrix agent proposed on their own case, whose customer owes an order.
    assert CollectionCase.objects.order_by("pk").last() == case
    delivered_order(customer=case.customer, delivered_on=today - datetime.timedelta(days=60))
    arrangement_propose(
        case=case,
        by=users[str(Role.COLLECTIONS_AGENT)],
        kind="settlement",
        fee_discount=Decimal("1.00"),
    )
    team = Team.objects.create(name="matrix", manager=users[str(Role.COLLECTIONS_MANAGER)])
    team.members.add(users[str(Role.COLLECTIONS_AGENT)])
    from collection.assignment import assignment_rule_create

    assignment_rule_create(by=users[str(Role.COLLECTIONS_MANAGER)], bucket="M1", team=team, method="by load")
    # The policy in force was written by a migration, without history: add a later version.
    Policy.objects.create(
        effective_from=today + datetime.timedelta(days=30),
        note="matrix",
        fee_rate_3=Decimal("0.018"),
        fee_rate_6=Decimal("0.036"),
        fee_rate_12=Decimal("0.072"),
        late_fee_daily_rate=Decimal("0.0005"),
        late_fee_cap_rate=Decimal("0.25"),
        late_fee_cap_amount=Decimal("200.00"),
    )
    from decisions.services import order_decide

    # A referral (the merchant is flagged), so the decision's pages have a row to show.
    order.merchant.is_risky = True
    order.merchant.save(update_fields=["is_risky"])
    order_decide(customer=customer, amount=Decimal("100.00"), merchant=order.merchant, channel="mall")
    installment = order.installments.order_by("sequence").first()
    now = timezone.now()
    Reminder.objects.create(
        key=f"inst:{installment.pk}:T+1:sms",
        kind="T+1",
        offset_days=1,
        channel="sms",
        customer=customer,
        installment=installment,
        business_date=today,
        send_on=today,
        not_before=now,
        next_attempt_at=now,
        recipient=customer.phone,
    )
    OutboxMessage.objects.create(key="matrix", channel="sms", recipient=customer.phone, body="hello")
    # Home visits (visits): one done by the matrix's field agent and another, with a photo, and
    # one waiting for a manager on the matrix agent's case.
    from tests.visits.builders import done_visit, field_agent, requested_visit, visitable_case

    done_visit(day=today, agents=(users[str(Role.FIELD_AGENT)], field_agent("matrix_second_field_agent")))
    requested_visit(day=today, case=visitable_case(agent=users[str(Role.COLLECTIONS_AGENT)]))
    interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.DAYS)
    CrontabSchedule.objects.create()
    SolarSchedule.objects.create(event="sunrise", latitude=Decimal("31.23"), longitude=Decimal("121.47"))
    ClockedSchedule.objects.create(clocked_time=now)
    PeriodicTask.objects.create(name="matrix", task="audit.noop", interval=interval)
    TaskResult.objects.create(task_id="matrix-task")
    GroupResult.objects.create(group_id="matrix-group")
    _third_party_rows(users[SUPERUSER])
    from tests.risk.cards import risk_rows

    risk_rows(maker=users[str(Role.RISK_ANALYST)], checker=users[SUPERUSER])
    _risk_console_rows(users, customer)

    objects = {}
    missing = []
    for model in admin.site._registry:
        rows = model._default_manager.order_by("pk")
        if hasattr(model, "history"):
            # A row with a history, so its history pages have a version to show.
            rows = rows.filter(pk__in=model.history.values("id"))
        obj = rows.first()
        if obj is None:
            missing.append(model._meta.label)
        objects[model] = obj
    if missing:
        raise AssertionError(
            f"no row of {', '.join(sorted(missing))}: add one in tests/audit/site_map.build_site_data"
        )
    return SiteData(objects=objects, users=users)


def _risk_console_rows(users, customer) -> None:
    """A restriction job and a decision log entry, for the pages that take their ids."""
    from restrictions.services import restriction_apply, restriction_job_preview

    analyst = users[str(Role.RISK_ANALYST)]
    restriction_job_preview(
        spec={"grade": "E"}, action="freeze", reason_code="poor_grade", text="", by=analyst
    )
    line = customer.credit_line
    line.refresh_from_db()
    action = "unfreeze" if line.status == "frozen" else "freeze"  # the sweep may have frozen it
    restriction_apply(credit_line=line, action=action, reason_code="arrears", text="matrix", by=analyst)


def _third_party_rows(user) -> None:
    """Rows of the sign-in security apps' models, where those apps are installed."""
    if "django_otp.plugins.otp_static" in settings.INSTALLED_APPS:
        from django_otp.plugins.otp_static.models import StaticDevice

        StaticDevice.objects.get_or_create(user=user, name="matrix")
    if "django_otp.plugins.otp_totp" in settings.INSTALLED_APPS:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice.objects.get_or_create(user=user, name="matrix")
    if apps.is_installed("axes"):
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        common = {"user_agent": "test", "ip_address": "127.0.0.1", "username": "nobody", "path_info": "/"}
        AccessAttempt.objects.create(
            **common, http_accept="*/*", get_data="", post_data="", failures_since_start=1
        )
        AccessLog.objects.create(**common, http_accept="*/*")
        AccessFailureLog.objects.create(**common, http_accept="*/*")


def sample_value(data: SiteData):
    """The value a URL parameter gets: the id of a real row, or a known harmless value."""
    from accounts.models import Customer
    from collection.models import CollectionCase

    customer = data.objects[Customer]
    # The matrix agent's own case (a promise moved the sweep's case, which has a lower id).
    agent_case = (
        CollectionCase.objects.filter(assigned_agent=data.users[str(Role.COLLECTIONS_AGENT)])
        .order_by("pk")
        .first()
    )

    def sample(route: Route, name: str) -> str:
        model = route.admin_model
        if route.key == "audit:reveal":
            return {"app_label": "accounts", "model": "customer", "pk": customer.pk, "field": "phone"}[name]
        if route.key == "decisions:decision_detail":
            from decisions.models import OrderDecision

            return str(data.objects[OrderDecision].pk)
        if route.key == "collections:case_detail":  # a case of the matrix's agent
            return str(agent_case.pk)
        if route.key == "collections:assignment_rule_edit":
            from collection.models import AssignmentRule

            return str(data.objects[AssignmentRule].pk)
        if route.key == "settlements:decide":  # a request waiting for a manager
            from settlements.models import ArrangementRequest

            return str(data.objects[ArrangementRequest].pk)
        if route.key == "admin:view_on_site":
            return {
                "content_type_id": ContentType.objects.get_for_model(Customer).pk,
                "object_id": customer.pk,
            }[name]
        if route.key.endswith("_simple_history"):  # <object_id>/history/<version_id>/
            name = {"arg1": "object_id", "arg2": "version_id"}.get(name, name)
        if name in ("object_id", "id", "pk") and model is not None:
            return str(data.objects[model].pk)
        if name == "case_id":  # a case's workbench page: the matrix agent's own case
            return str(agent_case.pk)
        if route.key.startswith("visits:") and name in ("pk", "photo_id"):
            from visits.models import Visit, VisitPhoto

            if name == "photo_id":  # a photo of the matrix field agent's visit
                return str(VisitPhoto.objects.order_by("pk").first().pk)
            if route.key == "visits:decide":  # a request waiting for a manager
                return str(Visit.objects.filter(status="requested").order_by("pk").first().pk)
            return str(
                Visit.objects.filter(field_agent_1=data.users["Field agent"]).order_by("pk").first().pk
            )
        if name == "customer_id":  # a customer's screen in another app's admin (post a payment)
            return str(customer.pk)
        if name == "version_id" and model is not None:
            history = data.objects[model].history.order_by("pk").first()
            return str(history.pk)
        if name == "scorecard_version_id":  # the risk console's version page
            from risk.models import ScorecardVersion

            return str(ScorecardVersion.objects.order_by("pk").first().pk)
        if name == "limit_change_id":
            from risk.models import LimitChange

            return str(LimitChange.objects.order_by("pk").first().pk)
        if name == "job_id":  # a bulk restriction job
            from restrictions.models import RestrictionJob

            return str(RestrictionJob.objects.order_by("pk").first().pk)
        if name == "sequence":  # a decision log entry
            from decisionlog.models import DecisionLogEntry

            return str(DecisionLogEntry.objects.order_by("sequence").first().sequence)
        if name == "url":  # the admin's catch-all
            return "no-such-page/"
        raise MissingSample(
            f"{route.key} ({route.route}): no sample value for <{name}>; add one in tests/audit/site_map.py"
        )

    return sample


def route_keys(route: Route) -> list[str]:
    """The matrix keys of a route: one, or one per option of an alternation (app indexes)."""
    keys = [route.key]
    for options in route.choices.values():
        keys = [f"{key}/{option}" for key in keys for option in options]
    return keys
