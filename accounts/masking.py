"""Masking of personal data (DESIGN.md, "Audit and privacy"): the one place its rules live.

Every page shows phone numbers and national ids masked, to every role; the full value is shown
only by the audited reveal (audit.views.pii_reveal), after a reason is given. The admin, the
audit trail (audit.privacy, which adds what the trail never keeps) and its exports all mask
with these functions.
"""

from __future__ import annotations

import re

# A mainland mobile number or a resident identity number inside free text (a username typed
# at the sign-in page, the name of an object). Digits next to other digits are left alone.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")
_NATIONAL_ID = re.compile(r"(?<![\dXx])\d{17}[\dXx](?![\dXx])")


def mask_phone(phone: str) -> str:
    """138****5678: the first three and last four digits stay."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_national_id(national_id: str) -> str:
    """110***********1234: the region prefix and last four characters stay."""
    if not national_id:
        return ""
    if len(national_id) <= 7:
        return "*" * len(national_id)
    return f"{national_id[:3]}{'*' * (len(national_id) - 7)}{national_id[-4:]}"


def mask_recipient(recipient: str) -> str:
    """A reminder's recipient, a phone number (138****5678) or an e-mail address (a***@example.com)."""
    if not recipient:
        return ""
    name, _at, domain = recipient.partition("@")
    if domain:
        return f"{name[:1]}***@{domain}"
    return mask_phone(recipient)


# The fields that hold personal data, by name, on any model, and how each is masked.
FIELD_MASKERS = {
    "phone": mask_phone,
    "national_id": mask_national_id,
    "recipient": mask_recipient,
}


def scrub_text(text: str) -> str:
    """Mask every phone number and identity number found in a piece of free text."""
    if not text:
        return text
    text = _NATIONAL_ID.sub(lambda m: mask_national_id(m.group()), text)
    return _MOBILE.sub(lambda m: mask_phone(m.group()), text)


def mask_field_value(field: str, value):
    """A field's value as a page may show it: masked for personal data fields, numbers in free
    text masked, anything else as it is."""
    if value in (None, ""):
        return value
    masker = FIELD_MASKERS.get(field)
    if masker is not None:
        return masker(str(value))
    if isinstance(value, str):
        return scrub_text(value)
    return value


def can_reveal_pii(user) -> bool:
    """May reveal a number through the audited page, search by a full number, or write a new one."""
    return bool(user and user.has_perm("accounts.reveal_pii"))


def mask_address(*, province: str = "", city: str = "", district: str = "", street: str = "") -> str:
    """An address as lists show it to everyone but the visit's own field agents: province and city
    stay, the district and street are hidden (DESIGN.md: field agents see addresses only for their
    assigned visits)."""
    shown = " ".join(part for part in (province, city) if part)
    hidden = "****" if (district or street) else ""
    return " ".join(part for part in (shown, hidden) if part)
