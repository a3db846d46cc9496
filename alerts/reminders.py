"""Repeat: an unacknowledged firing alert is sent again after the policy's interval.

Only alerts a channel has actually been told about are repeated (a backfill's old
alerts are history, not reminders), and never a flapping one. Escalations need no
reminder: they are news and go out at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.outbox import enqueue
from alerts.policy import AlertPolicy, load_policy
from alerts.routing import Router
from alerts.states import Cause, Event, NoticeStatus
from monitor.records import Alert, AlertEvent, Channel, Notification, utc_now
from monitor.vocabulary import AlertStatus

#: Events after which the channels know the alert's current state.
TOLD: tuple[str, ...] = (
    Event.OPENED,
    Event.CONFIRMED,
    Event.ESCALATED,
    Event.REFRESHED,
    Event.SETTLED,
    Event.REPEATED,
)


def queue_reminders(
    session: Session,
    *,
    now: datetime | None = None,
    policy: AlertPolicy | None = None,
    channels: Sequence[Channel] | None = None,
) -> list[AlertEvent]:
    """Add a ``repeated`` event (and its notices) to each alert due for a reminder.

    Due: firing (not acknowledged), not flapping, sent to some channel before, and
    nothing told about it for ``policy.repeat_interval``. Runs inside the caller's
    transaction; returns the new events.
    """
    now = now or utc_now()
    policy = policy or load_policy(session)
    if channels is None:
        channels = list(session.scalars(select(Channel).where(Channel.enabled)))
    last_told = (
        select(AlertEvent.alert_id, func.max(AlertEvent.at).label("at"))
        .where(AlertEvent.kind.in_(TOLD))
        .group_by(AlertEvent.alert_id)
        .subquery()
    )
    sent_before = select(Notification.alert_id).where(Notification.status == NoticeStatus.SENT)
    statement = (
        select(Alert)
        .join(last_told, last_told.c.alert_id == Alert.id)
        .where(
            Alert.status == AlertStatus.FIRING,
            Alert.flapping.is_(False),
            last_told.c.at <= now - policy.repeat_interval,
            Alert.id.in_(sent_before),
        )
        .order_by(Alert.id)
    )
    router = Router.load(session)
    events: list[AlertEvent] = []
    for alert in session.scalars(statement).all():
        event = AlertEvent(
            alert=alert,
            kind=Event.REPEATED,
            at=now,
            period=alert.last_period,
            from_status=alert.status,
            to_status=alert.status,
            from_severity=alert.severity,
            to_severity=alert.severity,
            value=alert.value,
            cause=Cause.UNACKNOWLEDGED,
        )
        session.add(event)
        events.append(event)
        enqueue(session, alert, event, channels, router=router)
    return events
