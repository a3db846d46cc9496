"""Vintages: the values a source gave before it revised them, and data as known at a time.

When an ingest changes a stored value, the value it replaces is copied to
``observation_vintages`` with when it was retrieved (the observation's ``updated_at``),
the job run that stored it and when it was superseded. The observations table
always holds the latest value, which is what scoring uses; ``as_of`` and
``as_of_panel`` answer what was known at a past moment (the signals-approach
backtests ask that question).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import pandas as pd
from sqlalchemy import and_, bindparam, insert, literal, select, union_all
from sqlalchemy.orm import Session

from monitor.records import Entity, Indicator, Observation, ObservationVintage

__all__ = ["as_of", "as_of_panel", "history", "keep_vintages"]


def keep_vintages(session: Session, keys: pd.DataFrame, *, superseded_at: datetime) -> int:
    """Copy the stored observations at ``keys`` (columns i, e, period) to the vintages.

    Call it before the observations are overwritten. One statement run for every key
    by the driver (``executemany``). Returns the number of keys.
    """
    if keys.empty:
        return 0
    obs = Observation.__table__
    source = select(
        obs.c.indicator_id,
        obs.c.entity_id,
        obs.c.period,
        obs.c.value,
        obs.c.flag,
        obs.c.updated_at,
        obs.c.job_run_id,
        literal(superseded_at, ObservationVintage.__table__.c.superseded_at.type),
    ).where(
        obs.c.indicator_id == bindparam("i"),
        obs.c.entity_id == bindparam("e"),
        obs.c.period == bindparam("period"),
    )
    statement = insert(ObservationVintage.__table__).from_select(
        [
            "indicator_id",
            "entity_id",
            "period",
            "value",
            "flag",
            "retrieved_at",
            "job_run_id",
            "superseded_at",
        ],
        source,
    )
    params = [
        {"i": i, "e": e, "period": period}
        for i, e, period in zip(
            keys["i"].tolist(), keys["e"].tolist(), keys["period"].tolist(), strict=True
        )
    ]
    session.connection().execute(statement, params)
    return len(params)


def _ids(session: Session, indicator: str, entity: str) -> tuple[int, int] | None:
    indicator_id = session.scalar(select(Indicator.id).where(Indicator.code == indicator))
    entity_id = session.scalar(select(Entity.id).where(Entity.code == entity))
    if indicator_id is None or entity_id is None:
        return None
    return indicator_id, entity_id


def as_of(
    session: Session, indicator: str, entity: str, period: date, when: datetime
) -> float | None:
    """The value of ``indicator`` for ``entity`` and ``period`` as known at ``when``.

    ``None`` when nothing had been retrieved by then.
    """
    ids = _ids(session, indicator, entity)
    if ids is None:
        return None
    indicator_id, entity_id = ids
    current = session.execute(
        select(Observation.value, Observation.updated_at).where(
            Observation.indicator_id == indicator_id,
            Observation.entity_id == entity_id,
            Observation.period == period,
        )
    ).first()
    if current is not None and current.updated_at <= when:
        return current.value
    return session.scalar(
        select(ObservationVintage.value)
        .where(
            ObservationVintage.indicator_id == indicator_id,
            ObservationVintage.entity_id == entity_id,
            ObservationVintage.period == period,
            ObservationVintage.retrieved_at <= when,
            ObservationVintage.superseded_at > when,
        )
        .order_by(ObservationVintage.retrieved_at.desc())
        .limit(1)
    )


def as_of_panel(
    session: Session, when: datetime, *, indicator_ids: Iterable[int] | None = None
) -> pd.DataFrame:
    """Every observation as known at ``when``: indicator_id, entity_id, period, value."""
    obs, old = Observation.__table__, ObservationVintage.__table__
    wanted = sorted(set(indicator_ids)) if indicator_ids is not None else None
    current = select(obs.c.indicator_id, obs.c.entity_id, obs.c.period, obs.c.value).where(
        obs.c.updated_at <= when
    )
    earlier = select(old.c.indicator_id, old.c.entity_id, old.c.period, old.c.value).where(
        and_(old.c.retrieved_at <= when, old.c.superseded_at > when)
    )
    if wanted is not None:
        current = current.where(obs.c.indicator_id.in_(wanted))
        earlier = earlier.where(old.c.indicator_id.in_(wanted))
    rows = session.execute(union_all(current, earlier)).all()
    frame = pd.DataFrame(rows, columns=["indicator_id", "entity_id", "period", "value"])
    return frame.sort_values(["indicator_id", "entity_id", "period"], ignore_index=True)


def history(session: Session, indicator: str, entity: str, period: date) -> list[dict[str, object]]:
    """Every value one observation has had, oldest first, the current one last."""
    ids = _ids(session, indicator, entity)
    if ids is None:
        return []
    indicator_id, entity_id = ids
    earlier = session.scalars(
        select(ObservationVintage)
        .where(
            ObservationVintage.indicator_id == indicator_id,
            ObservationVintage.entity_id == entity_id,
            ObservationVintage.period == period,
        )
        .order_by(ObservationVintage.retrieved_at)
    )
    versions: list[dict[str, object]] = [
        {
            "value": item.value,
            "flag": item.flag,
            "retrieved_at": item.retrieved_at,
            "job_run_id": item.job_run_id,
            "superseded_at": item.superseded_at,
        }
        for item in earlier
    ]
    current = session.scalar(
        select(Observation).where(
            Observation.indicator_id == indicator_id,
            Observation.entity_id == entity_id,
            Observation.period == period,
        )
    )
    if current is not None:
        versions.append(
            {
                "value": current.value,
                "flag": current.flag,
                "retrieved_at": current.updated_at,
                "job_run_id": current.job_run_id,
                "superseded_at": None,
            }
        )
    return versions
