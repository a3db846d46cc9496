"""The notification outbox: rows written with the alert event, delivered later by a job.

Writing the row in the same transaction as the event means a notice is queued if and
only if the event is stored; the delivery job (``alerts.dispatch``) groups the rows
and does the sending. The notices of a flapping alert are written already ``held``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from alerts.routing import Router
from alerts.scopes import group_key
from alerts.states import Event, NoticeStatus
from monitor.records import Alert, AlertEvent, Channel, Entity, Notification
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
    return enqueue_many(session, [(alert, event)], channels, router=router)


def enqueue_many(
    session: Session,
    news: Sequence[tuple[Alert, AlertEvent]],
    channels: Iterable[Channel],
    *,
    router: Router | None = None,
) -> list[Notification]:
    """:func:`enqueue` for many (alert, event) pairs at once, in their order.

    One flush, one read of the alerts' entities and one of the pairs already queued,
    whatever the number of events: a scoring cycle's notices cost a few queries, not a
    few per event. Never commits.
    """
    created = [
        Notification(event=event, alert=alert, channel=channel, **row)
        for alert, event, channel, row in _planned(session, news, channels, router)
    ]
    session.add_all(created)
    return created


def queue_many(
    session: Session,
    news: Sequence[tuple[Alert, AlertEvent]],
    channels: Iterable[Channel],
    *,
    router: Router | None = None,
) -> int:
    """:func:`enqueue_many` without objects: the rows go in as one bulk insert; their count.

    For the scoring cycle, which only counts its notices: no object per notice to
    track in the session.
    """
    rows = [row for _, _, _, row in _planned(session, news, channels, router)]
    if rows:
        session.execute(insert(Notification), rows)
    return len(rows)


def _planned(
    session: Session,
    news: Sequence[tuple[Alert, AlertEvent]],
    channels: Iterable[Channel],
    router: Router | None,
) -> list[tuple[Alert, AlertEvent, Channel, dict[str, Any]]]:
    """The notices to queue for ``news``: (alert, event, channel, column values)."""
    pairs = [(alert, event) for alert, event in news if notifies(event)]
    channels = list(channels)
    if not pairs or not channels:
        return []
    if any(a.id is None or e.id is None or e.at is None for a, e in pairs):
        session.flush()  # keys need the ids, scopes the entity; the clock starts at event.at
    router = router if router is not None else Router.load(session)
    # Held in this list: the identity map keeps them only while someone does.
    entities = _load_entities(session, {alert.entity_id for alert, _ in pairs})
    queued = _queued(session, [event.id for _, event in pairs])
    planned = []
    for alert, event in pairs:
        wanted = router.recipients(session, alert, channels)
        if not wanted:
            continue
        held = alert.flapping and event.kind != Event.SETTLED
        key = group_key(alert)
        for channel in wanted:
            if (event.id, channel.id) in queued:
                continue
            row = {
                "event_id": event.id,
                "alert_id": alert.id,
                "channel_id": channel.id,
                "idempotency_key": idempotency_key(event.id, channel.id),
                "status": NoticeStatus.HELD if held else NoticeStatus.PENDING,
                "muted_reason": HELD_REASON if held else None,
                "attempts": 0,
                "next_attempt_at": event.at,
                "group_key": key,
            }
            planned.append((alert, event, channel, row))
    del entities
    return planned


#: Ids per ``IN`` list: far below every database's limit on bound parameters.
IDS_PER_QUERY = 5_000


def _load_entities(session: Session, ids: set[int]) -> list[Entity]:
    """The entities ``ids`` loaded into the session at once (lazy loads then hit memory)."""
    wanted = sorted(ids)
    entities: list[Entity] = []
    for first in range(0, len(wanted), IDS_PER_QUERY):
        part = wanted[first : first + IDS_PER_QUERY]
        entities += session.scalars(select(Entity).where(Entity.id.in_(part)))
    return entities


def _queued(session: Session, event_ids: list[int]) -> set[tuple[int, int]]:
    """The (event id, channel id) pairs among ``event_ids`` that already have a row."""
    pairs: set[tuple[int, int]] = set()
    for first in range(0, len(event_ids), IDS_PER_QUERY):
        part = event_ids[first : first + IDS_PER_QUERY]
        rows = session.execute(
            select(Notification.event_id, Notification.channel_id).where(
                Notification.event_id.in_(part)
            )
        )
        pairs.update((int(e), int(c)) for e, c in rows)
    return pairs
