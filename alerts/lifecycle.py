"""Advance alerts through the periods a scoring run adds.

The decision layer (``models.levels``) gives each series a colour code per period
(0 normal, 1 blue .. 4 red), already confirmed by the threshold's ``min_periods`` and
held by its clearing level. This module turns the changes of those codes into alert
rows and events, one fingerprint (entity, indicator, model) at a time:

* a breach not yet confirmed (the score reaches a cut-off but the code is still 0)
  opens a **pending** alert, which notifies nobody; confirmed, it fires
  (``confirmed``); if the breach ends first it closes quietly (cause ``unconfirmed``);
* normal → colour opens a firing alert (``opened``);
* colour → another colour is an ``escalated`` / ``deescalated`` event on the same alert;
* colour → normal resolves it (``resolved``, actor ``None`` = the series recovered);
* a new value for a **stale** alert (see ``alerts.staleness``) restores its state first;
* every period an open alert still fires updates its ``last_period`` and ``value``;
* a period without a score (not reported yet) changes nothing.

A series whose alerts change state more than the policy allows within its recent
periods is **flapping**: its alert is marked, its notices are written ``held``, and
one ``settled`` notice goes out once it has been quiet for a while.

An alert staff resolved by hand while its series still breached is not re-opened until
the series has been normal at least once: closing it was a decision, not an accident.
Notifications are written in the same transaction for events of the latest period
(``notify_from``); earlier periods replayed by a backfill are history, not news.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from alerts.alert_values import write_alert_values
from alerts.flapping import CHANGE_EVENTS, FlapChange, FlapTracker, counts_as_change
from alerts.outbox import IDS_PER_QUERY, queue_many
from alerts.policy import AlertPolicy, load_policy
from alerts.routing import Router
from alerts.states import Cause, Event
from models.levels import to_levels
from monitor.records import Alert, AlertEvent, Channel, Entity, Indicator, Threshold
from monitor.vocabulary import SEVERITY_ORDER, AlertStatus


def severity_name(code: int) -> str:
    return SEVERITY_ORDER[code - 1].value


def fingerprint(entity_id: int, indicator_id: int, model: str) -> str:
    return f"{entity_id}:{indicator_id}:{model}"


@dataclass(frozen=True)
class Decisions:
    """One indicator × model over a panel: what the models said, period by period."""

    periods: pd.DatetimeIndex
    entity_ids: np.ndarray
    scores: np.ndarray  # float, periods x entities
    codes: np.ndarray  # int, periods x entities, 0..4
    crossed: np.ndarray  # float, the cut-off each code crossed (NaN where 0)


@dataclass
class AlertCounts:
    opened: int = 0
    escalated: int = 0
    deescalated: int = 0
    resolved: int = 0
    notifications: int = 0
    pending: int = 0
    confirmed: int = 0
    unconfirmed: int = 0
    refreshed: int = 0
    flapping: int = 0
    settled: int = 0
    events: list[AlertEvent] = field(default_factory=list, repr=False)

    def add(self, other: AlertCounts) -> None:
        for name in (
            "opened",
            "escalated",
            "deescalated",
            "resolved",
            "notifications",
            "pending",
            "confirmed",
            "unconfirmed",
            "refreshed",
            "flapping",
            "settled",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def pending_codes(
    decisions: Decisions, indicator: Indicator, threshold: Threshold | None
) -> np.ndarray | None:
    """The colour each series reaches while its breach awaits confirmation (0 elsewhere).

    ``None`` when nothing can be pending: no threshold known, or one breach suffices.
    """
    if threshold is None or (threshold.min_periods or 1) <= 1 or decisions.codes.size == 0:
        return None
    direction = threshold.direction or indicator.direction
    frame = pd.DataFrame(decisions.scores, index=decisions.periods)
    raw = to_levels(frame, threshold.cutoffs(), direction, min_periods=1).to_numpy()
    known = ~np.isnan(decisions.scores)
    return np.where(known & (decisions.codes == 0), raw, 0).astype(np.int8)


def advance_alerts(
    session: Session,
    *,
    indicator: Indicator,
    model: str,
    decisions: Decisions,
    start: int,
    notify_from: date | None,
    channels: Sequence[Channel],
    synthetic_entities: set[int],
    now: datetime,
    threshold: Threshold | None = None,
    policy: AlertPolicy | None = None,
) -> AlertCounts:
    """Apply the code changes of periods ``start ..`` of ``decisions`` to the alerts.

    ``threshold`` (the row the codes were cut with) lets breaches awaiting
    confirmation show as pending alerts; ``policy`` defaults to the stored one.
    """
    counts = AlertCounts()
    if start >= len(decisions.periods) or decisions.codes.size == 0:
        return counts
    advancer = _Advancer(
        session,
        indicator=indicator,
        model=model,
        decisions=decisions,
        synthetic_entities=synthetic_entities,
        now=now,
        policy=policy or load_policy(session),
        pending=pending_codes(decisions, indicator, threshold),
        cutoffs=threshold.cutoffs() if threshold is not None else None,
        counts=counts,
    )
    advancer.load(start)
    router = Router.load(session) if channels else Router([])
    for t in range(start, len(decisions.periods)):
        advancer.step(t)
        period = advancer.period_dates[t]
        if notify_from is not None and period >= notify_from and channels:
            counts.notifications += _notify(session, counts.events, channels, router)
        counts.events.clear()
    advancer.write_values()
    return counts


class _Advancer:
    """The state of one indicator × model's series while periods are applied."""

    def __init__(
        self,
        session: Session,
        *,
        indicator: Indicator,
        model: str,
        decisions: Decisions,
        synthetic_entities: set[int],
        now: datetime,
        policy: AlertPolicy,
        pending: np.ndarray | None,
        cutoffs: tuple[float, float, float, float] | None,
        counts: AlertCounts,
    ) -> None:
        self.session = session
        self.indicator = indicator
        self.model = model
        self.decisions = decisions
        self.synthetic = synthetic_entities
        self.now = now
        self.pending = pending
        self.cutoffs = cutoffs
        self.counts = counts
        self.period_dates = [p.date() for p in decisions.periods]
        self.column = {int(entity_id): i for i, entity_id in enumerate(decisions.entity_ids)}
        self.open: dict[int, Alert] = {}
        # Each series' latest alert: an object when open or touched, else its id (a
        # resolved alert is loaded only when it must change, see _latest_alert).
        self.latest: dict[int, Alert | int] = {}
        self.held_index: dict[int, int] = {}
        self.last_normal = np.full(decisions.codes.shape[1], -1)
        # Stored alerts whose only change is a new period's value: alert id -> (period,
        # value), written by one statement (:meth:`write_values`), not one UPDATE each.
        self.values: dict[int, tuple[date, float]] = {}
        self.tracker = FlapTracker(
            max_changes=policy.flap_max_changes,
            window=policy.flap_window_periods,
            quiet=policy.flap_quiet_periods,
        )

    # -- loading -----------------------------------------------------------------

    def load(self, start: int) -> None:
        """Read the series' latest alerts and recent changes stored before ``start``."""
        period_index = {d: i for i, d in enumerate(self.period_dates)}
        opened = []
        for (
            alert_id,
            entity_id,
            status,
            resolved_by,
            resolved_period,
            flapping,
        ) in self._latest_alerts():
            col = self.column.get(entity_id)
            if col is None:
                continue
            self.latest[col] = alert_id
            if status != AlertStatus.RESOLVED:
                opened.append(alert_id)
            elif resolved_by is not None and resolved_period is not None:
                self.held_index[col] = period_index.get(resolved_period, -1)
            if flapping:
                self.tracker.flapping.add(col)
        for first in range(0, len(opened), IDS_PER_QUERY):
            part = opened[first : first + IDS_PER_QUERY]
            for alert in self.session.scalars(select(Alert).where(Alert.id.in_(part))):
                col = self.column[alert.entity_id]
                self.latest[col] = self.open[col] = alert
        codes = self.decisions.codes
        normal_before = np.where(codes[:start] == 0, np.arange(start)[:, None], -1)
        if start:
            self.last_normal = normal_before.max(axis=0)
        self._load_changes(start, period_index)

    def _latest_alerts(self) -> list[tuple[Any, ...]]:
        """Id, entity, status, resolver, resolved period and flapping mark of each
        series' latest alert: plain rows, no objects for the many resolved ones."""
        latest_ids = (
            select(func.max(Alert.id))
            .where(
                Alert.indicator_id == self.indicator.id,
                Alert.model == self.model,
                Alert.entity_id.between(*self._entity_bounds()),
            )
            .group_by(Alert.entity_id)
        )
        rows = self.session.execute(
            select(
                Alert.id,
                Alert.entity_id,
                Alert.status,
                Alert.resolved_by,
                Alert.resolved_period,
                Alert.flapping,
            ).where(Alert.id.in_(latest_ids))
        )
        return [tuple(row) for row in rows]

    def _latest_alert(self, col: int) -> Alert | None:
        """The series' latest alert as an object, loaded now if only its id was read."""
        latest = self.latest.get(col)
        if isinstance(latest, int):
            # A stored row read by its key: no need to flush this period's changes first
            # (a flush per lookup cost 50 ms each at 100,000 firms).
            with self.session.no_autoflush:
                latest = self.latest[col] = self.session.get_one(Alert, latest)
        return latest

    def _entity_bounds(self) -> tuple[int, int]:
        """The lowest and highest entity id of the series: a chunk reads its own alerts."""
        ids = self.decisions.entity_ids
        return int(ids.min()), int(ids.max())

    def _load_changes(self, start: int, period_index: dict[date, int]) -> None:
        first = self.period_dates[max(start - self.tracker.memory, 0)]
        rows = self.session.execute(
            select(Alert.entity_id, AlertEvent)
            .join(Alert, AlertEvent.alert_id == Alert.id)
            .where(
                Alert.indicator_id == self.indicator.id,
                Alert.model == self.model,
                Alert.entity_id.between(*self._entity_bounds()),
                AlertEvent.kind.in_(CHANGE_EVENTS),
                AlertEvent.actor.is_(None),
                AlertEvent.period >= first,
                AlertEvent.period < self.period_dates[start],
            )
            .order_by(AlertEvent.id)
        )
        for entity_id, event in rows:
            col = self.column.get(entity_id)
            index = period_index.get(event.period) if event.period else None
            if col is not None and index is not None and counts_as_change(event):
                self.tracker.record(col, index)

    # -- one period ----------------------------------------------------------------

    def step(self, t: int) -> None:
        """Apply period ``t``: move the open alerts, open new ones, judge flapping."""
        # A missing score (the series has not reported this period yet) says nothing:
        # the series keeps its state instead of resolving or opening anything.
        known = ~np.isnan(self.decisions.scores[t])
        row = np.where(known, self.decisions.codes[t], -1)
        pend = self.pending[t] if self.pending is not None else np.zeros(len(row), np.int8)
        for col, alert in list(self.open.items()):
            code = int(row[col])
            if code < 0:
                continue
            if alert.status == AlertStatus.STALE:
                self._refresh(alert, t)
            if alert.status == AlertStatus.PENDING:
                self._advance_pending(col, alert, t, code, int(pend[col]))
            else:
                self._advance_open(col, alert, t, code)
        for col in np.flatnonzero((row > 0) | (pend > 0)).tolist():
            if col in self.open:
                continue
            if col in self.held_index and self.last_normal[col] < self.held_index[col]:
                continue  # closed by staff during this very breach
            self._open(col, t, int(row[col]), int(pend[col]))
        self.last_normal = np.where(row == 0, t, self.last_normal)
        for col in sorted(self.tracker.flapping | self._changed_at(t)):
            self._judge_flapping(col, t)

    def _changed_at(self, t: int) -> set[int]:
        return {col for col, periods in self.tracker.changes.items() if periods[-1] == t}

    def _advance_pending(self, col: int, alert: Alert, t: int, code: int, raw: int) -> None:
        if code > 0:
            severity = severity_name(code)
            self._event(alert, Event.CONFIRMED, t, Cause.BREACH, AlertStatus.FIRING, severity)
            alert.status = AlertStatus.FIRING
            self._take_colour(alert, col, t, severity, float(self.decisions.crossed[t, col]))
            self.counts.confirmed += 1
        elif raw > 0:
            threshold = self._cutoff_of_raw(raw)
            self._take_colour(alert, col, t, severity_name(raw), threshold)
        else:
            self._close(col, alert, t, Cause.UNCONFIRMED)
            self.counts.unconfirmed += 1

    def _advance_open(self, col: int, alert: Alert, t: int, code: int) -> None:
        if code == 0:
            self._close(col, alert, t, Cause.RECOVERED)
            self.counts.resolved += 1
            return
        severity = severity_name(code)
        if severity != alert.severity:
            up = code > _rank(alert.severity)
            kind = Event.ESCALATED if up else Event.DEESCALATED
            self._event(alert, kind, t, Cause.BREACH, alert.status, severity)
            if up:
                self.counts.escalated += 1
            else:
                self.counts.deescalated += 1
            self._take_colour(alert, col, t, severity, float(self.decisions.crossed[t, col]))
        else:
            self._take_value(alert, col, t)

    def _take_colour(
        self, alert: Alert, col: int, t: int, severity: str, threshold: float | None
    ) -> None:
        alert.severity = severity
        if _rank(severity) > _rank(alert.worst_severity):
            alert.worst_severity = severity
        alert.threshold = threshold
        self._take_value(alert, col, t)

    def _take_value(self, alert: Alert, col: int, t: int) -> None:
        period, value = self.period_dates[t], float(self.decisions.scores[t, col])
        if not inspect(alert).persistent:
            alert.last_period, alert.value, alert.updated_at = period, value, self.now
            return
        # The object shows the new values at once; the row gets them in write_values.
        for name, new in (("last_period", period), ("value", value), ("updated_at", self.now)):
            set_committed_value(alert, name, new)
        self.values[alert.id] = (period, value)

    def write_values(self) -> None:
        """Store the values kept by :meth:`_take_value`, in one statement."""
        if self.values:
            write_alert_values(self.session, self.values, self.now)
            self.values.clear()

    def _close(self, col: int, alert: Alert, t: int, cause: Cause) -> None:
        self._event(alert, Event.RESOLVED, t, cause, AlertStatus.RESOLVED, None)
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = self.now
        alert.resolved_period = self.period_dates[t]
        alert.updated_at = self.now
        del self.open[col]

    def _refresh(self, alert: Alert, t: int) -> None:
        before = next(
            (
                event.from_status
                for event in reversed(alert.events)
                if event.kind == Event.STALE and event.from_status
            ),
            AlertStatus.FIRING,
        )
        self._event(alert, Event.REFRESHED, t, Cause.DATA_RESUMED, before, alert.severity)
        alert.status = before
        alert.stale_since = None
        alert.updated_at = self.now
        self.counts.refreshed += 1

    def _open(self, col: int, t: int, code: int, raw: int) -> None:
        decisions = self.decisions
        entity_id = int(decisions.entity_ids[col])
        confirmed = code > 0
        severity = severity_name(code if confirmed else raw)
        cutoff = float(decisions.crossed[t, col]) if confirmed else self._cutoff_of_raw(raw)
        period = self.period_dates[t]
        alert = Alert(
            fingerprint=fingerprint(entity_id, self.indicator.id, self.model),
            entity_id=entity_id,
            indicator_id=self.indicator.id,
            model=self.model,
            level=self.indicator.level,
            dimension=self.indicator.dimension,
            severity=severity,
            worst_severity=severity,
            status=AlertStatus.FIRING if confirmed else AlertStatus.PENDING,
            period=period,
            last_period=period,
            value=float(decisions.scores[t, col]),
            threshold=cutoff,
            synthetic=entity_id in self.synthetic,
            opened_at=self.now,
            updated_at=self.now,
            flapping=col in self.tracker.flapping,
        )
        self.session.add(alert)
        if col in self.tracker.flapping or isinstance(self.latest.get(col), Alert):
            previous = self._latest_alert(col)
            if previous is not None:
                previous.flapping = False  # the series' flag lives on its latest alert
        self.open[col] = alert
        self.latest[col] = alert
        self._event(alert, Event.OPENED, t, Cause.BREACH, alert.status, severity, opening=True)
        if confirmed:
            self.counts.opened += 1
        else:
            self.counts.pending += 1

    def _cutoff_of_raw(self, raw: int) -> float | None:
        """The cut-off a breach awaiting confirmation reached."""
        return float(self.cutoffs[raw - 1]) if self.cutoffs is not None else None

    def _judge_flapping(self, col: int, t: int) -> None:
        change = self.tracker.update(col, t)
        if change is None:
            return
        alert = self.open.get(col) or self._latest_alert(col)
        if alert is None:
            return
        if change is FlapChange.STARTED:
            alert.flapping = True
            self._event(alert, Event.FLAPPING, t, Cause.TOO_MANY_CHANGES, alert.status, None)
            self.counts.flapping += 1
        else:
            alert.flapping = False
            self._event(alert, Event.SETTLED, t, Cause.QUIET, alert.status, alert.severity)
            self.counts.settled += 1

    def _event(
        self,
        alert: Alert,
        kind: Event,
        t: int,
        cause: Cause,
        to_status: str,
        to_severity: str | None,
        *,
        opening: bool = False,
    ) -> AlertEvent:
        col = self.column.get(alert.entity_id)
        event = AlertEvent(
            alert=alert,
            kind=kind,
            at=self.now,
            period=self.period_dates[t],
            from_status=None if opening else alert.status,
            to_status=to_status,
            from_severity=None if opening else alert.severity,
            to_severity=to_severity,
            value=self._value(col, t),
            cause=cause,
        )
        self.session.add(event)
        self.counts.events.append(event)
        if col is not None and counts_as_change(event):
            self.tracker.record(col, t)
        return event

    def _value(self, col: int | None, t: int) -> float | None:
        if col is None:
            return None
        value = float(self.decisions.scores[t, col])
        return None if np.isnan(value) else value


def _rank(severity: str) -> int:
    return [s.value for s in SEVERITY_ORDER].index(severity) + 1


def _notify(
    session: Session, events: list[AlertEvent], channels: Sequence[Channel], router: Router
) -> int:
    """Queue the notices of one period's events, all in one batch."""
    if not events:
        return 0
    return queue_many(session, [(event.alert, event) for event in events], channels, router=router)


def synthetic_entity_ids(session: Session, ids: Sequence[int]) -> set[int]:
    """The synthetic entities among ``ids``.

    Many ids (a chunk of firms) are looked up by their range, not one long ``IN`` list.
    """
    if not ids:
        return set()
    if len(ids) <= _IDS_IN_ONE_LIST:
        rows = session.scalars(select(Entity.id).where(Entity.id.in_(ids), Entity.synthetic))
        return set(rows)
    wanted = set(ids)
    rows = session.scalars(
        select(Entity.id).where(Entity.id.between(min(wanted), max(wanted)), Entity.synthetic)
    )
    return wanted.intersection(rows)


#: Up to this many ids go into one ``IN`` list; more are looked up by range.
_IDS_IN_ONE_LIST = 500
