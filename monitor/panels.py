"""Read stored observations into wide panels (periods x entities) for the models."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.records import Observation

PANDAS_FREQ = {"M": "MS", "Q": "QS", "A": "YS"}


def observation_panel(
    session: Session, indicator_id: int, frequency: str, entity_ids: list[int] | None = None
) -> pd.DataFrame:
    """Every observation of one indicator as a panel on a complete period range.

    Rows are the periods from the first to the last observed one, with no gaps (so a
    positional lag is a calendar lag); columns are entity ids; missing values are NaN.
    """
    query = select(Observation.period, Observation.entity_id, Observation.value).where(
        Observation.indicator_id == indicator_id
    )
    if entity_ids is not None:
        query = query.where(Observation.entity_id.in_(entity_ids))
    rows = session.execute(query).all()
    if not rows:
        return pd.DataFrame(dtype="float64", index=pd.DatetimeIndex([], name="period"))
    frame = pd.DataFrame(rows, columns=["period", "entity_id", "value"])
    frame["period"] = pd.to_datetime(frame["period"])
    panel = frame.pivot(index="period", columns="entity_id", values="value").astype("float64")
    full = pd.date_range(panel.index.min(), panel.index.max(), freq=PANDAS_FREQ[frequency])
    panel = panel.reindex(full)
    panel.index.name = "period"
    return panel


def as_date(stamp: pd.Timestamp) -> date:
    return stamp.date()
