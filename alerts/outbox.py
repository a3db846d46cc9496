"""The notification outbox: rows written with the alert event, delivered later by a job.

Writing the row in the same transaction as the event means a notice is queued if and
only if the event is stored; the delivery job (``alerts.dispatch``) does the sending.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.channels import channel_accepts
from monitor.records import Alert, AlertEvent, Channel, Notification
from monitor.vocabulary import DeliveryStatus, EventKind

NOTIFYING_EVENTS: frozenset[str] = frozenset(
    {EventKind.OPENED, EventKind.ESCALATED, EventKind.RESOLVED}
)


def idempotency_key(event_id: int, channel_id: int) -> str:
    """A stable 64-hex-digit key of one (event, channel) pair, sent with every attempt."""
    raw = f"clusterwatch:notification:{event_id}:{channel_id}"
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def enqueue(
    session: Session, alert: Alert, event: AlertEvent, channels: Iterable[Channel]
) -> list[Notification]:
    """Queue one pending notification of ``event`` for each channel that accepts ``alert``.

    Events outside ``NOTIFYING_EVENTS`` queue nothing, and a pair already queued is not
    queued again. Never commits: the rows belong to the caller's transaction. Returns
    the notifications created by this call.
    """
    if event.kind not in NOTIFYING_EVENTS:
        return []
    wanted = [channel for channel in channels if channel_accepts(channel, alert)]
    if not wanted:
        return []
    if event.id is None or event.at is None or any(channel.id is None for channel in wanted):
        session.flush()  # the key needs the ids; the retry clock starts at event.at
    accepting = {channel.id: channel for channel in wanted}
    queued = set(
        session.scalars(select(Notification.channel_id).where(Notification.event_id == event.id))
    )
    created = [
        Notification(
            event=event,
            event_id=event.id,
            alert=alert,
            alert_id=alert.id,
            channel=channel,
            channel_id=channel_id,
            idempotency_key=idempotency_key(event.id, channel_id),
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=event.at,
        )
        for channel_id, channel in accepting.items()
        if channel_id not in queued
    ]
    session.add_all(created)
    return created
