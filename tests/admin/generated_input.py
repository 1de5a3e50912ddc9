"""Bad input made by hypothesis for every form the console shows: what to send, and what a refusal may write.

A form is found, not listed: every page that renders one (a ModelAdmin's add or change form,
its inlines, an action's intermediate form, a custom admin screen, a console page) is read
for its fields, and each field gets bad values of its type. The base values of a post are
the form's own, or plausible good ones where the form starts empty, so that a bad value in
one field reaches the validation (and the service) behind the others.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django import forms
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME, AdminForm
from django.db import connection
from django.forms.formsets import BaseFormSet
from django.utils import timezone
from hypothesis import strategies as st

LONG = "x" * 5000 + "中文😀"
NUL = "a\x00b"

# Per kind of field: values a person could type or a forged post could carry. Each list
# starts with the worst of its kind; the fixed pass sends each one, hypothesis mixes them.
BAD_NUMBERS = [
    "1e999",
    "-1e999",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "9" * 40,
    "-" + "9" * 20,
    "999999999999.99",
    "1000000000000.00",
    "-0.01",
    "0.001",
    "1e-999",
    "١٢٣",
    "0x10",
    NUL,
]
BAD_DATES = [
    "0001-01-01",
    "9999-12-31",
    "0000-00-00",
    "2025-02-30",
    "99999-01-01",
    "1-1-1",
    "1899-12-31",
    NUL,
]
BAD_TIMES = ["00:00:00", "23:59:59", "24:00:00", "23:59:60", "-1:00", "99:99", NUL]
BAD_DATETIMES = [
    "0001-01-01 00:00:00",
    "9999-12-31 23:59:59",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "2025-02-30 12:00",
    NUL,
]
BAD_IDS = ["ab\x00c", "9" * 25, "-1", "1.5", "", " ", "1e3", "０", "١", LONG]
BAD_TEXT = [LONG, NUL, "[" * 3000 + "]" * 3000, "\x00", "' OR 1=1 --", "{{ 7|add:7 }}", "\u202e", "{"]
BAD_CHOICES = ["zzz", "", NUL, LONG, "-1"]
BAD_BOOLEANS = ["maybe", NUL, ""]

number_values = st.one_of(
    st.sampled_from(BAD_NUMBERS),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
date_values = st.one_of(
    st.sampled_from(BAD_DATES), st.dates().map(datetime.date.isoformat), st.text(max_size=12)
)
time_values = st.one_of(st.sampled_from(BAD_TIMES), st.times().map(datetime.time.isoformat))
datetime_values = st.one_of(
    st.sampled_from(BAD_DATETIMES),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.builds(lambda d, t: f"{d} {t}", date_values, time_values),
)
id_values = st.one_of(st.sampled_from(BAD_IDS), st.integers(min_value=-(2**70), max_value=2**70).map(str))
text_values = st.one_of(st.sampled_from(BAD_TEXT), st.text(max_size=40))
choice_values = st.one_of(st.sampled_from(BAD_CHOICES), st.text(max_size=12))


@dataclass
class Input:
    """One form field as posted: the names it posts under and how to make its values."""

    names: tuple[str, ...]
    kind: str
    base: tuple  # one value (str or list of str) per name


@dataclass
class FormTarget:
    key: str  # for the report: principal, URL name, form
    path: str
    base: dict[str, object]
    inputs: list[Input]
    fixed: dict[str, str] = field(default_factory=dict)  # sent every time (action name, apply)
    selection: bool = False  # an admin action: _selected_action gets bad ids too


def _unwrap(widget):
    # The admin wraps relation widgets (RelatedFieldWidgetWrapper) around the real one.
    while hasattr(widget, "widget") and not isinstance(widget, forms.MultiWidget):
        widget = widget.widget
    return widget


def kind_of(form_field: forms.Field) -> str:
    widget = _unwrap(form_field.widget)
    if isinstance(form_field, forms.SplitDateTimeField) or isinstance(widget, forms.SplitDateTimeWidget):
        return "split_datetime"
    if isinstance(form_field, forms.ModelMultipleChoiceField):
        return "ids"
    if isinstance(form_field, forms.ModelChoiceField):
        return "id"
    if isinstance(form_field, forms.MultipleChoiceField):
        return "choices"
    if isinstance(form_field, forms.ChoiceField):
        return "choice"
    if isinstance(form_field, forms.BooleanField | forms.NullBooleanField):
        return "boolean"
    if isinstance(form_field, forms.DecimalField | forms.IntegerField | forms.FloatField):
        return "number"
    if isinstance(form_field, forms.DateTimeField):
        return "datetime"
    if isinstance(form_field, forms.DateField):
        return "date"
    if isinstance(form_field, forms.TimeField):
        return "time"
    return "text"


def _fmt(widget, value) -> str:
    if value is None:
        return ""
    if isinstance(widget, forms.CheckboxInput):
        return "on" if value else ""
    formatted = widget.format_value(value)
    if isinstance(formatted, list):  # a select's value, as its one selected option
        formatted = formatted[0] if formatted else ""
    return "" if formatted is None else str(formatted)


_counter = iter(range(1, 10**9))


def good_value(kind: str, form_field) -> object:
    """A plausible value for a required field the form shows empty."""
    today = timezone.localdate()
    if kind == "number":
        return "1"
    if kind == "date":
        return today.isoformat()
    if kind == "datetime":
        return f"{today.isoformat()} 00:00:00"
    if kind == "time":
        return "08:00:00"
    if kind in ("choice", "choices", "id", "ids"):
        choices = [str(value) for value, _label in getattr(form_field, "choices", []) if str(value) != ""]
        first = choices[0] if choices else ""
        return [first] if kind in ("choices", "ids") else first
    if kind == "boolean":
        return "on"
    if isinstance(form_field, forms.EmailField):
        return "someone@example.com"
    if isinstance(form_field, forms.URLField):
        return "https://example.com/"
    return f"generated-{next(_counter)}"


def inputs_of(form: forms.BaseForm) -> tuple[dict[str, object], list[Input]]:
    """The form's fields as POST names and values, as the rendered page would submit them."""
    base: dict[str, object] = {}
    inputs = []
    for bound in form:
        if bound.field.disabled:
            continue
        widget = _unwrap(bound.field.widget)
        kind = kind_of(bound.field)
        value = bound.value()
        if isinstance(widget, forms.MultiWidget):
            names = tuple(bound.html_name + suffix for suffix in widget.widgets_names)
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            values = [_fmt(w, v) for w, v in zip(widget.widgets, parts, strict=False)]
            if bound.field.required and not any(values):
                now = timezone.localtime() - datetime.timedelta(hours=1)
                values = [now.date().isoformat(), now.strftime("%H:%M:%S")]
        else:
            names = (bound.html_name,)
            many = kind in ("choices", "ids")
            values = [[str(v) for v in value or []]] if many else [_fmt(widget, value)]
            if bound.field.required and values in ([""], [[]]):
                values = [good_value(kind, bound.field)]
        base.update(zip(names, values, strict=True))
        inputs.append(Input(names=names, kind=kind, base=tuple(values)))
    return base, inputs


