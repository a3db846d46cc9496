"""What staff do to an alert: acknowledge and assign it, note the response, resolve it.

This is the paper's warning → response → recovery cycle on one alert: whoever
acknowledges names who handles it (``assignee``) and what is being done
(``response_note``); resolving records why it is over (``resolution_note``), and
``resolution_summary`` tells the whole story for the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from alerts.errors import AlertError
from alerts.states import Cause, Event
from monitor.records import Alert, AlertEvent, utc_now
from monitor.vocabulary import AlertStatus


def _event(
    alert: Alert,
    kind: Event,
    *,
    actor: str,
    now: datetime,
    to_status: str,
    note: str | None,
) -> AlertEvent:
    return AlertEvent(
        alert=alert,
        kind=kind,
        at=now,
        period=alert.last_period,
        from_status=alert.status,
        to_status=to_status,
        from_severity=alert.severity,
        to_severity=None if to_status == AlertStatus.RESOLVED else alert.severity,
        actor=actor,
        note=note or None,
        cause=Cause.STAFF,
    )


def acknowledge(
    session: Session,
    alert: Alert,
    *,
    actor: str,
    note: str | None = None,
    assignee: str | None = None,
    now: datetime | None = None,
) -> AlertEvent:
    """Mark a firing alert as seen by ``actor``, naming who handles it and the response.

    ``assignee`` defaults to the alert's current assignee, else ``actor``; ``note`` is
    the response note (what is being done).
    """
    if alert.status != AlertStatus.FIRING:
        raise AlertError(
            "alert %(id)s is %(status)s; only a firing alert can be acknowledged",
            id=alert.id,
            status=alert.status,
        )
    now = now or utc_now()
    event = _event(
        alert,
        Event.ACKNOWLEDGED,
        actor=actor,
        now=now,
        to_status=AlertStatus.ACKNOWLEDGED,
        note=note,
    )
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = now
    alert.acknowledged_by = actor
    alert.assignee = (assignee or "").strip() or alert.assignee or actor
    if note:
        alert.response_note = note
    alert.updated_at = now
    session.add(event)
    return event


def assign(
    session: Session,
    alert: Alert,
    *,
    assignee: str,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> AlertEvent:
    """Hand an open alert to ``assignee``."""
    if alert.status == AlertStatus.RESOLVED:
        raise AlertError("alert %(id)s is resolved; it cannot be assigned", id=alert.id)
    if not assignee.strip():
        raise AlertError("name whom the alert is assigned to")
    now = now or utc_now()
    event = _event(alert, Event.ASSIGNED, actor=actor, now=now, to_status=alert.status, note=note)
    event.note = note or f"assigned to {assignee.strip()}"
    alert.assignee = assignee.strip()
    alert.updated_at = now
    session.add(event)
    return event


def add_note(
    session: Session, alert: Alert, *, actor: str, note: str, now: datetime | None = None
) -> AlertEvent:
    """Record a step of the response; it becomes the alert's latest response note."""
    if not note.strip():
        raise AlertError("a note needs a text")
    now = now or utc_now()
    event = _event(alert, Event.NOTE, actor=actor, now=now, to_status=alert.status, note=note)
    alert.response_note = note.strip()
    alert.updated_at = now
    session.add(event)
    return event


def resolve(
    session: Session,
    alert: Alert,
    *,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> AlertEvent:
    """Close an open alert by hand, recording who closed it and why (the resolution note)."""
    if alert.status == AlertStatus.RESOLVED:
        raise AlertError("alert %(id)s is already resolved", id=alert.id)
    now = now or utc_now()
    event = _event(
        alert, Event.RESOLVED, actor=actor, now=now, to_status=AlertStatus.RESOLVED, note=note
    )
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = now
    alert.resolved_by = actor
    alert.resolved_period = alert.last_period
    alert.flapping = False
    if note:
        alert.resolution_note = note
    alert.updated_at = now
    session.add(event)
    return event


@dataclass(frozen=True)
class ResolutionSummary:
    """The warning → response → recovery story of one alert."""

    alert_id: int
    status: str
    first_period: date
    last_period: date
    resolved_period: date | None
    worst_severity: str
    escalations: int
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    assignee: str | None
    response_note: str | None
    resolved_at: datetime | None
    resolved_by: str | None  # None: the series recovered by itself
    resolution_note: str | None
    time_to_acknowledge: float | None  # hours from opening to acknowledgement
    time_to_resolve: float | None  # hours from opening to resolution


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 3600, 2)


def resolution_summary(alert: Alert) -> ResolutionSummary:
    """Summarise ``alert``'s lifecycle (reads its events)."""
    return ResolutionSummary(
        alert_id=alert.id,
        status=alert.status,
        first_period=alert.period,
        last_period=alert.last_period,
        resolved_period=alert.resolved_period,
        worst_severity=alert.worst_severity,
        escalations=sum(1 for event in alert.events if event.kind == Event.ESCALATED),
        opened_at=alert.opened_at,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        assignee=alert.assignee,
        response_note=alert.response_note,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
        resolution_note=alert.resolution_note,
        time_to_acknowledge=_hours(alert.opened_at, alert.acknowledged_at),
        time_to_resolve=_hours(alert.opened_at, alert.resolved_at),
    )
