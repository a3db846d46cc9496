"""Noise control before sending: group pending notices into deliveries, mute the rest.

Pending notifications are grouped per channel by their group key (level, dimension,
region or cluster). A group is ready ``group_wait`` after its first notice, and not
sooner than ``group_interval`` after its previous message; an escalation or a staff
re-send makes it ready at once. Forming a ready group decides each notice's fate:

* a resolution the channel never heard the start of is ``skipped``;
* a notice matching an active silence is ``silenced``;
* a warning explained by an open higher-level warning is ``inhibited``;
* everything else joins one new ``Delivery``, the message that goes out.

Muted notices keep their reason. The decisions are written with conditional updates
(``WHERE delivery_id IS NULL AND status = 'pending'``) in one transaction: when another
worker formed the same group first, nothing is written and the group is left to it.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from alerts.inhibition import Inhibitor
from alerts.policy import AlertPolicy
from alerts.scopes import scope_of
from alerts.silences import active_silences, matching_silence
from alerts.states import Event, NoticeStatus
from monitor.db import Database
from monitor.records import Alert, AlertEvent, Delivery, Notification, Silence

logger = logging.getLogger(__name__)

NEVER_TOLD = "resolution of an alert this channel was never told about"


@dataclass(frozen=True)
class MuteRules:
    """The silences active and the inhibitions possible during one delivery pass."""

    silences: list[Silence]
    inhibitor: Inhibitor

    @classmethod
    def load(cls, database: Database, now: datetime) -> MuteRules:
        with database.session() as session:
            return cls(active_silences(session, now), Inhibitor.load(session))


@dataclass(frozen=True)
class Formed:
    """What forming one group did: the delivery made (if any), the notices muted."""

    delivery_id: int | None
    batched: int
    muted: int


class _Taken(Exception):
    """Another worker formed (part of) the group first."""


def _in_group(group_key: str | None) -> ColumnElement[bool]:
    if group_key is None:
        return Notification.group_key.is_(None)
    return Notification.group_key == group_key


def _waiting() -> ColumnElement[bool]:
    return (Notification.status == NoticeStatus.PENDING) & Notification.delivery_id.is_(None)


def ready_groups(
    database: Database, *, now: datetime, policy: AlertPolicy
) -> list[tuple[int, str | None]]:
    """The (channel, group key) pairs whose pending notices should go out now."""
    urgent = or_(AlertEvent.kind == Event.ESCALATED, Notification.resent_by.is_not(None))
    statement = (
        select(
            Notification.channel_id,
            Notification.group_key,
            func.min(Notification.next_attempt_at),
            func.min(case((urgent, Notification.next_attempt_at), else_=None)),
        )
        .join(AlertEvent, Notification.event_id == AlertEvent.id)
        .where(_waiting())
        .group_by(Notification.channel_id, Notification.group_key)
    )
    recent = (
        select(Delivery.channel_id, Delivery.group_key, func.max(Delivery.created_at))
        .where(Delivery.created_at > now - policy.group_interval)
        .group_by(Delivery.channel_id, Delivery.group_key)
    )
    with database.session() as session:
        waiting = session.execute(statement).all()
        last_sent = {(c, k): at for c, k, at in session.execute(recent)} if waiting else {}
    ready: list[tuple[datetime, int, str | None]] = []
    for channel_id, key, first, first_urgent in waiting:
        due = first + policy.group_wait
        previous = last_sent.get((channel_id, key or ""))
        if previous is not None:
            due = max(due, previous + policy.group_interval)
        if first_urgent is not None:
            due = min(due, first_urgent)
        if due <= now:
            ready.append((due, channel_id, key))
    ready.sort(key=lambda item: (item[0], item[1], item[2] or ""))
    return [(channel_id, key) for _due, channel_id, key in ready]


def delivery_key(notifications: Sequence[Notification]) -> str:
    """The idempotency key of a message: its one notice's own key, or a hash of them all."""
    keys = sorted(n.idempotency_key for n in notifications)
    if len(keys) == 1:
        return keys[0]
    raw = "clusterwatch:delivery:" + ",".join(keys)
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def _told(session: Session, channel_id: int, alert_ids: set[int]) -> set[int]:
    """The alerts among ``alert_ids`` that already went out in a message to the channel."""
    if not alert_ids:
        return set()
    rows = session.scalars(
        select(Notification.alert_id).where(
            Notification.channel_id == channel_id,
            Notification.alert_id.in_(alert_ids),
            Notification.delivery_id.is_not(None),
            Notification.status != NoticeStatus.DEAD,
        )
    )
    return set(rows)


