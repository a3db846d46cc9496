"""Errors of the alerting package."""


class AlertError(Exception):
    """An alert action that is not allowed in the alert's current state, or a bad setting.

    ``message`` is an English template whose ``%(name)s`` fields come from ``params``;
    it doubles as the key of the console's translation (``web.alert_errors``), which is
    filled with the same fields. ``str(error)`` is the English text.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class TransportError(Exception):
    """A notification could not be delivered.

    ``permanent`` errors (a 4xx answer, a refused address) are not retried.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
