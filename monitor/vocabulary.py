"""The domain's closed vocabularies: levels, dimensions, colours, stages, statuses."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    GOVERNMENT = "government"
    INDUSTRY = "industry"
    ENTERPRISE = "enterprise"


class Dimension(StrEnum):
    POLITICAL = "political"
    ECONOMIC = "economic"
    TRADE = "trade"
    ENVIRONMENTAL = "environmental"
    TECHNOLOGY = "technology"


class Frequency(StrEnum):
    MONTHLY = "M"
    QUARTERLY = "Q"
    ANNUAL = "A"


class Direction(StrEnum):
    """Which way an indicator's value gets riskier."""

    UP = "up"
    DOWN = "down"
    BOTH = "both"


class Transform(StrEnum):
    """What the threshold model looks at: the level or a change of it (in %)."""

    LEVEL = "level"
    YOY = "yoy"
    POP = "pop"


class Severity(StrEnum):
    """The Chinese four-colour warning scale, mildest first."""

    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        return SEVERITY_ORDER.index(self) + 1


SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.BLUE,
    Severity.YELLOW,
    Severity.ORANGE,
    Severity.RED,
)


class AlertStatus(StrEnum):
    """Where an alert stands: ``pending`` until its breach is confirmed, ``stale`` when its
    series stopped arriving (see ``alerts.states``)."""

    PENDING = "pending"
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    STALE = "stale"
    RESOLVED = "resolved"


OPEN_STATUSES: tuple[AlertStatus, ...] = (
    AlertStatus.PENDING,
    AlertStatus.FIRING,
    AlertStatus.ACKNOWLEDGED,
    AlertStatus.STALE,
)


class Stage(StrEnum):
    """Where an entity stands in a shock cycle (the paper's adaptive cycle)."""

    PREPARATION = "preparation"
    ABSORPTION = "absorption"
    ADAPTATION = "adaptation"
    RECOVERY = "recovery"


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    def at_least(self, other: Role) -> bool:
        return ROLE_ORDER.index(self) >= ROLE_ORDER.index(other)


ROLE_ORDER: tuple[Role, ...] = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)


class ModelKind(StrEnum):
    """The models a threshold row can name: the pipeline scores an indicator with each.

    ``peers`` compares a firm with its cluster's other firms (enterprise rows only).
    The library's ``forest`` is not among them: see :data:`LIBRARY_ONLY_MODELS`.
    """

    THRESHOLD = "threshold"
    ROBUST_Z = "robust_z"
    EWMA = "ewma"
    CUSUM = "cusum"
    SEASONAL = "seasonal"
    LEVEL_SHIFT = "level_shift"
    VOLATILITY_SHIFT = "volatility_shift"
    NOVELTY = "novelty"
    PEERS = "peers"
    ENSEMBLE = "ensemble"


#: Library models the pipeline cannot run, with why: it scores one indicator's panel,
#: while these need other data in the same panel.
LIBRARY_ONLY_MODELS: dict[str, str] = {
    "forest": "it scores an entity over all its indicators at once, and the pipeline "
    "scores one indicator at a time",
}


#: The model name of stale-data alerts (a series overdue), which score no values.
STALE_DATA_MODEL = "stale_data"
#: The model name in the messages of source alerts (a scheduled source overdue).
SOURCE_LATE_MODEL = "source_late"


class EventKind(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    NOTE = "note"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class ChannelKind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class SourceKind(StrEnum):
    CSV = "csv"
    DEMO = "demo"
