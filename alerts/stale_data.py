"""Stale-data alerts: a series whose next value is overdue is itself news.

``alerts.staleness`` freezes the open warnings of a silent series; this module warns
that the series went silent at all, whether or not it had a warning. Each series has
one fingerprint of its own, ``stale_data:<entity id>:<indicator id>`` (model
``stale_data``), so these alerts never mix with the threshold, anomaly and stage
alerts of the same series, and they take the normal path to the channels (routing,
grouping, silences, inhibition).

A series is late when more periods of its indicator's frequency have ended without a
value than the policy allows (``AlertPolicy.stale_after``, ``a`` below). Its alert
opens **blue** at ``a`` missed periods, escalates to **yellow** at ``2a`` and
**orange** at ``3a`` (a source that stopped long ago is a bigger gap in the picture),
and resolves as soon as a value for a recent enough period arrives. The alert's value
is the number of periods missed and its threshold the allowance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.outbox import enqueue
from alerts.policy import AlertPolicy, load_policy
from alerts.routing import Router
from alerts.staleness import LOCAL_TIME
from alerts.states import Cause, Event
from monitor.periods import format_period
from monitor.queries import entities_by_id
from monitor.records import Alert, AlertEvent, Channel, Entity, Indicator, Observation, utc_now
from monitor.staleness import OverdueSeries, overdue_series
from monitor.vocabulary import SEVERITY_ORDER, STALE_DATA_MODEL, AlertStatus, Severity

#: The colours a silent series climbs through, one per allowance of missed periods.
STALE_DATA_COLOURS: tuple[Severity, ...] = SEVERITY_ORDER[:3]


def stale_data_fingerprint(entity_id: int, indicator_id: int) -> str:
    """The fingerprint of a series' stale-data alerts."""
    return f"{STALE_DATA_MODEL}:{entity_id}:{indicator_id}"


def stale_data_colour(missed: int, allowed: int) -> Severity | None:
    """The colour of a series that missed ``missed`` periods; ``None`` while not late."""
    steps = missed // allowed
    if steps < 1:
        return None
    return STALE_DATA_COLOURS[min(steps, len(STALE_DATA_COLOURS)) - 1]


@dataclass
class StaleDataCounts:
    """What one pass did: alerts opened, escalated and resolved."""

    opened: int = 0
    escalated: int = 0
    resolved: int = 0

    @property
    def changed(self) -> int:
        return self.opened + self.escalated + self.resolved


def raise_stale_data_alerts(
    session: Session,
    *,
    now: datetime | None = None,
    policy: AlertPolicy | None = None,
    channels: Sequence[Channel] | None = None,
) -> StaleDataCounts:
    """Open, escalate and resolve the stale-data alerts of every series; queue notices.

    Runs inside the caller's transaction; ``channels`` default to every enabled one.
    """
    now = now or utc_now()
    policy = policy or load_policy(session)
    if channels is None:
        channels = list(session.scalars(select(Channel).where(Channel.enabled)))
    today = now.astimezone(LOCAL_TIME).date()
    late = {(s.entity_id, s.indicator_id): s for s in overdue_series(session, today, policy)}
    open_alerts = {
        (alert.entity_id, alert.indicator_id): alert
        for alert in session.scalars(
            select(Alert).where(
                Alert.model == STALE_DATA_MODEL, Alert.status != AlertStatus.RESOLVED
            )
        )
    }
    router = Router.load(session)
    counts = StaleDataCounts()

    def notify(alert: Alert, event: AlertEvent) -> None:
        session.add(event)
        enqueue(session, alert, event, channels, router=router)

    for key, alert in open_alerts.items():
        series = late.get(key)
        if series is None:
            notify(alert, _resolve(session, alert, now))
            counts.resolved += 1
            continue
        colour = stale_data_colour(series.missed, series.allowed)
        if colour is not None and colour.rank > Severity(alert.severity).rank:
            notify(alert, _escalate(alert, series, colour, now))
            counts.escalated += 1
    new = [series for key, series in late.items() if key not in open_alerts]
    entities = entities_by_id(session, [series.entity_id for series in new])
    indicators = {i.id: i for i in session.scalars(select(Indicator))} if new else {}
    for series in new:
        colour = stale_data_colour(series.missed, series.allowed)
        assert colour is not None  # overdue_series keeps late series only
        alert = _open(
            entities[series.entity_id], indicators[series.indicator_id], series, colour, now
        )
        session.add(alert)
        notify(alert, _event(alert, series, Event.OPENED, now, opening=True))
        counts.opened += 1
    return counts


def _note(series: OverdueSeries) -> str:
    latest = format_period(series.latest, series.frequency)
    return f"no value since {latest}; {series.missed} periods missed"


def _open(
    entity: Entity, indicator: Indicator, series: OverdueSeries, colour: Severity, now: datetime
) -> Alert:
    return Alert(
        fingerprint=stale_data_fingerprint(entity.id, indicator.id),
        entity_id=entity.id,
        entity=entity,
        indicator_id=indicator.id,
        indicator=indicator,
        model=STALE_DATA_MODEL,
        level=entity.level,
        dimension=indicator.dimension,
        severity=colour.value,
        worst_severity=colour.value,
        status=AlertStatus.FIRING,
        period=series.latest,
        last_period=series.latest,
        value=float(series.missed),
        threshold=float(series.allowed),
        synthetic=bool(entity.synthetic),
        stale_since=now,
        opened_at=now,
        updated_at=now,
    )


def _event(
    alert: Alert,
    series: OverdueSeries,
    kind: Event,
    now: datetime,
    *,
    opening: bool = False,
    to_severity: str | None = None,
) -> AlertEvent:
    return AlertEvent(
        alert=alert,
        kind=kind,
        at=now,
        period=series.latest,
        from_status=None if opening else alert.status,
        to_status=alert.status,
        from_severity=None if opening else alert.severity,
        to_severity=to_severity or alert.severity,
        value=float(series.missed),
        cause=Cause.NO_DATA,
        note=_note(series),
    )


def _escalate(alert: Alert, series: OverdueSeries, colour: Severity, now: datetime) -> AlertEvent:
    event = _event(alert, series, Event.ESCALATED, now, to_severity=colour.value)
    alert.severity = colour.value
    if colour.rank > Severity(alert.worst_severity).rank:
        alert.worst_severity = colour.value
    alert.value = float(series.missed)
    alert.updated_at = now
    return event


def _resolve(session: Session, alert: Alert, now: datetime) -> AlertEvent:
    latest = session.scalar(
        select(func.max(Observation.period)).where(
            Observation.entity_id == alert.entity_id,
            Observation.indicator_id == alert.indicator_id,
        )
    )
    event = AlertEvent(
        alert=alert,
        kind=Event.RESOLVED,
        at=now,
        period=latest,
        from_status=alert.status,
        to_status=AlertStatus.RESOLVED,
        from_severity=alert.severity,
        to_severity=None,
        value=0.0,
        cause=Cause.DATA_RESUMED,
        note=f"a value for {format_period(latest, alert.indicator.frequency)} arrived"
        if latest is not None
        else None,
    )
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = now
    alert.resolved_period = latest
    alert.last_period = latest or alert.last_period
    alert.value = 0.0
    alert.updated_at = now
    return event
