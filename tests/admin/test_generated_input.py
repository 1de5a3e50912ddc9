"""Every form of the console, posted with generated bad input: never a 5xx, and a refusal writes nothing.

The forms are found by walking every URL (tests/audit/site_map) and every action of every
registered ModelAdmin: add and change forms with their inlines, the intermediate forms of the
actions (waive, reverse, ...) with malformed ids in `_selected_action`, the custom admin
screens (post a payment, ...) and the console's own pages. A new form is covered without
being listed here. Each form is posted as a superuser and as an operations admin, first with
a fixed pass (each kind's worst values, in every field and in each field alone), then with
generated posts. BNPL_BAD_INPUT_EXAMPLES sets how many per form (default 8).
"""

from __future__ import annotations

import logging
import os
import sys
from fnmatch import fnmatchcase

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.signals import got_request_exception
from django.db import transaction
from django.forms import BaseForm
from django.test import Client, RequestFactory
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings

from accounts.roles import Role
from bnpl_admin.access import SUPERUSER
from tests.admin.generated_input import (
    FormTarget,
    Input,
    WriteRecorder,
    fixed_posts,
    forms_in,
    generated_post,
    inputs_of,
)
from tests.audit.badinput import _summary, quick_client
from tests.audit.site_map import build_site_data, discover, sample_value, targets
from tests.conftest import login_verified

EXAMPLES = int(os.environ.get("BNPL_BAD_INPUT_EXAMPLES", "8"))
# Server errors in third-party admin code not yet fixed, with why. Each entry must keep failing
# for one principal or the other (the test says when one is fixed), so the list only ever
# shrinks. Patterns match "<principal> | <form>: answered <status><error>". Empty: the ones found
# (axes' cleanup action, beat's task form) are answered in our admin subclasses.
KNOWN_SERVER_ERRORS: dict[str, str] = {}
# Pages whose POST ends the session they are posted in, or that are not forms of the console.
SKIPPED = ("logout", "admin:logout", "admin:jsi18n")


def _rolled_back(func):
    """Run `func` in a transaction that is always rolled back: every post starts from the same book."""
    with transaction.atomic():
        try:
            return func()
        finally:
            transaction.set_rollback(True)


def _discover_targets(site, user) -> list[FormTarget]:
    client = Client(raise_request_exception=False)
    login_verified(client, user)
    found: list[FormTarget] = []
    sample = sample_value(site)
    for target in targets(discover(), sample):
        if target.key in SKIPPED or target.key.endswith("_changelist"):
            continue
        response = _rolled_back(lambda path=target.path: client.get(path))
        page_forms = forms_in(response.context) if response.status_code == 200 else []
        if page_forms:
            found.append(_form_target(f"{target.key} {target.path}", target.path, page_forms))
    found.append(
        FormTarget(
            key="set_language",
            path=reverse("set_language"),
            base={"language": "en", "next": "/"},
            inputs=[Input(("language",), "choice", ("en",)), Input(("next",), "text", ("/",))],
        )
    )
    found += _action_targets(site, user, client)
    return found


def _form_target(key, path, page_forms: list[BaseForm], **extra) -> FormTarget:
    base, inputs = {}, []
    for form in page_forms:
        form_base, form_inputs = inputs_of(form)
        base.update(form_base)
        inputs += form_inputs
    return FormTarget(key=key, path=path, base=base, inputs=inputs, **extra)


def _action_targets(site, user, client) -> list[FormTarget]:
    request = RequestFactory().get("/")
    request.user = user
    found = []
    for model, model_admin in admin.site._registry.items():
        actions = model_admin.get_actions(request)
        if not actions:
            continue
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        pk = str(site.objects[model].pk)
        for name in actions:
            asked = {"action": name, ACTION_CHECKBOX_NAME: [pk], "index": "0"}
            response = _rolled_back(lambda data=asked, url=changelist: client.post(url, data))
            page_forms = forms_in(response.context) if response.status_code == 200 else []
            target = _form_target(
                f"action {model._meta.label}.{name}",
                changelist,
                page_forms,
                fixed={"action": name, "index": "0", "apply": "1", "post": "yes"},
                selection=True,
            )
            target.base[ACTION_CHECKBOX_NAME] = [pk]
            found.append(target)
    return found


