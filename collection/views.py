"""Staff pages of the collections workbench."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from accounts.masking import mask_phone
from accounts.names import person_name

# --- Contacts under the conduct rules ---------------------------------------------------------
from .forms import ContactForm
from .models import CollectionCase, ContactChannel, ContactDirection, ContactParty
from .selectors import case_recent_contacts, contact_context
from .services import CaseError, contact_record


@permission_required("collections.add_contactattempt", raise_exception=True)
def case_contacts(request: HttpRequest, case_id: int) -> HttpResponse:
    """A case's contact page: may the customer be called now, the contact form, recent contacts.

    The case comes from the cases the user may see: another agent's case is a 404.
    """
    case = get_object_or_404(
        CollectionCase.objects.visible_to(request.user).select_related("customer", "assigned_agent"),
        pk=case_id,
    )
    customer = case.customer
    contacts = customer.emergency_contacts.order_by("id")
    form = ContactForm(request.POST if request.method == "POST" else None, contacts=contacts)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact_record(
                case=case,
                agent=request.user,
                channel=data["channel"],
                party=data["party"],
                direction=data["direction"],
                outcome=data["outcome"],
                emergency_contact=data["emergency_contact"],
                summary=data["summary"],
            )
        except CaseError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, _("The contact is recorded."))
            if request.htmx:  # a whole page, so the message shows and the form starts afresh
                return HttpResponseClientRedirect(reverse("collections:case_contacts", args=[case.pk]))
            return redirect("collections:case_contacts", case_id=case.pk)
    context = contact_context(customer=customer, now=timezone.now())
    outbound_call = {"channel": ContactChannel.PHONE, "direction": ContactDirection.OUTBOUND}
    emergency_contacts = list(contacts)
    banners = [
        (_("Call the debtor"), context.decide(party=ContactParty.DEBTOR, **outbound_call)),
        *(
            (
                _("Call %(name)s (emergency contact)") % {"name": contact.name},
                context.decide(party=ContactParty.EMERGENCY_CONTACT, contact_id=contact.pk, **outbound_call),
            )
            for contact in emergency_contacts
        ),
    ]
    return render(
        request,
        "collection/case_contacts.html",
        {
            "case": case,
            "customer_name": person_name(family=customer.name, given=""),
            "masked_phone": mask_phone(customer.phone),
            "can_reveal": request.user.has_perm("accounts.reveal_pii"),
            "profile": context.profile,
            "customer_zone": context.zone.key,
            "banners": banners,
            "form": form,
            "recent": case_recent_contacts(case=case),
        },
    )
