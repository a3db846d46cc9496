"""The dead-letter list: notifications given up on, with the last error, and re-sending them.

A re-sent notification goes back to the outbox on its own, skips the waits and the
muting (staff asked for it), and is formed into a new message by the next pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from alerts.errors import AlertError
from alerts.states import NoticeStatus
from monitor.records import Alert, Notification, utc_now


@dataclass(frozen=True)
class DeadLetter:
    """One notification that was given up on, as the console lists it."""

    notification_id: int
    alert_id: int
    channel_id: int
    channel_name: str
    channel_kind: str
    event_kind: str
    severity: str
    entity_code: str
    indicator_code: str
    attempts: int
    last_error: str | None
    failed_at: datetime | None
    created_at: datetime


def dead_letters(
    session: Session, *, channel_id: int | None = None, limit: int = 100, offset: int = 0
) -> list[DeadLetter]:
    """Dead notifications, most recent first (optionally of one channel)."""
    statement = (
        select(Notification)
        .where(Notification.status == NoticeStatus.DEAD)
        .options(
            joinedload(Notification.channel),
            joinedload(Notification.event),
            joinedload(Notification.delivery),
            joinedload(Notification.alert).joinedload(Alert.entity),
            joinedload(Notification.alert).joinedload(Alert.indicator),
        )
        .order_by(Notification.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if channel_id is not None:
        statement = statement.where(Notification.channel_id == channel_id)
    return [
        DeadLetter(
            notification_id=n.id,
            alert_id=n.alert_id,
            channel_id=n.channel_id,
            channel_name=n.channel.name,
            channel_kind=n.channel.kind,
            event_kind=n.event.kind,
            severity=n.event.to_severity or n.event.from_severity or n.alert.severity,
            entity_code=n.alert.entity.code,
            indicator_code=n.alert.indicator.code,
            attempts=n.attempts,
            last_error=n.last_error,
            failed_at=n.delivery.last_attempt_at if n.delivery is not None else None,
            created_at=n.created_at,
        )
        for n in session.scalars(statement).unique()
    ]


def count_dead_letters(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.status == NoticeStatus.DEAD)
        )
        or 0
    )


def resend(
    session: Session, notification_id: int, *, actor: str, now: datetime | None = None
) -> Notification:
    """Put a dead notification back in the outbox for the next delivery pass."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        raise AlertError("notification %(id)s does not exist", id=notification_id)
    if notification.status != NoticeStatus.DEAD:
        raise AlertError(
            "notification %(id)s is %(status)s; only a dead one can be re-sent",
            id=notification_id,
            status=notification.status,
        )
    now = now or utc_now()
    notification.status = NoticeStatus.PENDING
    notification.delivery_id = None
    notification.attempts = 0
    notification.next_attempt_at = now
    notification.resent_at = now
    notification.resent_by = actor
    return notification
