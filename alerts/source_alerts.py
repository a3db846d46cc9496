"""Source alerts: a scheduled source whose due run brought no data is news for the office.

``monitor.staleness.late_sources`` finds the enabled scheduled sources whose last due
fire (after a grace period) has no successful run since. Each such source gets one
open ``SourceAlert``: **blue** when found late, **yellow** once it is a day overdue,
**orange** after a week; it resolves when a run of the source succeeds. Every
change is queued in ``source_notices`` for each enabled channel that serves the whole
office (no level filter; a level's channel carries that level's warnings) and whose
minimum colour the alert reaches; ``alerts.source_dispatch`` sends them with retries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.states import Event
from monitor.records import Channel, Source, SourceAlert, SourceNotice, utc_now
from monitor.staleness import LateSource, late_sources
from monitor.vocabulary import SOURCE_LATE_MODEL, AlertStatus, Severity

__all__ = ["SOURCE_LATE_MODEL", "overdue_colour", "raise_source_alerts"]
#: How long past its due run a source must be for each colour.
OVERDUE_COLOURS: tuple[tuple[timedelta, Severity], ...] = (
    (timedelta(0), Severity.BLUE),
    (timedelta(days=1), Severity.YELLOW),
    (timedelta(days=7), Severity.ORANGE),
)


def overdue_colour(due_at: datetime, now: datetime) -> Severity:
    """The colour of a source whose run due at ``due_at`` has brought nothing by ``now``."""
    overdue = now - due_at
    return [colour for after, colour in OVERDUE_COLOURS if overdue >= after][-1]


def notice_key(source_alert_id: int, event: str, severity: str, channel_id: int) -> str:
    """A stable 64-hex-digit key of one notice, sent with every attempt."""
    raw = f"clusterwatch:source-notice:{source_alert_id}:{event}:{severity}:{channel_id}"
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


@dataclass
class SourceAlertCounts:
    """What one pass did."""

    opened: int = 0
    escalated: int = 0
    resolved: int = 0

    @property
    def changed(self) -> int:
        return self.opened + self.escalated + self.resolved


def raise_source_alerts(
    session: Session, *, now: datetime | None = None, channels: Sequence[Channel] | None = None
) -> SourceAlertCounts:
    """Open, escalate and resolve source alerts; queue their notices. Never commits."""
    now = now or utc_now()
    if channels is None:
        channels = list(session.scalars(select(Channel).where(Channel.enabled)))
    names = {name: source_id for name, source_id in session.execute(select(Source.name, Source.id))}
    late = {names[item.name]: item for item in late_sources(session, now=now)}
    open_alerts = {
        alert.source_id: alert
        for alert in session.scalars(
            select(SourceAlert).where(SourceAlert.status != AlertStatus.RESOLVED)
        )
    }
    counts = SourceAlertCounts()
    for source_id, alert in open_alerts.items():
        item = late.get(source_id)
        if item is None:
            alert.status, alert.resolved_at, alert.updated_at = AlertStatus.RESOLVED, now, now
            _queue(session, alert, Event.RESOLVED, channels, now)
            counts.resolved += 1
            continue
        colour = overdue_colour(alert.due_at, now)
        if colour.rank > Severity(alert.severity).rank:
            alert.severity = alert.worst_severity = colour.value
            alert.updated_at = now
            _queue(session, alert, Event.ESCALATED, channels, now)
            counts.escalated += 1
    for source_id, item in late.items():
        if source_id not in open_alerts:
            _queue(session, _open(session, source_id, item, now), Event.OPENED, channels, now)
            counts.opened += 1
    return counts


def _open(session: Session, source_id: int, item: LateSource, now: datetime) -> SourceAlert:
    colour = overdue_colour(item.due_at, now).value
    alert = SourceAlert(
        source_id=source_id,
        severity=colour,
        worst_severity=colour,
        status=AlertStatus.FIRING,
        due_at=item.due_at,
        last_success=item.last_success,
        opened_at=now,
        updated_at=now,
    )
    session.add(alert)
    session.flush()
    return alert


def _queue(
    session: Session, alert: SourceAlert, event: Event, channels: Sequence[Channel], now: datetime
) -> None:
    for channel in channels:
        if (
            channel.levels
            or Severity(alert.worst_severity).rank < Severity(channel.min_severity or "blue").rank
        ):
            continue
        session.add(
            SourceNotice(
                source_alert_id=alert.id,
                channel_id=channel.id,
                event=event.value,
                severity=alert.severity,
                idempotency_key=notice_key(alert.id, event.value, alert.severity, channel.id),
                next_attempt_at=now,
                created_at=now,
            )
        )
