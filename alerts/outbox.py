"""The notification outbox: rows written with the alert event, delivered later by a job.

Writing the row in the same transaction as the event means a notice is queued if and
only if the event is stored; the delivery job (``alerts.dispatch``) groups the rows
and does the sending. The notices of a flapping alert are written already ``held``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.routing import Router
from alerts.scopes import group_key
from alerts.states import Event, NoticeStatus
from monitor.records import Alert, AlertEvent, Channel, Notification
from monitor.vocabulary import AlertStatus

NOTIFYING_EVENTS: frozenset[str] = frozenset(
    {
        Event.OPENED,
        Event.CONFIRMED,
        Event.ESCALATED,
        Event.RESOLVED,
        Event.STALE,
        Event.SETTLED,
        Event.REPEATED,
    }
)
HELD_REASON = "flapping: held until the alert settles"


def idempotency_key(event_id: int, channel_id: int) -> str:
    """A stable 64-hex-digit key of one (event, channel) pair, sent with every attempt."""
    raw = f"clusterwatch:notification:{event_id}:{channel_id}"
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def notifies(event: AlertEvent) -> bool:
    """Whether ``event`` is news for the channels.

    A pending alert is not: neither its opening nor its quiet end when the breach was
    not confirmed (its confirmation is).
    """
    if event.kind not in NOTIFYING_EVENTS:
        return False
    if event.kind == Event.OPENED and event.to_status == AlertStatus.PENDING:
        return False
    return not (event.kind == Event.RESOLVED and event.from_status == AlertStatus.PENDING)


def enqueue(
    session: Session,
    alert: Alert,
    event: AlertEvent,
    channels: Iterable[Channel],
    *,
    router: Router | None = None,
) -> list[Notification]:
    """Queue one notification of ``event`` for each channel the routes give ``alert``.

    Events that are no news queue nothing, and a pair already queued is not queued
    again. Never commits: the rows belong to the caller's transaction. Returns the
    notifications created by this call.
    """
    if not notifies(event):
        return []
    channels = list(channels)
    if not channels:
        return []
    if alert.id is None or event.id is None or event.at is None:
        session.flush()  # keys need the ids, scopes the entity; the clock starts at event.at
    router = router if router is not None else Router.load(session)
    wanted = router.recipients(session, alert, channels)
    if not wanted:
        return []
    queued = set(
        session.scalars(select(Notification.channel_id).where(Notification.event_id == event.id))
    )
    held = alert.flapping and event.kind != Event.SETTLED
    key = group_key(alert)
    created = [
        Notification(
            event=event,
            event_id=event.id,
            alert=alert,
            alert_id=alert.id,
            channel=channel,
            channel_id=channel.id,
            idempotency_key=idempotency_key(event.id, channel.id),
            status=NoticeStatus.HELD if held else NoticeStatus.PENDING,
            muted_reason=HELD_REASON if held else None,
            attempts=0,
            next_attempt_at=event.at,
            group_key=key,
        )
        for channel in wanted
        if channel.id not in queued
    ]
    session.add_all(created)
    return created
