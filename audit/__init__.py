"""The audit trail: one central record of sign-ins, changes, reveals of personal data and exports."""