def _decide(
    session: Session, notifications: Sequence[Notification], rules: MuteRules
) -> tuple[list[Notification], dict[tuple[str, str], list[int]]]:
    """Split a group's notices into those to send and those muted (by status, reason)."""
    told = _told(session, notifications[0].channel_id, {n.alert_id for n in notifications})
    send: list[Notification] = []
    muted: dict[tuple[str, str], list[int]] = defaultdict(list)
    for notification in notifications:
        if notification.resent_by is not None:
            send.append(notification)  # staff asked for it explicitly
            told.add(notification.alert_id)
            continue
        alert: Alert = notification.alert
        resolution = notification.event.kind == Event.RESOLVED
        if resolution and notification.alert_id not in told:
            muted[(NoticeStatus.SKIPPED, NEVER_TOLD)].append(notification.id)
            continue
        scope = scope_of(session, alert)
        silence = matching_silence(rules.silences, scope)
        if silence is not None:
            reason = f"silence {silence.id} by {silence.author}: {silence.reason}"
            muted[(NoticeStatus.SILENCED, reason)].append(notification.id)
            continue
        inhibition = None if resolution else rules.inhibitor.inhibition(scope)
        if inhibition is not None:
            muted[(NoticeStatus.INHIBITED, inhibition.reason)].append(notification.id)
            continue
        send.append(notification)
        told.add(notification.alert_id)
    return send, muted


def form_group(
    database: Database,
    channel_id: int,
    group_key: str | None,
    *,
    now: datetime,
    rules: MuteRules | None = None,
) -> Formed:
    """Decide the pending notices of one group: one delivery for those sent, reasons for
    those muted. Returns what was written (nothing when another worker was first)."""
    rules = rules or MuteRules.load(database, now)
    with database.session() as session:
        notifications = list(
            session.scalars(
                select(Notification)
                .where(Notification.channel_id == channel_id, _in_group(group_key), _waiting())
                .order_by(Notification.id)
                .options(
                    selectinload(Notification.event),
                    selectinload(Notification.alert).selectinload(Alert.entity),
                )
            )
        )
        if not notifications:
            return Formed(None, 0, 0)
        send, muted = _decide(session, notifications, rules)
        send_ids = [n.id for n in send]
        key = delivery_key(send) if send else ""
    try:
        with database.session() as session:
            delivery_id = None
            if send_ids:
                delivery = Delivery(
                    channel_id=channel_id,
                    group_key=group_key or "",
                    idempotency_key=key,
                    status=NoticeStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                session.add(delivery)
                session.flush()
                delivery_id = delivery.id
                _claim(session, send_ids, delivery_id=delivery_id)
            for (status, reason), ids in muted.items():
                _claim(session, ids, status=status, muted_reason=reason)
    except _Taken:
        logger.debug("group %s of channel %s: formed by another worker", group_key, channel_id)
        return Formed(None, 0, 0)
    muted_count = sum(len(ids) for ids in muted.values())
    return Formed(delivery_id, len(send_ids), muted_count)


def _claim(session: Session, ids: list[int], **values: object) -> None:
    statement = (
        update(Notification)
        .where(Notification.id.in_(ids), _waiting())
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != len(ids):
        raise _Taken


def form_deliveries(database: Database, *, now: datetime, policy: AlertPolicy) -> list[Formed]:
    """Form every ready group; one group's failure is logged and never stops the others."""
    formed: list[Formed] = []
    ready = ready_groups(database, now=now, policy=policy)
    if not ready:
        return formed
    rules = MuteRules.load(database, now)
    for channel_id, group_key in ready:
        try:
            formed.append(form_group(database, channel_id, group_key, now=now, rules=rules))
        except Exception:
            logger.exception("group %s of channel %s: cannot be formed", group_key, channel_id)
    return formed
