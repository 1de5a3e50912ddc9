"""`money`: amounts on pages as ¥1,234.56, from Decimals only."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from accounts.templatetags.money import money


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("1234.5"), "¥1,234.50"),
        (Decimal("1234.56"), "¥1,234.56"),
        (Decimal("0"), "¥0.00"),
        (Decimal("0.01"), "¥0.01"),
        (Decimal("20000"), "¥20,000.00"),
        (Decimal("1234567.89"), "¥1,234,567.89"),
        (Decimal("-9.47"), "-¥9.47"),
        (200, "¥200.00"),
        (None, ""),
    ],
)
def test_money_formats_yuan_to_the_fen(amount, shown):
    assert money(amount) == shown


def test_money_refuses_a_float():
    with pytest.raises(TypeError, match="Decimal"):
        money(1234.5)


def test_money_refuses_text_and_booleans():
    with pytest.raises(TypeError):
        money("1234.50")
    with pytest.raises(TypeError):
        money(True)


def test_money_refuses_a_part_of_a_fen():
    # Rounding happens once, where the amount is computed; a page never rounds.
    with pytest.raises(ValueError, match="fen"):
        money(Decimal("0.005"))


def test_money_in_a_template_is_the_same_in_both_languages():
    template = Template("{% load money %}{{ amount|money }}")
    from django.utils import translation

    for language in ("zh-hans", "en"):
        with translation.override(language):
            assert template.render(Context({"amount": Decimal("1234.5")})) == "¥1,234.50"


def test_a_float_in_a_template_is_an_error_not_a_figure():
    with pytest.raises(TypeError):
        Template("{% load money %}{{ amount|money }}").render(Context({"amount": 0.1 + 0.2}))


def test_every_template_shows_money_through_the_filter():
    """A template that writes "¥{{ amount }}" (or a floatformat of it) shows ¥20000.00 beside
    another page's ¥20,000.00, and would show a float's digits: every amount goes through
    `money`. Found on 18 templates at once (docs: accounts/templatetags/money.py)."""
    import re
    from pathlib import Path

    from django.conf import settings

    offenders = []
    for directory in settings.TEMPLATES[0]["DIRS"]:
        for path in Path(directory).rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.name}: {hit}" for hit in re.findall(r"¥\s*\{\{[^}]*\}\}", text)]
            offenders += [f"{path.name}: {hit}" for hit in re.findall(r"¥\s*%\(\w+\)s", text)]
    assert not offenders, offenders
