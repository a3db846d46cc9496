"""Stage alerts: a shock beginning or ending is news for the normal alert channels.

Each staged entity has one alert fingerprint of its own, ``stage:<entity id>``
(model ``stage``), so its stage alerts never mix with the threshold and anomaly
alerts of its series. The stage transitions become alert events:

* preparation → absorption (a shock begins) **opens** a firing alert of colour
  ``severity`` (default orange) — notified;
* recovery → absorption (a second shock before the first was over) **escalates**
  the open alert one colour (a ``repeated`` event once it is red) — notified;
* recovery → preparation (the shock is over) **resolves** it — notified;
* every other change (absorption ↔ adaptation, → recovery) is a ``note`` event on the
  open alert, so its timeline tells the whole story, and notifies nobody.

Transitions are applied once: only those of periods after the latest event already
stored for the fingerprint, so a re-run adds nothing. As in the scoring pipeline,
only the transitions of an entity's latest observed period are sent; older ones
replayed on a first run are history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.outbox import enqueue
from alerts.states import Event
from models.stages import ABSORPTION, CAUSES, PREPARATION, RECOVERY, STAGES, StageTrace
from monitor.errors import ConfigError
from monitor.records import Alert, AlertEvent, Channel, Entity, Indicator
from monitor.vocabulary import SEVERITY_ORDER, AlertStatus, Severity

STAGE_MODEL = "stage"
RECOVERED_CAUSE = "recovered"
STAGE_CAUSE = "stage"


def stage_fingerprint(entity_id: int) -> str:
    """The fingerprint of an entity's stage alerts."""
    return f"{STAGE_MODEL}:{entity_id}"


def check_severity(severity: str) -> str:
    """``severity`` if it is one of the four colours, else ``ConfigError``."""
    if severity not in {s.value for s in Severity}:
        raise ConfigError(
            f"stage alert colour must be blue, yellow, orange or red; got {severity!r}"
        )
    return severity


@dataclass
class StageAlertCounts:
    """What one pass over the stage transitions did."""

    opened: int = 0
    escalated: int = 0
    resolved: int = 0
    notes: int = 0
    notifications: int = 0


def advance_stage_alerts(
    session: Session,
    trace: StageTrace,
    *,
    indicator: Indicator,
    entities: Mapping[int, Entity],
    channels: Sequence[Channel],
    notify_from: Mapping[int, date] | None,
    now: datetime,
    severity: str = Severity.ORANGE,
) -> StageAlertCounts:
    """Turn the new stage transitions of ``trace`` into stage-alert events.

    ``entities`` maps the trace's columns (entity ids) to their rows; ``notify_from``
    gives, per entity, the first period whose events are sent (``None``: send none).
    """
    check_severity(severity)
    counts = StageAlertCounts()
    entity_ids = [int(e) for e in trace.entities]
    if not entity_ids or len(trace.periods) == 0:
        return counts
    done = _latest_event_periods(session, entity_ids)
    open_alerts = _open_alerts(session, entity_ids)
    periods = [p.date() for p in trace.periods]
    codes = trace.codes
    changes = np.zeros(codes.shape, dtype=bool)
    changes[1:] = codes[1:] != codes[:-1]
    for column, entity_id in enumerate(entity_ids):
        after = done.get(entity_id)
        first_sent = notify_from.get(entity_id) if notify_from is not None else None
        for t in np.flatnonzero(changes[:, column]).tolist():
            period = periods[t]
            if after is not None and period <= after:
                continue
            step = _Transition(
                entity=entities[entity_id],
                indicator=indicator,
                period=period,
                before=STAGES[codes[t - 1, column]],
                after=STAGES[codes[t, column]],
                cause=CAUSES[int(trace.cause[t, column])],
                value=_number(trace.level[t, column]),
                baseline=_number(trace.baseline[t, column]),
            )
            alert, event = _apply(session, step, open_alerts, severity, now, counts)
            if alert is None or event is None:
                continue
            if first_sent is not None and period >= first_sent and channels:
                session.flush()
                counts.notifications += len(enqueue(session, alert, event, channels))
    return counts


@dataclass(frozen=True)
class _Transition:
    entity: Entity
    indicator: Indicator
    period: date
    before: str
    after: str
    cause: str
    value: float | None
    baseline: float | None

    @property
    def note(self) -> str:
        return f"{self.before} → {self.after}"


