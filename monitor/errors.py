"""Errors the monitoring core raises for conditions staff or operators can fix."""


class ClusterWatchError(Exception):
    """Base class of expected, user-facing failures."""


class ConfigError(ClusterWatchError):
    """A setting is missing or malformed."""


class CatalogError(ClusterWatchError):
    """A catalog file (entities, indicators) cannot be loaded."""


class IngestError(ClusterWatchError):
    """A whole input file is unusable (as opposed to single rejected rows)."""


class NotFound(ClusterWatchError):
    """A referenced record does not exist."""
