"""Stale alerts: an open alert whose series stopped arriving no longer says anything.

``mark_stale`` is for the scheduler: it looks at each open alert's latest observation
and, when more periods have ended without a value than the policy allows for the
indicator's frequency, moves the alert to ``stale`` (and tells the channels). The
scoring cycle restores the alert's state when data arrives again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from alerts.outbox import enqueue
from alerts.policy import AlertPolicy, load_policy
from alerts.routing import Router
from alerts.states import Cause, Event
from monitor.periods import MONTHS_PER_STEP, format_period
from monitor.records import Alert, AlertEvent, Channel, Indicator, Observation, utc_now
from monitor.vocabulary import STALE_DATA_MODEL, AlertStatus, Frequency

LOCAL_TIME = ZoneInfo("Asia/Shanghai")  # statistics offices publish on Beijing time
STALE_FROM: tuple[str, ...] = (AlertStatus.PENDING, AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED)


def periods_missed(latest: date, frequency: str, today: date) -> int:
    """How many periods after ``latest`` have ended by ``today``.

    A monthly series last reported for March has missed April and May on any day of
    June: 2.
    """
    step = MONTHS_PER_STEP[Frequency(frequency)]
    current = (today.year * 12 + today.month - 1) // step
    last = (latest.year * 12 + latest.month - 1) // step
    return max(current - last - 1, 0)


def mark_stale(
    session: Session,
    *,
    now: datetime | None = None,
    policy: AlertPolicy | None = None,
    channels: Sequence[Channel] | None = None,
) -> list[AlertEvent]:
    """Move open alerts whose series are overdue to ``stale``; return the new events.

    ``channels`` default to every enabled channel; runs inside the caller's transaction.
    """
    now = now or utc_now()
    policy = policy or load_policy(session)
    if channels is None:
        channels = list(session.scalars(select(Channel).where(Channel.enabled)))
    today = now.astimezone(LOCAL_TIME).date()
    statement = (
        select(Alert, Indicator.frequency, func.max(Observation.period))
        .join(Indicator, Alert.indicator_id == Indicator.id)
        .outerjoin(
            Observation,
            and_(
                Observation.indicator_id == Alert.indicator_id,
                Observation.entity_id == Alert.entity_id,
            ),
        )
        .where(Alert.status.in_(STALE_FROM), Alert.model != STALE_DATA_MODEL)
        .group_by(Alert.id, Indicator.frequency)
        .order_by(Alert.id)
    )
    events: list[AlertEvent] = []
    router = Router.load(session)
    for alert, frequency, latest in session.execute(statement).all():
        latest = latest or alert.last_period
        missed = periods_missed(latest, frequency, today)
        if missed < policy.stale_after(frequency):
            continue
        event = AlertEvent(
            alert=alert,
            kind=Event.STALE,
            at=now,
            period=alert.last_period,
            from_status=alert.status,
            to_status=AlertStatus.STALE,
            from_severity=alert.severity,
            to_severity=alert.severity,
            value=alert.value,
            cause=Cause.NO_DATA,
            note=f"no value since {format_period(latest, frequency)}; {missed} periods missed",
        )
        alert.status = AlertStatus.STALE
        alert.stale_since = now
        alert.updated_at = now
        session.add(event)
        events.append(event)
        enqueue(session, alert, event, channels, router=router)
    return events
