"""Masking of personal data (DESIGN.md, "Audit and privacy").

Every page shows phone numbers and national ids masked, to every role; the full value is shown
only by the audited reveal (audit.views.pii_reveal), after a reason is given.
"""


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


def can_reveal_pii(user) -> bool:
    """May reveal a number through the audited page, search by a full number, or write a new one."""
    return bool(user and user.has_perm("accounts.reveal_pii"))
