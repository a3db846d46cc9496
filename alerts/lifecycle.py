"""Advance alerts through the periods a scoring run adds.

The decision layer (``models.levels``) gives each series a colour code per period
(0 normal, 1 blue .. 4 red). This module turns the changes of those codes into
alert rows and events, one fingerprint (entity, indicator, model) at a time:

* normal → colour opens an alert (``opened``);
* colour → another colour is an ``escalated`` / ``deescalated`` event on the same alert;
* colour → normal resolves it (``resolved``, actor ``None`` = the series recovered);
* every period an open alert still fires updates its ``last_period`` and ``value``;
* a period without a score (not reported yet) changes nothing.

An alert staff resolved by hand while its series still breached is not re-opened until
the series has been normal at least once: closing it was a decision, not an accident.
Notifications are written in the same transaction for events of the latest period
(``notify_from``); earlier periods replayed by a backfill are history, not news.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.outbox import NOTIFYING_EVENTS, enqueue
from monitor.records import Alert, AlertEvent, Channel, Entity, Indicator
from monitor.vocabulary import SEVERITY_ORDER, AlertStatus, EventKind


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
    events: list[AlertEvent] = field(default_factory=list, repr=False)

    def add(self, other: AlertCounts) -> None:
        self.opened += other.opened
        self.escalated += other.escalated
        self.deescalated += other.deescalated
        self.resolved += other.resolved
        self.notifications += other.notifications


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
) -> AlertCounts:
    """Apply the code changes of periods ``start ..`` of ``decisions`` to the alerts."""
    counts = AlertCounts()
    n_periods = len(decisions.periods)
    if start >= n_periods or decisions.codes.size == 0:
        return counts
    column = {int(entity_id): i for i, entity_id in enumerate(decisions.entity_ids)}
    open_alerts = _open_alerts(session, indicator.id, model, column)
    held_closed = _manually_closed(session, indicator.id, model, column, open_alerts)
    codes = decisions.codes
    # Period index of each series' latest normal period before ``start`` (-1: none).
    normal_before = np.where(codes[:start] == 0, np.arange(start)[:, None], -1)
    last_normal = normal_before.max(axis=0) if start else np.full(codes.shape[1], -1)
    period_dates = [p.date() for p in decisions.periods]
    period_index = {d: i for i, d in enumerate(period_dates)}
    held_index = {
        col: period_index.get(resolved_period, -1) for col, resolved_period in held_closed.items()
    }

    for t in range(start, n_periods):
        # A missing score (the series has not reported this period yet) says nothing:
        # the series keeps its state instead of resolving or opening anything.
        known = ~np.isnan(decisions.scores[t])
        row = np.where(known, codes[t], -1)
        period = period_dates[t]
        notify = notify_from is not None and period >= notify_from
        for col, alert in list(open_alerts.items()):
            code = int(row[col])
            if code < 0:
                continue
            if code == 0:
                _record(session, counts, alert, EventKind.RESOLVED, period, None, None, now)
                alert.status = AlertStatus.RESOLVED
                alert.resolved_at = now
                alert.resolved_period = period
                alert.updated_at = now
                del open_alerts[col]
                counts.resolved += 1
            else:
                value = float(decisions.scores[t, col])
                if severity_name(code) != alert.severity:
                    kind = (
                        EventKind.ESCALATED
                        if code > _rank(alert.severity)
                        else EventKind.DEESCALATED
                    )
                    _record(session, counts, alert, kind, period, severity_name(code), value, now)
                    alert.severity = severity_name(code)
                    if code > _rank(alert.worst_severity):
                        alert.worst_severity = alert.severity
                    alert.threshold = float(decisions.crossed[t, col])
                    if kind == EventKind.ESCALATED:
                        counts.escalated += 1
                    else:
                        counts.deescalated += 1
                alert.last_period = period
                alert.value = value
                alert.updated_at = now
        firing = np.flatnonzero(row > 0)
        for col in firing:
            col = int(col)
            if col in open_alerts:
                continue
            if col in held_index and last_normal[col] < held_index[col]:
                continue  # closed by staff during this very breach
            alert = _open(session, indicator, model, decisions, t, col, synthetic_entities, now)
            open_alerts[col] = alert
            _record(
                session, counts, alert, EventKind.OPENED, period, alert.severity, alert.value, now
            )
            counts.opened += 1
        last_normal = np.where(row == 0, t, last_normal)
        if notify:
            counts.notifications += _notify(session, counts, period, channels)
        counts.events.clear()
    return counts


def _rank(severity: str) -> int:
    return [s.value for s in SEVERITY_ORDER].index(severity) + 1


def _open_alerts(
    session: Session, indicator_id: int, model: str, column: dict[int, int]
) -> dict[int, Alert]:
    rows = session.scalars(
        select(Alert).where(
            Alert.indicator_id == indicator_id,
            Alert.model == model,
            Alert.status != AlertStatus.RESOLVED,
        )
    )
    return {column[a.entity_id]: a for a in rows if a.entity_id in column}


def _manually_closed(
    session: Session,
    indicator_id: int,
    model: str,
    column: dict[int, int],
    open_alerts: dict[int, Alert],
) -> dict[int, date]:
    """Series whose latest alert staff closed by hand: column → the period it was closed."""
    latest: dict[int, Alert] = {}
    rows = session.scalars(
        select(Alert)
        .where(
            Alert.indicator_id == indicator_id,
            Alert.model == model,
            Alert.status == AlertStatus.RESOLVED,
        )
        .order_by(Alert.id)
    )
    for alert in rows:
        latest[alert.entity_id] = alert
    return {
        column[entity_id]: alert.resolved_period
        for entity_id, alert in latest.items()
        if alert.resolved_by is not None
        and alert.resolved_period is not None
        and entity_id in column
        and column[entity_id] not in open_alerts
    }


def _open(
    session: Session,
    indicator: Indicator,
    model: str,
    decisions: Decisions,
    t: int,
    col: int,
    synthetic_entities: set[int],
    now: datetime,
) -> Alert:
    entity_id = int(decisions.entity_ids[col])
    severity = severity_name(int(decisions.codes[t, col]))
    period = decisions.periods[t].date()
    alert = Alert(
        fingerprint=fingerprint(entity_id, indicator.id, model),
        entity_id=entity_id,
        indicator_id=indicator.id,
        model=model,
        level=indicator.level,
        dimension=indicator.dimension,
        severity=severity,
        worst_severity=severity,
        status=AlertStatus.FIRING,
        period=period,
        last_period=period,
        value=float(decisions.scores[t, col]),
        threshold=float(decisions.crossed[t, col]),
        synthetic=entity_id in synthetic_entities,
        opened_at=now,
        updated_at=now,
    )
    session.add(alert)
    return alert


def _record(
    session: Session,
    counts: AlertCounts,
    alert: Alert,
    kind: EventKind,
    period: date,
    to_severity: str | None,
    value: float | None,
    now: datetime,
) -> None:
    to_status = AlertStatus.RESOLVED if kind == EventKind.RESOLVED else alert.status
    event = AlertEvent(
        alert=alert,
        kind=kind,
        at=now,
        period=period,
        from_status=None if kind == EventKind.OPENED else alert.status,
        to_status=to_status,
        from_severity=None if kind == EventKind.OPENED else alert.severity,
        to_severity=to_severity,
        value=value,
    )
    session.add(event)
    counts.events.append(event)


def _notify(
    session: Session, counts: AlertCounts, period: date, channels: Sequence[Channel]
) -> int:
    pending = [e for e in counts.events if e.period == period and e.kind in NOTIFYING_EVENTS]
    if not pending or not channels:
        return 0
    session.flush()
    return sum(len(enqueue(session, event.alert, event, channels)) for event in pending)


def synthetic_entity_ids(session: Session, ids: Sequence[int]) -> set[int]:
    """The synthetic entities among ``ids``."""
    if not ids:
        return set()
    rows = session.scalars(select(Entity.id).where(Entity.id.in_(ids), Entity.synthetic))
    return set(rows)
