"""The base of every business-rule error the services raise; views turn them into 4xx or form errors."""


class DomainError(Exception):
    """A request that breaks a business rule. The message is safe to show to staff."""

    def __init__(self, message: str, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code
