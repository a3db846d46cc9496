"""Alerts fired by synthetic demo values are synthetic too, whoever the entity is.

The demo's regions, clusters and categories are real entities, yet all but the paper's
figures of their series are generated; an alert one of those values fired is marked
synthetic so the console and the JSON flag it like the value itself.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from monitor.records import Alert, Observation


def next_alert_id(session: Session) -> int:
    """The id the next alert will get at the earliest: alerts from it on are new."""
    return (session.scalar(select(func.max(Alert.id))) or 0) + 1


def mark_synthetic_alerts(session: Session, first_id: int) -> int:
    """Mark the alerts from id ``first_id`` on whose opening value is synthetic.

    One statement over the new alerts only, each matched to its observation through
    the observations' unique (indicator, entity, period) key; returns how many changed.
    """
    fired_on_synthetic = (
        select(Observation.id)
        .where(
            Observation.indicator_id == Alert.indicator_id,
            Observation.entity_id == Alert.entity_id,
            Observation.period == Alert.period,
            Observation.synthetic.is_(True),
        )
        .exists()
    )
    statement = (
        update(Alert)
        .where(Alert.id >= first_id, Alert.synthetic.is_(False), fired_on_synthetic)
        .values(synthetic=True)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount
