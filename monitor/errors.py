"""Errors the monitoring core raises for conditions staff or operators can fix."""


class ClusterWatchError(Exception):
    """Base class of expected, user-facing failures.

    ``message`` may be an English template whose ``%(name)s`` fields come from
    ``params``: the console translates the template (its catalogue key) and fills in
    the same fields. ``str(error)`` is the English text.
    """

    def __init__(self, message: str = "", **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class ConfigError(ClusterWatchError):
    """A setting is missing or malformed."""


class CatalogError(ClusterWatchError):
    """A catalog file (entities, indicators) cannot be loaded."""


class IngestError(ClusterWatchError):
    """A whole input file is unusable (as opposed to single rejected rows)."""


class NotFound(ClusterWatchError):
    """A referenced record does not exist."""
