"""Errors of the alerting package."""


class AlertError(Exception):
    """An alert action that is not allowed in the alert's current state."""


class TransportError(Exception):
    """A notification could not be delivered.

    ``permanent`` errors (a 4xx answer, a refused address) are not retried.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