class Poster:
    """Posts one request in a rolled-back transaction; records a 5xx, or a refusal that wrote."""

    def __init__(self, client: Client, user):
        self.client, self.user = client, user
        self.failures: dict[str, str] = {}
        self.posts = 0
        self._exception = ""
        self._invalid_forms = 0
        self.writes = WriteRecorder()

    def _on_exception(self, sender, request=None, **kwargs):
        self._exception = _summary(sys.exc_info()[1])

    def _full_clean(self, original):
        poster = self

        def full_clean(form):
            original(form)
            if form.is_bound and form._errors:
                poster._invalid_forms += 1

        return full_clean

    def install(self, monkeypatch):
        monkeypatch.setattr(BaseForm, "full_clean", self._full_clean(BaseForm.full_clean))
        got_request_exception.connect(self._on_exception, dispatch_uid="generated-input")

    def uninstall(self):
        got_request_exception.disconnect(dispatch_uid="generated-input")

    def post(self, target: FormTarget, data: dict) -> None:
        self._exception, self._invalid_forms = "", 0
        self.posts += 1

        def send():
            with self.writes.recording():
                return self.client.post(target.path, data)

        response = _rolled_back(send)
        problem = ""
        if response.status_code >= 500:
            problem = f"answered {response.status_code}\n{self._exception}"
        elif self.writes.tables and self._refused(response):
            problem = f"refused ({response.status_code}) but wrote to {sorted(set(self.writes.tables))}"
        if problem:
            first_line = problem.splitlines()[0] + (problem.splitlines()[1] if "\n" in problem else "")
            self.failures.setdefault(f"{target.key}: {first_line}", f"{problem}\n  post: {_shown(data)}")
        if "_auth_user_id" not in self.client.session:
            login_verified(self.client, self.user)  # a post that signed out must not hide the rest

    def _refused(self, response) -> bool:
        if response.status_code >= 400 or self._invalid_forms:
            return True
        queued = getattr(getattr(response.wsgi_request, "_messages", None), "_queued_messages", [])
        return any(message.level >= messages.WARNING for message in queued)


def _generated(poster: Poster, target: FormTarget):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=generated_post(target))
    def generated(data):
        poster.post(target, data)

    return generated


def _shown(data: dict) -> str:
    return repr({k: (v[:60] + "…" if isinstance(v, str) and len(v) > 60 else v) for k, v in data.items()})


PRINCIPALS = (SUPERUSER, str(Role.OPERATIONS_ADMIN))


def _assert_every_form_is_found(site, user, form_targets) -> None:
    keys = " ".join(t.key for t in form_targets)
    request = RequestFactory().get("/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        name = f"{model._meta.app_label}_{model._meta.model_name}"
        if model_admin.has_add_permission(request):
            assert f"admin:{name}_add " in keys, f"no add form found for {name}"
        if model_admin.has_change_permission(request, site.objects[model]):
            assert f"admin:{name}_change " in keys, f"no change form found for {name}"
    for expected in (
        "admin:orders_payment_post",
        "action orders.Installment.waive_fee",
        "action orders.Payment.reverse_payment",
        "action orders.ManualPaymentRequest.approve_requests",
        "audit:reveal",
        "otp_setup",
    ):
        assert expected in keys, f"{expected} was not found among the forms"


def test_generated_bad_input_never_fails_a_form_and_a_refusal_writes_nothing(db, monkeypatch):
    """One test for both principals, so that a known failure is known while either still meets it."""
    site = build_site_data()
    found = {}
    for principal in PRINCIPALS:
        found[principal] = _discover_targets(site, site.users[principal])
        _assert_every_form_is_found(site, site.users[principal], found[principal])

    client = quick_client(monkeypatch)
    monkeypatch.setattr(logging.getLogger("bnpl.request"), "level", logging.WARNING)
    all_failures: dict[str, str] = {}
    for principal in PRINCIPALS:
        user = site.users[principal]
        login_verified(client, user)
        poster = Poster(client, user)
        poster.install(monkeypatch)
        try:
            for target in found[principal]:
                for data in fixed_posts(target):
                    poster.post(target, data)
                _generated(poster, target)()
        finally:
            poster.uninstall()
        assert poster.posts > 500
        all_failures.update({f"{principal} | {key}": detail for key, detail in poster.failures.items()})

    known = {key for key in all_failures if any(fnmatchcase(key, p) for p in KNOWN_SERVER_ERRORS)}
    failures = {key: detail for key, detail in all_failures.items() if key not in known}
    assert not failures, (
        f"{len(failures)} kinds of failure:\n"
        + "\n".join(sorted(failures))
        + "\n\nIn detail:\n\n"
        + "\n\n".join(failures.values())
    )
    fixed = [p for p in KNOWN_SERVER_ERRORS if not any(fnmatchcase(key, p) for key in known)]
    assert not fixed, f"these no longer fail; remove them from KNOWN_SERVER_ERRORS: {fixed}"
