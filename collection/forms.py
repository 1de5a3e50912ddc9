"""The case queue's bulk assignment form: the filtered cases to one team, spread by a rule."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Team
from .services import BY_LOAD, ROUND_ROBIN


class BulkAssignForm(forms.Form):
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.order_by("name"))
    method = forms.ChoiceField(
        label=_("Spread"),
        choices=[(ROUND_ROBIN, _("round robin")), (BY_LOAD, _("by load"))],
        initial=ROUND_ROBIN,
    )
    # The queue's filters, as the page had them when the form was shown.
    query = forms.CharField(required=False, widget=forms.HiddenInput, max_length=4000)
