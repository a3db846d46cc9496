"""Flapping: a series whose alert keeps changing state is told about only once it settles.

A change is a change of state a channel would hear about: an alert starting to fire
or recovering. Colour changes are escalations within one state (a shock deepening
month by month is news, not noise) and do not count. Counting is per series
(fingerprint) over its periods, so an alert that resolves and re-opens every other
month is caught although each opening is a new alert row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from alerts.states import Event
from monitor.records import AlertEvent
from monitor.vocabulary import AlertStatus

CHANGE_EVENTS: frozenset[str] = frozenset({Event.OPENED, Event.CONFIRMED, Event.RESOLVED})


class FlapChange(StrEnum):
    STARTED = "started"
    SETTLED = "settled"


def counts_as_change(event: AlertEvent) -> bool:
    """Whether ``event`` is a state change a channel would see (pending ones are not)."""
    if event.actor is not None or event.kind not in CHANGE_EVENTS:
        return False
    if event.kind == Event.OPENED:
        return event.to_status != AlertStatus.PENDING
    if event.kind == Event.RESOLVED:
        return event.from_status != AlertStatus.PENDING
    return True  # confirmed


@dataclass
class FlapTracker:
    """Per series (a column number): the periods of its recent changes, and who flaps.

    A series starts flapping when more than ``max_changes`` changes fall within its
    last ``window`` periods, and settles after ``quiet`` periods without a change.
    """

    max_changes: int
    window: int
    quiet: int
    changes: dict[int, list[int]] = field(default_factory=dict)
    flapping: set[int] = field(default_factory=set)

    def record(self, series: int, period: int) -> None:
        """Note a change of ``series`` in period number ``period``."""
        kept = [p for p in self.changes.get(series, []) if p > period - self.memory]
        kept.append(period)
        self.changes[series] = kept

    @property
    def memory(self) -> int:
        """How many periods back a change still matters."""
        return max(self.window, self.quiet)

    def recent(self, series: int, period: int) -> int:
        """Changes of ``series`` within the window ending at ``period``."""
        return sum(1 for p in self.changes.get(series, []) if period - self.window < p <= period)

    def update(self, series: int, period: int) -> FlapChange | None:
        """Judge ``series`` at ``period``: did it just start flapping, or just settle?"""
        if series in self.flapping:
            last = max(self.changes.get(series, []), default=None)
            if last is None or period - last >= self.quiet:
                self.flapping.discard(series)
                return FlapChange.SETTLED
            return None
        if self.recent(series, period) > self.max_changes:
            self.flapping.add(series)
            return FlapChange.STARTED
        return None
