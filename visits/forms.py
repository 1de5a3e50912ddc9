"""Forms of home visits: the request, the manager's decision, the cancellation, check-in/out and the
outcome."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from bnpl_admin.dates import DATE_MAX, DATE_MIN

from .models import VisitOutcome
from .selectors import field_agents_available
from .services import MAX_PHOTOS, NOTES_MAX_LENGTH, REASON_MAX_LENGTH


class _DateInput(forms.DateInput):
    input_type = "date"


class _TimeInput(forms.TimeInput):
    input_type = "time"


def _bounded_date(label) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=_DateInput(format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a valid date.")},
    )


class _BoundedDateMixin:
    def _date_in_bounds(self, name: str):
        value = self.cleaned_data.get(name)
        if value is not None and not (DATE_MIN <= value <= DATE_MAX):
            raise forms.ValidationError(_("Enter a valid date."))
        return value


class VisitRequestForm(_BoundedDateMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why is a visit needed?"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    proposed_date = _bounded_date(_("Proposed date"))
    manager_decision = forms.BooleanField(label=_("A manager's decision (a case before M3)"), required=False)

    def __init__(self, *args, may_decide: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_decide:
            del self.fields["manager_decision"]

    def clean_proposed_date(self):
        return self._date_in_bounds("proposed_date")


class _AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        full_name = user.get_full_name().strip()
        return f"{full_name} ({user.username})" if full_name else user.username


class VisitApproveForm(_BoundedDateMixin, forms.Form):
    field_agent_1 = _AgentChoiceField(label=_("First field agent"), queryset=field_agents_available())
    field_agent_2 = _AgentChoiceField(label=_("Second field agent"), queryset=field_agents_available())
    date = _bounded_date(_("Date"))
    time = forms.TimeField(label=_("Time (customer's local time)"), widget=_TimeInput(format="%H:%M"))
    note = forms.CharField(label=_("Note"), max_length=REASON_MAX_LENGTH, required=False)

    def __init__(self, *args, zone: ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.fields["field_agent_1"].queryset = field_agents_available()
        self.fields["field_agent_2"].queryset = field_agents_available()

    def clean_date(self):
        return self._date_in_bounds("date")

    def clean(self):
        data = super().clean()
        first, second = data.get("field_agent_1"), data.get("field_agent_2")
        if first is not None and second is not None and first.pk == second.pk:
            self.add_error(
                "field_agent_2", _("Choose two different field agents: one person cannot be both.")
            )
        if data.get("date") and data.get("time"):
            data["scheduled_for"] = datetime.datetime.combine(data["date"], data["time"], tzinfo=self.zone)
        return data


class VisitRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it rejected?"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


class VisitCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it cancelled?"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the visit is cancelled.")},
    )


class PositionForm(forms.Form):
    """What static/js/visits.js fills from the Geolocation API; empty with refused=1 when refused."""

    latitude = forms.DecimalField(
        required=False, min_value=-90, max_value=90, max_digits=12, decimal_places=8
    )
    longitude = forms.DecimalField(
        required=False, min_value=-180, max_value=180, max_digits=13, decimal_places=8
    )
    accuracy = forms.DecimalField(
        required=False, min_value=0, max_value=10**6, max_digits=12, decimal_places=3
    )
    refused = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        has_position = data.get("latitude") is not None and data.get("longitude") is not None
        if not has_position and not data.get("refused") and not self.errors:
            raise forms.ValidationError(_("The position is missing: allow it, or record it as refused."))
        return data


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            files = [super(MultiplePhotoField, self).clean(item, initial) for item in data if item]
        else:
            files = [super().clean(data, initial)] if data else []
        files = [f for f in files if f]
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("At most %(count)s photos at once.") % {"count": MAX_PHOTOS})
        return files


class VisitOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *VisitOutcome.choices])
    notes = forms.CharField(
        label=_("Notes"),
        max_length=NOTES_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    photos = MultiplePhotoField(label=_("Photos (JPEG, PNG or WebP)"), required=False)