def forms_in(context) -> list[forms.BaseForm]:
    """Every form a page rendered: plain forms, the admin's form and the forms of its inlines."""
    found: list[forms.BaseForm] = []
    if context is None:
        return found
    values = []
    for key in ("form", "adminform", "inline_admin_formsets", "action_form", "wizard"):
        try:
            values.append(context[key])
        except (KeyError, TypeError):
            continue
    for value in values:
        if isinstance(value, AdminForm):
            found.append(value.form)
        elif isinstance(value, forms.BaseForm):
            found.append(value)
        elif isinstance(value, list):
            for inline in value:
                formset = getattr(inline, "formset", None)
                if isinstance(formset, BaseFormSet):
                    found.append(formset.management_form)
                    found.extend(formset.forms)
    return found


# --- Drawing a post -----------------------------------------------------------------------------


def bad_values_for(item: Input) -> st.SearchStrategy[tuple]:
    if item.kind == "split_datetime":
        return st.tuples(date_values, time_values)
    one = {
        "number": number_values,
        "date": date_values,
        "time": time_values,
        "datetime": datetime_values,
        "id": id_values,
        "ids": st.lists(id_values, min_size=1, max_size=3),
        "choice": choice_values,
        "choices": st.lists(choice_values, min_size=1, max_size=3),
        "boolean": st.sampled_from(BAD_BOOLEANS),
        "text": text_values,
    }[item.kind]
    return st.tuples(*([one] * len(item.names)))


