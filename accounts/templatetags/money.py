"""`{{ amount|money }}`: a CNY amount as ¥1,234.56, from a Decimal exact to the fen, never a float."""

from decimal import Decimal

from django import template

register = template.Library()

FEN = Decimal("0.01")


@register.filter
def money(amount) -> str:
    """¥1,234.56 in both languages (the same digits and grouping in Chinese and English).

    An empty value shows as nothing. A float is refused rather than formatted: it means money
    went through a float somewhere, which DESIGN.md forbids. So is an amount with a part of a
    fen: it is rounded once where it is computed, never on the way to the page.
    """
    if amount is None or amount == "":
        return ""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"money needs a Decimal, not {type(amount).__name__}: {amount!r}")
    amount = Decimal(amount)
    if not amount.is_finite() or amount != amount.quantize(FEN):
        raise ValueError(f"money needs an amount exact to the fen, not {amount}")
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"
