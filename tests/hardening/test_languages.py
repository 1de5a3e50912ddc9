"""Each staff member reads the console in their language: Simplified Chinese by default, or English."""

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _home(client, sign_in, language: str):
    sign_in(UserFactory(roles=[Role.RISK_ANALYST], is_staff=True, language=language))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response


def test_english_staff_see_english_navigation(client, sign_in):
    response = _home(client, sign_in, "en")
    html = response.content.decode()
    assert response.context["nav_items"][0]["label"] == "Home"
    for text in ("Home", "Data admin", "Sign out", "Business date", "Where to go", "Risk analyst"):
        assert text in html
    assert "首页" not in html and "退出登录" not in html
    assert '<html lang="en">' in html
    assert response["Content-Language"] == "en"


def test_chinese_staff_see_chinese_navigation(client, sign_in):
    response = _home(client, sign_in, "zh-hans")
    html = response.content.decode()
    assert response.context["nav_items"][0]["label"] == "首页"
    for text in ("首页", "数据管理", "退出登录", "业务日期", "常用入口", "风控分析师", "未结订单"):
        assert text in html
    assert "Sign out" not in html and "Open orders" not in html
    assert '<html lang="zh-hans">' in html


def test_the_users_language_wins_over_the_browsers(client, sign_in):
    sign_in(UserFactory(language="zh-hans"))
    response = client.get(reverse("home"), headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "退出登录" in response.content.decode()


def test_a_visitor_gets_chinese_by_default_and_the_browsers_language_otherwise(client):
    assert '<html lang="zh-hans">' in client.get(reverse("login")).content.decode()
    english = client.get(reverse("login"), headers={"Accept-Language": "en"})
    assert '<html lang="en">' in english.content.decode()


def test_every_page_has_the_language_switch(client, sign_in):
    html = client.get(reverse("login")).content.decode()
    assert f'action="{reverse("set_language")}"' in html
    # On a Chinese page too, each language is named in itself.
    assert ">English</button>" in html and ">简体中文</button>" in html
    sign_in(UserFactory(language="en"))
    html = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("set_language")}"' in html
    assert 'name="language" value="zh-hans"' in html and 'name="language" value="en"' in html
    assert 'value="en" lang="en" aria-pressed="true"' in html


def test_the_switch_saves_the_choice_on_the_user(client, sign_in):
    user = UserFactory(language="zh-hans")
    sign_in(user)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    user.refresh_from_db()
    assert user.language == "en"
    # ...and it sticks: the next page, and the next session, are in English.
    assert "Sign out" in client.get(reverse("home")).content.decode()
    client.logout()
    sign_in(user)
    assert "Sign out" in client.get(reverse("home")).content.decode()


def test_the_switch_refuses_a_language_the_console_does_not_offer(client, sign_in):
    user = UserFactory(language="zh-hans")
    sign_in(user)
    client.post(reverse("set_language"), {"language": "fr", "next": reverse("home")})
    user.refresh_from_db()
    assert user.language == "zh-hans"


def test_the_switch_needs_a_post(client, sign_in):
    user = UserFactory(language="zh-hans")
    sign_in(user)
    assert client.get(reverse("set_language"), {"language": "en"}).status_code == 405
    user.refresh_from_db()
    assert user.language == "zh-hans"


def test_the_switch_works_before_signing_in(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert '<html lang="en">' in client.get(reverse("login")).content.decode()
    assert not User.objects.exists()


def test_the_switch_does_not_redirect_off_site(client, sign_in):
    sign_in(UserFactory())
    response = client.post(reverse("set_language"), {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"
