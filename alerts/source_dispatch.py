"""Sending the notices of source alerts: claimed, sent, retried with backoff, never dropped.

The same discipline as ``alerts.dispatch`` on its own outbox (``source_notices``):
a worker claims a due notice with a lease, sends it through the channel's transport
and records the outcome; a failure is retried with a growing delay until the
channel's attempts run out, and the notice then stays ``dead`` with its error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import selectinload

from alerts.dispatch import LEASE, attempt_outcome, send_digest
from alerts.errors import TransportError
from alerts.notices import Digest, Notice
from alerts.source_alerts import SOURCE_LATE_MODEL
from alerts.states import Event, NoticeStatus
from alerts.transports import TransportFactory, transport_for
from monitor.config import Settings
from monitor.db import Database
from monitor.records import SourceAlert, SourceNotice, utc_now
from monitor.vocabulary import AlertStatus

logger = logging.getLogger(__name__)

SOURCE_GROUP = "system|data|source:{id}"


def deliver_source_notices(
    database: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int = 100,
    transport_factory: TransportFactory = transport_for,
) -> dict[str, int]:
    """Send up to ``limit`` due source notices; return how many ended in each status."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utc_now
    with database.session() as session:
        due = list(
            session.scalars(
                select(SourceNotice.id)
                .where(_due(clock()))
                .order_by(SourceNotice.next_attempt_at, SourceNotice.id)
                .limit(limit)
            )
        )
    outcomes: dict[str, int] = {}
    for notice_id in due:
        try:
            status = _deliver_one(database, settings, notice_id, clock, transport_factory)
        except Exception:
            logger.exception("source notice %s: delivery step failed", notice_id)
            continue
        if status is not None:
            outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes


def source_digest(notice: SourceNotice, *, base_url: str) -> Digest:
    """The one-notice message about a source alert's change, in the channel's locale."""
    alert: SourceAlert = notice.source_alert
    source = alert.source
    resolved = notice.event == Event.RESOLVED
    moment = alert.resolved_at if resolved and alert.resolved_at else alert.updated_at
    overdue_hours = (moment - alert.due_at).total_seconds() / 3600
    item = Notice(
        alert_id=None,
        fingerprint=f"{SOURCE_LATE_MODEL}:{source.id}",
        event=notice.event,
        event_at=moment,
        event_period=None,
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        severity=notice.severity,
        worst_severity=alert.worst_severity,
        level="",
        dimension="",
        model=SOURCE_LATE_MODEL,
        entity_code=source.name,
        entity_names=(source.name, source.name),
        entity_level="",
        indicator_code=source.kind,
        indicator_names=(source.cron or "", source.cron or ""),
        frequency="M",
        unit="",
        first_period=alert.due_at.date(),
        last_period=alert.due_at.date(),
        resolved_period=None,
        value=round(overdue_hours, 1),
        threshold=None,
        opened_at=alert.opened_at,
        resolved_at=alert.resolved_at,
        labels={
            "source": source.name,
            "due_at": alert.due_at.isoformat(),
            "last_success": alert.last_success.isoformat() if alert.last_success else "",
        },
        notification_ids=(notice.id,),
    )
    channel = notice.channel
    return Digest(
        channel_name=channel.name,
        channel_kind=channel.kind,
        locale=channel.locale or "zh_CN",
        group_key=SOURCE_GROUP.format(id=source.id),
        scope_code=source.name,
        scope_names=(source.name, source.name),
        notices=(item,),
        base_url=base_url,
    )


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(SourceNotice.status == NoticeStatus.PENDING, SourceNotice.next_attempt_at <= now),
        and_(SourceNotice.status == NoticeStatus.SENDING, SourceNotice.claimed_until < now),
    )


def _deliver_one(
    database: Database,
    settings: Settings,
    notice_id: int,
    clock: Callable[[], datetime],
    transport_factory: TransportFactory,
) -> str | None:
    claimed_at = clock()
    with database.session() as session:
        claimed = session.execute(
            update(SourceNotice)
            .where(SourceNotice.id == notice_id, _due(claimed_at))
            .values(
                status=NoticeStatus.SENDING,
                claimed_until=claimed_at + LEASE,
                attempts=SourceNotice.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    if claimed != 1:
        return None
    with database.session() as session:
        notice = session.scalars(
            select(SourceNotice)
            .where(SourceNotice.id == notice_id)
            .options(
                selectinload(SourceNotice.source_alert).selectinload(SourceAlert.source),
                selectinload(SourceNotice.channel),
            )
        ).one()
        attempt, key, channel = notice.attempts, notice.idempotency_key, notice.channel
        try:
            if not channel.enabled:
                raise TransportError(f"channel {channel.id} is disabled", permanent=True)
            digest = source_digest(notice, base_url=settings.base_url)
            transport = transport_factory(channel, settings)
        except TransportError as exc:
            error: TransportError | None = exc
        else:
            error = None
    if error is None:
        error = send_digest(transport, digest, key, f"source notice {notice_id}")
    values = attempt_outcome(
        error, attempt=attempt, now=clock(), max_attempts=settings.delivery_max_attempts
    )
    with database.session() as session:
        session.execute(
            update(SourceNotice)
            .where(
                SourceNotice.id == notice_id,
                SourceNotice.status == NoticeStatus.SENDING,
                SourceNotice.attempts == attempt,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return str(values["status"])
