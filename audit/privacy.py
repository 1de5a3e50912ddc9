"""What the audit trail keeps of a value: secrets never, personal data masked (accounts.masking)."""

from __future__ import annotations

from accounts.masking import mask_field_value

# Fields whose value is never written, even masked.
SECRET_FIELDS = frozenset({"password", "secret", "key", "token", "otp_secret"})
REDACTED = "***"


def trail_value(field: str, value):
    """A value as the trail may keep it: dropped for secrets, masked for personal data fields
    and for numbers in free text (accounts.masking.mask_field_value)."""
    if value not in (None, "") and field in SECRET_FIELDS:
        return REDACTED
    return mask_field_value(field, value)
