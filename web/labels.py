"""Translated display names of the domain's vocabularies (levels, colours, stages, ...)."""

from __future__ import annotations

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from monitor.vocabulary import (
    STALE_DATA_MODEL,
    AlertStatus,
    Dimension,
    Direction,
    EventKind,
    Frequency,
    Level,
    ModelKind,
    Role,
    RunStatus,
    Severity,
    Stage,
    Transform,
)
from web.catalogue import request_translations

LABELS: dict[str, dict[str, LazyString]] = {
    "level": {
        Level.GOVERNMENT: _l("Government"),
        Level.INDUSTRY: _l("Industry"),
        Level.ENTERPRISE: _l("Enterprise"),
    },
    "dimension": {
        Dimension.POLITICAL: _l("Political"),
        Dimension.ECONOMIC: _l("Economic"),
        Dimension.TRADE: _l("Trade"),
        Dimension.ENVIRONMENTAL: _l("Environmental"),
        Dimension.TECHNOLOGY: _l("Technology"),
    },
    "severity": {
        Severity.BLUE: _l("Blue warning"),
        Severity.YELLOW: _l("Yellow warning"),
        Severity.ORANGE: _l("Orange warning"),
        Severity.RED: _l("Red warning"),
    },
    "status": {
        "open": _l("Open (not resolved)"),
        AlertStatus.PENDING: _l("Pending confirmation"),
        AlertStatus.FIRING: _l("Firing"),
        AlertStatus.ACKNOWLEDGED: _l("Acknowledged"),
        AlertStatus.STALE: _l("Stale (no new data)"),
        AlertStatus.RESOLVED: _l("Resolved"),
    },
    "stage": {
        Stage.PREPARATION: _l("Shock preparation"),
        Stage.ABSORPTION: _l("Shock absorption"),
        Stage.ADAPTATION: _l("Shock adaptation"),
        Stage.RECOVERY: _l("Shock recovery"),
    },
    "model": {
        ModelKind.THRESHOLD: _l("Threshold model"),
        ModelKind.ROBUST_Z: _l("Robust z-score"),
        ModelKind.EWMA: _l("EWMA control chart"),
        ModelKind.CUSUM: _l("CUSUM chart"),
        ModelKind.SEASONAL: _l("Seasonal residual"),
        ModelKind.LEVEL_SHIFT: _l("Level shift"),
        ModelKind.VOLATILITY_SHIFT: _l("Volatility shift"),
        ModelKind.NOVELTY: _l("Pattern novelty"),
        ModelKind.ENSEMBLE: _l("Model ensemble"),
        ModelKind.PEERS: _l("Peer comparison"),
        "stage": _l("Stage change"),
        STALE_DATA_MODEL: _l("Stale data"),
    },
    "event": {
        EventKind.OPENED: _l("Opened"),
        EventKind.ESCALATED: _l("Escalated"),
        EventKind.DEESCALATED: _l("De-escalated"),
        EventKind.ACKNOWLEDGED: _l("Acknowledged"),
        EventKind.RESOLVED: _l("Resolved"),
        EventKind.NOTE: _l("Note"),
        "confirmed": _l("Confirmed"),
        "assigned": _l("Assigned"),
        "stale": _l("Data stopped arriving"),
        "refreshed": _l("Data arrived again"),
        "flapping": _l("Flapping: notifications held"),
        "settled": _l("Settled"),
        "repeated": _l("Reminder sent"),
    },
    "role": {
        Role.VIEWER: _l("Viewer"),
        Role.OPERATOR: _l("Operator"),
        Role.ADMIN: _l("Administrator"),
    },
    "direction": {
        Direction.UP: _l("Higher is riskier"),
        Direction.DOWN: _l("Lower is riskier"),
        Direction.BOTH: _l("Both directions"),
    },
    "transform": {
        Transform.LEVEL: _l("Reported value"),
        Transform.YOY: _l("Year-on-year change (%)"),
        Transform.POP: _l("Period-on-period change (%)"),
    },
    "frequency": {
        Frequency.MONTHLY: _l("Monthly"),
        Frequency.QUARTERLY: _l("Quarterly"),
        Frequency.ANNUAL: _l("Annual"),
    },
    "job": {
        "ingest": _l("Ingest"),
        "score": _l("Scoring cycle"),
        "backfill": _l("Backfill"),
    },
    "badge": {
        "synthetic": _l("Synthetic data"),
        "synthetic_hint": _l("Synthetic demo data, not real statistics"),
    },
    "run_status": {
        RunStatus.RUNNING: _l("Running"),
        RunStatus.SUCCEEDED: _l("Succeeded"),
        RunStatus.FAILED: _l("Failed"),
    },
}


class VocabularyNames:
    """Every vocabulary's names in one catalogue, each translated once for the process.

    A page of 50 alerts asks for 200 names; the console binds one of these per request
    so that each is a dictionary lookup (see ``request_names``)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], str] = {}
        self._choices: dict[str, list[tuple[str, str]]] = {}

    def choices(self, kind: str) -> list[tuple[str, str]]:
        """``(value, translated name)`` pairs of vocabulary ``kind``, for select boxes."""
        pairs = self._choices.get(kind)
        if pairs is None:
            pairs = [(str(value), self(kind, value)) for value in LABELS[kind]]
            self._choices[kind] = pairs
        return list(pairs)

    def knows(self, kind: str, value: str) -> bool:
        """Whether ``value`` is a word of vocabulary ``kind``."""
        return value in LABELS.get(kind, {})

    def __call__(self, kind: str, value: str | None) -> str:
        """The translated name of ``value`` in vocabulary ``kind``; unknown values as they are."""
        if value is None:
            return ""
        name = self._known.get((kind, value))
        if name is None:
            found = LABELS.get(kind, {}).get(value)
            name = str(value) if found is None else str(found)
            if self.knows(kind, value):  # unknown values are not kept
                self._known[kind, value] = name
        return name


# One set of names per catalogue (kept alive by the key), so one per locale for the process.
_NAMES: dict[object, VocabularyNames] = {}


def request_names() -> VocabularyNames:
    """The names in this request's catalogue (call only inside a request)."""
    catalogue = request_translations()
    names = _NAMES.get(catalogue)
    if names is None:
        names = _NAMES[catalogue] = VocabularyNames()
    return names


def _names() -> VocabularyNames:
    """The request's kept names, or fresh ones outside a request."""
    return request_names() if has_request_context() else VocabularyNames()


def label(kind: str, value: str | None) -> str:
    """The translated name of ``value`` in vocabulary ``kind``; unknown values as they are."""
    return _names()(kind, value)


def choices(kind: str) -> list[tuple[str, str]]:
    """``(value, translated name)`` pairs of a vocabulary, for select boxes."""
    return _names().choices(kind)
