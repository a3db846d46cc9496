"""The delivery job: group the outbox into messages, send the due ones, record each outcome.

A pass first forms the ready groups into deliveries (``alerts.batching``: grouping,
silences, inhibition), then sends due deliveries oldest first. Each delivery is
claimed with a conditional UPDATE committed on its own, so two workers never send it
twice; the send itself runs outside any transaction, and the outcome is written, to
the delivery and to each of its notifications, in a new one. A worker that dies
mid-send leaves its claim behind; the claim's lease expires and another pass sends it
again with the same idempotency key (at least once, never twice while the lease
holds). Failures are retried with exponential backoff and jitter; after
``delivery_max_attempts`` (or a permanent error) a delivery is dead and its
notifications wait in the dead-letter list for staff (``alerts.deadletters``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import selectinload

from alerts.batching import form_deliveries
from alerts.errors import TransportError
from alerts.notices import Digest, delivery_digest
from alerts.policy import AlertPolicy, load_policy
from alerts.states import NoticeStatus
from alerts.transports import Transport, TransportFactory, transport_for
from monitor.config import Settings
from monitor.db import Database
from monitor.records import Alert, AlertEvent, Delivery, Notification, utc_now

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # far longer than any transport's timeout
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
JITTER = 0.2
MAX_ERROR_LENGTH = 1000


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass did: messages sent, put back for a retry, given up; notices muted."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    muted: int = 0


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
    policy: AlertPolicy | None = None,
) -> DeliveryReport:
    """Form the ready groups, then send up to ``limit`` due deliveries, oldest first.

    One failure never stops the rest. Due means pending with ``next_attempt_at``
    reached, or claimed by a worker whose lease has expired. ``now`` fixes the clock
    (tests); by default each step reads it.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utc_now
    if policy is None:
        with database.session() as session:
            policy = load_policy(session)
    formed = form_deliveries(database, now=clock(), policy=policy)
    outcomes: list[str] = []
    for delivery_id in due_delivery_ids(database, now=clock(), limit=limit):
        try:
            outcome = deliver_one(
                database,
                settings,
                delivery_id,
                clock=clock,
                transport_factory=transport_factory,
            )
        except Exception:
            logger.exception("delivery %s: delivery step failed", delivery_id)
            continue
        if outcome is not None:
            outcomes.append(outcome)
    report = DeliveryReport(
        sent=outcomes.count(NoticeStatus.SENT),
        retried=outcomes.count(NoticeStatus.PENDING),
        dead=outcomes.count(NoticeStatus.DEAD),
        muted=sum(f.muted for f in formed),
    )
    if outcomes or report.muted:
        logger.info(
            "delivery pass: %s sent, %s to retry, %s dead, %s notices muted",
            report.sent,
            report.retried,
            report.dead,
            report.muted,
        )
    return report


