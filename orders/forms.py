"""Forms of the admin's money actions: they read the input; the services decide what is allowed."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib.admin import widgets
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bnpl_admin.form_fields import BoundedSplitDateTimeField, FiniteDecimalField
from bnpl_admin.money import MoneyField, money_validators

from .models import Component, PaymentMethod

# The rules on amounts (more than zero, no more than is owed) live in orders.services; these
# fields only make sure the input is an amount of yuan with at most two decimals.
_money = MoneyField()


def money_field(**kwargs) -> forms.DecimalField:
    return FiniteDecimalField(
        max_digits=_money.max_digits,
        decimal_places=_money.decimal_places,
        validators=money_validators(),
        label=_("Amount (¥)"),
        **kwargs,
    )


class PaymentPostForm(forms.Form):
    amount = money_field()
    reference = forms.CharField(
        label=_("Provider reference"),
        max_length=64,
        help_text=_("The payment provider's reference: a reference is posted once."),
    )
    received_at = BoundedSplitDateTimeField(
        label=_("Received at"), widget=widgets.AdminSplitDateTime, initial=timezone.now
    )
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reason = forms.CharField(
        label=_("Note for the approver"),
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_(
            "A large payment, or one received long ago, waits for a colleague's approval: "
            "say where it comes from."
        ),
    )

    def clean_received_at(self):
        received_at = self.cleaned_data["received_at"]
        # Allocation runs for the business date of receipt: a future date would pay
        # instalments that are not due yet.
        if received_at > timezone.now():
            raise forms.ValidationError(_("A payment cannot be received in the future."))
        return received_at


class PaymentReverseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Recorded on the payment and on each order's timeline."),
    )


class FeeWaiveForm(forms.Form):
    """Who asked for the waiver is chosen here; the staff member who submits the form approves it."""

    # A new token each time the form is shown: the same page submitted twice is one waiver.
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    requested_by = forms.ModelChoiceField(
        label=_("Requested by"),
        queryset=None,
        help_text=_("The colleague who asked for the waiver. You approve it, so it cannot be you."),
    )
    component = forms.ChoiceField(
        label=_("What to waive"),
        choices=[(Component.LATE_FEE, Component.LATE_FEE.label), (Component.FEE, Component.FEE.label)],
    )
    amount = money_field()
    reason = forms.CharField(
        label=_("Reason"), max_length=200, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )

    def __init__(self, *args, approver, **kwargs):
        super().__init__(*args, **kwargs)
        from accounts.models import User

        self.fields["requested_by"].queryset = (
            User.objects.filter(is_active=True).exclude(pk=approver.pk).order_by("username")
        )

    def clean_component(self):
        return Component(self.cleaned_data["component"])


class ManualPaymentRejectForm(forms.Form):
    note = forms.CharField(
        label=_("Why it is rejected"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Recorded on the request; the payment is not posted."),
    )
