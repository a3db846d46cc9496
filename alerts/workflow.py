"""What staff do to an alert: acknowledge it, resolve it, note the response."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from alerts.errors import AlertError
from monitor.records import Alert, AlertEvent, utc_now
from monitor.vocabulary import AlertStatus, EventKind


def acknowledge(
    session: Session,
    alert: Alert,
    *,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> AlertEvent:
    """Mark a firing alert as seen by ``actor``, with an optional response note."""
    if alert.status != AlertStatus.FIRING:
        raise AlertError(
            f"alert {alert.id} is {alert.status}; only a firing alert can be acknowledged"
        )
    now = now or utc_now()
    event = AlertEvent(
        alert=alert,
        kind=EventKind.ACKNOWLEDGED,
        at=now,
        period=alert.last_period,
        from_status=alert.status,
        to_status=AlertStatus.ACKNOWLEDGED,
        from_severity=alert.severity,
        to_severity=alert.severity,
        actor=actor,
        note=note or None,
    )
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = now
    alert.acknowledged_by = actor
    if note:
        alert.response_note = note
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
    """Close an open alert by hand, recording who closed it and why."""
    if alert.status == AlertStatus.RESOLVED:
        raise AlertError(f"alert {alert.id} is already resolved")
    now = now or utc_now()
    event = AlertEvent(
        alert=alert,
        kind=EventKind.RESOLVED,
        at=now,
        period=alert.last_period,
        from_status=alert.status,
        to_status=AlertStatus.RESOLVED,
        from_severity=alert.severity,
        to_severity=None,
        actor=actor,
        note=note or None,
    )
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = now
    alert.resolved_by = actor
    alert.resolved_period = alert.last_period
    if note:
        alert.resolution_note = note
    alert.updated_at = now
    session.add(event)
    return event
