"""The delivery job: send due notifications from the outbox, record each outcome, retry later.

Each notification is claimed with a conditional UPDATE committed on its own, so two
workers never send it twice; the send itself runs outside any transaction, and the
outcome is written in a new one. A worker that dies mid-send leaves its claim behind;
the claim's lease expires and another pass sends it again (at least once, never twice
while the lease holds).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update

from alerts.errors import TransportError
from alerts.messages import AlertMessage, build_message
from alerts.transports import Transport, TransportFactory, transport_for
from monitor.config import Settings
from monitor.db import Database
from monitor.records import Notification, utc_now
from monitor.vocabulary import DeliveryStatus

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # far longer than any transport's timeout
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
JITTER = 0.2
MAX_ERROR_LENGTH = 1000


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery pass did: notifications sent, put back for a retry, given up."""

    sent: int = 0
    retried: int = 0
    dead: int = 0


def retry_delay(attempts: int, *, rand: Callable[[], float] = random.random) -> timedelta:
    """Wait before the next try: 30 s doubling per attempt, capped at 1 h, +/-20 % jitter."""
    base = min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 16), MAX_RETRY)
    return base * (1 - JITTER + 2 * JITTER * rand())


def deliver_due(
    database: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int = 200,
    transport_factory: TransportFactory = transport_for,
) -> DeliveryReport:
    """Send up to ``limit`` due notifications, oldest first; one failure never stops the rest.

    Due means pending with ``next_attempt_at`` reached, or claimed by a worker whose
    lease has expired. ``now`` fixes the clock (tests); by default each step reads it.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utc_now
    outcomes: list[str] = []
    for notification_id in due_notification_ids(database, now=clock(), limit=limit):
        try:
            outcome = deliver_one(
                database,
                settings,
                notification_id,
                clock=clock,
                transport_factory=transport_factory,
            )
        except Exception:
            logger.exception("notification %s: delivery step failed", notification_id)
            continue
        if outcome is not None:
            outcomes.append(outcome)
    report = DeliveryReport(
        sent=outcomes.count(DeliveryStatus.SENT),
        retried=outcomes.count(DeliveryStatus.PENDING),
        dead=outcomes.count(DeliveryStatus.DEAD),
    )
    if outcomes:
        logger.info(
            "delivery pass: %s sent, %s to retry, %s dead", report.sent, report.retried, report.dead
        )
    return report


def due_notification_ids(database: Database, *, now: datetime, limit: int) -> list[int]:
    """Ids of the notifications a delivery pass should try now, oldest first."""
    statement = (
        select(Notification.id)
        .where(_due(now))
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    with database.session() as session:
        return list(session.scalars(statement))


def claim(
    database: Database, notification_id: int, *, now: datetime, lease: timedelta = LEASE
) -> bool:
    """Take ``notification_id`` for this worker until ``now + lease``; False if not ours.

    The UPDATE re-checks that the row is still due, so of two workers racing for it
    exactly one changes the row; its commit makes the claim visible to the other.
    """
    statement = (
        update(Notification)
        .where(Notification.id == notification_id, _due(now))
        .values(
            status=DeliveryStatus.SENDING,
            claimed_until=now + lease,
            attempts=Notification.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    with database.session() as session:
        return session.execute(statement).rowcount == 1


def deliver_one(
    database: Database,
    settings: Settings,
    notification_id: int,
    *,
    clock: Callable[[], datetime] = utc_now,
    transport_factory: TransportFactory = transport_for,
) -> str | None:
    """Claim, send and record one notification; return its new status, None if not claimed."""
    if not claim(database, notification_id, now=clock()):
        logger.debug("notification %s: taken by another worker", notification_id)
        return None
    attempt, key, prepared = _prepare(database, settings, notification_id, transport_factory)
    if isinstance(prepared, TransportError):
        error: TransportError | None = prepared
    else:
        message, transport = prepared
        error = _send(transport, message, key, notification_id)
    return _record(
        database,
        notification_id,
        attempt=attempt,
        error=error,
        now=clock(),
        max_attempts=settings.delivery_max_attempts,
    )


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            Notification.status == DeliveryStatus.PENDING,
            Notification.next_attempt_at <= now,
        ),
        and_(
            Notification.status == DeliveryStatus.SENDING,
            Notification.claimed_until < now,
        ),
    )


def _prepare(
    database: Database,
    settings: Settings,
    notification_id: int,
    transport_factory: TransportFactory,
) -> tuple[int, str, tuple[AlertMessage, Transport] | TransportError]:
    """Render the message and pick the transport, reading in a short transaction."""
    with database.session() as session:
        notification = session.get_one(Notification, notification_id)
        attempt, key, channel = (
            notification.attempts,
            notification.idempotency_key,
            notification.channel,
        )
        try:
            if not channel.enabled:
                raise TransportError(f"channel {channel.id} is disabled", permanent=True)
            message = build_message(notification, base_url=settings.base_url, locale=channel.locale)
            transport = transport_factory(channel, settings)
        except TransportError as exc:
            return attempt, key, exc
        except Exception as exc:
            logger.exception("notification %s: cannot prepare the message", notification_id)
            return attempt, key, TransportError(f"cannot prepare the message: {type(exc).__name__}")
    return attempt, key, (message, transport)


def _send(
    transport: Transport, message: AlertMessage, key: str, notification_id: int
) -> TransportError | None:
    try:
        transport.send(message, key)
    except TransportError as exc:
        return exc
    except Exception as exc:
        # no traceback: the exception's text may hold a URL with its token
        logger.error("notification %s: transport raised %s", notification_id, type(exc).__name__)
        return TransportError(f"unexpected {type(exc).__name__}")
    return None


def _record(
    database: Database,
    notification_id: int,
    *,
    attempt: int,
    error: TransportError | None,
    now: datetime,
    max_attempts: int,
) -> str | None:
    """Store the outcome of ``attempt``, unless another worker has re-claimed the row since.

    The error text goes on the row for staff to read; logs carry ids only.
    """
    values: dict[str, object] = {"claimed_until": None}
    if error is None:
        values.update(status=DeliveryStatus.SENT, sent_at=now)
    else:
        values["last_error"] = str(error)[:MAX_ERROR_LENGTH]
        if error.permanent or attempt >= max_attempts:
            values["status"] = DeliveryStatus.DEAD
        else:
            values.update(status=DeliveryStatus.PENDING, next_attempt_at=now + retry_delay(attempt))
    statement = (
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == DeliveryStatus.SENDING,
            Notification.attempts == attempt,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    with database.session() as session:
        recorded = session.execute(statement).rowcount == 1
    if not recorded:
        logger.warning(
            "notification %s: lease lost before attempt %s was recorded", notification_id, attempt
        )
        return None
    status = str(values["status"])
    if status == DeliveryStatus.SENT:
        logger.info("notification %s: sent on attempt %s", notification_id, attempt)
    elif status == DeliveryStatus.PENDING:
        logger.warning(
            "notification %s: attempt %s failed, retry at %s",
            notification_id,
            attempt,
            values["next_attempt_at"],
        )
    else:
        logger.error("notification %s: given up after attempt %s", notification_id, attempt)
    return status
