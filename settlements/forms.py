"""Forms of settlements: the proposal on a case, and a manager's decision with its reason."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from bnpl_admin.form_fields import FiniteDecimalField
from bnpl_admin.money import MONEY_MAX, ZERO

from .models import RESTRUCTURE_MONTH_CHOICES, ArrangementKind
from .services import REASON_MAX_LENGTH

PROPOSAL_KINDS = [
    (ArrangementKind.SETTLEMENT.value, ArrangementKind.SETTLEMENT.label),
    (ArrangementKind.RESTRUCTURE.value, ArrangementKind.RESTRUCTURE.label),
]


def _discount(label):
    return FiniteDecimalField(
        label=label,
        required=False,
        min_value=ZERO,
        max_value=MONEY_MAX,
        max_digits=14,
        decimal_places=2,
        initial=ZERO,
    )


class ProposalForm(forms.Form):
    """A settlement (discounts) or a restructure (months); the rules are the service's."""

    kind = forms.ChoiceField(label=_("Kind"), choices=PROPOSAL_KINDS, initial=ArrangementKind.SETTLEMENT)
    late_fee_discount = _discount(_("Late fees forgiven (¥)"))
    fee_discount = _discount(_("Fees forgiven (¥)"))
    principal_discount = _discount(_("Principal forgiven (¥)"))
    months = forms.TypedChoiceField(
        label=_("Months (restructure)"),
        choices=[("", "—"), *RESTRUCTURE_MONTH_CHOICES],
        coerce=int,
        empty_value=None,
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        data = super().clean()
        for name in ("late_fee_discount", "fee_discount", "principal_discount"):
            if data.get(name) is None and name not in self.errors:
                data[name] = ZERO
        kind = data.get("kind")
        if kind == ArrangementKind.RESTRUCTURE and not data.get("months") and "months" not in self.errors:
            self.add_error("months", _("Choose over how many months."))
        if kind == ArrangementKind.SETTLEMENT and not self.errors:
            total = data["late_fee_discount"] + data["fee_discount"] + data["principal_discount"]
            if total <= ZERO:
                self.add_error(None, _("A settlement forgives something: give at least one discount."))
        return data


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve")), ("reject", _("Reject"))]
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give a reason for the decision.")},
    )
