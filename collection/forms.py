"""Forms of the collections workbench: a contact attempt on a case, and the case queue's bulk
assignment (the filtered cases to one team, spread by a rule)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import EmergencyContact, User
from bnpl_admin.form_fields import BoundedDateField, FiniteDecimalField
from bnpl_admin.money import CENT, MONEY_MAX

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
from .services import BY_LOAD, HOLD_REASON_MAX_LENGTH, NOTE_MAX_LENGTH, ROUND_ROBIN, SUMMARY_MAX_LENGTH


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
    # --- Promises to pay: with the outcome "promise made" only (static/js/contact_form.js hides
    # them otherwise); the service checks the amount against what is owed and the date's range.
    promise_amount = FiniteDecimalField(
        label=_("Amount promised (¥)"),
        required=False,
        min_value=CENT,
        max_value=MONEY_MAX,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )
    promise_due = BoundedDateField(
        label=_("Promised by"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    PROMISE_FIELDS = ("promise_amount", "promise_due")

    def __init__(self, *args, contacts, promise_dates=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the case's customer's emergency contacts; named, never with their number.
        field = self.fields["emergency_contact"]
        field.queryset = contacts
        field.label_from_instance = lambda contact: str(contact)
        if promise_dates is not None:  # (today, latest): the date picker offers only those days
            first, last = promise_dates
            self.fields["promise_due"].widget.attrs.update(min=first.isoformat(), max=last.isoformat())

    def clean(self):
        data = super().clean()
        party, contact = data.get("party"), data.get("emergency_contact")
        if party == ContactParty.EMERGENCY_CONTACT and contact is None:
            self.add_error("emergency_contact", _("Choose the emergency contact."))
        if party == ContactParty.DEBTOR and contact is not None:
            self.add_error("emergency_contact", _("Leave this empty for a contact with the debtor."))
        if data.get("outcome") == ContactOutcome.PROMISE_MADE:
            if data.get("promise_amount") is None and "promise_amount" not in self.errors:
                self.add_error("promise_amount", _("Give the amount promised."))
            if data.get("promise_due") is None and "promise_due" not in self.errors:
                self.add_error("promise_due", _("Give the date promised."))
        elif "outcome" in data:
            for name in self.PROMISE_FIELDS:
                if data.get(name) is not None:
                    self.add_error(name, _("Leave this empty unless the outcome is “promise made”."))
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


# --- Case page (customer 360): a note, a reassignment, a hold ----------------------------------


class CaseNoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Seen by everyone who works the case; phone and id numbers are masked."),
    )


class CaseReassignForm(forms.Form):
    agent = forms.ModelChoiceField(
        label=_("Agent"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody (back to the pool)"),
    )
    reason = forms.CharField(label=_("Reason"), max_length=HOLD_REASON_MAX_LENGTH, required=False)

    def __init__(self, *args, agents, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["agent"]
        field.queryset = agents
        field.label_from_instance = lambda user: (
            f"{user.get_full_name()} ({user.username})" if user.get_full_name() else user.username
        )


class CaseHoldForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=HOLD_REASON_MAX_LENGTH,
        help_text=_("For example: the customer reports a return or a dispute the books do not show yet."),
    )


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
