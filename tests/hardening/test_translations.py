"""The catalogs cover the console: every message the code and templates use is translated into Chinese."""

from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from bnpl_admin.translations import catalog_path, catalog_problems, project_messages

LOCALE = Path(settings.LOCALE_PATHS[0])


@pytest.fixture(scope="module")
def messages():
    return project_messages(Path(settings.BASE_DIR))


def test_the_extraction_finds_messages_of_every_kind(messages):
    # Guards the test below against passing because it found nothing.
    by_id = {message.msgid: message for message in messages}
    assert "Open orders" in by_id  # gettext in a view
    assert "Home" in by_id  # gettext_lazy in the navigation
    assert "Pay later (one payment)" in by_id  # a model's choice
    assert "Sign out" in by_id  # {% translate %} in a template
    assert "Good day, %(name)s" in by_id  # {% blocktranslate trimmed with %}
    assert by_id["%d reminder queued again."].plural == "%d reminders queued again."  # ngettext
    assert len(messages) > 150


def test_the_chinese_catalog_translates_every_message(messages):
    po = polib.pofile(str(catalog_path(LOCALE, "zh-hans")))
    problems = catalog_problems(po, messages)
    assert problems == [], (
        "run `python manage.py compile_translations --update`, then translate in "
        "locale/zh_Hans/LC_MESSAGES/django.po:\n" + "\n".join(problems)
    )
    assert [entry.msgid for entry in po.fuzzy_entries()] == []
    assert [entry.msgid for entry in po.untranslated_entries()] == []


def test_the_english_catalog_has_every_message(messages):
    po = polib.pofile(str(catalog_path(LOCALE, "en")))
    assert catalog_problems(po, messages) == []


def test_chinese_translations_keep_their_placeholders():
    po = polib.pofile(str(catalog_path(LOCALE, "zh-hans")))
    import re

    placeholder = re.compile(r"%(?:\([a-z_]+\))?[sd]")
    for entry in po.translated_entries():
        translated = entry.msgstr_plural[0] if entry.msgid_plural else entry.msgstr
        assert sorted(placeholder.findall(translated)) == sorted(placeholder.findall(entry.msgid)), (
            entry.msgid
        )


def test_the_compiled_catalog_is_the_one_django_uses():
    call_command("compile_translations", verbosity=0)
    assert (LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.mo").exists()
    with translation.override("zh-hans"):
        assert translation.gettext("Open orders") == "未结订单"
        assert str(translation.ngettext("%d reminder queued again.", "%d reminders queued again.", 2)) == (
            "已将 %d 条提醒重新排队。"
        )
    with translation.override("en"):
        assert translation.gettext("Open orders") == "Open orders"


@pytest.mark.django_db
def test_model_choices_show_in_chinese():
    from collection.models import Bucket, CaseStatus
    from orders.models import Channel, InstallmentStatus, Plan

    with translation.override("zh-hans"):
        assert str(Plan.PAY_LATER.label) == "先买后付（一次还清）"
        assert str(InstallmentStatus.OVERDUE.label) == "已逾期"
        assert str(Channel.LIVESTREAM.label) == "直播"
        assert str(CaseStatus.PROMISED.label) == "承诺还款"
        assert str(Bucket.CURRENT.label) == "正常（未逾期）"


@pytest.mark.django_db
def test_model_and_field_names_show_in_chinese():
    from accounts.models import CreditLine
    from orders.models import Installment

    with translation.override("zh-hans"):
        assert str(CreditLine._meta.verbose_name_plural) == "授信额度"
        assert str(Installment._meta.get_field("due_date").verbose_name) == "到期日"
        assert str(CreditLine._meta.app_config.verbose_name) == "账户与授信"
        # django-simple-history names the history model from ours unless told otherwise.
        assert str(CreditLine.history.model._meta.verbose_name) == "授信额度历史记录"
    with translation.override("en"):
        assert str(CreditLine._meta.verbose_name_plural) == "credit lines"
        assert str(Installment._meta.get_field("due_date").verbose_name) == "due date"


@pytest.mark.django_db
def test_the_admin_names_models_apps_and_fields_in_the_staff_members_language(sign_in, superuser):
    from policy.models import Policy

    policy_page = reverse("admin:policy_policy_change", args=[Policy.objects.first().pk])
    client = sign_in(superuser)  # a new user reads the console in Chinese
    index = client.get(reverse("admin:index")).content.decode()
    for text in ("授信额度", "账户与授信", "催收案件", "日终批处理", "待发消息"):
        assert text in index
    assert "Credit lines" not in index and "Accounts and credit" not in index
    form = client.get(policy_page).content.decode()
    assert "滞纳金日费率" in form and "Late fee daily rate" not in form

    superuser.language = "en"
    superuser.save(update_fields=["language"])
    index = client.get(reverse("admin:index")).content.decode()
    assert "Credit lines" in index and "Accounts and credit" in index
    assert "授信额度" not in index
    assert "Late fee daily rate" in client.get(policy_page).content.decode()