def due_delivery_ids(database: Database, *, now: datetime, limit: int) -> list[int]:
    """Ids of the deliveries a pass should try now, oldest first."""
    statement = (
        select(Delivery.id)
        .where(_due(now))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    with database.session() as session:
        return list(session.scalars(statement))


def claim(database: Database, delivery_id: int, *, now: datetime, lease: timedelta = LEASE) -> bool:
    """Take ``delivery_id`` for this worker until ``now + lease``; False if not ours.

    The UPDATE re-checks that the row is still due, so of two workers racing for it
    exactly one changes the row; its commit makes the claim visible to the other.
    """
    statement = (
        update(Delivery)
        .where(Delivery.id == delivery_id, _due(now))
        .values(
            status=NoticeStatus.SENDING,
            claimed_until=now + lease,
            attempts=Delivery.attempts + 1,
            last_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    with database.session() as session:
        return session.execute(statement).rowcount == 1


def deliver_one(
    database: Database,
    settings: Settings,
    delivery_id: int,
    *,
    clock: Callable[[], datetime] = utc_now,
    transport_factory: TransportFactory = transport_for,
) -> str | None:
    """Claim, send and record one delivery; return its new status, None if not claimed."""
    if not claim(database, delivery_id, now=clock()):
        logger.debug("delivery %s: taken by another worker", delivery_id)
        return None
    attempt, key, prepared = _prepare(database, settings, delivery_id, transport_factory)
    if isinstance(prepared, TransportError):
        error: TransportError | None = prepared
    else:
        digest, transport = prepared
        error = send_digest(transport, digest, key, f"delivery {delivery_id}")
    return _record(
        database,
        delivery_id,
        attempt=attempt,
        error=error,
        now=clock(),
        max_attempts=settings.delivery_max_attempts,
    )


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Delivery.status == NoticeStatus.PENDING, Delivery.next_attempt_at <= now),
        and_(Delivery.status == NoticeStatus.SENDING, Delivery.claimed_until < now),
    )


def _prepare(
    database: Database,
    settings: Settings,
    delivery_id: int,
    transport_factory: TransportFactory,
) -> tuple[int, str, tuple[Digest, Transport] | TransportError]:
    """Render the digest and pick the transport, reading in a short transaction."""
    with database.session() as session:
        delivery = session.scalars(
            select(Delivery)
            .where(Delivery.id == delivery_id)
            .options(
                selectinload(Delivery.notifications)
                .selectinload(Notification.event)
                .selectinload(AlertEvent.alert)
                .selectinload(Alert.entity),
                selectinload(Delivery.notifications)
                .selectinload(Notification.alert)
                .selectinload(Alert.indicator),
            )
        ).one()
        attempt, key, channel = delivery.attempts, delivery.idempotency_key, delivery.channel
        try:
            if not channel.enabled:
                raise TransportError(f"channel {channel.id} is disabled", permanent=True)
            digest = delivery_digest(session, delivery, base_url=settings.base_url)
            transport = transport_factory(channel, settings)
        except TransportError as exc:
            return attempt, key, exc
        except Exception as exc:
            logger.exception("delivery %s: cannot prepare the message", delivery_id)
            return attempt, key, TransportError(f"cannot prepare the message: {type(exc).__name__}")
    return attempt, key, (digest, transport)


def attempt_outcome(
    error: TransportError | None, *, attempt: int, now: datetime, max_attempts: int
) -> dict[str, object]:
    """The columns an outbox row takes after ``attempt``: sent, to retry later, or dead."""
    values: dict[str, object] = {"claimed_until": None}
    if error is None:
        values.update(status=NoticeStatus.SENT, sent_at=now)
    else:
        values["last_error"] = str(error)[:MAX_ERROR_LENGTH]
        if error.permanent or attempt >= max_attempts:
            values["status"] = NoticeStatus.DEAD
        else:
            values.update(status=NoticeStatus.PENDING, next_attempt_at=now + retry_delay(attempt))
    return values


def send_digest(transport: Transport, digest: Digest, key: str, row: str) -> TransportError | None:
    """Send ``digest``; any failure comes back as a ``TransportError`` (``row`` names the
    outbox row in the log, which never carries the exception's text: it may hold a URL
    with its token)."""
    try:
        transport.send(digest, key)
    except TransportError as exc:
        return exc
    except Exception as exc:
        logger.error("%s: transport raised %s", row, type(exc).__name__)
        return TransportError(f"unexpected {type(exc).__name__}")
    return None


def _record(
    database: Database,
    delivery_id: int,
    *,
    attempt: int,
    error: TransportError | None,
    now: datetime,
    max_attempts: int,
) -> str | None:
    """Store the outcome of ``attempt``, unless another worker has re-claimed the row since.

    The delivery's notifications take the same outcome. The error text goes on the
    rows for staff to read; logs carry ids only.
    """
    values = attempt_outcome(error, attempt=attempt, now=now, max_attempts=max_attempts)
    statement = (
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == NoticeStatus.SENDING,
            Delivery.attempts == attempt,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    mirrored = {k: v for k, v in values.items() if k != "claimed_until"}
    mirrored["attempts"] = attempt
    with database.session() as session:
        recorded = session.execute(statement).rowcount == 1
        if recorded:
            session.execute(
                update(Notification)
                .where(Notification.delivery_id == delivery_id)
                .values(**mirrored)
                .execution_options(synchronize_session=False)
            )
    if not recorded:
        logger.warning(
            "delivery %s: lease lost before attempt %s was recorded", delivery_id, attempt
        )
        return None
    status = str(values["status"])
    if status == NoticeStatus.SENT:
        logger.info("delivery %s: sent on attempt %s", delivery_id, attempt)
    elif status == NoticeStatus.PENDING:
        logger.warning(
            "delivery %s: attempt %s failed, retry at %s",
            delivery_id,
            attempt,
            values["next_attempt_at"],
        )
    else:
        logger.error("delivery %s: given up after attempt %s", delivery_id, attempt)
    return status
