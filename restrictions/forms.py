"""Forms of the restriction pages: one line, and a bulk job's filter, action and reason."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Grade
from orders.models import Merchant

from .models import RestrictionAction, RestrictionReason
from .selectors import DPD_OVER_DEFAULT


class RestrictForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), choices=RestrictionAction.choices)
    reason_code = forms.ChoiceField(label=_("Reason"), choices=RestrictionReason.choices)
    text = forms.CharField(
        label=_("Text"), max_length=150, required=False, widget=forms.TextInput(attrs={"size": 50})
    )

    def __init__(self, *args, actions=None, **kwargs):
        super().__init__(*args, **kwargs)
        if actions is not None:
            self.fields["action"].choices = [
                (value, label) for value, label in RestrictionAction.choices if value in actions
            ]


class BulkRestrictionForm(forms.Form):
    grade = forms.ChoiceField(
        label=_("Grade"), required=False, choices=[("", _("Any grade")), *Grade.choices]
    )
    merchant = forms.ModelChoiceField(
        label=_("Customers of the merchant"),
        required=False,
        queryset=Merchant.objects.order_by("name"),
        empty_label=_("Any merchant"),
    )
    flagged_merchants = forms.BooleanField(
        label=_("Customers of any merchant with the risk flag"), required=False
    )
    seriously_late = forms.BooleanField(
        # Formatted when shown, in the reader's language (not once, at import).
        label=format_lazy(_("More than {days} days past due in the last 90 days"), days=DPD_OVER_DEFAULT),
        required=False,
    )
    action = forms.ChoiceField(label=_("Action"), choices=RestrictionAction.choices)
    reason_code = forms.ChoiceField(label=_("Reason"), choices=RestrictionReason.choices)
    text = forms.CharField(
        label=_("Text"), max_length=150, required=False, widget=forms.TextInput(attrs={"size": 50})
    )

    def clean(self):
        data = super().clean()
        if not (
            data.get("grade")
            or data.get("merchant")
            or data.get("flagged_merchants")
            or data.get("seriously_late")
        ):
            raise forms.ValidationError(_("Choose at least one filter."), code="no_filter")
        return data

    def spec(self) -> dict:
        data = self.cleaned_data
        spec = {}
        if data.get("grade"):
            spec["grade"] = data["grade"]
        if data.get("merchant"):
            spec["merchant"] = data["merchant"].pk
        if data.get("flagged_merchants"):
            spec["flagged_merchants"] = True
        if data.get("seriously_late"):
            spec["dpd_over"], spec["within_days"] = DPD_OVER_DEFAULT, 90
        return spec


class CustomerFindForm(forms.Form):
    q = forms.CharField(label=_("Platform user id"), max_length=64)