def worst_values(item: Input, index: int) -> tuple:
    """The index-th fixed bad value of the field's kind (wrapping around)."""
    pick = {
        "number": BAD_NUMBERS,
        "date": BAD_DATES,
        "time": BAD_TIMES,
        "datetime": BAD_DATETIMES,
        "id": BAD_IDS,
        "ids": [[v] for v in BAD_IDS],
        "choice": BAD_CHOICES,
        "choices": [[v] for v in BAD_CHOICES],
        "boolean": BAD_BOOLEANS,
        "text": BAD_TEXT,
    }
    if item.kind == "split_datetime":
        return (BAD_DATES[index % len(BAD_DATES)], BAD_TIMES[index % len(BAD_TIMES)])
    values = pick[item.kind]
    return tuple([values[index % len(values)]] * len(item.names))


# How many of a kind's worst values each field gets alone (the rest of the post good).
ALONE_ROUNDS = {"text": 3, "number": 4, "date": 3, "datetime": 3, "split_datetime": 3}


def fixed_posts(target: FormTarget) -> list[dict[str, object]]:
    """One post per bad value of the longest list, in every field at once and in each field alone."""
    posts = []
    for index in range(4):
        everywhere = dict(target.base)
        for item in target.inputs:
            everywhere.update(zip(item.names, worst_values(item, index), strict=True))
        posts.append(everywhere)
    for item in target.inputs:
        for index in range(ALONE_ROUNDS.get(item.kind, 1)):
            alone = dict(target.base)
            alone.update(zip(item.names, worst_values(item, index), strict=True))
            posts.append(alone)
    if target.selection:
        for bad in BAD_IDS:
            posts.append({**target.base, ACTION_CHECKBOX_NAME: [bad]})
        posts.append({**target.base, ACTION_CHECKBOX_NAME: [*target.base[ACTION_CHECKBOX_NAME], *BAD_IDS]})
    return [{**post, **target.fixed} for post in posts]


@st.composite
def generated_post(draw, target: FormTarget) -> dict[str, object]:
    data = dict(target.base)
    if target.inputs:
        chosen = draw(
            st.lists(st.sampled_from(range(len(target.inputs))), min_size=1, max_size=3, unique=True)
        )
        for index in chosen:
            item = target.inputs[index]
            data.update(zip(item.names, draw(bad_values_for(item)), strict=True))
    if target.selection and (not target.inputs or draw(st.booleans())):
        good = list(target.base[ACTION_CHECKBOX_NAME])
        data[ACTION_CHECKBOX_NAME] = draw(st.lists(id_values, min_size=1, max_size=3)) + draw(
            st.sampled_from([[], good])
        )
    return {**data, **target.fixed}


# --- What a refused post may write ---------------------------------------------------------------

_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.I)
# A session is saved on any request that touches it; django-axes records sign-in failures.
# The second-factor setup keeps the unconfirmed key it shows until a code confirms it.
WRITES_ALLOWED_ON_REFUSAL = ("django_session", "axes_", "otp_totp_totpdevice")


class WriteRecorder:
    """The tables a request wrote to, from the SQL it ran."""

    def __init__(self):
        self.tables: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        match = _WRITE.match(sql)
        if match and not match.group(2).startswith(WRITES_ALLOWED_ON_REFUSAL):
            self.tables.append(match.group(2))
        return execute(sql, params, many, context)

    def recording(self):
        self.tables = []
        return connection.execute_wrapper(self)
