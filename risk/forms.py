"""Forms of the risk console: deciding on what waits for a second analyst, proposing an increase."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from bnpl_admin.money import MONEY_MAX


class DecisionForm(forms.Form):
    APPROVE, REJECT = "approve", "reject"
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[(APPROVE, _("Approve")), (REJECT, _("Reject"))]
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("decision") == self.REJECT and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why you reject it."))
        return data


class LimitIncreaseForm(forms.Form):
    new_limit = forms.DecimalField(
        label=_("New limit (¥)"),
        min_value=Decimal("0.01"),
        max_value=MONEY_MAX,
        max_digits=14,
        decimal_places=2,
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)
