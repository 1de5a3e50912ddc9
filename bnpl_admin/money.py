"""Money primitives shared by every app: the one field type for yuan and the one rounding rule."""

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 2
# The one upper bound of an amount: the largest a money column holds, 999,999,999,999.99.
# Forms refuse more (MoneyField's validators, money_validators), and the services check it
# with money_in_bounds before writing, so an amount never reaches the database to overflow.
MONEY_MAX = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES) - Decimal(10) ** -MONEY_DECIMAL_PLACES


def money_validators() -> list:
    message = _("An amount is at most ¥%(limit_value)s.")
    return [
        MaxValueValidator(MONEY_MAX, message=message),
        MinValueValidator(-MONEY_MAX, message=_("An amount is at least ¥%(limit_value)s.")),
    ]


def money_in_bounds(amount: Decimal) -> bool:
    """Whether a Decimal is a finite amount a money column can hold (NaN and infinities are not)."""
    return amount.is_finite() and -MONEY_MAX <= amount <= MONEY_MAX


class MoneyField(models.DecimalField):
    """An amount in CNY: two decimal places, up to MONEY_MAX (999,999,999,999.99). Never a float."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    @property
    def validators(self):
        return [*super().validators, *money_validators()]

    def formfield(self, **kwargs):
        from .form_fields import FiniteDecimalField

        return super().formfield(**{"form_class": FiniteDecimalField, **kwargs})

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        # Keep migrations short: the defaults are part of the type.
        if kwargs.get("max_digits") == MONEY_MAX_DIGITS:
            del kwargs["max_digits"]
        if kwargs.get("decimal_places") == MONEY_DECIMAL_PLACES:
            del kwargs["decimal_places"]
        return name, path, args, kwargs


class RateField(models.DecimalField):
    """A rate such as 0.018 (1.8%) or 0.0005 (0.05% a day): six decimal places."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 9)
        kwargs.setdefault("decimal_places", 6)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_digits") == 9:
            del kwargs["max_digits"]
        if kwargs.get("decimal_places") == 6:
            del kwargs["decimal_places"]
        return name, path, args, kwargs


def to_money(value: Decimal | int | str) -> Decimal:
    """An exact amount given in yuan, checked to have no more than two places."""
    if isinstance(value, float | bool):
        # A float has already lost the exact amount (0.1 is not one jiao); refuse it even
        # when it happens to be exact, so a float in a caller fails at once, not on some inputs.
        raise TypeError(f"{value!r} is a {type(value).__name__}, not an exact amount")
    amount = Decimal(value)
    if amount != amount.quantize(CENT):
        raise ValueError(f"{value!r} has more than two decimal places")
    return amount.quantize(CENT)


def apply_rate(amount: Decimal, rate: Decimal) -> Decimal:
    """A rate times an amount, rounded half-up to the fen once, where it is computed."""
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def split_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """Split `total` into `parts` shares that add up exactly.

    Each share is total / parts rounded down to the fen; the first share takes what is
    left, so it is never the smaller (DESIGN.md, "Money").
    """
    if parts < 1:
        raise ValueError("parts must be at least 1")
    share = (total / parts).quantize(CENT, rounding=ROUND_DOWN)
    first = total - share * (parts - 1)
    return [first] + [share] * (parts - 1)