def _apply(
    session: Session,
    step: _Transition,
    open_alerts: dict[int, Alert],
    severity: str,
    now: datetime,
    counts: StageAlertCounts,
) -> tuple[Alert | None, AlertEvent | None]:
    """Record one transition on the entity's stage alert; return the alert and event."""
    entity_id = step.entity.id
    alert = open_alerts.get(entity_id)
    if step.after == ABSORPTION and step.before in (PREPARATION, RECOVERY):
        if alert is not None:
            return alert, _worsen(session, alert, step, now, counts)
        alert = _open(session, step, severity, now)
        open_alerts[entity_id] = alert
        counts.opened += 1
        return alert, _event(session, alert, step, Event.OPENED, now, opening=True)
    if alert is None:
        return None, None  # nothing open to record it on (e.g. staff closed it)
    if step.after == PREPARATION:
        event = _event(
            session,
            alert,
            step,
            Event.RESOLVED,
            now,
            to_status=AlertStatus.RESOLVED,
            to_severity=None,
        )
        event.cause = RECOVERED_CAUSE
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = now
        alert.resolved_period = step.period
        del open_alerts[entity_id]
        counts.resolved += 1
        return alert, event
    counts.notes += 1
    return alert, _event(session, alert, step, Event.NOTE, now)


def _worsen(
    session: Session, alert: Alert, step: _Transition, now: datetime, counts: StageAlertCounts
) -> AlertEvent:
    """A second shock while one is open: one colour up, or a reminder once red."""
    rank = Severity(alert.severity).rank
    if rank >= len(SEVERITY_ORDER):
        return _event(session, alert, step, Event.REPEATED, now)
    worse = SEVERITY_ORDER[rank].value
    event = _event(session, alert, step, Event.ESCALATED, now, to_severity=worse)
    alert.severity = worse
    if Severity(worse).rank > Severity(alert.worst_severity).rank:
        alert.worst_severity = worse
    alert.threshold = step.baseline
    counts.escalated += 1
    return event


def _open(session: Session, step: _Transition, severity: str, now: datetime) -> Alert:
    entity = step.entity
    alert = Alert(
        fingerprint=stage_fingerprint(entity.id),
        entity_id=entity.id,
        entity=entity,
        indicator_id=step.indicator.id,
        indicator=step.indicator,
        model=STAGE_MODEL,
        level=entity.level,
        dimension=step.indicator.dimension,
        severity=severity,
        worst_severity=severity,
        status=AlertStatus.FIRING,
        period=step.period,
        last_period=step.period,
        value=step.value,
        threshold=step.baseline,
        synthetic=bool(entity.synthetic),
        opened_at=now,
        updated_at=now,
    )
    session.add(alert)
    return alert


def _event(
    session: Session,
    alert: Alert,
    step: _Transition,
    kind: Event,
    now: datetime,
    *,
    opening: bool = False,
    to_status: str | None = None,
    to_severity: str | None = "",
) -> AlertEvent:
    event = AlertEvent(
        alert=alert,
        kind=kind,
        at=now,
        period=step.period,
        from_status=None if opening else alert.status,
        to_status=to_status or alert.status,
        from_severity=None if opening else alert.severity,
        to_severity=alert.severity if to_severity == "" else to_severity,
        value=step.value,
        cause=step.cause or STAGE_CAUSE,
        note=step.note,
    )
    session.add(event)
    alert.last_period = step.period
    alert.value = step.value
    alert.updated_at = now
    return event


def _latest_event_periods(session: Session, entity_ids: Sequence[int]) -> dict[int, date]:
    """Per entity, the period of the latest event of its stage alerts (none: absent)."""
    fingerprints = [stage_fingerprint(entity_id) for entity_id in entity_ids]
    rows = session.execute(
        select(Alert.entity_id, func.max(AlertEvent.period))
        .join(AlertEvent, AlertEvent.alert_id == Alert.id)
        .where(Alert.fingerprint.in_(fingerprints), AlertEvent.period.is_not(None))
        .group_by(Alert.entity_id)
    )
    return {int(entity_id): period for entity_id, period in rows if period is not None}


def _open_alerts(session: Session, entity_ids: Sequence[int]) -> dict[int, Alert]:
    fingerprints = [stage_fingerprint(entity_id) for entity_id in entity_ids]
    rows = session.scalars(
        select(Alert).where(
            Alert.fingerprint.in_(fingerprints), Alert.status != AlertStatus.RESOLVED
        )
    )
    return {alert.entity_id: alert for alert in rows}


def _number(value: float) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
