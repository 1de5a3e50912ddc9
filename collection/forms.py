"""Forms of the collections workbench: a contact attempt on a case, and the case queue's bulk
assignment (the filtered cases to one team, spread by a rule)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import EmergencyContact

# --- Contacts under the conduct rules ---------------------------------------------------------
from .models import (
    AssignmentMethod,
    Bucket,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactParty,
    Team,
)
from .services import BY_LOAD, ROUND_ROBIN, SUMMARY_MAX_LENGTH


class ContactForm(forms.Form):
    """One contact attempt on a case; the conduct rules are the service's (contact_record)."""

    channel = forms.ChoiceField(
        label=_("Channel"), choices=ContactChannel.choices, initial=ContactChannel.PHONE
    )
    party = forms.ChoiceField(label=_("Party"), choices=ContactParty.choices, initial=ContactParty.DEBTOR)
    emergency_contact = forms.ModelChoiceField(
        label=_("Emergency contact"), queryset=EmergencyContact.objects.none(), required=False
    )
    direction = forms.ChoiceField(
        label=_("Direction"), choices=ContactDirection.choices, initial=ContactDirection.OUTBOUND
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactOutcome.choices)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=SUMMARY_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, contacts, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the case's customer's emergency contacts; named, never with their number.
        field = self.fields["emergency_contact"]
        field.queryset = contacts
        field.label_from_instance = lambda contact: str(contact)

    def clean(self):
        data = super().clean()
        party, contact = data.get("party"), data.get("emergency_contact")
        if party == ContactParty.EMERGENCY_CONTACT and contact is None:
            self.add_error("emergency_contact", _("Choose the emergency contact."))
        if party == ContactParty.DEBTOR and contact is not None:
            self.add_error("emergency_contact", _("Leave this empty for a contact with the debtor."))
        return data


class BulkAssignForm(forms.Form):
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.order_by("name"))
    method = forms.ChoiceField(
        label=_("Spread"),
        choices=[(ROUND_ROBIN, _("round robin")), (BY_LOAD, _("by load"))],
        initial=ROUND_ROBIN,
    )
    # The queue's filters, as the page had them when the form was shown.
    query = forms.CharField(required=False, widget=forms.HiddenInput, max_length=4000)


# --- Assignment rules by bucket ------------------------------------------------------------------


class AssignmentRuleForm(forms.Form):
    """One rule; the checks are the service's (collection.assignment), repeated here as choices."""

    bucket = forms.ChoiceField(
        label=_("Bucket"), choices=[(v, label) for v, label in Bucket.choices if v != Bucket.CURRENT]
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.order_by("name"))
    method = forms.ChoiceField(label=_("Spread"), choices=AssignmentMethod.choices)
    ordering = forms.IntegerField(
        label=_("Rule order"),
        min_value=0,
        max_value=32767,
        initial=100,
        help_text=_("Within a bucket the rule with the lower number is tried first."),
    )
    active = forms.BooleanField(label=_("In force"), required=False, initial=True)
