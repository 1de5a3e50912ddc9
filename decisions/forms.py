"""Forms of the decisions app: the try-an-order form and an analyst's review of a referral."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from bnpl_admin.form_fields import FiniteDecimalField
from bnpl_admin.money import CENT, MONEY_MAX
from orders.models import Channel, Merchant

from .models import ReviewOutcome
from .services import NOTE_MAX_LENGTH

PLATFORM_ID_MAX_LENGTH = Customer._meta.get_field("platform_user_id").max_length


class TryOrderForm(forms.Form):
    """A what-if order: who (their platform user id), how much, where and through which channel."""

    platform_user_id = forms.CharField(
        label=_("Customer's platform user id"), max_length=PLATFORM_ID_MAX_LENGTH
    )
    amount = FiniteDecimalField(
        label=_("Amount (¥)"), min_value=CENT, max_value=MONEY_MAX, max_digits=14, decimal_places=2
    )
    merchant = forms.ModelChoiceField(label=_("Merchant"), queryset=Merchant.objects.order_by("name"))
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.SHORT_VIDEO)

    def clean_platform_user_id(self) -> Customer:
        value = self.cleaned_data["platform_user_id"].strip()
        customer = Customer.objects.filter(platform_user_id=value).first()
        if customer is None:
            raise forms.ValidationError(_("No customer has this platform user id."), code="no_customer")
        return customer

    @property
    def customer(self) -> Customer:
        return self.cleaned_data["platform_user_id"]


class ReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"),
        choices=[(ReviewOutcome.APPROVED, _("Approve")), (ReviewOutcome.DECLINED, _("Decline"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"), max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
