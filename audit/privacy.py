"""Masking of personal data before it is written to the audit trail or leaves it in an export."""

from __future__ import annotations

import re

from accounts.masking import mask_national_id, mask_phone

# A mainland mobile number or a resident identity number inside free text (a username typed
# at the sign-in page, the name of an object). Digits next to other digits are left alone.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")
_NATIONAL_ID = re.compile(r"(?<![\dXx])\d{17}[\dXx](?![\dXx])")
# Fields whose value is never written, even masked.
SECRET_FIELDS = frozenset({"password", "secret", "key", "token", "otp_secret"})
REDACTED = "***"


def _mask_recipient(value: str) -> str:
    """A reminder's recipient is a phone number or an e-mail address."""
    name, _at, domain = value.partition("@")
    if domain:
        return f"{name[:1]}***@{domain}"
    return mask_phone(value)


FIELD_MASKERS = {
    "phone": mask_phone,
    "national_id": mask_national_id,
    "recipient": _mask_recipient,
}


def scrub_text(text: str) -> str:
    """Mask every phone number and identity number found in a piece of free text."""
    if not text:
        return text
    text = _NATIONAL_ID.sub(lambda m: mask_national_id(m.group()), text)
    return _MOBILE.sub(lambda m: mask_phone(m.group()), text)


def mask_field_value(field: str, value):
    """A value as the trail may keep it: masked for personal data fields, dropped for secrets."""
    if value in (None, ""):
        return value
    if field in SECRET_FIELDS:
        return REDACTED
    masker = FIELD_MASKERS.get(field)
    if masker is not None:
        return masker(str(value))
    if isinstance(value, str):
        return scrub_text(value)
    return value
