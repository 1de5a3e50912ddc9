"""Masking of personal data for roles that do not need to see it (DESIGN.md, "Audit and privacy")."""


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


def can_see_pii(user) -> bool:
    return bool(user and user.has_perm("accounts.reveal_pii"))
