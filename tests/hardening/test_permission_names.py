"""Permission names read in the staff member's language on the user and group pages: Django
stores them in English, accounts.permission_names translates them when they are shown."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation

from accounts.permission_names import PROJECT_PERMISSION_NAMES
from tests.conftest import login_verified
from tests.factories import UserFactory
from tests.registry import PROJECT_APP_LABELS

pytestmark = pytest.mark.django_db


def test_every_permission_of_the_project_declares_its_name_for_the_catalogue():
    declared = {name for model in apps.get_models() for _code, name in model._meta.permissions}
    assert declared == set(PROJECT_PERMISSION_NAMES)


def test_every_permission_of_the_project_reads_as_chinese():
    permissions = Permission.objects.filter(content_type__app_label__in=PROJECT_APP_LABELS).select_related(
        "content_type"
    )
    assert permissions.count() > 40
    with translation.override("zh-hans"):
        english = [str(p) for p in permissions if "Can " in str(p)]
    assert not english, english
    with translation.override("en"):
        assert all(" | Can " in str(p) for p in permissions)


def test_the_user_page_shows_permissions_in_chinese(client, superuser):
    superuser.language = "zh-hans"
    superuser.save(update_fields=["language"])
    login_verified(client, superuser)
    other = UserFactory(username="someone")
    response = client.get(reverse("admin:accounts_user_change", args=[other.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "可查看未遮蔽的手机号和身份证号" in page
    assert "Can reveal unmasked" not in page
    assert "Can add customer" not in page
