"""Form fields that refuse what Python parses but the console cannot use: far dates, NaN decimals."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from .dates import DATE_MAX, DATE_MIN, date_in_bounds, moment_in_bounds


def _out_of_range() -> ValidationError:
    return ValidationError(
        _("Enter a date between %(min)s and %(max)s."),
        code="date_out_of_range",
        params={"min": date_format(DATE_MIN), "max": date_format(DATE_MAX)},
    )


class BoundedDateField(forms.DateField):
    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and not date_in_bounds(value):
            raise _out_of_range()
        return value


class BoundedDateTimeField(forms.DateTimeField):
    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and not moment_in_bounds(value):
            raise _out_of_range()
        return value


class BoundedSplitDateTimeField(forms.SplitDateTimeField):
    def compress(self, data_list):
        value = super().compress(data_list)
        if value is not None and not moment_in_bounds(value):
            raise _out_of_range()
        return value


class FiniteDecimalField(forms.DecimalField):
    """A DecimalField that refuses NaN, sNaN and infinities while parsing: a signalling NaN raises
    InvalidOperation on any comparison, which DecimalField makes before its own check."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and not value.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value
